"""What the store holds: row counts and date coverage per table, and data-quality flags.

Read by `report summary` and the Data page. Counts are plain ``count(*)``; coverage is the
first and last value of the table's main time column (:data:`SUMMARY_TABLES`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
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
    def one(name: str) -> dict[str, Any]:
        model, ts = SUMMARY_TABLES[name]
        cols = f', min("{ts}") AS lo, max("{ts}") AS hi' if ts else ""
        return read_frame(engine, f'SELECT count(*) AS n{cols} FROM "{model.__tablename__}"').row(0, named=True)

    found = dict(zip(SUMMARY_TABLES, _map(engine, one, SUMMARY_TABLES), strict=True))
    tables = {name: int(row["n"]) for name, row in found.items()}
    coverage = {name: {"from": _iso(found[name]["lo"]), "to": _iso(found[name]["hi"])}
                for name, (_, ts) in SUMMARY_TABLES.items() if ts}
    return {"tables": tables, "coverage": coverage}


def _map(engine: Engine, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """``fn`` over ``items`` on two threads: each is a scan (seconds for millions of tickets) and
    the database reads on two connections at once. In one thread for an in-memory SQLite
    database, which each thread's connection would see empty."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return list(map(fn, items))
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(fn, items))


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


# Checks counted in the read copy while it is current (file, condition): the commits check
# joins 2.5M changes to their deployments in SQLite (0.7 s at scale 30); the changes file
# carries each change's deployment finish time already.
COPY_CHECKS = {"commits after their deployment finished":
               ("changes", pl.col("committed_at") > pl.col("finished_at"))}


def data_quality(engine: Engine) -> pl.DataFrame:
    """One row per check of :data:`QUALITY_CHECKS`: ``check``, ``rows`` flagged, ``why it matters``."""
    from analytics.store import copyscan

    def count(check: tuple[str, str]) -> int:
        name, sql = check
        if name in COPY_CHECKS:
            table, cond = COPY_CHECKS[name]
            lazy = copyscan.scan(engine, table)
            if lazy is not None:
                return int(lazy.filter(cond).select(pl.len()).collect().item())
        params = [False] if "?" in sql else []
        return int(read_frame(engine, sql.replace("count(*)", "count(*) AS n"), params)["n"][0])

    counts = _map(engine, count, [(name, sql) for name, sql, _ in QUALITY_CHECKS])
    rows = [{"check": name, "rows": n, "why it matters": why}
            for (name, _, why), n in zip(QUALITY_CHECKS, counts, strict=True)]
    for flag in outside_bulk(engine):
        rows.append({"check": f"{flag['table']} outside the bulk of their table",
                     "rows": flag["before"] + flag["after"],
                     "why it matters": f"{flag['before']:,} before {flag['bulk_from'][:10]}, "
                                       f"{flag['after']:,} after {flag['bulk_to'][:10]}: left "
                                       "out of default periods"})
    return pl.DataFrame(rows)
