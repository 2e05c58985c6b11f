"""The columnar read copy: the event tables the analyses read, as Parquet beside the store.

The store (SQLite or PostgreSQL) stays the system of record. After every committed import, demo
load, attribution run and purge, :func:`refresh` writes one Parquet file per event table (sorted by
its time column, in row groups whose min/max statistics let a period filter skip most of the
file), each to a temporary name then ``os.replace``-d, and last a small JSON manifest tagged with
the store's :func:`~analytics.store.version.data_version`. :func:`analytics.store.copyscan.scan`
hands a reader the file only while that tag equals the store's current data version, so a copy
left behind by a write that did not refresh it is never read (``queries`` falls back to SQL).

The rows are read through the store's own connection (:func:`analytics.store.db.read_frame`):
never a second SQLite library in this process (see DESIGN.md, "Bulk data and the read path").
After an import that only inserted rows, a file is its previous version plus those rows
(:mod:`analytics.store.copyappend`), not a read of the whole table.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, text

from analytics.store.db import read_frame
from analytics.store.frametypes import (ROW_GROUP_ROWS, SERVICE_SQL, cast_to_types,  # noqa: F401
                                        typed_frame, write_copy_file)

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# Bumped when the layout of the files changes; a copy with another format is not read.
FORMAT = 2  # 2: tickets carry first_response_at

_SERVICE = "s.name AS service, s.team AS team, s.tier AS tier, s.criticality AS criticality"


@dataclass(frozen=True)
class CopyTable:
    """One file of the copy: its SELECT (whole table, service columns joined) and time column."""

    name: str
    sql: str
    ts: str


TABLES: dict[str, CopyTable] = {t.name: t for t in (
    CopyTable("deployments", f"""
        SELECT d.id, d.source, d.external_id, d.service_id, {_SERVICE}, d.environment,
               d.version, d.started_at, d.finished_at, d.status, d.is_rollback, d.unplanned,
               d.emergency, d.change_request_id, d.lines_changed, d.files_changed, d.test_coverage
        FROM deployment d JOIN service s ON s.id = d.service_id""", "finished_at"),
    # A change is filtered by the deployment that shipped it: those columns ride along.
    CopyTable("changes", """
        SELECT c.id, c.commit_id, c.committed_at, c.deployment_id, d.finished_at, d.environment,
               s.name AS service, s.team AS team
        FROM change c JOIN deployment d ON d.id = c.deployment_id
        JOIN service s ON s.id = d.service_id""", "finished_at"),
    CopyTable("incidents", f"""
        SELECT i.id, i.source, i.external_id, i.service_id, {_SERVICE}, i.environment,
               i.severity, i.title, i.opened_at, i.detected_at, i.acknowledged_at, i.resolved_at,
               i.customer_facing, i.outage, i.caused_by_deployment_id,
               i.caused_by_change_request_id, i.root_cause_commit, i.problem_id, i.root_cause,
               i.postmortem_url, i.made_sla, i.priority, i.closed_at, i.status, i.category
        FROM incident i LEFT JOIN service s ON s.id = i.service_id""", "opened_at"),
    CopyTable("attributions", """
        SELECT a.* FROM incident_attribution a""", "computed_at"),
    CopyTable("tickets", f"""
        SELECT t.id, t.external_id, t.service_id, {_SERVICE}, t.opened_at, t.closed_at,
               t.first_response_at, t.severity, t.user_role, t.transaction_criticality, t.channel, t.customer_id,
               t.related_incident_id, t.text
        FROM ticket t LEFT JOIN service s ON s.id = t.service_id""", "opened_at"),
    CopyTable("csat", f"""
        SELECT r.id, r.service_id, {_SERVICE}, r.responded_at, r.score, r.nps, r.segment,
               r.customer_id, r.comment, r.related_deployment_id
        FROM csat_response r LEFT JOIN service s ON s.id = r.service_id""", "responded_at"),
    CopyTable("sli_samples", """
        SELECT x.slo_id, o.name AS slo, s.name AS service, s.team AS team, x.ts, x.good, x.total
        FROM sli_sample x JOIN slo o ON o.id = x.slo_id LEFT JOIN service s ON s.id = o.service_id
        """, "ts"),
)}


def copy_dir(engine: Engine) -> Path | None:
    """Where the copy of ``engine``'s store lives (``WORKBENCH_READ_COPY_DIR``), or None when it
    has none (an in-memory SQLite store).

    Default: beside the SQLite file as ``<db>.readcopy/``; for PostgreSQL
    ``data/<host>-<port>-<db>.readcopy/``.

    >>> from sqlalchemy import create_engine
    >>> copy_dir(create_engine("sqlite:////srv/wb/store.db")).name
    'store.db.readcopy'
    >>> copy_dir(create_engine("sqlite://")) is None
    True
    """
    from analytics.settings import ROOT, get_settings

    configured = get_settings().read_copy_dir
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        if configured:
            return Path(configured)
        db = Path(url.database)
        return db.with_name(db.name + ".readcopy")
    if configured:
        return Path(configured)
    return ROOT / "data" / f"{url.host or 'local'}-{url.port or 5432}-{url.database}.readcopy"


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the store is at (None before its first migration)."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no alembic_version table: a store built from the models (tests)
        return None


def _column_types() -> dict[str, pl.DataType]:
    """polars type of every column name of the copied tables, from the models."""
    from sqlmodel import SQLModel

    kinds = {int: pl.Int64, float: pl.Float64, bool: pl.Boolean, str: pl.String,
             datetime: pl.Datetime("us")}
    from analytics.store.db import _typed_columns

    dts, bools = _typed_columns()
    out: dict[str, pl.DataType] = {}
    for name in ("service", "slo", "incident_attribution", "sli_sample", "csat_response",
                 "ticket", "incident", "change", "deployment"):
        for col in SQLModel.metadata.tables[name].columns:
            try:
                out[col.name] = kinds.get(col.type.python_type, pl.String)
            except NotImplementedError:
                out[col.name] = pl.String
    out.update({c: pl.Datetime("us") for c in dts if c in out})
    out.update({c: pl.Boolean for c in bools if c in out})
    out.update(service=pl.String, slo=pl.String)
    return out


# Store tables each file is read from: a write to none of them leaves the file as it is.
SOURCES: dict[str, frozenset[str]] = {
    "deployments": frozenset({"deployment", "service"}),
    "changes": frozenset({"change", "deployment", "service"}),
    "incidents": frozenset({"incident", "service"}),
    "attributions": frozenset({"incident_attribution"}),
    "tickets": frozenset({"ticket", "service"}),
    "csat": frozenset({"csat_response", "service"}),
    "sli_samples": frozenset({"sli_sample", "slo", "service"}),
}
# The table each file has a row for.
MAIN: dict[str, str] = {"deployments": "deployment", "changes": "change", "incidents": "incident",
                        "attributions": "incident_attribution", "tickets": "ticket",
                        "csat": "csat_response", "sli_samples": "sli_sample"}
# Files that can grow by an import's inserted rows (the others are read in full).
GROWABLE = frozenset({"deployments", "changes", "incidents", "tickets", "csat"})
# Tables written only through rows an import inserts or updates (no other statement): an import
# into these alone may hand its inserted rows to the refresh.
APPENDABLE = frozenset({"service", *(MAIN[n] for n in GROWABLE)})


@dataclass(frozen=True)
class Appended:
    """A committed write that only inserted rows: ``frames`` holds, per table it inserted rows
    into, those rows with their ids; ``before`` is the store's data version before the write;
    ``prepared``: files already built from them (:mod:`analytics.store.copyprep`), by name."""

    frames: dict[str, pl.DataFrame]
    before: str
    prepared: dict[str, Any] = field(default_factory=dict)


# From this many rows to rewrite, a SQLite store's rows are read in a child process through
# ADBC (Arrow, ~4x cheaper than sqlite3 rows): a second SQLite library is safe there, never here.
CHILD_ROWS = 200_000


def signatures(engine: Engine) -> dict[str, str]:
    """Per file, ``max(id)``/``count(*)`` of its source tables (an insert or delete changes it)."""
    from analytics.store.version import data_version

    # import_batch too: an import that only updates rows in place changes neither max(id) nor
    # count(*) of its tables, but always writes a batch row.
    return {name: data_version(engine, tuple(sorted(src | {"import_batch"})))
            for name, src in SOURCES.items()}


def core_signatures(engine: Engine) -> dict[str, str]:
    """Per file, ``max(id)``/``count(*)`` of its source tables alone (what a refresh that was
    told which tables changed checks before keeping a file)."""
    from analytics.store.version import data_version

    return {name: data_version(engine, tuple(sorted(src))) for name, src in SOURCES.items()}


def refresh(engine: Engine, changed: set[str] | None = None,
            appended: Appended | None = None) -> dict[str, Any] | None:
    """Rewrite the copy and its manifest after a committed write; return the manifest.

    ``changed`` names the store tables the write touched (None: any). A file none of whose
    source tables was touched, and whose sources' ``max(id)``/``count(*)`` are as when it was
    written, is kept; every other file is rewritten. Returns None (and writes nothing) for a
    store without a copy location. The data version is read before and after the rows: when a
    write committed in between, no manifest is written (readers use SQL until the next refresh).

    ``appended``: the write only inserted rows (see :class:`Appended`); a file it left current
    is kept and one whose main table grew is its previous file plus the new rows, not re-read.
    """
    folder = copy_dir(engine)
    if folder is None:
        return None
    import fcntl

    from analytics.store.version import data_version

    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one refresh of a copy at a time; released on exit
        old = manifest(engine) or {}
        version, sigs, core = data_version(engine), signatures(engine), core_signatures(engine)
        # A file none of whose source tables changed is kept, re-signed with today's batches.
        kept = {name: {**entry, "signature": sigs[name], "core": core[name]}
                for name, entry in old.get("tables", {}).items()
                if old.get("format") == FORMAT and name in SOURCES
                and changed is not None and not (SOURCES[name] & changed)
                and entry.get("core") == core[name] and (folder / entry["file"]).is_file()}
        todo = [name for name in TABLES if name not in kept]
        grow: list[str] = []
        if appended is not None and old.get("format") == FORMAT \
                and old.get("data_version") == appended.before:
            # The copy was current just before this write, which only inserted rows.
            for name in todo:
                entry = old["tables"].get(name)
                if entry is None or not (folder / entry["file"]).is_file():
                    continue
                if MAIN[name] not in appended.frames:  # old rows never name the new ones
                    kept[name] = {**entry, "signature": sigs[name], "core": core[name]}
                elif name in GROWABLE:
                    grow.append(name)
        full = [name for name in todo if name not in kept and name not in grow]
        _drop_manifest(folder)  # readers use SQL while files are replaced
        rows = _write_tables(engine, folder, full)
        rows |= _grow_tables(engine, folder, grow, appended, old)
        todo = [name for name in TABLES if name not in kept]
        tables = {**kept, **{name: {"file": f"{name}.parquet", "rows": rows[name],
                                    "signature": sigs[name], "core": core[name]}
                             for name in todo}}
        if data_version(engine) != version:
            log.debug("read copy: the store changed while it was written; not tagged")
            return None
        found = {"format": FORMAT, "data_version": version,
                 "schema_revision": schema_revision(engine),
                 "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "rows": sum(t["rows"] for t in tables.values()),
                 "rewritten": todo, "tables": {n: tables[n] for n in TABLES}}
        tmp = folder / f".{MANIFEST}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(found, indent=1))
        os.replace(tmp, folder / MANIFEST)
        return found
    finally:
        os.close(fd)


def _grow_tables(engine: Engine, folder: Path, names: list[str], appended: Appended | None,
                 old: dict[str, Any]) -> dict[str, int]:
    """Write the files of ``names`` as their previous file plus ``appended``'s rows of their
    main table; a file that cannot be built that way is read in full. Rows per file."""
    from analytics.store.copyappend import new_rows

    if not names or appended is None:
        return {}
    types = _column_types()
    services = cast_to_types(typed_frame(read_frame(engine, SERVICE_SQL), (), ()), types)
    out: dict[str, int] = {}
    for name in names:
        sql, ts, how = _child_sql(TABLES[name])
        prep = appended.prepared.get(name)
        built = prep.take() if prep is not None else None
        if built is not None:
            if built.current(services):  # built from the files and services of now
                for tmp, path in built.files:
                    os.replace(tmp, path)
                out[name] = built.rows
                continue
            for tmp, _ in built.files:
                tmp.unlink(missing_ok=True)
        try:
            new = new_rows(name, sql, appended.frames[MAIN[name]], services, how, folder, types)
            previous = pl.read_parquet(folder / old["tables"][name]["file"])
            if new is not None and new.schema != previous.schema:
                new = None
            elif new is not None:
                frame = pl.concat([previous, new]) if previous.height else new
        except (pl.exceptions.PolarsError, KeyError):  # a value that does not cast: read it
            log.debug("read copy: %s not grown, read in full", name, exc_info=True)
            new = None
        # Written now, not after the loop: a later file may look rows up in this one.
        if new is not None:
            # The previous file is in (time, id) order and every new id is larger.
            out[name] = write_copy_file(folder, name, frame, ts, types, ties_in_id_order=True)
        else:
            out |= _write_tables(engine, folder, [name])
    return out


def _write_tables(engine: Engine, folder: Path, names: list[str]) -> dict[str, int]:
    """Write the files of ``names``; rows per file. Large SQLite reads go to a child process."""
    if not names:
        return {}
    if engine.dialect.name == "sqlite" and _rows(engine, names) >= CHILD_ROWS:
        from analytics.store.db import _typed_columns
        from analytics.store.sqlite_child import copy_tables

        dts, bools = _typed_columns()
        return copy_tables(engine.url.database or "", folder,
                           [(n, *_child_sql(TABLES[n])) for n in names],
                           sorted(dts), sorted(bools), _column_types())
    return {name: _write(folder, name, read_frame(engine, TABLES[name].sql)) for name in names}


def _child_sql(table: CopyTable) -> tuple[str, str, str | None]:
    """(SELECT, time column, service join) for the child: a file whose SELECT joins the service
    table gets it without the service columns, which the child joins itself ("inner" or "left").

    >>> _child_sql(TABLES["csat"])[0].split()[:4], _child_sql(TABLES["csat"])[2]
    (['SELECT', 'r.id,', 'r.service_id,', 'r.responded_at,'], 'left')
    >>> _child_sql(TABLES["changes"])[2] is None
    True
    """
    found = re.search(r"(LEFT )?JOIN service s ON s\.id = \w+\.service_id", table.sql)
    if found is None or f"{_SERVICE}," not in table.sql:
        return table.sql, table.ts, None
    base = table.sql.replace(f"{_SERVICE},", "").replace(found.group(0), "")
    return base, table.ts, "left" if found.group(1) else "inner"


def _rows(engine: Engine, names: list[str]) -> int:
    sql = " + ".join(f'(SELECT count(*) FROM "{MAIN[n]}")' for n in names)
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT {sql}")).scalar_one())


def stored_rows(engine: Engine) -> int:
    """The rows of the store tables the copy's files are made from (0: an empty store)."""
    return _rows(engine, list(TABLES))


def _write(folder: Path, name: str, frame: pl.DataFrame) -> int:
    """Write one file: sorted by its time column, to a temporary name, then renamed."""
    return write_copy_file(folder, name, frame, TABLES[name].ts, _column_types())


def refresh_quietly(engine: Engine, changed: set[str] | None = None,
                    appended: Appended | None = None) -> dict[str, Any] | None:
    """:func:`refresh` for the places that commit writes: a failed refresh must not fail the
    committed write (readers fall back to SQL), so it is logged, not raised."""
    try:
        return refresh(engine, changed, appended)
    except Exception:
        log.warning("read copy: refresh failed; reads use SQL until the next refresh",
                    exc_info=True)
        folder = copy_dir(engine)
        if folder is not None:
            # Not only stale: after a purge the old files still hold the redacted text.
            _drop_manifest(folder)
            for path in folder.glob("*.parquet"):
                path.unlink(missing_ok=True)
        return None


def _drop_manifest(folder: Path) -> None:
    (folder / MANIFEST).unlink(missing_ok=True)


def manifest(engine: Engine) -> dict[str, Any] | None:
    """The copy's manifest, or None when there is no copy."""
    folder = copy_dir(engine)
    if folder is None:
        return None
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
