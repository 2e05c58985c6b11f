"""The delivery report (REFERENCE §1): DORA delivery and stability KPIs for a period, the
per-record facts behind them, their trends and bands, and the MTTR baselines.

Reads the store with the margins the definitions need, declared here once: deployments from one
observation window before the period (attribution) to :data:`RECOVERY_HORIZON` after it (the
next successful deployment that ends a recovery); incidents from :data:`RECURRENCE_DAYS` before
(recurrence) to one window after. Days, weeks and months are drawn in ``filters.timezone``.
The page, ``python -m analytics report delivery`` and the notebook all call these functions.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.metrics import baselines, drilldown, trends
from analytics.metrics.attribution import attribute
from analytics.metrics.bands import DEFAULT_YEAR
from analytics.metrics.delivery import local_day_bounds
from analytics.metrics.delivery_report import Facts, build_facts, figures, report_of, summarize
from analytics.metrics.frames import DEPLOYMENT_COLUMNS, DEPLOYMENT_FEATURES
from analytics.metrics.stability import RECURRENCE_DAYS
from analytics.reports import BadRequest, NoData, periods
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.queries import Filters

# How far past the period to look for the deployment that ends a recovery: six months, the
# slowest DORA recovery band (REFERENCE §1.2).
RECOVERY_HORIZON = timedelta(days=183)
BASELINE_MONTHS = baselines.DEFAULT_MONTHS
Inputs = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]


def window_of(window_hours: float | None) -> float:
    """``window_hours``, else the configured observation window; BadRequest when not > 0."""
    window = get_settings().window_hours if window_hours is None else window_hours
    if isinstance(window, bool) or not isinstance(window, int | float) or not window > 0:
        raise BadRequest(f"The observation window must be a positive number of hours, "
                         f"not {window_hours!r}.")
    return float(window)


def environments_of(filters: Filters) -> tuple[str, ...] | None:
    """The environment filter as the metrics' scope (None = every environment)."""
    return (filters.environment,) if filters.environment else None


def check(engine: Engine, filters: Filters) -> None:
    """BadRequest for a service or team the store does not have, or a reversed period."""
    if filters.start and filters.end and filters.start > filters.end:
        raise BadRequest(f"The period starts ({filters.start}) after it ends ({filters.end}).")
    if filters.services or filters.teams:
        known = queries.services(engine)
        for what, values, column in (("service", filters.services, "service"),
                                     ("team", filters.teams, "team")):
            missing = sorted(set(values) - set(known[column].to_list()))
            if missing:
                raise BadRequest(f"The store has no {what} named {', '.join(missing)}.")


# The deployment columns the facts keep (deployment_facts) or attribution and recovery read
# (tie order, change-request links): the others of a row are never used by the facts.
FACT_DEPLOYMENT_COLUMNS = (*DEPLOYMENT_COLUMNS, *DEPLOYMENT_FEATURES, "external_id",
                           "change_request_id")


def inputs(engine: Engine, filters: Filters, *, window_hours: float | None = None,
           lean: bool = False) -> Inputs:
    """Deployments, changes and incidents with the margins the definitions need; ``lean``: only
    :data:`FACT_DEPLOYMENT_COLUMNS` and changes without their commit ids (for :func:`facts`,
    which looks up the root-cause commits alone, :func:`root_cause_changes`)."""
    window = timedelta(hours=window_of(window_hours))
    deployments = queries.deployments(engine, filters, pad_before=window,
                                      pad_after=RECOVERY_HORIZON,
                                      columns=FACT_DEPLOYMENT_COLUMNS if lean else None)
    changes = queries.changes(engine, filters,
                              columns=["committed_at", "deployment_id"] if lean else None)
    incidents = queries.incidents(engine, filters, pad_before=timedelta(days=RECURRENCE_DAYS),
                                  pad_after=window)
    return deployments, changes, incidents


def root_cause_changes(engine: Engine, filters: Filters, incidents: pl.DataFrame,
                       ) -> pl.DataFrame:
    """The period's changes whose commit is some incident's root-cause commit: all that
    attribution reads of the changes (it links an incident to the deployment that shipped its
    commit), without reading every commit hash of the period."""
    commits = incidents["root_cause_commit"].drop_nulls().unique().to_list()
    return queries.changes(engine, filters, columns=["commit_id", "deployment_id"],
                           commits=commits)


def facts(engine: Engine, filters: Filters, *, window_hours: float | None = None,
          pair_keys: tuple[str, ...] = ()) -> Facts:
    """The per-record facts of the period (what pages cache and drill into); ``pair_keys``:
    slice columns the lead-time pairs carry, for a caller that summarizes several slicings."""
    window = window_of(window_hours)
    check(engine, filters)
    deployments, changes, incidents = inputs(engine, filters, window_hours=window, lean=True)
    envs = environments_of(filters)
    attribution = attribute(incidents, deployments, root_cause_changes(engine, filters, incidents),
                            window_hours=window, environments=envs)
    return build_facts(deployments, changes, incidents, attribution, start=filters.start,
                       end=filters.end, window_hours=window, environments=envs,
                       tz=filters.timezone, pair_keys=pair_keys)


def delivery(engine: Engine, filters: Filters, *, window_hours: float | None = None,
             band_year: int = DEFAULT_YEAR) -> dict[str, Any]:
    """The delivery report: ``period``, the overall figures and ``by_service`` rows (the JSON
    ``report delivery`` prints). An empty period gives zero counts, not an error."""
    filters, default = periods.fill(engine, filters)  # no dates: the bulk of the data
    report = report_of(facts(engine, filters, window_hours=window_hours), band_year)
    report["period"].update(services=list(filters.services), teams=list(filters.teams), **default)
    return report


def summary(data: Facts, *, by: tuple[str, ...] = (), every: str | None = None) -> pl.DataFrame:
    """Summary rows of the facts for a slicing; ``every`` ("week"/"month") adds trend periods
    (drawn in the facts' time zone)."""
    return trends.trend(data, every, by=by) if every else summarize(data, by=by)


def headline(row: dict[str, Any], band_year: int = DEFAULT_YEAR) -> dict[str, Any]:
    """The figures of one summary row with its DORA bands (the tiles)."""
    return figures(row, band_year)


def previous(filters: Filters) -> Filters:
    """The same filters over the period of the same length just before."""
    if not (filters.start and filters.end):
        raise BadRequest("A comparison needs a period with a first and a last day.")
    start, end = trends.previous_period(filters.start, filters.end)
    return replace(filters, start=start, end=end)


def comparison(current: dict[str, Any], before: dict[str, Any]) -> pl.DataFrame:
    """Period-over-period table (metric, direction, current, previous, change, verdict)."""
    return trends.compare(current, before)


def medians(data: Facts) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bootstrap 95% intervals of the median KPIs, and MTTR by severity."""
    return trends.kpi_median_intervals(data), trends.mttr_by_severity(data)


def records(data: Facts, kind: str, *, where: dict[str, Any] | None = None,
            limit: int | None = None) -> tuple[pl.DataFrame, int]:
    """At most ``limit`` records behind a number (see ``metrics.drilldown.KINDS``) and their
    count; BadRequest for an unknown kind."""
    if kind not in drilldown.KINDS:
        raise BadRequest(f"There is no record list called {kind!r}.")
    return drilldown.records(data, kind, where=where or {}, limit=limit)


def mttr_baselines(engine: Engine, filters: Filters, *, months: int = BASELINE_MONTHS,
                   ) -> pl.DataFrame:
    """Per service: p50/p80 restore time (hours) of incidents opened in the ``months``
    calendar months before the period end (default: the day after the last incident) against
    its tier's commitment (``metrics.baselines.mttr_baselines``). NoData when none."""
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise BadRequest(f"The number of months must be a positive whole number, not {months!r}.")
    check(engine, filters)
    as_of: datetime | None = local_day_bounds(None, filters.end, filters.timezone)[1]
    incidents = queries.incidents(engine, replace(filters, start=None))
    rows = baselines.mttr_baselines(incidents, months=months, as_of=as_of,
                                    environments=environments_of(filters))
    if rows.height == 0:
        raise NoData(f"No restored incident in the {months} months before "
                     f"{filters.end or 'the last incident'} for these filters.")
    return rows
