"""Reading and validating an import's files, before the store is touched.

:func:`read_and_parse` is the first half of every import (and of a preview): load the files,
parse them as the kind, validate every row. It needs polars and the ingest modules but none of
the store's (SQLAlchemy, SQLModel, the models), so the ``import`` command starts it on a thread
(:func:`read_ahead`) while those load and the store is opened: about a third of a second of a
process's start overlaps the file's parsing (polars works without the GIL).
"""

from __future__ import annotations

import importlib
import os
import stat
import threading
from concurrent.futures import Future
from pathlib import Path

from analytics.ingest import canonical
from analytics.ingest.columns import CANONICAL_KINDS, Options
from analytics.ingest.files import Mapping, SourceFile, from_bytes, load, parse_mapping
from analytics.ingest.parsed import Parsed
from analytics.ingest.times import check_timezone
from analytics.ingest.validate import InvalidImport, Problem

# Tool and dataset kinds → the module that reads them (each has parse(files, opts)).
SOURCES = {
    "github": "analytics.ingest.github", "gitlab": "analytics.ingest.gitlab",
    "jenkins": "analytics.ingest.jenkins", "pagerduty": "analytics.ingest.pagerduty",
    "servicenow": "analytics.ingest.servicenow", "jira": "analytics.ingest.jira",
    "fourkeys": "analytics.ingest.fourkeys", "bpic2014": "analytics.ingest.bpic2014",
    "uci-incidents": "analytics.ingest.uci_incidents", "openslo": "analytics.ingest.openslo",
}
KINDS = CANONICAL_KINDS + tuple(SOURCES)

Read = tuple[list[SourceFile], Parsed]


def read_and_parse(kind: str, paths: list[str | Path] | None = None, *,
                   uploads: list[tuple[str, bytes]] | None = None, tz: str = "UTC",
                   mapping: str | Path | bytes | None = None, encoding: str | None = None,
                   follow_symlinks: bool = False) -> Read:
    """The files ``paths`` (files or folders) and ``uploads`` name, and what they hold as
    ``kind``; raises :class:`InvalidImport` on any problem (see ``importer.import_files``)."""
    files = ((load(paths, follow_symlinks=follow_symlinks, encoding=encoding) if paths else [])
             + [from_bytes(n, b, encoding=encoding) for n, b in uploads or []])
    if not files:
        raise InvalidImport([Problem("input", None, None, None, "no file given")])
    return files, parse(kind, files, tz, read_mapping(mapping))


def read_ahead(kind: str, paths: list[str | Path], **kwargs: object) -> Future[Read]:
    """:func:`read_and_parse` on a thread; its result (or exception) when ``.result()`` is asked.

    A daemon thread: a process that stops on another error (say, a store it cannot open) does
    not wait for the parse to finish.
    """
    done: Future[Read] = Future()

    def run() -> None:
        try:
            done.set_result(read_and_parse(kind, paths, **kwargs))  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller, raised there
            done.set_exception(exc)

    threading.Thread(target=run, name="read-ahead", daemon=True).start()
    return done


def input_bytes(paths: list[str | Path] | None,
                uploads: list[tuple[str, bytes]] | None = None) -> int:
    """The bytes of the files ``paths`` names directly and of ``uploads`` (a folder, or a path
    that cannot be read, counts as nothing): how large an import is, before it is read."""
    size = sum(len(b) for _, b in uploads or [])
    for p in paths or []:
        try:
            st = os.stat(p)
        except OSError:
            continue
        size += st.st_size if stat.S_ISREG(st.st_mode) else 0
    return size


def parse(kind: str, files: list[SourceFile], tz: str, mapping: Mapping | None) -> Parsed:
    """Parse and validate ``files`` as ``kind`` (naive times read in ``tz``)."""
    if kind not in KINDS:
        raise InvalidImport([Problem("input", None, None, kind,
                                     f"unknown kind (one of {', '.join(KINDS)})")])
    try:
        check_timezone(tz)
    except ValueError as exc:
        raise InvalidImport([Problem("--tz", None, None, tz, str(exc))]) from None
    opts = Options(tz=tz)
    if kind in CANONICAL_KINDS:
        return canonical.parse(kind, files, opts, mapping)
    if mapping is not None:
        raise InvalidImport([Problem("--map", None, None, None,
                                     f"a column mapping applies to canonical files, not to {kind}")])
    try:
        return importlib.import_module(SOURCES[kind]).parse(files, opts)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        # Last line of defence: a payload shaped in a way no check anticipated is refused with
        # the file named (nothing is written), never a traceback.
        names = ", ".join(f.name for f in files)
        raise InvalidImport([Problem(names, None, None, None,
                                     f"not a {kind} file of the expected structure ({exc.__class__.__name__}: "
                                     f"{str(exc)[:80]}); see the field table in analytics/ingest/"
                                     f"{SOURCES[kind].rsplit('.', 1)[1]}.py")]) from None


def read_mapping(mapping: str | Path | bytes | None) -> Mapping | None:
    """The column mapping given as a path or as the file's bytes (None: none)."""
    if mapping is None:
        return None
    if isinstance(mapping, bytes):
        return parse_mapping(mapping, "mapping")
    path = Path(mapping)
    if not path.is_file():
        raise InvalidImport([Problem(str(path), None, None, None, "no such mapping file")])
    return parse_mapping(path.read_bytes(), str(path))
