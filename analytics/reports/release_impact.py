"""Release impact report: do production releases raise ticket and incident rates (REFERENCE §4)?

Reads releases from one window before the period to one window after it (their windows reach
into the period), tickets and incidents of the period, and runs
:func:`analytics.studies.release_impact.release_impact`. The page, ``report release-impact`` and
the notebook all call :func:`release_impact` here, so their numbers cannot drift.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.reports import BadRequest, NoData, periods
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.queries import Filters

# Rows of the "most harmful releases" ranking unless the caller asks for another number.
DEFAULT_TOP = 20
# Columns of a release's drill-down (no ticket text: the page is open to every role).
TICKET_COLUMNS = ("external_id", "opened_at", "severity", "user_role", "transaction_criticality",
                  "channel")
INCIDENT_COLUMNS = ("external_id", "opened_at", "severity", "title", "resolved_at")
DRILL_ROWS = 200
# The only columns the study reads: the frames are cut to them at once, so the other columns
# (ticket text, customer ids, …) do not stay in memory through the study.
STUDY_COLUMNS = {
    "deployments": ("id", "service_id", "service", "environment", "finished_at", "status",
                    "is_rollback"),
    "tickets": ("service_id", "opened_at", "user_role", "transaction_criticality"),
    "incidents": ("service_id", "opened_at"),
}


def _cut(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """``frame`` with only the :data:`STUDY_COLUMNS` it has (the study names any missing)."""
    return frame.select([c for c in STUDY_COLUMNS[name] if c in frame.columns])


def window_of(window_hours: float | None) -> float:
    """The post-release window in hours: the argument, else ``WORKBENCH_WINDOW_HOURS``."""
    hours = get_settings().window_hours if window_hours is None else float(window_hours)
    if not hours > 0:
        raise BadRequest(f"the post-release window must be positive, got {hours:g} hours")
    return hours


def period_of(engine: Engine, filters: Filters) -> tuple[datetime, datetime]:
    """The period as half-open naive datetimes: the filters' days, else the default period
    (:func:`analytics.reports.periods.span`)."""
    # Both days given (the pages always give them): span returns them as they are, so the
    # store's extent (a scan of three tables' months) is not read.
    extent = (None, None) if filters.start and filters.end else queries.data_extent(engine)
    start, end = periods.span(*extent, filters.start, filters.end)
    if start is None or end is None:
        raise NoData("the store holds no deployments, incidents or tickets (run `demo` or `import`)")
    return datetime.combine(start, time()), datetime.combine(end, time()) + timedelta(days=1)


def release_impact(engine: Engine, *, filters: Filters, window_hours: float | None = None,
                   top: int = DEFAULT_TOP) -> dict[str, Any]:
    """The release-impact study for ``filters``.

    Returns the dict of :func:`analytics.studies.release_impact.release_impact` (``verdict``,
    ``tickets``/``incidents`` estimates, ``by_outcome``, ``releases`` rows, ``window_hours``,
    and the frames ``per_release`` and ``event_study``) plus ``period`` {from, to, services,
    teams, environment}. Raises :class:`NoData` when nothing can be fitted.
    """
    from analytics.studies.release_impact import release_impact as study

    if top < 0:
        raise BadRequest(f"top must be 0 or more, got {top}")
    hours = window_of(window_hours)
    if hours < 1:  # the study runs on an hourly grid
        raise BadRequest(f"the post-release window must be at least 1 hour, got {hours:g}")
    start, end = period_of(engine, filters)
    window = timedelta(hours=hours)
    # Any row order: the study sorts releases by time and id itself.
    deployments = _cut(queries.deployments(engine, filters, pad_before=window, pad_after=window,
                                           columns=STUDY_COLUMNS["deployments"], ordered=False),
                       "deployments")
    tickets = _cut(queries.tickets(engine, filters, columns=STUDY_COLUMNS["tickets"]), "tickets")
    incidents = _cut(queries.incidents(engine, filters), "incidents")
    envs = (filters.environment,) if filters.environment else None
    try:
        out = study(deployments, tickets, incidents, window_hours=hours, start=start, end=end,
                    environments=envs, top=top)
    except ValueError as exc:
        raise NoData(str(exc)) from None
    out["period"] = {"from": start.date(), "to": (end - timedelta(days=1)).date(),
                     "services": list(filters.services), "teams": list(filters.teams),
                     "environment": filters.environment}
    return out


def release_window(engine: Engine, *, service: str, finished_at: datetime,
                   window_hours: float | None = None) -> dict[str, Any]:
    """Tickets and incidents of ``service`` opened in a release's post-release window.

    The window starts at the first whole hour after ``finished_at`` (the study's hourly grid)
    and lasts ``window_hours``. Returns {start, end, tickets, incidents} with the frames cut to
    :data:`TICKET_COLUMNS` / :data:`INCIDENT_COLUMNS` (at most :data:`DRILL_ROWS` tickets).
    """
    hours = window_of(window_hours)
    lo = finished_at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hi = lo + timedelta(hours=hours)
    around = Filters(start=lo.date(), end=hi.date(), services=(service,))
    in_win = pl.col("opened_at").is_between(lo, hi, closed="left")
    tickets = queries.tickets(engine, around).filter(in_win)
    incidents = queries.incidents(engine, around).filter(in_win)
    return {"start": lo, "end": hi, "ticket_count": tickets.height,
            "incident_count": incidents.height,
            "tickets": tickets.select(TICKET_COLUMNS).head(DRILL_ROWS),
            "incidents": incidents.select(INCIDENT_COLUMNS)}


def rate_ratios(result: dict[str, Any]) -> pl.DataFrame:
    """One row per (releases failed/success/all, kind tickets/incidents) with rate_ratio,
    ci_low, ci_high, p_value, n_releases and the placebo's rate ratio: the chart's and the
    notebook's table."""
    rows = []
    for which in ("failed", "success", "all"):
        for kind in ("tickets", "incidents"):
            est = result[kind] if which == "all" else result["by_outcome"][which].get(kind)
            if est:
                placebo = (est.get("placebo") or {}).get("rate_ratio")
                rows.append({"releases": which, "kind": kind,
                             **{k: est[k] for k in ("rate_ratio", "ci_low", "ci_high", "p_value",
                                                    "n_releases")},
                             "placebo_rate_ratio": placebo})
    return pl.DataFrame(rows, schema_overrides={"placebo_rate_ratio": pl.Float64})
