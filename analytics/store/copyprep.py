"""Building an import's grown read-copy file on the second core, before the import commits.

After an import that only inserted rows, a file of the copy is its previous version plus those
rows (:mod:`analytics.store.copyappend`). That file depends only on the rows, the ids SQLite gives
them (``max(id)`` + 1… under the import's write lock, checked after the insert), the previous
file, the service table and, for changes, the deployments file. So a thread builds it while the
main thread builds the table's indexes and commits (tickets: ≈1.8 s of wall off the critical
path on 2 cores), and writes it under a private temporary name.

Nothing is published here: :func:`analytics.store.readcopy.refresh` renames the file into place
after the commit, under the copy's lock, and only when what it was built from is unchanged
(same previous file, same looked-up file, same services); otherwise it builds the file as
before. A failed import deletes the file (:meth:`Prepared.discard`), so store and copy stay as they were.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

log = logging.getLogger(__name__)


def _stat(path: Path) -> tuple[int, int, int, int] | None:
    """What tells one version of a file from another (a rename gives a new inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class Built:
    """A file built ahead: its rows, (temporary, final) paths, the version of each file read
    and the service rows joined in (None: none)."""

    rows: int
    files: list[tuple[Path, Path]]
    reads: dict[Path, tuple[int, int, int, int] | None]
    services: pl.DataFrame | None

    def current(self, services: pl.DataFrame | None) -> bool:
        """True while every file it was built from is the one it read, and the services equal."""
        if any(_stat(p) != s for p, s in self.reads.items()):
            return False
        if self.services is None:
            return True
        return services is not None and self.services.equals(services)


class Prepared:
    """One copy file built in a thread (:func:`start`); :meth:`take` waits for it."""

    def __init__(self, folder: Path, name: str, previous: str, inserted: pl.DataFrame,
                 services: pl.DataFrame | None, types: dict[str, pl.DataType]) -> None:
        self.name = name
        self._built: Built | None = None
        self._args = (folder, name, previous, inserted, services, types)
        self._thread = threading.Thread(target=self._run, name=f"copy-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._built = _build(*self._args)
        except Exception:  # a value that does not cast, a file gone: the refresh builds it
            log.debug("read copy: %s not built ahead", self.name, exc_info=True)
        self._args = ()

    def take(self) -> Built | None:
        """The built file (its temporary files now belong to the caller), or None."""
        self._thread.join()
        built, self._built = self._built, None
        return built

    def discard(self) -> None:
        """Wait for the thread and delete what it wrote."""
        built = self.take()
        for tmp, _ in built.files if built else []:
            tmp.unlink(missing_ok=True)


def _build(folder: Path, name: str, previous: str, inserted: pl.DataFrame,
           services: pl.DataFrame | None, types: dict[str, pl.DataType]) -> Built | None:
    from analytics.store.copyappend import LOOKUPS, new_rows
    from analytics.store.frametypes import write_copy_parts
    from analytics.store.readcopy import TABLES, _child_sql

    sql, ts, how = _child_sql(TABLES[name])
    # Versions first, then the reads: a file replaced in between fails the check at publication.
    reads = {folder / previous: _stat(folder / previous)}
    if name in LOOKUPS:
        looked = folder / f"{LOOKUPS[name][1]}.parquet"
        reads[looked] = _stat(looked)
    new = new_rows(name, sql, inserted, services, how, folder, types)
    old = pl.read_parquet(folder / previous)
    if new is None or new.schema != old.schema:
        return None
    frame = pl.concat([old, new]) if old.height else new
    # The previous file is in (time, id) order and every new id is larger.
    rows, files = write_copy_parts(folder, name, frame, ts, types, f"{os.getpid()}.{name}.ahead",
                                   ties_in_id_order=True)
    return Built(rows, files, reads, services if how is not None else None)


def start(conn: Any, table: str, inserted: pl.DataFrame, before: str) -> dict[str, Prepared]:
    """Start building, per copy file whose main table is ``table``, that file grown by
    ``inserted`` (the rows just inserted, with their ids). Only when the copy
    is current at ``before`` (the data version read under the import lock before the write):
    otherwise the refresh would not grow it. ``conn`` is the import's SQLite connection (the
    services it reads include those this import created)."""
    from analytics.store.readcopy import FORMAT, GROWABLE, MAIN, MANIFEST, TABLES, _child_sql, \
        _column_types, copy_dir

    folder = copy_dir(conn.engine)
    if folder is None or conn.dialect.name != "sqlite":
        return {}
    remove_stale(folder)
    try:
        found = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    if found.get("format") != FORMAT or found.get("data_version") != before:
        return {}
    entries = found.get("tables", {})
    names = [n for n in TABLES if n in GROWABLE and MAIN[n] == table and n in entries]
    if not names:
        return {}
    services = None
    if any(_child_sql(TABLES[n])[2] is not None for n in names):
        services = services_frame(conn)
    types = _column_types()
    return {n: Prepared(folder, n, entries[n]["file"], inserted, services, types) for n in names}


def services_frame(conn: Any) -> pl.DataFrame:
    """The service rows the copy joins (``SERVICE_SQL``), typed as the refresh reads them, on
    ``conn`` (inside its transaction)."""
    from analytics.store.db import _typed
    from analytics.store.frametypes import SERVICE_SQL, cast_to_types, typed_frame
    from analytics.store.readcopy import _column_types

    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(SERVICE_SQL)
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        cur.close()
    frame = pl.DataFrame(rows, schema=cols, orient="row", infer_schema_length=None)
    # As readcopy._grow_tables reads them: read_frame's typing, then typed_frame again.
    return cast_to_types(typed_frame(_typed(frame), (), ()), _column_types())


_AHEAD = re.compile(r"\.\w+\.(?:parquet|months)\.(\d+)\.\w+\.ahead")


def remove_stale(folder: Path) -> int:
    """Delete files built ahead by imports that were killed (``kill -9`` runs no cleanup);
    return how many. A file whose process still runs belongs to an import under way."""
    from analytics.store.bulk import _alive

    gone = 0
    for path in folder.glob(".*.ahead"):
        found = _AHEAD.fullmatch(path.name)
        if found and not _alive(int(found.group(1))):
            path.unlink(missing_ok=True)
            gone += 1
    return gone


def discard(prepared: dict[str, Prepared] | None) -> None:
    """Delete every file of ``prepared`` not taken."""
    for prep in (prepared or {}).values():
        prep.discard()
