"""The two entry points the CLI and the Import page share: :func:`import_files` and :func:`preview`.

Both run the same parsing and validation; ``import_files`` then writes in one transaction
(:mod:`analytics.ingest.batch`), ``preview`` stops before the store and returns the first rows,
the detected kind and the problems.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from analytics.ingest import canonical
from analytics.ingest.batch import ImportResult, Parsed, write
from analytics.ingest.columns import CANONICAL_KINDS, SPECS
from analytics.ingest.files import Mapping, SourceFile, from_bytes, load, read_json, read_table
from analytics.ingest.reading import KINDS, SOURCES, Read, input_bytes, read_and_parse  # noqa: F401
from analytics.ingest.reading import parse as _parse
from analytics.ingest.reading import read_mapping as _mapping
from analytics.ingest.validate import FILE, ROW, InvalidImport, Problem
from analytics.store import copyprep, sqlite_child
from analytics.store.db import import_lock, is_retryable
from analytics.store.version import data_version

if TYPE_CHECKING:
    from analytics.store.readcopy import Appended

# Canonical files keep their rows under this source unless --source says otherwise.
CANONICAL_SOURCE = "canonical"
# A deadlock or serialisation failure (PostgreSQL) or an expired busy timeout (SQLite) rolled
# the whole transaction back: it is run again, this many times in all, after a growing pause.
ATTEMPTS = 3
RETRY_PAUSE_S = 0.5


class StoreBusy(InvalidImport):
    """Other writers kept the store busy (deadlocks, lock timeouts) on every attempt."""

    def __init__(self, attempts: int, cause: str) -> None:
        self.attempts, self.cause = attempts, cause
        super().__init__([Problem("store", None, None, None, cause)])

    def describe(self) -> str:
        """The message shown to the user."""
        return (f"the store was busy with other writers on all {self.attempts} attempts "
                f"({self.cause}); nothing was imported, try again")


def default_source(kind: str) -> str:
    """The ``source`` rows of ``kind`` are stored under when --source is not given."""
    return CANONICAL_SOURCE if kind in CANONICAL_KINDS else kind


def import_files(engine: Engine, kind: str, paths: list[str | Path] | None = None, *,
                 uploads: list[tuple[str, bytes]] | None = None, tz: str = "UTC",
                 source: str | None = None, dry_run: bool = False,
                 mapping: str | Path | bytes | None = None, actor: str | None = None,
                 encoding: str | None = None, follow_symlinks: bool = False,
                 on_wait: Callable[[], None] | None = None,
                 ahead: Future[Read] | None = None) -> ImportResult:
    """Import ``paths`` (files or folders) and/or ``uploads`` ((name, bytes) pairs) as ``kind``.

    All or nothing: raises :class:`InvalidImport` (nothing written) on any invalid row.
    Returns the counts; ``result.summary()`` is what the CLI prints. ``encoding`` names the text
    encoding of files that are not UTF-8; symbolic links are read only with ``follow_symlinks``.
    Imports into one SQLite store queue for its import lock (``on_wait`` is called when this one
    has to wait); a transaction lost to other writers is retried, then :class:`StoreBusy`.
    ``ahead``: :func:`~analytics.ingest.reading.read_ahead` started with these same arguments
    (the files are then read and parsed by it, not here).
    """
    if engine.dialect.name == "sqlite" and input_bytes(paths, uploads) >= sqlite_child.SPARE_BYTES:
        sqlite_child.start_spare()  # its start overlaps the parse (the CLI started it already)
    try:
        return _import(engine, kind, paths, uploads=uploads, tz=tz, source=source,
                       dry_run=dry_run, mapping=mapping, actor=actor, encoding=encoding,
                       follow_symlinks=follow_symlinks, on_wait=on_wait, ahead=ahead)
    finally:
        sqlite_child.drop_spare()  # not taken: no rows were staged


def _import(engine: Engine, kind: str, paths: list[str | Path] | None, *,
            uploads: list[tuple[str, bytes]] | None, tz: str, source: str | None, dry_run: bool,
            mapping: str | Path | bytes | None, actor: str | None, encoding: str | None,
            follow_symlinks: bool, on_wait: Callable[[], None] | None,
            ahead: Future[Read] | None) -> ImportResult:
    files, parsed = ahead.result() if ahead is not None else read_and_parse(
        kind, paths, uploads=uploads, tz=tz, mapping=mapping, encoding=encoding,
        follow_symlinks=follow_symlinks)
    if actor is None:
        from analytics.settings import get_settings

        actor = get_settings().user
    try:
        with import_lock(engine, on_wait):
            before = None if dry_run else data_version(engine)
            result = _write_retrying(engine, parsed, kind=kind,
                                     source=source or default_source(kind), actor=actor,
                                     files=[f.record() for f in files], dry_run=dry_run,
                                     copy_version=before)
            try:
                if before is not None:
                    # Under the lock: the next import's refresh starts after this one's ends.
                    from analytics.store.readcopy import refresh_quietly

                    written = _written_tables(result)
                    refresh_quietly(engine, written, _appended(result, written, before))
            finally:
                copyprep.discard(result.prepared)  # files built ahead and not published
                result.appended, result.prepared = None, {}  # not held by the caller
            return result
    except IntegrityError as exc:
        # The transaction was rolled back; say which constraint refused the data, not a traceback.
        raise InvalidImport([Problem(", ".join(f.name for f in files), None, None, None,
                                     f"the store refused these rows ({_first(exc)})")]) from None


def _written_tables(result: ImportResult) -> set[str]:
    """The store tables an import wrote (so the read copy rewrites only the files they feed)."""
    from analytics.ingest.columns import SPECS

    tables = {SPECS[k].table for k in result.tables if k in SPECS}
    return tables | ({"service"} if "services created" in result.tables else set())


def _appended(result: ImportResult, written: set[str], before: str) -> Appended | None:
    """What the read copy may grow by: the rows an import only inserted, into tables that
    nothing else writes (None: refresh the files of ``written`` in full)."""
    from analytics.store.readcopy import APPENDABLE, Appended

    if result.appended is None or not written <= APPENDABLE:
        return None
    return Appended({t: f for t, f in result.appended.items() if f.height}, before,
                    result.prepared)


def _write_retrying(engine: Engine, parsed: Parsed, **kwargs: Any) -> ImportResult:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return write(engine, parsed, **kwargs)
        except DBAPIError as exc:
            if not is_retryable(exc):
                raise
            if attempt == ATTEMPTS:
                raise StoreBusy(ATTEMPTS, _first(exc)) from None
            time.sleep(RETRY_PAUSE_S * attempt)
    raise AssertionError("unreachable")


def _first(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).strip()
    return text.splitlines()[0][:120] if text else exc.__class__.__name__


def preview(kind: str | None, path_or_bytes: str | Path | bytes, filename: str | None = None, *,
            tz: str = "UTC", mapping: str | Path | bytes | None = None,
            rows: int = 20, encoding: str | None = None) -> dict[str, Any]:
    """Parse one file without touching the store.

    Returns ``{"kind", "detected_kind", "rows": polars frame of the first rows (per table),
    "counts": rows per table, "problems": [str], "total_problems": int, "warnings": [str]}``.
    References to rows already in the store are only checked by the import itself.
    """
    try:
        if isinstance(path_or_bytes, bytes):
            f = from_bytes(filename or "upload", path_or_bytes, encoding=encoding)
        else:
            f = load([path_or_bytes], encoding=encoding)[0]
    except InvalidImport as exc:  # a bomb, a link, bytes in the wrong encoding
        return _preview_result(kind, None, {}, exc, [])
    try:
        m = _mapping(mapping)
        detected = detect(f, m)
    except InvalidImport as exc:
        return _preview_result(kind, None, {}, exc, [])
    chosen = kind or detected
    if chosen is None:
        return {"kind": None, "detected_kind": None, "rows": {}, "counts": {},
                "problems": [f"{f.name}: cannot tell what this file holds; choose a kind"],
                "total_problems": 1, "warnings": []}
    try:
        parsed = _parse(chosen, [f], tz, m)
    except InvalidImport as exc:
        return _preview_result(chosen, detected, {}, exc, [])
    tables = {k: v.drop([c for c in (FILE, ROW) if c in v.columns]).head(rows)
              for k, v in parsed.tables.items()}
    out = _preview_result(chosen, detected, tables, None, parsed.warnings)
    out["counts"] = {k: v.height for k, v in parsed.tables.items()}
    out["rejected"] = parsed.rejected
    return out


def _preview_result(kind: str | None, detected: str | None, tables: dict[str, pl.DataFrame],
                    exc: InvalidImport | None, warnings: list[str]) -> dict[str, Any]:
    return {"kind": kind, "detected_kind": detected, "rows": tables, "counts": {},
            "problems": [str(p) for p in exc.problems] if exc else [],
            "total_problems": exc.total if exc else 0, "warnings": warnings}


def detect(f: SourceFile, mapping: Mapping | None = None) -> str | None:
    """The kind a file most likely holds, from its name, structure or headers (None if unsure)."""
    stem = f.stem.replace(" ", "_")
    if stem.startswith(("detail_change", "detail_incident", "detail_interaction")):
        return "bpic2014"
    if stem.startswith("incident_event_log"):
        return "uci-incidents"
    if f.fmt == "yaml":
        return "openslo"
    if f.fmt == "json":
        return _detect_json(read_json(f))
    frame = read_table(f, separator=mapping.separator if mapping else ",").head(0)
    inverse = {src: canon for canon, src in (mapping.columns if mapping else {}).items()}
    columns = [inverse.get(c, c) for c in frame.columns]
    if {"event_type", "metadata"} <= set(columns):
        return "fourkeys"
    fits = [k for k in CANONICAL_KINDS if canonical.matches(k, columns)]
    # The most specific kind wins: the one whose known columns overlap the header most.
    fits.sort(key=lambda k: -len({c.name for c in SPECS[k].public} & set(columns)))
    return fits[0] if fits else None


def _detect_json(doc: Any) -> str | None:
    first = doc[0] if isinstance(doc, list) and doc else doc
    if not isinstance(first, dict):
        return None
    keys = set(first)
    rules = (
        ({"deployment_status"}, "github"), ({"statuses_url"}, "github"),
        ({"deployment_url"}, "github"), ({"deployable"}, "gitlab"), ({"iid", "environment"}, "gitlab"),
        ({"builds"}, "jenkins"), ({"allBuilds"}, "jenkins"), ({"incidents"}, "pagerduty"),
        ({"log_entries"}, "pagerduty"), ({"result"}, "servicenow"), ({"issues"}, "jira"),
        ({"rows"}, "fourkeys"), ({"event_type", "metadata"}, "fourkeys"),
    )
    for need, kind in rules:
        if need <= keys:
            return kind
    return None
