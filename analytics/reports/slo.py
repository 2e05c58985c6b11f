"""SLO status report (REFERENCE §2): SLI, error budget, time to exhaustion, burn-rate alerts,
their history, the series the SLOs page charts, and weighted composite SLOs.

One read rule for the page, ``report slo`` and notebooks: the status of every SLO at ``at`` is
computed from the samples in [:func:`read_from` (defs, at), at) — each SLO's own window at ``at``
(rolling N days, or the calendar month/quarter in the SLO's IANA zone) and ``LOOKBACK`` before
``at`` (the longest alert long window and the current-burn window). Samples at or after ``at``
are never read, so a time slice straddling ``at`` holds only what was observed before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.metrics.slo import (CURRENT_BURN_WINDOW, Window, budgeted_samples,
                                   composite_status, slo_status)
from analytics.metrics.slo_alerts import (DEFAULT_ALERTS, alert_history, alert_status,
                                          alert_warnings, deployments_during_burn, span)
from analytics.metrics.slo_series import burn_down, burn_rates
from analytics.reports import BadRequest, NoData
from analytics.store import queries
from analytics.store.queries import Filters

# How far before ``at`` (or before the start of a history period) samples are needed: the
# longest alert long window, and the window of the "current" burn behind time to exhaustion.
LOOKBACK = max(max(a.long_window for a in DEFAULT_ALERTS), CURRENT_BURN_WINDOW)
ALERTS = tuple(a.name for a in DEFAULT_ALERTS)
# An SLO's state (REFERENCE §2 has no default; this is the workbench's, shown on the page):
# exhausted when its budget remaining is ≤ 0; at risk when less than AT_RISK_REMAINING is left or
# a burn-rate alert pair fires now; healthy otherwise; "no data" without events in its window.
AT_RISK_REMAINING = 0.25
STATES = ("exhausted", "at risk", "healthy", "no data")
NO_SLO = ("No SLO with SLI samples for these filters. Import SLOs and samples, or clear "
          "filters.")


def read_from(defs: pl.DataFrame, at: datetime, since: datetime | None = None) -> datetime:
    """First instant the status at ``at`` needs (every SLO's window start, ``at − LOOKBACK``);
    with ``since`` also ``since − LOOKBACK``, so alert evaluations from ``since`` see full
    windows.

    >>> d = pl.DataFrame({"slo_id": [1], "window_kind": ["calendar"], "window_days": [None],
    ...                   "calendar_unit": ["month"], "timezone": ["Europe/Amsterdam"]})
    >>> read_from(d, datetime(2026, 3, 2))
    datetime.datetime(2026, 2, 27, 0, 0)
    >>> read_from(d, datetime(2026, 3, 20))
    datetime.datetime(2026, 2, 28, 23, 0)
    """
    starts = [Window.of(r).bounds(at)[0] for r in defs.iter_rows(named=True)]
    first = min([*starts, at - LOOKBACK])
    return first if since is None else min(first, since - LOOKBACK)


def definitions(engine: Engine, filters: Filters = Filters()) -> pl.DataFrame:
    """SLO definitions of the services (and teams) ``filters`` selects.

    A service no SLO names is a :class:`BadRequest`; nothing selected is :class:`NoData`.
    """
    defs = queries.slos(engine)
    unknown = sorted(set(filters.services) - set(defs["service"].drop_nulls().to_list()))
    if unknown:
        raise BadRequest(f"unknown service {', '.join(unknown)}: no SLO names it")
    if filters.services:
        defs = defs.filter(pl.col("service").is_in(list(filters.services)))
    if filters.teams:
        svc = queries.services(engine).filter(pl.col("team").is_in(list(filters.teams)))
        defs = defs.filter(pl.col("service").is_in(svc["service"].implode()))
    if defs.height == 0:
        raise NoData(NO_SLO)
    return defs


@dataclass(frozen=True)
class SloInputs:
    """What the report read: definitions, samples in [first, at) and the evaluation instant."""

    definitions: pl.DataFrame
    samples: pl.DataFrame
    at: datetime
    first: datetime


def load(engine: Engine, *, filters: Filters = Filters(), at: datetime | None = None,
         since: datetime | None = None, slo_ids: list[int] | None = None) -> SloInputs:
    """Read the SLOs ``filters`` (and ``slo_ids``, when given) select and their samples in
    [read_from(defs, at, since), at).

    ``at`` defaults to the end of the newest SLI bucket; ``since`` widens the read for
    :func:`history` and :func:`series`.
    """
    defs = definitions(engine, filters)
    if slo_ids is not None:
        defs = defs.filter(pl.col("slo_id").is_in(slo_ids))
        if defs.height == 0:
            raise BadRequest(f"unknown SLO id {', '.join(map(str, slo_ids))}")
    at = at or queries.newest_sample_ts(engine)
    if at is None:
        raise NoData(NO_SLO)
    first = read_from(defs, at, since)
    # Filters are whole days: read the days that hold [first, at], then cut to [first, at).
    samples = (queries.sli_samples(engine, Filters(start=first.date(), end=at.date()),
                                   slo_ids=defs["slo_id"].to_list())
               .filter((pl.col("ts") >= first) & (pl.col("ts") < at))
               .select("slo_id", "service", "ts", "good", "total"))
    return SloInputs(definitions=defs, samples=samples, at=at, first=first)


def load_status(engine: Engine, *, filters: Filters = Filters(),
                at: datetime | None = None) -> SloInputs:
    """What :func:`evaluate` needs at ``at``, read cheaply: for occurrences SLOs the part of
    their window before ``at − LOOKBACK`` comes summed by the database, one bucket per day at
    its first sample (window sums are sums, so SLI and budget are unchanged); the last
    ``LOOKBACK`` (alerts, current burn) and time-slice SLOs come as samples."""
    defs = definitions(engine, filters)
    at = at or queries.newest_sample_ts(engine)
    if at is None:
        raise NoData(NO_SLO)
    cut = at - LOOKBACK
    occ = (defs.filter(pl.col("budgeting") != "timeslices") if "budgeting" in defs.columns
           else defs)
    sums, compact = [], set()
    for row in occ.iter_rows(named=True):
        start = Window.of(row).bounds(at)[0]
        if start < cut:
            sums.append((start, row["slo_id"]))
            compact.add(row["slo_id"])
    parts = []
    for start in sorted({st for st, _ in sums}):
        ids = [i for st, i in sums if st == start]
        # One bucket per day of the window (so the page can draw a daily burn-down), summed
        # by the database.
        edges = [start + timedelta(days=k) for k in range((cut - start).days + 1)
                 if start + timedelta(days=k) < cut] + [cut]
        parts += [queries.sli_totals(engine, ids, a, b) for a, b in zip(edges, edges[1:])]
    first = min([st for st, _ in sums], default=read_from(defs, at))
    recent = (queries.sli_samples(engine, Filters(start=first.date(), end=at.date()),
                                  slo_ids=defs["slo_id"].to_list())
              if len(compact) < defs.height else None)
    tail = queries.sli_samples(engine, Filters(start=cut.date(), end=at.date()),
                               slo_ids=sorted(compact)) if compact else None
    frames = []
    if recent is not None:  # SLOs read in full (time slices, windows inside LOOKBACK)
        frames.append(recent.filter(~pl.col("slo_id").is_in(sorted(compact))
                                    & (pl.col("ts") >= read_from(defs, at)) & (pl.col("ts") < at)))
    if tail is not None:
        frames.append(tail.filter((pl.col("ts") >= cut) & (pl.col("ts") < at)))
    frames = [f.select("slo_id", "ts", "good", "total") for f in frames]
    frames += [p.with_columns(pl.col("good", "total").cast(pl.Float64)) for p in parts]
    svc = defs.select("slo_id", "service")
    samples = (pl.concat([f.with_columns(pl.col("ts").cast(pl.Datetime("us")),
                                         pl.col("good", "total").cast(pl.Float64))
                          for f in frames]) if frames else
               pl.DataFrame(schema={"slo_id": pl.Int64, "ts": pl.Datetime("us"),
                                    "good": pl.Float64, "total": pl.Float64}))
    samples = (samples.join(svc, on="slo_id", how="left").sort("slo_id", "ts")
               .select("slo_id", "service", "ts", "good", "total"))
    return SloInputs(definitions=defs, samples=samples, at=at, first=read_from(defs, at))


@dataclass(frozen=True)
class SloStatus:
    """The status of many SLOs at ``at``.

    ``status``: one row per SLO (``metrics.slo.slo_status`` columns plus ``state``, see
    :func:`states`); ``alerts``: one row per SLO and alert pair (``alert_status``);
    ``warnings``: slo, alert, warning.
    """

    at: datetime
    status: pl.DataFrame
    alerts: pl.DataFrame
    warnings: pl.DataFrame

    def counts(self) -> dict[str, int]:
        """SLOs per state, every state in :data:`STATES` order (zeros included)."""
        have = dict(self.status.group_by("state").len().iter_rows())
        return {s: int(have.get(s, 0)) for s in STATES}

    def rows(self) -> list[dict[str, Any]]:
        """Per SLO {slo, service, state, target, window, sli, budget_consumed, budget_remaining,
        exhaustion_hours, alerts: [{name, long_window, short_window, factor, long_burn,
        short_burn, firing}], warnings, at}; windows as durations like ``1h``, ``5m``."""
        out = []
        for row in self.status.rows(named=True):
            mine = self.alerts.filter(pl.col("slo_id") == row["slo_id"])
            out.append({
                **{k: row[k] for k in ("slo", "service", "state", "target", "window", "sli",
                                       "budget_consumed", "budget_remaining",
                                       "exhaustion_hours")},
                "alerts": [{"name": a["name"],
                            "long_window": span(timedelta(minutes=a["long_window"])),
                            "short_window": span(timedelta(minutes=a["short_window"])),
                            "factor": a["factor"], "long_burn": a["long_burn"],
                            "short_burn": a["short_burn"], "firing": a["firing"]}
                           for a in mine.rows(named=True)],
                "warnings": [f"{w['alert']}: {w['warning']}" for w in
                             self.warnings.filter(pl.col("slo") == row["slo"]).rows(named=True)],
                "at": self.at})
        return out


def evaluate(inputs: SloInputs) -> SloStatus:
    """Status, alert states and warnings at ``inputs.at`` from the samples the read rule keeps
    (however much more was read for a history), so the page and the CLI agree."""
    defs, at = inputs.definitions, inputs.at
    data = inputs.samples.filter(pl.col("ts") >= read_from(defs, at))
    try:
        alerts = alert_status(data, defs, at)
        return SloStatus(at=at, status=states(slo_status(data, defs, at), alerts),
                         alerts=alerts, warnings=alert_warnings(defs, at, data))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def states(status: pl.DataFrame, alerts: pl.DataFrame) -> pl.DataFrame:
    """``status`` with ``state``: exhausted (remaining ≤ 0), at risk (remaining <
    :data:`AT_RISK_REMAINING` or an alert pair firing), healthy, or no data.

    >>> s = pl.DataFrame({"slo_id": [1, 2, 3, 4, 5],
    ...                   "budget_remaining": [-0.1, 0.1, 0.6, 0.6, None]})
    >>> a = pl.DataFrame({"slo_id": [3, 4], "firing": [True, False]})
    >>> states(s, a)["state"].to_list()
    ['exhausted', 'at risk', 'at risk', 'healthy', 'no data']
    """
    firing = alerts.filter(pl.col("firing"))["slo_id"].unique().implode()
    rem = pl.col("budget_remaining")
    return status.with_columns(state=pl.when(rem.is_null()).then(pl.lit("no data"))
                               .when(rem <= 0).then(pl.lit("exhausted"))
                               .when((rem < AT_RISK_REMAINING) | pl.col("slo_id").is_in(firing))
                               .then(pl.lit("at risk")).otherwise(pl.lit("healthy")))


def slo_report(engine: Engine, *, filters: Filters = Filters(),
               at: datetime | None = None) -> SloStatus:
    """The SLO status report: :func:`load_status` then :func:`evaluate`."""
    return evaluate(load_status(engine, filters=filters, at=at))


def burn_downs(inputs: SloInputs, status: pl.DataFrame) -> pl.DataFrame:
    """Per SLO (slo_id, burn_down): error budget remaining at the end of each day of its current
    window, 1 − bad so far ÷ ((1 − target) × all events in the window), oldest first."""
    data = budgeted_samples(inputs.samples, inputs.definitions)
    win = status.select("slo_id", "target", "window_start", "total")
    return (data.join(win, on="slo_id").filter(pl.col("ts") >= pl.col("window_start"))
            .with_columns(day=((pl.col("ts") - pl.col("window_start")).dt.total_days()),
                          bad=pl.col("total") - pl.col("good"))
            .group_by("slo_id", "day").agg(pl.col("bad").sum(), pl.col("target").first(),
                                           pl.col("total_right").first())
            .sort("slo_id", "day")
            .with_columns(remaining=1 - pl.col("bad").cum_sum().over("slo_id")
                          / ((1 - pl.col("target")) * pl.col("total_right")))
            .group_by("slo_id", maintain_order=True)
            .agg(burn_down=pl.col("remaining")))


def history(inputs: SloInputs, since: datetime, until: datetime) -> pl.DataFrame:
    """Burn-rate alert firing intervals that reach into [since, until) (``alert_history``
    columns); ``inputs`` must have been loaded with a ``since`` at or before this one."""
    if inputs.first > since - LOOKBACK:
        raise BadRequest(f"history from {since:%Y-%m-%d} needs samples from "
                         f"{since - LOOKBACK:%Y-%m-%d %H:%M}; load with since={since:%Y-%m-%d}")
    data = inputs.samples.filter(pl.col("ts") < until)
    return alert_history(data, inputs.definitions).filter(pl.col("end") > since)


def series(inputs: SloInputs, slo_id: int, since: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(burn-down of the current window, hourly burn rates per alert from ``since`` to ``at``)
    for one SLO (``metrics.slo_series`` shapes)."""
    defs = inputs.definitions.filter(pl.col("slo_id") == slo_id)
    if defs.height == 0:
        raise BadRequest(f"unknown SLO id {slo_id}")
    data = inputs.samples.filter(pl.col("slo_id") == slo_id)
    since = min(since, inputs.at - timedelta(hours=1))
    return burn_down(data, defs, slo_id, inputs.at), burn_rates(data, defs, slo_id, since,
                                                                  inputs.at)


def burn_candidates(engine: Engine, *, filters: Filters, fired: pl.DataFrame) -> pl.DataFrame:
    """Deployments in the period (``filters``) during which a page-level burn alert of their
    service fired (``fired``: :func:`history`)."""
    deps = queries.deployments(engine, filters)
    return deployments_during_burn(deps, fired, severity="page", environment=filters.environment)


def composite(status: SloStatus, *, service: str | None = None,
              weights: Mapping[str, float] | None = None,
              target: float | None = None) -> dict[str, Any]:
    """A weighted composite SLO over ``status`` (``metrics.slo.composite_status``).

    Default components: every SLO of ``service``, equal weights. Default target: the
    weight-averaged component target. Returns the composite dict plus ``components`` (slo,
    weight, target, sli) and ``service``.
    """
    st = status.status
    if weights is None:
        if service is None:
            raise BadRequest("composite SLO: name a service or give component weights")
        names = st.filter(pl.col("service") == service)["slo"].to_list()
        if not names:
            raise BadRequest(f"composite SLO: service {service} has no SLO in this report")
        weights = dict.fromkeys(names, 1.0)
    weights = {k: float(w) for k, w in weights.items()}
    if sum(weights.values()) <= 0:
        raise BadRequest("composite SLO: give at least one component a positive weight")
    targets = dict(zip(st["slo"].to_list(), st["target"].to_list(), strict=True))
    if target is None:
        known = {k: w for k, w in weights.items() if k in targets}
        target = (sum(w * targets[k] for k, w in known.items()) / sum(known.values())
                  if known and sum(known.values()) > 0 else None)
    try:
        result = composite_status(st, dict(weights), target)  # type: ignore[arg-type]
    except ValueError as exc:
        raise BadRequest(f"composite SLO: {exc}") from None
    comp = (pl.DataFrame({"slo": list(weights), "weight": list(weights.values())})
            .join(st.select("slo", "target", "sli"), on="slo", how="left"))
    return {**result, "service": service, "components": comp}
