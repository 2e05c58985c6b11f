"""Reading the columnar read copy (:mod:`analytics.store.readcopy` writes it): a lazy scan of a
file while it is current, the rows ``queries`` would select with filters and columns pushed into
the scan, and the per-month counts that set default periods.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from sqlalchemy import Engine

from analytics.store.frametypes import month_rows
from analytics.store.readcopy import FORMAT, SOURCES, TABLES, copy_dir, log, manifest

if TYPE_CHECKING:
    from analytics.store.queries import Filters


def scan(engine: Engine, table: str) -> pl.LazyFrame | None:
    """A lazy scan of ``table``'s copy when the copy is current, else None (read SQL).

    Current means: the file's source tables (and the import batches) have the ``max(id)`` and
    ``count(*)`` they had when it was written, and its format is this module's. The caller
    pushes its filters and column selection into the scan.
    """
    path = current_file(engine, table)
    return None if path is None else pl.scan_parquet(path)


def current_file(engine: Engine, table: str) -> Path | None:
    """The Parquet file of ``table``'s copy when the copy is current (see :func:`scan`), else
    None."""
    from analytics.settings import get_settings

    if not get_settings().read_copy:
        return None
    found = manifest(engine)
    if found is None:
        return None
    from analytics.store.version import data_version

    # Current per file: a write elsewhere (an audit entry, a notification, a register row)
    # leaves this file's source tables, and so the file, as they were.
    entry = found.get("tables", {}).get(table)
    if found.get("format") != FORMAT or entry is None or table not in SOURCES or \
            entry.get("signature") != data_version(
                engine, tuple(sorted(SOURCES[table] | {"import_batch"}))):
        log.debug("read copy of %s is stale (copy %s); reading SQL", table,
                  found.get("data_version"))
        return None
    folder = copy_dir(engine)
    if entry is None or folder is None or not (folder / entry["file"]).is_file():
        log.debug("read copy has no %s; reading SQL", table)
        return None
    return folder / entry["file"]


def newest(engine: Engine, table: str, columns: list[str]) -> list[datetime | None] | None:
    """The latest value of each timestamp column of ``table``'s copy (None where every value is
    null), from the row groups' min/max statistics in the file's footer: no column is read.
    None when there is no current copy, a column is not a microsecond timestamp, or a row group
    holding values has no statistics (then scan the column)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = current_file(engine, table)
    if path is None:
        return None
    file = pq.ParquetFile(path)
    meta, names = file.metadata, file.schema_arrow.names
    out: list[datetime | None] = []
    for col in columns:
        if col not in names or file.schema_arrow.field(col).type != pa.timestamp("us"):
            return None
        j, best = names.index(col), None
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(j).statistics
            if stats is None or not stats.has_min_max:
                if stats is not None and stats.num_values == 0:  # every value null
                    continue
                return None
            best = stats.max if best is None else max(best, stats.max)
        out.append(best)
    return out


def read(engine: Engine, table: str, filters: Filters, ts: str, columns: list[str], *,
                env: bool = True, pad_before: timedelta = timedelta(0),
                pad_after: timedelta = timedelta(0), where: pl.Expr | None = None,
                order: tuple[str, ...] = ("id",)) -> pl.DataFrame | None:
    """The rows ``queries``' SQL would select, from the read copy (None: no current copy).

    The period, teams, services and environment go into the Parquet scan (row groups outside
    the period are skipped by their statistics), as do the columns; rows come back in ``order``
    (the store's key order, which is how SQL returns them).
    """
    lazy = scan(engine, table)
    if lazy is None:
        return None
    lo, hi = filters.bounds()
    conds = []
    if lo is not None:
        conds.append(pl.col(ts) >= lo - pad_before)
    if hi is not None:
        conds.append(pl.col(ts) < hi + pad_after)
    if filters.teams:
        conds.append(pl.col("team").is_in(list(filters.teams)))
    if filters.services:
        conds.append(pl.col("service").is_in(list(filters.services)))
    if env and filters.environment:
        conds.append(pl.col("environment") == filters.environment)
    if where is not None:
        conds.append(where)
    if conds:
        lazy = lazy.filter(pl.all_horizontal(conds))
    frame = lazy.select(columns).collect()
    if not order:
        return frame
    # The file is in time order, which is also id order wherever ids were given as events
    # happened (most imports): checking is a pass over one column, sorting gathers them all.
    if len(order) == 1 and frame[order[0]].null_count() == 0 and frame[order[0]].is_sorted():
        return frame
    return frame.sort(list(order))


DEPLOYMENT_COLS = ["id", "source", "external_id", "service_id", "service", "team", "tier",
                   "criticality", "environment", "version", "started_at", "finished_at", "status",
                   "is_rollback", "unplanned", "emergency", "change_request_id", "lines_changed",
                   "files_changed", "test_coverage"]
INCIDENT_COLS = ["id", "source", "external_id", "service_id", "service", "team", "tier",
                 "criticality", "environment", "severity", "title", "opened_at", "detected_at",
                 "acknowledged_at", "resolved_at", "customer_facing", "outage",
                 "caused_by_deployment_id", "caused_by_change_request_id", "root_cause_commit",
                 "problem_id", "root_cause", "postmortem_url", "made_sla", "priority",
                 "closed_at", "status", "category"]
TICKET_COLS = ["id", "external_id", "service_id", "service", "team", "tier", "criticality",
               "opened_at", "closed_at", "first_response_at", "severity", "user_role",
               "transaction_criticality", "channel", "customer_id", "related_incident_id"]
CSAT_COLS = ["id", "service_id", "service", "team", "tier", "criticality", "responded_at",
             "score", "nps", "segment", "customer_id", "comment", "related_deployment_id"]


def months(engine: Engine, table: str, ts: str) -> pl.DataFrame | None:
    """Per calendar month of ``ts`` (non-null): month ("YYYY-MM"), n, lo, hi — from the copy
    (None: no current copy). The copy's answer to ``queries.bulk_of``'s GROUP BY."""
    lazy = scan(engine, table)
    if lazy is None:
        return None
    folder = copy_dir(engine)
    side = folder / f"{table}.months.parquet" if folder else None
    data = folder / f"{table}.parquet" if folder else None
    # The summary written beside the file counts, unless it is older than the file (a copy
    # written before summaries existed, or a crash between the two renames).
    if side is not None and data is not None and ts == TABLES[table].ts and side.is_file() \
            and side.stat().st_mtime_ns >= data.stat().st_mtime_ns:
        return pl.read_parquet(side)
    return month_rows(lazy, ts).collect()
