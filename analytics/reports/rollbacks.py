"""The rollback frequency report (REFERENCE §1): deployments with status ``rolled_back`` ÷
deployments, per service or per environment.

Per service it counts the filters' environment (production when they name none), like every
other delivery KPI. Per environment it shows every environment whatever the filters say:
REFERENCE §1 makes that view the one place non-production is shown by default. Deployments
flagged ``is_rollback`` are remediations and are not counted (``metrics.delivery.scope``).
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from sqlalchemy import Engine

from analytics.metrics.delivery import PRODUCTION
from analytics.metrics.stability import rollback_frequency
from analytics.reports import BadRequest, NoData, periods
from analytics.reports.delivery import check
from analytics.store import queries
from analytics.store.queries import Filters

BY = ("service", "environment")


def rollbacks(engine: Engine, filters: Filters, *, by: str = "service") -> pl.DataFrame:
    """One row per ``by`` value: ``rolled_back``, ``deployments`` and ``rollback_rate``
    (null when a slice has no deployment), in the period of ``filters`` (days in its zone).

    BadRequest for an unknown ``by``, service or team; NoData when no deployment counts. No
    dates: the default period (:func:`analytics.reports.periods.fill`).
    """
    filters, _note = periods.fill(engine, filters)
    if by not in BY:
        raise BadRequest(f"Rollbacks can be shown by {' or '.join(BY)}, not {by!r}.")
    check(engine, filters)
    if by == "environment":
        filters, environments = replace(filters, environment=None), None
    else:
        environments = (filters.environment,) if filters.environment else PRODUCTION
    deployments = queries.deployments(engine, filters)
    rows = rollback_frequency(deployments, start=filters.start, end=filters.end, by=(by,),
                              environments=environments, tz=filters.timezone)
    if rows.height == 0:
        where = "any environment" if environments is None else ", ".join(environments)
        raise NoData(f"No finished deployment in {where} for these filters.")
    return rows
