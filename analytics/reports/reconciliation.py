"""Deployments whose start, end or status disagree with their change request.

Reads only deployments linked to a change request (filtered in SQL) and the change requests,
then compares them with :func:`analytics.ingest.reconciliation.reconcile`. Used by
`report reconciliation` and the Data page.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlalchemy import Engine

from analytics.ingest.reconciliation import change_requests, reconcile
from analytics.reports import BadRequest, periods
from analytics.store import queries
from analytics.store.queries import Filters


@dataclass(frozen=True)
class Reconciliation:
    """``linked``: deployments (in the filters) that name a change request; ``disagree``: those
    that differ from it by more than the tolerance, largest discrepancy first (the columns of
    :func:`~analytics.ingest.reconciliation.reconcile`)."""

    linked: int
    disagree: pl.DataFrame


def reconciliation(engine: Engine, *, filters: Filters | None = None,
                   tolerance_minutes: float = 0.0) -> Reconciliation:
    """Compare linked deployments with their change requests; differences up to
    ``tolerance_minutes`` are not reported. A negative tolerance is a :class:`BadRequest`."""
    if tolerance_minutes < 0:
        raise BadRequest(f"The tolerance must not be negative, got {tolerance_minutes:g} minutes.")
    filters, _note = periods.fill(engine, filters or Filters())  # no dates: the default period
    deployments = queries.deployments(engine, filters, linked=True)
    return Reconciliation(linked=deployments.height,
                          disagree=reconcile(deployments, change_requests(
                              engine, deployments["change_request_id"]), tolerance_minutes))
