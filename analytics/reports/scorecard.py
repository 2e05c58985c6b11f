"""The release health scorecard and the Overview's activity counts (issue 4 item 6).

Per service and per team (by criticality): the delivery KPIs of :mod:`analytics.reports.delivery`
next to customer impact (tickets and CSAT answers within one observation window after a
release), a DORA band per KPI and the escalation flag. ``python -m analytics report scorecard``,
the Overview page and the overview notebook all call these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.metrics import drilldown
from analytics.metrics import scorecard as cards
from analytics.metrics.activity import totals, weekly_counts
from analytics.metrics.bands import DEFAULT_YEAR
from analytics.metrics.delivery_report import Facts, with_pair_keys
from analytics.metrics.trends import TREND_BUCKETS
from analytics.reports import BadRequest, periods
from analytics.reports.delivery import facts as delivery_facts
from analytics.reports.delivery import window_of
from analytics.store import queries
from analytics.store.queries import Filters

LEVELS = tuple(cards.LEVEL_KEYS)
EVERY = "month"  # period of the three-periods escalation rule by default
ESCALATION_RUN = cards.ESCALATION_RUN
ACTIVITY_KINDS = ("deployments", "incidents", "tickets", "csat_responses")
EVENT_SOURCE = {"tickets after releases": "tickets", "CSAT after releases": "csat"}


# What the scorecard's counts read of each ticket and answer (the drill-down reads more): the
# slice columns come from the services table once the events are counted per service.
COUNTED = {"tickets": ["service_id", "opened_at"],
           "csat": ["service_id", "responded_at", "score", "related_deployment_id"]}
SLICES = {"service_id": pl.Int64, "service": pl.String, "team": pl.String,
          "criticality": pl.Int64}  # typed: an empty services table reads as Null columns


def customer_events(engine: Engine, filters: Filters, *, window_hours: float | None = None,
                    counts_only: bool = False) -> dict[str, pl.DataFrame]:
    """Tickets and CSAT answers of the period and one observation window past it;
    ``counts_only``: just the columns the scorecard counts, in any row order (no drill-down
    from them), and ``services`` (the slice columns of every service) to count them by."""
    pad = timedelta(hours=window_of(window_hours))
    events = {"tickets": queries.tickets(engine, filters, pad_after=pad, ordered=not counts_only,
                                         columns=COUNTED["tickets"] if counts_only else None),
              "csat": queries.csat(engine, filters, pad_after=pad, ordered=not counts_only,
                                   columns=COUNTED["csat"] if counts_only else None)}
    if counts_only:
        events["services"] = queries.services(engine).select(*SLICES).cast(SLICES)
    return events


def _check(level: str | None, every: str) -> None:
    if level is not None and level not in LEVELS:
        raise BadRequest(f"The scorecard has no level {level!r}; use {' or '.join(LEVELS)}.")
    if every not in TREND_BUCKETS:
        raise BadRequest(f"Escalation periods are {' or '.join(TREND_BUCKETS)}, not {every!r}.")


def from_facts(data: Facts, events: dict[str, pl.DataFrame], *, level: str,
               band_year: int = DEFAULT_YEAR, every: str = EVERY) -> pl.DataFrame:
    """Scorecard rows of one level from facts and customer events already read."""
    _check(level, every)
    return cards.scorecard(data, events["tickets"], events["csat"], level=level,
                           band_year=band_year, every=every)


def levels_from_facts(data: Facts, events: dict[str, pl.DataFrame], *,
                      band_year: int = DEFAULT_YEAR, every: str = EVERY,
                      ) -> dict[str, pl.DataFrame]:
    """Scorecard rows of every level (``{"service": …, "team": …}``) from facts and customer
    events already read, the events flagged once for both (what the Overview shows)."""
    _check(None, every)
    return cards.scorecards(data, events["tickets"], events["csat"], band_year=band_year,
                            every=every, services=events.get("services"))


def flag_events(data: Facts, events: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Tickets and CSAT answers (:func:`customer_events` ``counts_only``) flagged after a
    release (:func:`cards.flagged`) and counted per service (:func:`cards.service_counts`),
    once for any number of :func:`level_from_flagged` calls: ``counts`` and ``services``."""
    counts = cards.service_counts(*cards.flagged(data, events["tickets"], events["csat"]))
    return {"counts": counts, "services": events["services"]}


def level_from_flagged(data: Facts, flagged: dict[str, pl.DataFrame], *, level: str,
                       band_year: int = DEFAULT_YEAR, every: str = EVERY,
                       runs: pl.DataFrame | Callable[[], pl.DataFrame] | None = None,
                       ) -> pl.DataFrame:
    """Scorecard rows of one level from facts and :func:`flag_events`' events (a page that
    shows one level at a time computes only the one in view); ``runs``: the level's
    :func:`escalations` when the caller has them, or a function returning them (called while
    the level's summaries are computed on another thread)."""
    _check(level, every)
    data = with_pair_keys(data, cards.LEVEL_KEYS[level])
    return cards.scorecard(data, level=level, band_year=band_year, every=every, runs=runs,
                           counts=flagged["counts"], services=flagged["services"])


def escalations(data: Facts, *, level: str = "service", run: int = ESCALATION_RUN,
                every: str = EVERY) -> pl.DataFrame:
    """Per slice of ``level``: the KPIs worse in each of the last ``run`` periods and whether
    it escalates (the scorecard's rule; the improvement candidates read the service rows)."""
    _check(level, every)
    return cards.escalation_runs(data, level=level, every=every, run=run)


def scorecard(engine: Engine, filters: Filters, *, level: str = "service",
              window_hours: float | None = None, band_year: int = DEFAULT_YEAR,
              every: str = EVERY) -> pl.DataFrame:
    """Scorecard rows for ``level`` "service" or "team" (team rows per team and criticality)."""
    _check(level, every)
    data = delivery_facts(engine, filters, window_hours=window_hours)
    events = customer_events(engine, filters, window_hours=window_hours)
    return from_facts(data, events, level=level, band_year=band_year, every=every)


def scorecard_rows(engine: Engine, filters: Filters, *, window_hours: float | None = None,
                   band_year: int = DEFAULT_YEAR, every: str = EVERY) -> list[dict[str, Any]]:
    """Service rows then team rows as plain dicts (the ``report scorecard`` JSON); no dates:
    the default period (:func:`analytics.reports.periods.fill`)."""
    _check(None, every)
    filters, _note = periods.fill(engine, filters)
    # The tickets and answers are read while the delivery facts are computed: both mostly
    # wait on polars and SQLite, which release the GIL, so the two cores share the work.
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(customer_events, engine, filters, window_hours=window_hours,
                              counts_only=True)
        data = delivery_facts(engine, filters, window_hours=window_hours,
                              pair_keys=cards.PAIR_KEYS)
        events = reading.result()
    return cards.scorecard_rows(data, events["tickets"], events["csat"], band_year=band_year,
                                every=every, services=events["services"])


def records(data: Facts, events: dict[str, pl.DataFrame], kind: str, *,
            service: str | None, limit: int | None = None) -> tuple[pl.DataFrame, int]:
    """At most ``limit`` records behind a scorecard number of one service, and their count."""
    where = {"service": service}
    if kind in drilldown.AFTER_RELEASE_KINDS:
        return drilldown.after_release_records(data, events[EVENT_SOURCE[kind]], kind,
                                               where=where, limit=limit)
    if kind not in drilldown.KINDS:
        raise BadRequest(f"There is no record list called {kind!r}.")
    return drilldown.records(data, kind, where=where, limit=limit)


def activity(engine: Engine, filters: Filters) -> tuple[dict[str, int], pl.DataFrame]:
    """Events of each kind in the period and their counts per ISO week (weeks in
    ``filters.timezone``); aggregates only."""
    events = {kind: queries.event_times(engine, kind, filters) for kind in ACTIVITY_KINDS}
    return totals(events), weekly_counts(events, filters.timezone)
