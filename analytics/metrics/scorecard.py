"""Release health scorecard: per service and per team (by criticality), the technical KPIs next
to customer impact, a DORA band per KPI and an escalation flag (issue 4 item 6).

Customer impact of the period's releases:

- attributed incidents and their customer-facing minutes (restore time of customer-facing
  incidents opened in the period and attributed to a deployment, REFERENCE §1.1);
- tickets of the same service opened within the observation window after a release;
- CSAT after releases: share of answers scoring 4 or 5 (the catalogue's CSAT) among responses
  linked to a release or given within the window after one, next to the same share of the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import polars as pl

from analytics import catalogue
from analytics.metrics.bands import DEFAULT_YEAR, band
from analytics.metrics.delivery import aggregate, in_time_order
from analytics.metrics.delivery_report import Facts, summarize, with_pair_keys
from analytics.metrics.frames import DATETIME, INT, STR, Frame, conform, in_period
from analytics.metrics.trends import TREND_BUCKETS, degraded_runs, latest_periods

LEVEL_KEYS = {"service": ["service"], "team": ["criticality", "team"]}
PAIR_KEYS = ("criticality", "service", "team")  # every level's keys, for with_pair_keys
# KPIs watched for three consecutive degradations, and which way is better (the catalogue's).
ESCALATION_KPIS: dict[str, str] = catalogue.escalation()
ESCALATION_RUN = 3
_SLICE = {"service_id": INT, "service": STR, "team": STR, "criticality": INT}
BANDED = catalogue.banded()
# Columns kept for the drill-down beside the ones the counts need (present ones only).
TICKET_EXTRA = {"id": INT, "tier": STR, "closed_at": DATETIME, "severity": INT, "channel": STR,
                "related_incident_id": INT}
CSAT_EXTRA = {"id": INT, "tier": STR, "nps": INT, "segment": STR, "related_deployment_id": INT}


def after_release(events: Frame, ts: str, facts: Facts) -> pl.LazyFrame:
    """Flag events of a service within ``facts.window_hours`` after one of the period's
    releases: adds ``release_id`` / ``release_at`` (the latest such release, else null) and
    ``after_release``. ``events`` needs ``service_id`` and the timestamp column ``ts``.

    >>> from datetime import datetime
    >>> from analytics.metrics import frames as fr
    >>> from analytics.metrics.delivery_report import build_facts
    >>> f = build_facts(fr.empty(fr.DEPLOYMENT_COLUMNS), fr.empty(fr.CHANGE_COLUMNS),
    ...                 fr.empty(fr.INCIDENT_COLUMNS))
    >>> ev = pl.DataFrame({"service_id": [1], "at": [datetime(2024, 1, 1)]})
    >>> after_release(ev, "at", f).collect()["after_release"].to_list()
    [False]
    """
    releases = facts.deployments.lazy().select(
        "service_id", pl.col("id").alias("release_id"),
        pl.col("finished_at").alias("release_at")).sort("release_at")
    return (in_time_order(events, ts)
            .join_asof(releases, left_on=ts, right_on="release_at", by="service_id",
                       strategy="backward", tolerance=timedelta(hours=facts.window_hours),
                       check_sortedness=False)
            .with_columns(pl.col("release_at").is_not_null().alias("after_release")))


def flag_tickets(facts: Facts, tickets: Frame) -> pl.LazyFrame:
    """Tickets of a service opened from the period start to ``window_hours`` after its end,
    each flagged by :func:`after_release` (the rows behind ``tickets_after_releases``)."""
    hi = facts.end + timedelta(hours=facts.window_hours) if facts.end else None
    t = conform(tickets, "tickets", {"service_id": INT, "opened_at": DATETIME},
                optional={**_SLICE, **TICKET_EXTRA}).filter(
        in_period("opened_at", facts.start, hi) & pl.col("service_id").is_not_null())
    return after_release(t, "opened_at", facts)


def flag_csat(facts: Facts, csat: Frame) -> pl.LazyFrame:
    """CSAT answers of a service given from the period start to ``window_hours`` after its
    end; ``after_release`` when linked to one of the period's releases or given within the
    window after one (the rows behind ``csat_after_releases``)."""
    hi = facts.end + timedelta(hours=facts.window_hours) if facts.end else None
    r = conform(csat, "csat", {"service_id": INT, "responded_at": DATETIME, "score": INT},
                optional={**_SLICE, **CSAT_EXTRA}).filter(
        in_period("responded_at", facts.start, hi) & pl.col("service_id").is_not_null())
    if "related_deployment_id" not in r.collect_schema():
        r = r.with_columns(pl.lit(None, pl.Int64).alias("related_deployment_id"))
    return after_release(r, "responded_at", facts).with_columns(
        (pl.col("after_release") | pl.col("related_deployment_id").is_in(
            facts.deployments["id"].implode()).fill_null(False)).alias("after_release"))


def flagged(facts: Facts, tickets: Frame | None, csat: Frame | None,
            ) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """Tickets and CSAT answers flagged once (:func:`flag_tickets`, :func:`flag_csat`), for
    slicing at several levels without sorting and joining millions of rows again each time."""
    todo = [flag_tickets(facts, tickets) if tickets is not None else None,
            flag_csat(facts, csat) if csat is not None else None]
    done = iter(pl.collect_all([f for f in todo if f is not None]))
    t, c = (next(done) if f is not None else None for f in todo)
    return t, c


_AFTER, _HAPPY = pl.col("after_release"), (pl.col("score") >= 4).cast(pl.Float64)


def service_counts(tickets: pl.DataFrame | None, csat: pl.DataFrame | None) -> pl.DataFrame:
    """Per ``service_id``, the :func:`flagged` tickets and CSAT answers counted: tickets after
    releases and all; answers after releases and the others, each with its sum of 4–5 scores
    (``_happy_*``) and scored answers (``_scored_*``). Every level's :func:`customer_impact`
    adds these up (``counts=``): millions of events grouped once, by an integer, for all levels.
    """
    parts = []
    if tickets is not None:
        parts.append(tickets.lazy().group_by("service_id").agg(
            _AFTER.sum().cast(pl.Int64).alias("tickets_after_releases"),
            pl.len().cast(pl.Int64).alias("tickets")))
    if csat is not None:
        parts.append(csat.lazy().group_by("service_id").agg(
            _HAPPY.filter(_AFTER).sum().alias("_happy_after"),
            _HAPPY.filter(_AFTER).count().cast(pl.Int64).alias("_scored_after"),
            _AFTER.sum().cast(pl.Int64).alias("csat_after_releases_n"),
            _HAPPY.filter(~_AFTER).sum().alias("_happy_other"),
            _HAPPY.filter(~_AFTER).count().cast(pl.Int64).alias("_scored_other"),
            (~_AFTER).sum().cast(pl.Int64).alias("csat_other_n")))
    frames = pl.collect_all(parts)
    out = frames[0] if frames else pl.DataFrame(schema={"service_id": pl.Int64})
    for f in frames[1:]:
        out = out.join(f, on="service_id", how="full", coalesce=True)
    return out


def _summed(counts: pl.DataFrame, services: pl.DataFrame, keys: list[str]) -> pl.LazyFrame:
    """:func:`service_counts` added up per slice of ``keys`` (``services``: service_id → slice
    columns); CSAT = 4–5 scores ÷ scored answers, the mean the per-event path takes."""
    sums = [c for c in counts.columns if c != "service_id"]
    out = aggregate(counts.lazy().join(services.lazy().select("service_id", *keys),
                                       on="service_id", how="left"), keys, [pl.col(sums).sum()])
    ratios = [pl.when(pl.col(f"_scored_{s}") > 0).then(pl.col(f"_happy_{s}")
                                                       / pl.col(f"_scored_{s}")).alias(name)
              for s, name in (("after", "csat_after_releases"), ("other", "csat_other"))
              if f"_scored_{s}" in sums]
    # The columns (and order) the per-event aggregation gives.
    present = (["tickets_after_releases", "tickets"] * ("tickets" in sums)
               + ["csat_after_releases", "csat_after_releases_n", "csat_other",
                  "csat_other_n"] * ("_scored_after" in sums))
    return out.with_columns(ratios).select(*keys, *present)


def customer_impact(facts: Facts, tickets: Frame | None = None, csat: Frame | None = None, *,
                    keys: list[str], ready: bool = False, counts: pl.DataFrame | None = None,
                    services: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per slice: attributed incidents, customer-facing minutes, tickets after releases (and
    all tickets), CSAT after releases and otherwise (share of 4–5 answers, n). ``ready``: the
    tickets and answers are already :func:`flagged`; ``counts``: their :func:`service_counts`
    instead, added up per slice through ``services`` (service_id and the slice columns)."""
    attributed = pl.col("rule") != "unattributed"
    parts = [aggregate(facts.incidents.lazy(), keys, [
        attributed.sum().cast(pl.Int64).alias("attributed_incidents"),
        pl.col("customer_minutes").filter(attributed).sum().alias("customer_facing_minutes")])]
    if counts is not None:
        if services is None:
            raise ValueError("counts: the services' slice columns (services=) are needed")
        parts.append(_summed(counts, services, keys))
    if tickets is not None:
        parts.append(aggregate(tickets.lazy() if ready else flag_tickets(facts, tickets), keys, [
            pl.col("after_release").sum().cast(pl.Int64).alias("tickets_after_releases"),
            pl.len().cast(pl.Int64).alias("tickets")]))
    if csat is not None:
        # CSAT as the catalogue defines it (REFERENCE §1.3): share of answers scoring 4 or 5.
        after, happy = pl.col("after_release"), (pl.col("score") >= 4).cast(pl.Float64)
        parts.append(aggregate(csat.lazy() if ready else flag_csat(facts, csat), keys, [
            happy.filter(after).mean().alias("csat_after_releases"),
            after.sum().cast(pl.Int64).alias("csat_after_releases_n"),
            happy.filter(~after).mean().alias("csat_other"),
            (~after).sum().cast(pl.Int64).alias("csat_other_n")]))
    frames = pl.collect_all(parts)
    out = frames[0]
    for f in frames[1:]:
        out = (out.join(f, on=keys, how="full", coalesce=True, nulls_equal=True) if keys
               else pl.concat([out, f], how="horizontal"))
    counts = [c for c in out.columns if c in ("attributed_incidents", "tickets_after_releases",
                                              "tickets", "csat_after_releases_n", "csat_other_n")]
    return out.with_columns(pl.col(c).fill_null(0) for c in counts).with_columns(
        pl.col("customer_facing_minutes").fill_null(0.0))


def escalation_runs(facts: Facts, *, level: str = "service", every: str = "month",
                    run: int = ESCALATION_RUN,
                    escalation_kpis: Mapping[str, str] = ESCALATION_KPIS) -> pl.DataFrame:
    """Per slice of ``level``: ``escalated_kpis`` (each worse in every one of the last ``run``
    ``every`` periods) and ``escalate``, the scorecard's rule (the Improvements page's
    escalation candidates are the service rows that escalate)."""
    keys = LEVEL_KEYS[level]
    # The rule reads each slice's last run + 1 periods: the trend of those alone.
    recent = latest_periods(with_pair_keys(facts, keys), by=keys, every=TREND_BUCKETS[every],
                            n=run + 1)
    return degraded_runs(summarize(recent, by=keys, every=TREND_BUCKETS[every]), keys=keys,
                         run=run, directions=escalation_kpis)


def scorecard(facts: Facts, tickets: Frame | None = None, csat: Frame | None = None, *,
              level: str = "service", band_year: int = DEFAULT_YEAR, every: str = "month",
              run: int = ESCALATION_RUN,
              escalation_kpis: Mapping[str, str] = ESCALATION_KPIS,
              ready: bool = False,
              runs: pl.DataFrame | Callable[[], pl.DataFrame] | None = None,
              counts: pl.DataFrame | None = None,
              services: pl.DataFrame | None = None) -> pl.DataFrame:
    """Scorecard rows for ``level`` ``"service"`` or ``"team"`` (team rows are per team and
    criticality), sorted by criticality: KPIs, customer impact, ``<kpi>_band`` columns,
    ``escalate`` / ``escalated_kpis`` (KPI worse in each of the last ``run`` ``every``
    periods), ``small_sample``. ``ready``: tickets and answers are already :func:`flagged`;
    ``runs``: :func:`escalation_runs` of the same facts, level, ``every`` and ``run``, when a
    caller already has them, or a function returning them (called in this thread while
    another computes the KPIs and impact: a page's cached escalation check);
    ``counts``/``services``: customer impact from :func:`service_counts` (see
    :func:`customer_impact`)."""
    if level not in LEVEL_KEYS:
        raise ValueError(f"level: use one of {', '.join(LEVEL_KEYS)}, got {level!r}")
    if every not in TREND_BUCKETS:
        raise ValueError(f"every: use one of {', '.join(TREND_BUCKETS)}, got {every!r}")
    keys = LEVEL_KEYS[level]

    def measured() -> tuple[pl.DataFrame, pl.DataFrame]:
        kpis = summarize(facts, by=keys).drop("explicit", "window", "unattributed",
                                              "attributed_incidents")
        return kpis, customer_impact(facts, tickets, csat, keys=keys, ready=ready,
                                     counts=counts, services=services)

    if callable(runs):
        # Polars releases the GIL: the escalation check and the summaries share two cores.
        with ThreadPoolExecutor(max_workers=1) as pool:
            measuring = pool.submit(measured)
            runs = runs()
            kpis, impact = measuring.result()
    else:
        kpis, impact = measured()
    if runs is None:
        runs = escalation_runs(facts, level=level, every=every, run=run,
                               escalation_kpis=escalation_kpis)
    out = (kpis.join(impact, on=keys, how="full", coalesce=True, nulls_equal=True)
           .join(runs, on=keys, how="left", nulls_equal=True)
           .with_columns(pl.col("escalate").fill_null(False),
                         pl.col("escalated_kpis").fill_null([]),
                         pl.lit(level).alias("level")))
    # A slice without deployments (incidents with no service) has no delivery KPI to band.
    deployed = [bool(n) for n in out["deployments"].fill_null(0).to_list()]
    bands = {f"{name}_band": [band(name, v, band_year) if d else None
                              for v, d in zip(out[col].to_list(), deployed, strict=True)]
             for name, col in BANDED.items()}
    out = out.with_columns(pl.Series(k, v, dtype=pl.String) for k, v in bands.items())
    first = ["level", *(c for c in ("service", "team", "tier", "criticality") if c in out.columns)]
    return out.select(*first, pl.exclude(first)).sort("criticality", *keys, nulls_last=True)


def scorecards(facts: Facts, tickets: Frame | None = None, csat: Frame | None = None, *,
               band_year: int = DEFAULT_YEAR, every: str = "month",
               services: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """Every level's :func:`scorecard` rows, with the tickets and answers flagged once and the
    lead-time pairs' slice keys joined once for all levels (the Overview and ``report
    scorecard`` both show both levels). ``services`` (service_id and slice columns): the
    events need only ``service_id`` and are counted once per service for all levels
    (:func:`service_counts`)."""
    tickets, csat = flagged(facts, tickets, csat)
    counts = None
    if services is not None:
        counts, tickets, csat = service_counts(tickets, csat), None, None
    # Both levels' summaries group the lead-time pairs: their slice keys are joined once
    # (nothing to do when the facts were built with them, ``build_facts(pair_keys=...)``).
    facts = with_pair_keys(facts, PAIR_KEYS)
    # The levels are independent: computed side by side, the other core works through one
    # level's single-threaded steps (Python, as-of joins) while polars runs the other's.
    with ThreadPoolExecutor(max_workers=len(LEVEL_KEYS)) as pool:
        frames = list(pool.map(lambda level: scorecard(
            facts, tickets, csat, level=level, band_year=band_year, every=every, ready=True,
            counts=counts, services=services), LEVEL_KEYS))
    return dict(zip(LEVEL_KEYS, frames, strict=True))


def scorecard_rows(facts: Facts, tickets: Frame | None = None, csat: Frame | None = None, *,
                   band_year: int = DEFAULT_YEAR, every: str = "month",
                   services: pl.DataFrame | None = None) -> list[dict[str, Any]]:
    """Service rows then team rows, as plain dicts (the ``report scorecard`` JSON)."""
    frames = list(scorecards(facts, tickets, csat, band_year=band_year, every=every,
                             services=services).values())
    return pl.concat(frames, how="diagonal_relaxed").select(frames[0].columns).to_dicts()
