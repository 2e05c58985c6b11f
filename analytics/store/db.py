"""Engine, sessions, schema migration and the fast read path into polars.

Rows a person edits go through the ORM (``Session(engine)``); bulk rows go through
:mod:`analytics.store.bulk`. Reads go into polars with the filters in SQL (:func:`read_frame`).
"""

from __future__ import annotations

import os
import re
import sqlite3
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Boolean, DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from analytics.store import models  # noqa: F401  (registers every table on SQLModel.metadata)
from analytics.store.frametypes import typed_frame

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# New SQLite stores use 32 KiB pages instead of 4 KiB: an analytics store is written in bulk and
# read by scans, and 8x fewer pages make the 1M-row import ~10% faster (fewer B-tree splits,
# fewer WAL frames to checkpoint; bench/RESULTS.md). Existing stores keep their page size.
PAGE_SIZE = 32768


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the app read while an import writes; FKs are off by default in SQLite.
    cur = dbapi_conn.cursor()
    # Only takes effect while the file is still empty, so it must precede journal_mode.
    cur.execute(f"PRAGMA page_size={PAGE_SIZE}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MB page cache: bulk writes touch many pages
    cur.close()


_MADE: weakref.WeakSet[Engine] = weakref.WeakSet()


def dispose_engines() -> None:
    """Close the pooled connections of every engine :func:`get_engine` made and still alive (and
    with them the data-version watch of each SQLite file), as the interpreter's teardown would:
    for a process about to end without it (``cli.common.exit_process``)."""
    for engine in list(_MADE):
        engine.dispose()


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    """Return the (cached) engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    >>> get_engine("sqlite://").dialect.name
    'sqlite'
    """
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _MADE.add(engine)
    return engine


@contextmanager
def import_lock(engine: Engine, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the store's import lock: one import writes to a SQLite file at a time.

    SQLite has one writer; a second import that only relied on the busy timeout gave up with
    "database is locked" when the first took longer than the timeout. An advisory lock on
    ``<store>.import-lock`` (``flock``: released by the kernel when the process dies, so a
    killed import never leaves it held) queues imports instead; ``on_wait`` is called once
    when this import has to wait. PostgreSQL imports run side by side (no lock).
    """
    path = _lock_path(engine)
    if path is None:
        yield
        return
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _lock_path(engine: Engine) -> str | None:
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:") or os.name != "posix":
        return None
    return f"{url.database}.import-lock"


# PostgreSQL: deadlock_detected, serialization_failure. SQLite: the busy timeout ran out.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_retryable(exc: BaseException) -> bool:
    """True when ``exc`` (a SQLAlchemy or driver error) says "try the transaction again".

    >>> is_retryable(sqlite3.OperationalError("database is locked"))
    True
    >>> is_retryable(ValueError("bad row"))
    False
    """
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration's revision id, read from the scripts' ``revision``/``down_revision``
    lines (None when that reading is ambiguous: then Alembic decides).

    >>> head_revision() == sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("0*.py"))[-1]
    True
    """
    revs, downs = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(re.findall(r"^(revision|down_revision)\s*=\s*['\"]?([\w]+)", path.read_text(),
                                re.MULTILINE))
        revs.add(found.get("revision"))
        downs.add(found.get("down_revision"))
    heads = revs - downs - {None}
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """True when the store's recorded revision is the newest script's (nothing to migrate)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # no version table yet: a new store
        return False
    return found == [head]


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (Alembic owns the schema). A store
    already at the newest revision is left alone without loading Alembic (every CLI command and
    app start checks; Alembic's own check costs a fifth of a second of CPU)."""
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, "head")


def is_empty(engine: Engine) -> bool:
    """True when the store holds no service (the demo may be loaded)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM service")).scalar_one() == 0

# --------------------------------------------------------------------------------------------
# Read path


@lru_cache(maxsize=1)
def _typed_columns() -> tuple[frozenset[str], frozenset[str]]:
    """Names of datetime and boolean columns across the schema (for SQLite's untyped results)."""
    dts, bools = set(), set()
    for table in SQLModel.metadata.tables.values():
        for c in table.columns:
            if isinstance(c.type, DateTime) or isinstance(getattr(c.type, "impl", None), DateTime):
                dts.add(c.name)
            elif isinstance(c.type, Boolean):
                bools.add(c.name)
    return frozenset(dts), frozenset(bools)


def adbc_connect(url: str) -> Any:
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        import adbc_driver_sqlite.dbapi as adbc

        return adbc.connect(sa_url.database)
    import adbc_driver_postgresql.dbapi as adbc

    pg = sa_url.set(drivername="postgresql")
    return adbc.connect(pg.render_as_string(hide_password=False))


def _param(value: Any, sqlite: bool) -> Any:
    if isinstance(value, datetime | date) and sqlite:
        value = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def read_frame(engine: Engine, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
    """Run ``sql`` (``?`` placeholders) and return a polars frame with proper dtypes.

    PostgreSQL results come through ADBC as Arrow. SQLite results come through the engine's own
    sqlite3 connection: a second SQLite library in the same process (ADBC bundles one) breaks
    SQLite's POSIX locking and was seen to read stale pages. Columns named like a datetime or
    boolean column of the schema are typed as such, because SQLite hands back text and integers.
    Every integer column comes back as Int64 on both backends (PostgreSQL INTEGER is Int32 in
    Arrow, and a polars sum of Int32 overflows silently).
    """
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(sql, [_param(p, True) for p in params])
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
            cur.close()
        finally:
            raw.close()
        # Infer from every row: a shorter inference silently truncates a late float to int.
        frame = pl.DataFrame(rows, schema=cols, orient="row", infer_schema_length=None)
        return _typed(frame)
    counter = iter(range(1, 10_000))
    sql = re.sub(r"\?", lambda _m: f"${next(counter)}", sql)
    conn = adbc_connect(engine.url.render_as_string(hide_password=False))
    try:
        cur = conn.cursor()
        cur.execute(sql, list(params) or None)
        frame = pl.from_arrow(cur.fetch_arrow_table())
        cur.close()
    finally:
        conn.close()
    assert isinstance(frame, pl.DataFrame)
    return _typed(frame)


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    return typed_frame(frame, *_typed_columns())


