"""What the store holds: row counts and date coverage per table, and data-quality flags.

Read by `report summary` and the Data page. Counts are plain ``count(*)``; coverage is the
first and last value of the table's main time column (:data:`SUMMARY_TABLES`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlmodel import SQLModel

from analytics.store import queries
from analytics.store.db import read_frame
from analytics.store.models import (AuditLog, Change, ChangeRequest, CsatResponse, Deployment,
                                    Experiment, ExperimentObservation, ImportBatch, Improvement,
                                    Incident, KpiDefinition, MaintenanceWindow, Outage, Service,
                                    SlaContract, SliSample, Slo, Ticket)

# Tables counted by the summary, with the timestamp column that defines their coverage.
SUMMARY_TABLES: dict[str, tuple[type[SQLModel], str | None]] = {
    "services": (Service, None),
    "deployments": (Deployment, "finished_at"),
    "changes": (Change, "committed_at"),
    "change_requests": (ChangeRequest, "actual_end"),
    "incidents": (Incident, "opened_at"),
    "tickets": (Ticket, "opened_at"),
    "csat_responses": (CsatResponse, "responded_at"),
    "slos": (Slo, None),
    "sli_samples": (SliSample, "ts"),
    "sla_contracts": (SlaContract, "effective_from"),
    "maintenance_windows": (MaintenanceWindow, "start"),
    "outages": (Outage, "start"),
    "experiments": (Experiment, "started_at"),
    "experiment_observations": (ExperimentObservation, None),
    "kpi_definitions": (KpiDefinition, "changed_at"),
    "improvements": (Improvement, "opened_at"),
    "import_batches": (ImportBatch, "started_at"),
    "audit_log": (AuditLog, "at"),
}

# (check, SQL counting the rows it flags, why it matters); ``?`` binds False.
QUALITY_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("incidents with no service", "SELECT count(*) FROM incident WHERE service_id IS NULL",
     "cannot be attributed to a deployment or counted per service"),
    ("deployments with no finish time",
     "SELECT count(*) FROM deployment WHERE finished_at IS NULL",
     "are not counted as deployments (REFERENCE §1)"),
    ("incidents not yet resolved", "SELECT count(*) FROM incident WHERE resolved_at IS NULL",
     "are left out of MTTR until resolved"),
    ("incidents resolved before opened",
     "SELECT count(*) FROM incident WHERE resolved_at < opened_at",
     "give negative restore times; excluded from MTTR"),
    ("commits after their deployment finished",
     "SELECT count(*) FROM change c JOIN deployment d ON d.id = c.deployment_id "
     "WHERE c.committed_at > d.finished_at",
     "negative lead times; dropped from lead time"),
    ("tickets with no service", "SELECT count(*) FROM ticket WHERE service_id IS NULL",
     "only appear in unfiltered views"),
    ("services created by an import, unconfirmed",
     "SELECT count(*) FROM service WHERE confirmed = ?",
     "confirm team, tier and criticality on the Data page"),
)


def table_summary(engine: Engine) -> dict[str, Any]:
    """Row counts and coverage of every table.

    Returns ``{"tables": {name: rows}, "coverage": {name: {"from": str | None, "to": str | None}}}``
    with names as in :data:`SUMMARY_TABLES` (coverage only for tables with a time column) and
    times as ``YYYY-MM-DD HH:MM:SS`` UTC, plus ``outside_bulk`` (:func:`outside_bulk`).
    """
    out = _counts(engine)
    out["outside_bulk"] = outside_bulk(engine)
    return out


# Rows listed per side of a table's bulk (the most extreme first); the counts are complete.
LISTED = 25


def outside_bulk(engine: Engine) -> list[dict[str, Any]]:
    """Timestamps outside the bulk of their table (deployments, incidents, tickets; the rule is
    :func:`analytics.store.queries.bulk_months`): per table with any, ``before``/``after`` counts,
    the bulk's range and up to :data:`LISTED` rows per side (``id``, ``at``), most extreme first.
    Default periods leave these rows out (:mod:`analytics.reports.periods`)."""
    flags = []
    for b in queries.bulks(engine):
        if not (b.before or b.after):
            continue
        table, ts = queries.EXTENT_TABLES[b.table]
        rows = []
        for op, order, bound in (("<", "ASC", b.lo), (">", "DESC", b.hi)):
            got = read_frame(engine, f"SELECT external_id AS id, {ts} AS at FROM {table} "
                                     f"WHERE {ts} {op} ? ORDER BY {ts} {order} LIMIT {LISTED}",
                             [bound])
            rows += [{"id": r["id"], "at": _iso(r["at"])} for r in got.to_dicts()]
        flags.append({"table": b.table, "before": b.before, "after": b.after,
                      "bulk_from": _iso(b.lo), "bulk_to": _iso(b.hi), "rows": rows})
    return flags


def _counts(engine: Engine) -> dict[str, Any]:
    """Row counts and coverage of every table (see :func:`table_summary`)."""
    tables: dict[str, int] = {}
    coverage: dict[str, dict[str, str | None]] = {}
    for name, (model, ts) in SUMMARY_TABLES.items():
        table = model.__tablename__
        cols = f', min("{ts}") AS lo, max("{ts}") AS hi' if ts else ""
        row = read_frame(engine, f'SELECT count(*) AS n{cols} FROM "{table}"').row(0, named=True)
        tables[name] = int(row["n"])
        if ts:
            coverage[name] = {"from": _iso(row["lo"]), "to": _iso(row["hi"])}
    return {"tables": tables, "coverage": coverage}


def _iso(value: Any) -> str | None:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` UTC, whichever backend produced it (PostgreSQL
    hands ``min()`` of a ``timestamptz`` back with its zone, SQLite as naive text).

    >>> _iso(datetime(2026, 1, 2, 3, 4, 5, 678)), _iso("2026-01-02 03:04:05.678"), _iso(None)
    ('2026-01-02 03:04:05', '2026-01-02 03:04:05', None)
    >>> from datetime import timedelta, timezone
    >>> _iso(datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1))))
    '2026-01-02 03:04:05'
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)[:19]


def data_quality(engine: Engine) -> pl.DataFrame:
    """One row per check of :data:`QUALITY_CHECKS`: ``check``, ``rows`` flagged, ``why it matters``."""
    rows = []
    for name, sql, why in QUALITY_CHECKS:
        params = [False] if "?" in sql else []
        n = read_frame(engine, sql.replace("count(*)", "count(*) AS n"), params)["n"][0]
        rows.append({"check": name, "rows": int(n), "why it matters": why})
    for flag in outside_bulk(engine):
        rows.append({"check": f"{flag['table']} outside the bulk of their table",
                     "rows": flag["before"] + flag["after"],
                     "why it matters": f"{flag['before']:,} before {flag['bulk_from'][:10]}, "
                                       f"{flag['after']:,} after {flag['bulk_to'][:10]}: left "
                                       "out of default periods"})
    return pl.DataFrame(rows)
