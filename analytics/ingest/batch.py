"""Writing validated frames to the store: one transaction, upsert, batch record and audit entry.

Rules (issue 3):
- all or nothing: every table of an invocation is written inside one transaction; any problem
  (including a reference that cannot be resolved, when the source is strict) rolls it all back;
- idempotent: rows are matched on ``(source, external_id)`` (services and SLOs on their unique
  name, SLI samples on ``(slo, ts)``); a matched row whose values differ is updated in place,
  one whose values are equal is left alone (and counted as unchanged);
- new rows go through :func:`analytics.store.bulk.bulk_insert` (the fast path, staged through a
  scratch file for large SQLite batches, see ``staged_writes``); existing keys are looked up with
  one query per table, references with index-backed set queries (:func:`~analytics.ingest.stored.lookup_refs`);
- services the data names but the store does not know are created with ``confirmed=False``;
- the batch (who, when, files with sha256, counts) is an ``import_batch`` row and an audit entry.

References between rows are external ids: a row of the same source wins; otherwise the id must
match exactly one row of another source (so incidents imported from PagerDuty can name a
deployment imported from GitHub).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, text
from sqlmodel import SQLModel

from analytics.ingest import batch_record, pseudonym
from analytics.ingest.columns import SPECS, Spec
from analytics.ingest.parsed import Parsed
from analytics.ingest.stored import as_dtype, differs, lookup_refs
from analytics.ingest.validate import FILE, ROW, InvalidImport, Problem
from analytics.store import copyprep, models
from analytics.store.definitions import record_slo_versions, slo_definitions
from analytics.ingest.newrows import insert_rows
from analytics.store.bulk import insert_new, staged_writes

ORDER = ("services", "slos", "change_requests", "deployments", "changes", "incidents",
         "tickets", "csat", "sli", "maintenance", "outages")
MODELS: dict[str, type[SQLModel]] = {
    m.__tablename__: m for m in (  # type: ignore[misc]
        models.Service, models.Slo, models.ChangeRequest, models.Deployment, models.Change,
        models.Incident, models.Ticket, models.CsatResponse, models.SliSample,
        models.MaintenanceWindow, models.Outage)}
CHUNK = 500


@dataclass
class ImportResult:
    """The summary the CLI prints (``summary()``) plus per-table counts and warnings."""

    kind: str
    files: list[dict[str, Any]]
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    batch_id: int | None = None
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Per store table, the rows inserted with their ids (the read copy grows by them); None once
    # a row was updated or an insert's ids are not known, and after the refresh.
    appended: dict[str, pl.DataFrame] | None = field(default_factory=dict, repr=False)
    # Copy files being built from those rows ahead of the commit (analytics.store.copyprep).
    prepared: dict[str, Any] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, Any]:
        """{"kind", "files", "inserted", "updated", "unchanged", "rejected", "batch_id"}."""
        return {"kind": self.kind, "files": self.files, "inserted": self.inserted,
                "updated": self.updated, "unchanged": self.unchanged, "rejected": self.rejected,
                "batch_id": self.batch_id}


class _Rollback(Exception):
    """Raised to undo a dry run after everything was computed."""


def write(engine: Engine, parsed: Parsed, *, kind: str, source: str, actor: str,
          files: list[dict[str, Any]], dry_run: bool = False,
          copy_version: str | None = None) -> ImportResult:
    """Write ``parsed`` in one transaction and return the counts (nothing is kept on a dry run).

    Callers hold the store's import lock and retry (see ``importer.import_files``).
    ``copy_version``: the data version read under that lock before this write; given, the read
    copy's files are built from the inserted rows while the transaction goes on (the caller
    publishes or discards ``result.prepared``).
    """
    result = ImportResult(kind=kind, files=files, rejected=parsed.rejected,
                          warnings=list(parsed.warnings))
    if any(pseudonym.COLUMN in f.columns for f in parsed.tables.values()):
        # Customer ids never reach the store as imported (issue 16.8); matching on the pseudonym
        # keeps a re-import idempotent.
        key = pseudonym.load_key(engine)
        parsed.tables = {k: pseudonym.pseudonymise(f, key) for k, f in parsed.tables.items()}
    try:
        with engine.connect() as conn, staged_writes(conn), conn.begin():
            batch_id = batch_record.start(conn, kind, source, actor, files)
            w = _Writer(conn, source, batch_id, parsed.strict_refs, result,
                        None if dry_run else copy_version)
            w.services(parsed.tables)
            slos_before = slo_definitions(conn) if "slos" in parsed.tables else None
            for k in ORDER[1:]:
                if k in parsed.tables:
                    w.table(SPECS[k], parsed.tables[k])
            if w.problems:
                raise InvalidImport(w.problems, w.total)
            if slos_before is not None:  # a re-imported SLO is a new version, the old one kept
                record_slo_versions(conn, slos_before, actor=actor, batch_id=batch_id)
            result.batch_id = batch_id
            batch_record.finish(conn, result, source, actor)
            if dry_run:
                raise _Rollback
    except _Rollback:
        result.batch_id = None
    except BaseException:
        copyprep.discard(result.prepared)  # rolled back: the copy stays as it was
        raise
    return result


def _bindable(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


class _Writer:
    def __init__(self, conn: Connection, source: str, batch_id: int, strict: bool,
                 result: ImportResult, copy_version: str | None = None) -> None:
        self.conn, self.source, self.batch_id, self.strict = conn, source, batch_id, strict
        self.result, self.copy_version = result, copy_version
        self.problems: list[Problem] = []
        self.total = 0
        self.service_ids: dict[str, int] = {}

    # ------------------------------------------------------------------ services

    def services(self, tables: dict[str, pl.DataFrame]) -> None:
        """Upsert the services kind, then create any other service the data names."""
        known = dict(self.conn.execute(text("SELECT name, id FROM service")).all())
        declared = tables.get("services")
        if declared is not None:
            self.table(SPECS["services"], declared)
            known = dict(self.conn.execute(text("SELECT name, id FROM service")).all())
        teams: dict[str, str] = {}
        for frame in tables.values():
            if "service" in frame.columns and "team" in frame.columns:
                pairs = frame.select("service", "team").drop_nulls().unique("service", keep="first")
                teams.update({s: t for s, t in pairs.iter_rows() if s not in teams})
        names = sorted({n for k, f in tables.items() if k != "services" and "service" in f.columns
                        for n in f["service"].drop_nulls().unique().to_list()} - set(known))
        if names:
            new = pl.DataFrame({"name": names}).with_columns(
                team=pl.col("name").replace_strict(teams, default="unassigned", return_dtype=pl.String),
                tier=pl.lit("bronze"), criticality=pl.lit(3), customer_facing=pl.lit(True),
                timezone=pl.lit("UTC"), confirmed=pl.lit(False), source=pl.lit(self.source),
                external_id=pl.col("name"), batch_id=pl.lit(self.batch_id))
            # Another import may create the same service meanwhile: skip it, then read its id.
            created = insert_new(self.conn, "service", new)
            self.result.tables["services created"] = {"inserted": created}
            self._appended("service", pl.DataFrame())  # no file of the copy has a row per service
            known = dict(self.conn.execute(text("SELECT name, id FROM service")).all())
        self.service_ids = known

    # ------------------------------------------------------------------ one table

    def table(self, spec: Spec, frame: pl.DataFrame) -> None:
        """Resolve references, then insert new rows and update changed ones."""
        frame = self._resolve(spec, frame)
        if self.problems:
            return  # an unresolved reference would be written as NULL (or break a NOT NULL key)
        model = MODELS[spec.table]
        table = SQLModel.metadata.tables[spec.table]
        key = self._key_columns(spec)
        values = [c for c in frame.columns if c in table.columns
                  and c not in (*key, "id", "external_id", "source")]
        if spec.kind == "services":
            values.append("confirmed")
            frame = frame.with_columns(confirmed=pl.lit(True))
        # An empty optional value of a NOT NULL column means the model default (e.g. environment).
        frame = frame.with_columns(pl.col(c).fill_null(model.model_fields[c].default)
                                   for c in values if not table.c[c].nullable
                                   and isinstance(model.model_fields[c].default, bool | int | float | str))
        old = self._existing(spec, frame, key, values)
        joined = frame.join(old, on=list(key), how="left", suffix="__old")
        is_new = joined["id__old"].is_null() if "id__old" in joined.columns else joined["id"].is_null()
        id_col = "id__old" if "id__old" in joined.columns else "id"
        fresh = joined.filter(is_new)
        seen = joined.filter(~is_new)
        changed = differs(seen, values)
        counts = {"inserted": fresh.height, "updated": int(changed.sum()),
                  "unchanged": seen.height - int(changed.sum())}
        if fresh.height:
            # One thread: polars' parallel sort by a text key spent 1.6-1.8x the CPU for about
            # the same wall (2.5M ticket ids: 2.2-2.5 against 1.4-1.5 CPU-s); the order is equal.
            written, rows = insert_rows(self.conn, spec.table,
                                  self._insert_frame(spec, model, fresh, key, values)
                                  .sort(key, multithreaded=False),
                                  self.copy_version if self.result.appended is not None else None,
                                  self.result.prepared)
            self._appended(spec.table, rows)
            # Rows a concurrent import stored first (PostgreSQL) were skipped: not ours.
            counts["unchanged"] += fresh.height - written
            counts["inserted"] = written
        if counts["updated"]:
            self._update(spec, seen.filter(changed), id_col, values)
            self.result.appended = None
        self.result.tables[spec.kind] = counts

    def _appended(self, table: str, rows: pl.DataFrame | None) -> None:
        """Note the rows inserted into ``table`` (None: their ids are not known)."""
        if rows is None or self.result.appended is None:
            self.result.appended = None
        else:
            self.result.appended[table] = rows

    def _key_columns(self, spec: Spec) -> tuple[str, ...]:
        if spec.kind == "sli":
            return ("slo_id", "ts")
        if spec.kind in ("services", "slos"):
            return ("name",)
        return ("external_id",)

    def _existing(self, spec: Spec, frame: pl.DataFrame, key: tuple[str, ...],
                  values: list[str]) -> pl.DataFrame:
        """The stored rows this import may match, typed like ``frame`` (one query).

        Read on the transaction's own connection: a second driver (ADBC) opening the same SQLite
        file while this connection holds its write lock breaks SQLite's POSIX locking.
        """
        names = ("id", *key, *values)
        sql = f'SELECT {", ".join(chr(34) + c + chr(34) for c in names)} FROM "{spec.table}"'
        if spec.kind == "sli":
            ids = frame["slo_id"].drop_nulls().unique().to_list()
            rows = []
            for part in _chunks(ids):
                stmt = text(sql + " WHERE slo_id IN :ids").bindparams(bindparam("ids", expanding=True))
                rows += self.conn.execute(stmt, {"ids": part}).all()
        elif spec.kind in ("services", "slos"):
            rows = self.conn.execute(text(sql)).all()
        else:
            cur = self.conn.connection.driver_connection.cursor()
            mark = "?" if self.conn.dialect.name == "sqlite" else "%s"
            cur.execute(f"{sql} WHERE source = {mark}", (self.source,))
            rows = cur.fetchall()
            cur.close()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        raw = pl.DataFrame([pl.Series(n, list(v), strict=False) for n, v in zip(names, columns, strict=True)])
        schema = {"id": pl.Int64} | {c: frame.schema[c] for c in (*key, *values) if c in frame.columns}
        schema |= {"confirmed": pl.Boolean} if "confirmed" in values else {}
        return raw.select(as_dtype(raw[c], schema[c]).alias(c) for c in names)

    def _insert_frame(self, spec: Spec, model: type[SQLModel], fresh: pl.DataFrame,
                      key: tuple[str, ...], values: list[str]) -> pl.DataFrame:
        table = SQLModel.metadata.tables[spec.table]
        out = fresh.select([*key, *values])
        for c in table.columns:
            if c.name in out.columns or c.name == "id":
                continue
            if c.name == "source":
                out = out.with_columns(source=pl.lit(self.source))
            elif c.name == "batch_id":
                out = out.with_columns(batch_id=pl.lit(self.batch_id))
            elif c.name == "external_id":
                out = out.with_columns(external_id=pl.col("name"))
            elif c.name in model.model_fields:
                default = model.model_fields[c.name].default
                if default is not None and not callable(default) and \
                        type(default).__name__ != "PydanticUndefinedType":
                    out = out.with_columns(pl.lit(default).alias(c.name))
        return out

    def _update(self, spec: Spec, rows: pl.DataFrame, id_col: str, values: list[str]) -> None:
        table = SQLModel.metadata.tables[spec.table]
        sets = {c: bindparam(f"v_{c}") for c in values}
        if "batch_id" in table.columns:
            sets["batch_id"] = bindparam("v_batch_id")
        stmt = table.update().where(table.c.id == bindparam("v_id")).values(sets)
        params = []
        for r in rows.select([id_col, *values]).iter_rows(named=True):
            p = {f"v_{c}": _bindable(r[c]) for c in values}
            p["v_id"] = r[id_col]
            p["v_batch_id"] = self.batch_id
            params.append(p)
        self.conn.execute(stmt, params)

    # ------------------------------------------------------------------ references

    def _resolve(self, spec: Spec, frame: pl.DataFrame) -> pl.DataFrame:
        drop = [c for c in ("team",) if c in frame.columns and spec.kind != "services"]
        if "service" in frame.columns and spec.kind != "services":
            ids = frame["service"].replace_strict(self.service_ids, default=None,
                                                  return_dtype=pl.Int64)
            frame = frame.with_columns(service_id=ids)
            drop.append("service")
        for col in spec.cols:
            if col.name not in frame.columns:
                continue
            if col.type != "ref":
                if col.db:
                    frame = frame.rename({col.name: col.db})
                continue
            frame = frame.with_columns(self._lookup(spec, col.name, col.ref or "", frame)
                                       .alias(col.db or col.name))
            if (col.db or col.name) != col.name:
                drop.append(col.name)
        if spec.kind == "sli":
            drop.append("external_id")
        return frame.drop(drop + [FILE, ROW]) if FILE in frame.columns else frame.drop(drop)

    def _lookup(self, spec: Spec, column: str, table: str, frame: pl.DataFrame) -> pl.Series:
        wanted = frame[column].drop_nulls().unique().to_list()
        hits = lookup_refs(self.conn, table, wanted)
        # A row of this import's source wins (the natural key makes it the only one); otherwise
        # the id must match exactly one row of any source.
        resolved = hits.filter((pl.col("src") == self.source) | (pl.len().over("ext") == 1))
        ids = frame[column].replace_strict(resolved["ext"], resolved["id"], default=None,
                                           return_dtype=pl.Int64)
        missing = frame[column].is_not_null() & ids.is_null()
        if missing.any():
            self._unresolved(spec, column, table, frame, missing, hits)
        return ids

    def _unresolved(self, spec: Spec, column: str, table: str, frame: pl.DataFrame,
                    missing: pl.Series, hits: pl.DataFrame) -> None:
        bad = frame.filter(missing)
        if not self.strict:
            examples = ", ".join(bad[column].unique(maintain_order=True).head(3).to_list())
            self.result.warnings.append(
                f"{bad.height} {spec.kind} row(s) link to a {column} id that is in neither the "
                f"store nor this import (e.g. {examples}); the link was left empty")
            return
        self.total += bad.height
        shown = bad.select(FILE, ROW, column).head(21 - len(self.problems))
        found: dict[str, list[str]] = {}
        for ext, src in (hits.filter(pl.col("ext").is_in(shown[column].implode()))
                         .sort("ext", "src").select("ext", "src").iter_rows()):
            found.setdefault(ext, []).append(src)
        for f, r, v in shown.iter_rows():
            why = (f"matches {table} rows of several sources ({', '.join(found[v])}); "
                   "import with the same --source" if v in found
                   else f"no {table} with this id in the store or in this import")
            self.problems.append(Problem(f, r, column, v, why))


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
