"""The store's data version: a short string that changes whenever the data a page reads changes.

Pages pass it as an argument of their ``@st.cache_data`` / ``@st.cache_resource`` functions, so a
cached result lives until the data changes instead of expiring on a clock (a workshop left idle
for five minutes must not pay a full re-read on its next slider move).

Every table gets ``max(id)`` and ``count(*)``: an insert raises the first, a delete lowers the
second. An upsert that only updates rows changes neither, but every import and demo load writes an
``import_batch`` or ``audit_log`` row (and a saved definition a ``kpi_definition`` row), which are
in the list. ``max(id)`` is the rowid / primary-key index end; ``count(*)`` scans the smallest
index, a few milliseconds for a million rows on SQLite.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from functools import lru_cache

from sqlalchemy import Engine, event, text

# The tables whose content a page may show (every table of analytics.store.models with an id).
TABLES = ("service", "import_batch", "audit_log", "kpi_definition", "change_request", "deployment",
          "change", "incident", "incident_attribution", "ticket", "ticket_wait", "csat_response",
          "experiment", "experiment_observation", "slo", "sli_sample", "sla_contract",
          "maintenance_window", "outage", "improvement", "demo_truth")


def version_query(tables: dict[str, str | None]) -> str:
    """One SELECT returning ``max(<primary key>)`` (when it is a single column) and ``count(*)``
    of each table, as a single row.

    >>> version_query({"a": "id", "b": None})
    'SELECT (SELECT max("id") FROM "a"), (SELECT count(*) FROM "a"), (SELECT count(*) FROM "b")'
    """
    parts = []
    for table, key in tables.items():
        if key:
            parts.append(f'(SELECT max("{key}") FROM "{table}")')
        parts.append(f'(SELECT count(*) FROM "{table}")')
    return "SELECT " + ", ".join(parts)


def data_version(engine: Engine, tables: tuple[str, ...] = TABLES) -> str:
    """A 16-hex-digit digest of ``max(id)`` and ``count(*)`` of ``tables``: equal while their data
    is unchanged, different after an import, a demo load, a delete or a saved definition.

    On a SQLite file the counts are kept until anything commits to the file (see
    :class:`_Watch`): they scan indexes of millions of rows, and every page run and every read
    of the read copy asks (for its own tables: all of :data:`TABLES` are counted once and each
    list's digest is made from those counts, the same digest a count of only its tables gives).
    """
    watch = _watch(engine)
    if watch is None or not set(tables) <= set(TABLES):
        return _digest(engine, tables)
    stamp = watch.stamp()
    counts = watch.get(stamp)
    if counts is None:
        present = _keys(engine, TABLES)
        counts = dict(zip(present, _split(present, _counts(engine, present)), strict=True))
        watch.put(stamp, counts)
    present = _keys(engine, tables)
    return _hash(present, tuple(v for t in present for v in counts[t]))


def _digest(engine: Engine, tables: tuple[str, ...]) -> str:
    """The digest of ``tables``, counted now."""
    present = _keys(engine, tables)
    return _hash(present, _counts(engine, present))


def _counts(engine: Engine, present: dict[str, str | None]) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(text(version_query(present))).one()) if present else ()


def _split(present: dict[str, str | None], row: tuple) -> list[tuple]:
    """The values of ``row`` per table: (max, count) with a single key column, else (count,)."""
    out, i = [], 0
    for key in present.values():
        n = 2 if key else 1
        out.append(tuple(row[i:i + n]))
        i += n
    return out


def _hash(present: dict[str, str | None], row: tuple) -> str:
    return hashlib.sha256(repr((sorted(present), tuple(row))).encode()).hexdigest()[:16]


class _Watch:
    """Whether anything committed to a SQLite file since a digest was computed.

    SQLite's ``PRAGMA data_version`` changes, on a connection, whenever another connection (of
    this process or any other) commits to the file; this connection only ever asks that, so every
    write is another's. It is stdlib ``sqlite3``, the library SQLAlchemy's driver uses (no second
    SQLite library), in autocommit (no read snapshot held open). The file's device, inode and
    change time are part of the stamp, so a file deleted and created again under the same name
    (an inode may be reused) is not taken for the old one; a checkpoint also changes the change
    time, which only costs a recount. Counts are stored under the stamp read *before* counting:
    a commit in between makes the next stamp differ, so stored counts are never stale.
    """

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()
        self.conn: sqlite3.Connection | None = None
        self.inode: tuple[int, int, int] | None = None
        self.seen: tuple | None = None
        self.counts: dict[str, tuple] | None = None

    def stamp(self) -> tuple | None:
        """(device, inode, change time, data_version), or None when the file cannot be read."""
        with self.lock:
            try:
                st = os.stat(self.path)
                inode = (st.st_dev, st.st_ino, st.st_ctime_ns)
                if self.conn is None or inode[:2] != (self.inode or (None, None))[:2]:
                    if self.conn is not None:
                        self.conn.close()
                    # Read-write though it only reads: when it is the last connection to
                    # close, it checkpoints the WAL into the file as the engine's would.
                    self.conn = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True,
                                                isolation_level=None, check_same_thread=False)
                self.inode = inode
                return (*inode, self.conn.execute("PRAGMA data_version").fetchone()[0])
            except (OSError, sqlite3.Error):
                self.conn = None
                return None

    def close(self, *_: object) -> None:
        """Let go of the file (the engine was disposed: a caller may copy or move it next)."""
        with self.lock:
            if self.conn is not None:
                self.conn.close()
            self.conn, self.inode, self.seen, self.counts = None, None, None, None

    def get(self, stamp: tuple | None) -> dict[str, tuple] | None:
        """The counts per table stored under ``stamp`` (None: count again)."""
        with self.lock:
            return self.counts if stamp is not None and stamp == self.seen else None

    def put(self, stamp: tuple | None, counts: dict[str, tuple]) -> None:
        """Store ``counts`` (per table) as those under ``stamp``."""
        with self.lock:
            if stamp is not None:
                self.seen, self.counts = stamp, counts


_WATCHES: dict[str, _Watch] = {}
_WATCHES_LOCK = threading.Lock()


def _watch(engine: Engine) -> _Watch | None:
    """The watch of ``engine``'s SQLite file (None for PostgreSQL or an in-memory database)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or url.database.startswith("file:"):
        return None
    path = os.path.abspath(url.database)
    with _WATCHES_LOCK:
        watch = _WATCHES.setdefault(path, _Watch(path))
        # An open connection keeps the WAL beside the file: disposing the engine closes it too.
        if not event.contains(engine, "engine_disposed", watch.close):
            event.listen(engine, "engine_disposed", watch.close)
        return watch


def _keys(engine: Engine, tables: tuple[str, ...]) -> dict[str, str | None]:
    # The schema is read from the models, not the database, so no inspection round trip per call;
    # a store migrated before a table existed simply lacks it (and has_table is checked once).
    from sqlmodel import SQLModel

    from analytics.store import models  # noqa: F401  (registers the tables)

    out: dict[str, str | None] = {}
    for name in tables:
        table = SQLModel.metadata.tables.get(name)
        if table is None or not _exists(engine, name):
            continue
        pk = [c.name for c in table.primary_key.columns]
        out[name] = pk[0] if len(pk) == 1 else None
    return out


@lru_cache(maxsize=256)
def _exists(engine: Engine, name: str) -> bool:
    from sqlalchemy import inspect

    return inspect(engine).has_table(name)
