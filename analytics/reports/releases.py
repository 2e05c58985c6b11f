"""Failed releases: the newest failed production deployments of a period, for the pages that
study what followed a release (Customer, Voice of customer)."""

from __future__ import annotations

import dataclasses

import polars as pl
from sqlalchemy import Engine

from analytics.metrics.stability import FAILED_STATUSES
from analytics.store import queries
from analytics.store.queries import Filters

RELEASES_SHOWN = 200  # a select box longer than this is not a choice a person can make
COLUMNS = ("id", "service", "version", "status", "finished_at")


def failed_releases(engine: Engine, filters: Filters, *, limit: int = RELEASES_SHOWN) -> pl.DataFrame:
    """The newest ``limit`` failed production deployments finished in the period.

    Failed = status ``failed`` or ``rolled_back``; rollbacks themselves (``is_rollback``) are the
    remedy, not a release, and are left out. The environment filter is ignored: a release that
    customers felt is a production one (REFERENCE §1). Columns: id, service, version, status,
    finished_at (naive UTC), newest first; an empty frame with those columns when there is none.
    """
    deps = queries.deployments(engine, dataclasses.replace(filters, environment="production"))
    if deps.height == 0:  # an empty read has untyped columns: return the documented schema
        return pl.DataFrame(schema={"id": pl.Int64, "service": pl.String, "version": pl.String,
                                    "status": pl.String, "finished_at": pl.Datetime("us")})
    return (deps.filter(pl.col("status").is_in(FAILED_STATUSES), ~pl.col("is_rollback"))
            .sort("finished_at", "id", descending=True).head(limit)
            .select(COLUMNS))
