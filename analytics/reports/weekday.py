"""Weekday report: do deployments fail more on some weekdays, all else equal (REFERENCE §4)?

Incidents are attributed to deployments with the observation window (REFERENCE §1.1), the same
``WORKBENCH_WINDOW_HOURS`` that Overview and Delivery use, unless the caller passes another one.
The page, ``report weekday`` and the notebook all call :func:`weekday` here.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.reports import BadRequest, NoData, periods
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.queries import Filters

# What counts as a failure (mirrors analytics.studies.weekday.OUTCOMES, kept here so that the
# CLI's --help need not import statsmodels).
OUTCOMES = {"status": "status failed or rolled back",
            "incident": "an incident attributed to the deployment",
            "either": "status failed or rolled back, or an attributed incident"}


def window_of(window_hours: float | None) -> float:
    """The observation window in hours: the argument, else ``WORKBENCH_WINDOW_HOURS``."""
    hours = get_settings().window_hours if window_hours is None else float(window_hours)
    if not hours > 0:
        raise BadRequest(f"the observation window must be positive, got {hours:g} hours")
    return hours


def _envs(filters: Filters) -> tuple[str, ...] | None:
    return (filters.environment,) if filters.environment else None


def weekday(engine: Engine, *, filters: Filters, outcome: str = "status",
            window_hours: float | None = None, attribution: pl.DataFrame | None = None,
            ) -> dict[str, Any]:
    """The weekday study for ``filters``.

    Returns the dict of :func:`analytics.studies.weekday.weekday_study` (frames ``by_weekday``,
    ``by_hour_band``, ``incidents_by_weekday``; ``friday_vs_rest``, ``naive_friday_vs_rest``,
    ``verdict`` …) plus ``window_hours`` (the attribution window used) and ``period``.
    ``attribution``: the incidents' attribution when the caller has it already (a page takes
    the delivery facts' own, built from the same inputs); else it is computed here exactly as
    the delivery KPIs compute it. Raises :class:`BadRequest` for an unknown outcome,
    :class:`NoData` when there is nothing to compare. No dates: the default period
    (:func:`analytics.reports.periods.fill`).
    """
    filters, _note = periods.fill(engine, filters)
    from analytics.metrics.attribution import attribute
    from analytics.reports.delivery import inputs
    from analytics.studies.weekday import weekday_study

    if outcome not in OUTCOMES:
        raise BadRequest(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    hours = window_of(window_hours)
    envs = _envs(filters)
    # The delivery KPIs' inputs and attribution (REFERENCE §1.1: root-cause commits are explicit
    # links, and "the latest deployment before" may have finished after the period ends).
    padded, changes, incidents = inputs(engine, filters, window_hours=hours)
    if attribution is None:
        attribution = attribute(incidents, padded, changes, window_hours=hours, environments=envs)
    lo, hi = filters.bounds()
    # No bound (a store with no deployments or incidents has no default period): unbounded.
    deployments = padded.filter(pl.col("finished_at") >= lo if lo else pl.lit(True),
                                pl.col("finished_at") < hi if hi else pl.lit(True))
    # The recurrence margin before the period is not needed here.
    incidents = incidents.filter(pl.col("opened_at") >= lo if lo else pl.lit(True))
    try:
        out = weekday_study(deployments, incidents, attribution, environments=envs, outcome=outcome)
    except ValueError as exc:
        raise NoData(str(exc)) from None
    out["window_hours"] = hours
    out["period"] = {"from": filters.start, "to": filters.end, "services": list(filters.services),
                     "teams": list(filters.teams), "environment": filters.environment}
    return out


def by_team(engine: Engine, *, filters: Filters, outcome: str = "status") -> pl.DataFrame:
    """Simpson's-paradox check: each team's own Friday-vs-rest odds ratio (status outcome by
    default; teams whose data cannot be compared are left out). Columns: team, odds_ratio,
    ci_low, ci_high, p_value."""
    from analytics.studies.weekday import weekday_study

    deployments = queries.deployments(engine, filters).filter(~pl.col("is_rollback"))
    rows = []
    for team in deployments["team"].unique().sort().to_list():
        try:
            f = weekday_study(deployments.filter(pl.col("team") == team), outcome=outcome,
                              environments=_envs(filters))["friday_vs_rest"]
        except ValueError:  # no Friday or no Mon–Thu deployments in this team
            continue
        rows.append({"team": team, **{k: f.get(k) for k in ("odds_ratio", "ci_low", "ci_high",
                                                             "p_value")}})
    return pl.DataFrame(rows, schema={"team": pl.String, "odds_ratio": pl.Float64,
                                      "ci_low": pl.Float64, "ci_high": pl.Float64,
                                      "p_value": pl.Float64})


def size_by_friday(engine: Engine, *, filters: Filters) -> pl.DataFrame:
    """Why the naive odds ratio differs: deployments and mean log(lines changed), Friday vs
    other days (Friday changes are smaller, and size drives failure)."""
    deployments = queries.deployments(engine, filters).filter(~pl.col("is_rollback"))
    return (deployments.with_columns(friday=pl.col("finished_at").dt.weekday() == 5,
                                     log_lines=pl.col("lines_changed").clip(1).log())
            .group_by("friday").agg(deployments=pl.len(), mean_log_lines=pl.col("log_lines").mean())
            .sort("friday"))
