"""Bulk writes: imports, the demo and benchmarks write rows in batches, not through the ORM.

Rows are written inside the caller's SQLAlchemy Core transaction with the driver's fastest bulk
call (``executemany`` of tuples on SQLite, ``COPY`` on PostgreSQL): 5-10x faster than Core's
per-row parameter processing. Inside :func:`staged_writes`, large SQLite batches are staged in a
scratch file through ADBC (Arrow, no Python object per value) and copied in with one
``INSERT … SELECT``; ADBC runs in a child process (:mod:`analytics.store.sqlite_child`).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.schema import CreateIndex
from sqlmodel import SQLModel


# SQLAlchemy's SQLite DateTime storage format; bulk writes use the same so ORM reads still work.
SQLITE_TS_FORMAT = "%Y-%m-%d %H:%M:%S%.6f"
BATCH_ROWS = 50_000
# From this many rows a staged SQLite insert beats executemany (ADBC startup and the copy cost
# less than binding Python values one by one); SQLite attaches at most 10 databases.
STAGE_ROWS = 50_000
# Slices of 1 : 2 : … : 8 parts: the first copy waits for 1/36 of the rows to be staged (1/21
# with 6, 1/10 with 4), and later slices are staged faster than SQLite copies them in. Idle,
# against 6 parts, 6 pairs of 584k deployments: wall x0.93-1.01 with the parse changes of the
# same stop; 2.47M tickets x0.95-1.03. A later table of the same transaction gets the two
# attachments left, so as many tables stage as before.
STAGE_PARTS = 8
MAX_ATTACHED = 10
_STAGE_KEY = "analytics.staging"
SHM = "/dev/shm"
SCRATCH_PREFIX = "slw-stage-"
SORT_RUN_KIB = -8192  # PRAGMA cache_size while building indexes (negative = KiB)


def _columns_of(table: str) -> dict[str, Any]:
    return {c.name: c.type for c in SQLModel.metadata.tables[table].columns}


def bulk_insert(conn: Any, table: str, frame: pl.DataFrame) -> int:
    """Insert every row of ``frame`` into ``table`` inside the caller's transaction.

    ``conn`` is a SQLAlchemy ``Connection`` (so the caller decides commit or rollback).
    Columns not in ``frame`` get their database default. Returns the number of rows written.
    """
    if frame.height == 0:
        return 0
    types = _columns_of(table)
    unknown = [c for c in frame.columns if c not in types]
    if unknown:
        raise ValueError(f"{table}: unknown columns {unknown}")
    frame = with_defaults(table, frame)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _copy_postgres(conn, table, frame)
    elif frame.height >= STAGE_ROWS and _can_stage(conn):
        _insert_staged(conn, table, frame)
    else:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        stmt = f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join("?" * frame.width)})'
        prepared = _for_sqlite(frame)
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        for start in range(0, prepared.height, BATCH_ROWS):
            batch = prepared.slice(start, BATCH_ROWS)
            # Column lists zipped into tuples: the cheapest way from polars to DB-API rows.
            cur.executemany(stmt, zip(*(c.to_list() for c in batch.get_columns()), strict=True))
        cur.close()
    return frame.height


@contextmanager
def staged_writes(conn: Any) -> Iterator[None]:
    """Let :func:`bulk_insert` stage large SQLite batches on ``conn`` (a SQLAlchemy Connection).

    Enter it *outside* the transaction: SQLite can ATTACH a scratch database inside a
    transaction but only DETACH it after the transaction ended, which this does on exit (then it
    deletes the scratch files). No-op on PostgreSQL, whose COPY is already the fast path.
    First removes scratch folders that imports killed with ``kill -9`` left behind.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    remove_stale_scratch()  # folders of imports killed before they could clean up
    state: dict[str, Any] = {"dir": None, "attached": []}
    conn.info[_STAGE_KEY] = state
    try:
        yield
    finally:
        try:
            conn.info.pop(_STAGE_KEY, None)
            listed = {r[1] for r in conn.exec_driver_sql("PRAGMA database_list")}
            for alias in state["attached"]:
                if alias in listed:
                    conn.exec_driver_sql(f"DETACH DATABASE {alias}")
        except Exception:  # the block's own exception, if any, is the one to report
            # Still in a transaction (misuse) or the connection broke: a connection that may
            # hold a scratch database never goes back to the pool.
            conn.invalidate()
        finally:
            if state["dir"]:
                shutil.rmtree(state["dir"], ignore_errors=True)


def _scratch_dir(state: dict[str, Any], need: int) -> Path:
    """The import's scratch folder, made on first use: in RAM (/dev/shm) when it has room for
    three times ``need`` bytes (it saves writing the scratch rows to disk), else the temp folder.

    The folder's name carries this process's id, so that a later import can tell a folder left by
    an import killed with ``kill -9`` (which runs no cleanup) and remove it.
    """
    if state["dir"] is None:
        shm = Path(SHM)
        in_ram = shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 3 * need
        state["dir"] = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-",
                                        dir=shm if in_ram else None)
    return Path(state["dir"])


def remove_stale_scratch() -> int:
    """Delete scratch folders whose owning process is gone; return the bytes freed.

    Looks in /dev/shm and the temp folder for ``slw-stage-<pid>-*``; a folder whose pid no
    longer runs belonged to an import that was killed before it could clean up.
    """
    freed = 0
    for folder in {Path(SHM), Path(tempfile.gettempdir())}:
        if not folder.is_dir():
            continue
        for path in folder.glob(f"{SCRATCH_PREFIX}*"):
            pid = _owner(path.name)
            if pid is None or _alive(pid) or not path.is_dir():
                continue
            freed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path, ignore_errors=True)
    return freed


def _owner(name: str) -> int | None:
    """The pid in a scratch folder's name (None for folders of the old, pid-less format).

    >>> _owner("slw-stage-4242-x1y2z3"), _owner("slw-stage-ab12cd")
    (4242, None)
    """
    head = name[len(SCRATCH_PREFIX):].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _stage_parts(conn: Any) -> int:
    """How many slices a staged insert on ``conn`` may use now (0: it may not stage)."""
    state = conn.info.get(_STAGE_KEY)
    return min(STAGE_PARTS, MAX_ATTACHED - len(state["attached"])) if state else 0


def _can_stage(conn: Any) -> bool:
    return _stage_parts(conn) >= min(2, STAGE_PARTS)


def _insert_staged(conn: Any, table: str, frame: pl.DataFrame) -> None:
    """Write ``frame`` to scratch SQLite files with ADBC, attach them, copy them in with SQL.

    The rows go in (up to) ``STAGE_PARTS`` growing slices, and ADBC writes slice i+1 in one child
    process (started once for every slice) while SQLite copies slice i here, so staging costs
    little more than the copy.
    Each scratch file is only ever open in one SQLite library at a time (ADBC closes it before
    the stdlib driver attaches it), so the two libraries' POSIX locks never meet on one file.
    """
    from analytics.store.sqlite_child import write_scratches

    state = conn.info[_STAGE_KEY]
    # A column with one value on every row (the import's source and batch id) is not staged:
    # the copy binds its value (2.5M tickets: 0.6 CPU-s less in the child, a smaller scratch).
    same = constant_columns(frame)
    frame = frame.drop(list(same))
    # Sized as staged: a time becomes 26 characters of text instead of 8 bytes.
    times = sum(1 for t in frame.schema.values() if t in (pl.Datetime, pl.Date))
    folder = _scratch_dir(state, int(frame.estimated_size()) + 18 * times * frame.height)
    parts = _graded_slices(frame, _stage_parts(conn))
    cols = ", ".join(f'"{c}"' for c in [*frame.columns, *same])
    picked = ", ".join([*(f'"{c}"' for c in frame.columns), *("?" * len(same))])
    values = tuple(same.values())
    aliases = [f"stage{len(state['attached']) + i}" for i in range(len(parts))]
    state["attached"] += aliases  # reserved now, attached below
    # Each slice is put in SQLite's form by the thread that hands it to the child, not all of
    # them here before the first (2.5M tickets: ~0.4 s of wall off the path to the first copy).
    with closing(write_scratches([(folder / f"{a}.db", p) for a, p in zip(aliases, parts, strict=True)],
                                 _for_staging)) as ready:
        for alias, path in zip(aliases, ready, strict=True):
            conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (str(path),))
            # A plain table scans in rowid order, so rows keep the order the caller sorted.
            conn.exec_driver_sql(f'INSERT INTO main."{table}" ({cols}) SELECT {picked} FROM {alias}.rows',
                                 values)


def constant_columns(frame: pl.DataFrame) -> dict[str, Any]:
    """The columns of ``frame`` holding one value on every row (or NULL on every row), with that
    value in SQLite's form; never every column (one stays to carry the rows).

    >>> from datetime import datetime
    >>> f = pl.DataFrame({"k": [1, 2], "src": ["a", "a"], "at": [datetime(2025, 1, 2)] * 2,
    ...                   "ok": [True, True], "none": [None, None]})
    >>> constant_columns(f)
    {'src': 'a', 'at': '2025-01-02 00:00:00.000000', 'ok': 1, 'none': None}
    >>> constant_columns(pl.DataFrame({"a": [1, 1], "b": [2, 2]}))
    {'b': 2}
    """
    found = []
    for col in frame.get_columns()[1:]:
        nulls = col.null_count()
        # First against last settles nearly every varying column without a pass over it.
        if nulls == col.len() or (nulls == 0 and col[0] == col[-1] and bool((col == col[0]).all())):
            found.append(col.name)
    return dict(zip(found, _for_staging(frame.select(found).head(1)).row(0), strict=True)) \
        if found and frame.height else {}


def _for_staging(frame: pl.DataFrame) -> pl.DataFrame:
    """A slice as the scratch file stores it: SQLite's text of times, 0/1, untyped NULL as int."""
    out = _for_sqlite(frame)
    return out.with_columns(pl.col(c).cast(pl.Int64) for c, t in out.schema.items() if t == pl.Null)


def _graded_slices(frame: pl.DataFrame, parts: int) -> list[pl.DataFrame]:
    """``frame`` cut into ``parts`` consecutive slices sized 1 : 2 : … : parts.

    Staging a row costs about half of copying it, so slice i+1 is still staged in time while
    slice i is copied, and only the small first slice is staged with nothing to overlap it.
    """
    weights = range(1, parts + 1)
    total = sum(weights)
    cuts = [0, *(frame.height * sum(weights[:i]) // total for i in range(1, parts)), frame.height]
    return [frame.slice(a, b - a) for a, b in pairwise(cuts) if b > a]


def insert_new(conn: Any, table: str, frame: pl.DataFrame) -> int:
    """Insert the rows of ``frame`` whose unique keys ``table`` does not hold yet; return how many.

    On PostgreSQL the rows are copied into a temporary staging table and moved with one
    ``INSERT … SELECT … ON CONFLICT DO NOTHING``: the live table keeps its indexes (dropping
    them takes a lock that blocks every reader until commit), and a row another transaction
    inserted meanwhile (two imports creating one service) is skipped instead of failing with a
    unique violation. On SQLite, where imports are serialised, this is :func:`bulk_insert`.
    """
    if frame.height == 0:
        return 0
    if conn.dialect.name != "postgresql":
        return bulk_insert(conn, table, frame)
    frame = with_defaults(table, frame)
    unknown = [c for c in frame.columns if c not in _columns_of(table)]
    if unknown:
        raise ValueError(f"{table}: unknown columns {unknown}")
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    stage = f"stage_{table}"
    # Columns and types only: no constraints, no defaults, dropped at commit.
    conn.exec_driver_sql(f'CREATE TEMP TABLE "{stage}" ON COMMIT DROP AS '
                         f'SELECT {cols} FROM "{table}" WITH NO DATA')
    _copy_postgres(conn, stage, frame, sequence=False)
    # A fresh heap scans in the order rows were copied (the caller's key order), so concurrent
    # imports with overlapping keys take row locks in one order.
    res = conn.exec_driver_sql(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM "{stage}" '
                               f'ON CONFLICT DO NOTHING')
    conn.exec_driver_sql(f'DROP TABLE "{stage}"')
    return int(res.rowcount)


def with_defaults(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the model default of each column it lacks (the values an insert stores)."""
    # Model defaults live in Python, not in the schema: apply them to columns the frame lacks.
    defaults = {c.name: c.default.arg for c in SQLModel.metadata.tables[table].columns
                if c.name not in frame.columns and c.default is not None and c.default.is_scalar}
    return frame.with_columns(pl.lit(v).alias(k) for k, v in defaults.items()) if defaults else frame


def load_tables(engine: Engine, frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Load whole tables into an EMPTY store in one transaction (the demo, benchmarks).

    Indexes are dropped first and rebuilt once at the end. On SQLite the rows go through ADBC's
    Arrow ingest, about twice as fast as executemany because no Python tuple is ever built; on
    PostgreSQL through COPY. ``frames`` is in foreign-key order. Returns rows per table.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn, deferred_indexes(conn, list(frames)):
            return {t: bulk_insert(conn, t, f) for t, f in frames.items()}
    from analytics.store.sqlite_child import load

    indexes = [ix for t in frames for ix in SQLModel.metadata.tables[t].indexes]
    prepared: dict[str, pl.DataFrame] = {}
    for table, frame in frames.items():
        if frame.height:
            out = _for_sqlite(with_defaults(table, frame))
            prepared[table] = out.with_columns(pl.col(c).cast(pl.Int64)
                                               for c, t in out.schema.items() if t == pl.Null)
    # ADBC writes in a child process, with this process's connections closed: never two SQLite
    # libraries in one process, nor two processes' writers on the file at once.
    engine.dispose()
    load(engine.url.database or "", prepared, [ix.name for ix in indexes],
         [str(CreateIndex(ix).compile(dialect=engine.dialect)) for ix in indexes])
    return {table: frame.height for table, frame in frames.items()}


def create_indexes(conn: Any, indexes: Sequence[Any]) -> None:
    """Create ``indexes`` (SQLAlchemy ``Index`` objects) inside the caller's transaction.

    On SQLite the sorter behind CREATE INDEX sorts runs the size of the page cache and merges
    them; runs of 8 MB instead of 64 MB stay in the CPU's caches. It sorts them on this thread
    only: worker threads (``PRAGMA threads``) cost a third more CPU for a tenth less wall with a
    free core, and an import has none (its copy file is built meanwhile). 2.47M tickets: 1.6-1.7
    CPU-s instead of 2.6 with 2 workers and 16 MB runs; 584k deployments, two indexes: 0.6-0.7
    instead of 1.0. Both settings are restored afterwards.
    """
    if conn.dialect.name != "sqlite":
        for ix in indexes:
            ix.create(conn)
        return
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    threads = conn.exec_driver_sql("PRAGMA threads").scalar_one()
    conn.exec_driver_sql("PRAGMA threads=0")
    conn.exec_driver_sql(f"PRAGMA cache_size={SORT_RUN_KIB}")
    try:
        for ix in indexes:
            ix.create(conn)
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={cache}")
        conn.exec_driver_sql(f"PRAGMA threads={threads}")


@contextmanager
def deferred_indexes(conn: Any, tables: Sequence[str]) -> Iterator[None]:
    """Drop the secondary and natural-key indexes of ``tables`` and rebuild them afterwards.

    For bulk loads into EMPTY tables only: building an index once over sorted data is several
    times cheaper than maintaining it row by row. Runs inside the caller's transaction, so a
    failed load leaves the indexes as they were.
    """
    indexes = [ix for t in tables for ix in SQLModel.metadata.tables[t].indexes]
    for ix in indexes:
        ix.drop(conn)
    yield
    for ix in indexes:
        ix.create(conn)


def _for_sqlite(frame: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype in (pl.Datetime, pl.Date):
            exprs.append(col.cast(pl.Datetime("us")).dt.strftime(SQLITE_TS_FORMAT).alias(name))
        elif dtype == pl.Boolean:
            exprs.append(col.cast(pl.Int8).alias(name))
        else:
            exprs.append(col)
    return frame.select(exprs)


def _copy_postgres(conn: Any, table: str, frame: pl.DataFrame, sequence: bool = True) -> None:
    buf = io.BytesIO()
    out = frame.with_columns(
        # Naive frame times are UTC; say so, or PostgreSQL reads them in the session's zone.
        pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00:00")
        for c, t in frame.schema.items() if t in (pl.Datetime, pl.Date)
    )
    # "\N" marks NULL so that empty strings stay empty strings.
    out.write_csv(buf, include_header=False, null_value="\\N")
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f'COPY "{table}" ({cols}) FROM STDIN (FORMAT csv, NULL \'\\N\')') as copy:
            copy.write(buf.getvalue())
        if sequence and "id" in frame.columns:
            # Explicit ids do not advance the sequence; later ORM inserts must not collide.
            cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f"COALESCE((SELECT max(id) FROM \"{table}\"), 1))")
