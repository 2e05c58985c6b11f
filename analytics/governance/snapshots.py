"""Month snapshots: each report's JSON for a month, archived with what it was computed from.

A snapshot holds the delivery, SLA, SLO and CSAT reports of one calendar month (drawn in the
workbench's time zone), the KPI definition versions in force at the month's end, the import
batches that wrote the month's input rows, and a digest per input table: SHA-256 over the
month's rows, sorted by id, every column except free text that no report reads (ticket text,
survey comments: the retention purge redacts those without changing any number). The row is
append-only (database triggers) and audited. :func:`verify` recomputes all of it from the store
and names what changed.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import math
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from analytics.governance.events import SnapshotEvent
from analytics.reports import BadRequest, ReportError
from analytics.settings import get_settings
from analytics.store import audit
from analytics.store.db import read_frame
from analytics.store.models.governance import Snapshot
from analytics.store.queries import Filters

# Input table → (time column that places a row in the month, columns left out of the digest).
INPUTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "deployment": ("finished_at", ()),
    "incident": ("opened_at", ()),
    "ticket": ("opened_at", ("text",)),
    "csat_response": ("responded_at", ("comment",)),
    "sli_sample": ("ts", ()),
}
REPORTS = ("delivery", "sla", "slo", "csat")


def parse_month(value: str) -> tuple[int, int]:
    """``"YYYY-MM"`` → (year, month); :class:`BadRequest` otherwise.

    >>> parse_month("2026-10")
    (2026, 10)
    """
    try:
        year, month = (int(p) for p in value.split("-"))
        date(year, month, 1)
    except ValueError:
        raise BadRequest(f"month must look like 2026-10, got {value!r}") from None
    return year, month


def month_filters(month: str) -> Filters:
    """The whole calendar month as filters in the workbench's time zone."""
    year, mon = parse_month(month)
    last = calendar.monthrange(year, mon)[1]
    return Filters(start=date(year, mon, 1), end=date(year, mon, last),
                   timezone=get_settings().timezone)


def _jsonable(value: Any) -> Any:
    if isinstance(value, pl.DataFrame):
        return [_jsonable(r) for r in value.to_dicts()]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        # polars sums in parallel: the last bits of a mean vary from run to run.
        return float(f"{value:.10g}") if math.isfinite(value) else None
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), sort_keys=True, default=str)


def compute_reports(engine: Engine, month: str) -> dict[str, str]:
    """Each report's JSON text for ``month`` (a report with nothing to say: its sentence)."""
    from analytics.reports.csat import csat_report
    from analytics.reports.delivery import delivery
    from analytics.reports.sla import sla_compliance
    from analytics.reports.slo import slo_report

    filters = month_filters(month)
    year, mon = parse_month(month)
    runs = {"delivery": lambda: delivery(engine, filters),
            "sla": lambda: sla_compliance(engine, year=year, month=mon),
            "slo": lambda: slo_report(engine, filters=Filters(timezone=filters.timezone),
                                      at=filters.bounds()[1]),
            "csat": lambda: csat_report(engine, filters=filters)}
    out = {}
    for name in REPORTS:
        try:
            out[name] = _dumps(runs[name]())
        except ReportError as exc:
            out[name] = _dumps({"error": str(exc)})
    return out


def input_digests(engine: Engine, month: str) -> dict[str, dict[str, Any]]:
    """Table → {"rows", "sha256"} over the month's input rows (sorted by id)."""
    lo, hi = month_filters(month).bounds()
    out = {}
    for table, (at, skip) in INPUTS.items():
        cols = [c.name for c in SQLModel.metadata.tables[table].columns if c.name not in skip]
        frame = read_frame(engine, f"SELECT {', '.join(cols)} FROM {table} "
                                   f"WHERE {at} >= ? AND {at} < ? ORDER BY id", (lo, hi))
        body = frame.write_csv(float_precision=9, datetime_format="%Y-%m-%dT%H:%M:%S")
        out[table] = {"rows": frame.height, "sha256": hashlib.sha256(body.encode()).hexdigest()}
    return out


def batch_ids(engine: Engine, month: str) -> list[int]:
    """Import batches that last wrote any of the month's input rows."""
    lo, hi = month_filters(month).bounds()
    found: set[int] = set()
    for table, (at, _skip) in INPUTS.items():
        if "batch_id" in SQLModel.metadata.tables[table].columns:
            frame = read_frame(engine, f"SELECT DISTINCT batch_id FROM {table} WHERE {at} >= ? "
                                       f"AND {at} < ? AND batch_id IS NOT NULL", (lo, hi))
            found |= {int(b) for b in frame["batch_id"]}
    return sorted(found)


def definitions_in_force(engine: Engine, month: str) -> list[dict[str, Any]]:
    """The newest version of each KPI definition saved before the month's end."""
    hi = month_filters(month).bounds()[1]
    frame = read_frame(engine, "SELECT key, max(version) AS version FROM kpi_definition "
                               "WHERE changed_at < ? GROUP BY key ORDER BY key", (hi,))
    return [{"key": k, "version": int(v)} for k, v in frame.iter_rows()]


def _hash(inputs: dict[str, Any], definitions: list[dict[str, Any]], batches: list[int]) -> str:
    return hashlib.sha256(_dumps({"inputs": inputs, "definitions": definitions,
                                  "batches": batches}).encode()).hexdigest()


def take(engine: Engine, month: str, *, actor: str) -> Snapshot:
    """Compute and store the snapshot of ``month`` with its audit entry; return it."""
    parse_month(month)
    reports = compute_reports(engine, month)
    inputs, defs, batches = (input_digests(engine, month), definitions_in_force(engine, month),
                             batch_ids(engine, month))
    with Session(engine) as session:
        snap = Snapshot(month=month, taken_at=datetime.now(UTC).replace(microsecond=0),
                        taken_by=actor, reports=json.dumps(reports, sort_keys=True),
                        definitions=json.dumps(defs), batch_ids=json.dumps(batches),
                        inputs=json.dumps(inputs, sort_keys=True),
                        input_hash=_hash(inputs, defs, batches))
        session.add(snap)
        session.flush()
        audit.record(session, SnapshotEvent(actor=actor, entity_id=str(snap.id), detail={
            "month": month, "input_hash": snap.input_hash, "reports": list(reports),
            "rows": {t: v["rows"] for t, v in inputs.items()}}))
        session.commit()
        session.refresh(snap)
        session.expunge(snap)
    return snap


@dataclass(frozen=True)
class Check:
    """What :func:`verify` found: ``unchanged`` or the inputs and reports that differ."""

    snapshot_id: int
    month: str
    changed_inputs: list[str]
    changed_reports: list[str]

    @property
    def unchanged(self) -> bool:
        """True when every input and every report recomputes identically."""
        return not (self.changed_inputs or self.changed_reports)


def get(engine: Engine, snapshot_id: int) -> Snapshot:
    """The stored snapshot ``snapshot_id``; :class:`BadRequest` when there is none."""
    with Session(engine) as session:
        snap = session.get(Snapshot, snapshot_id)
        if snap is None:
            raise BadRequest(f"there is no snapshot {snapshot_id} (see: snapshot list)")
        session.expunge(snap)
    return snap


def verify(engine: Engine, snapshot_id: int) -> Check:
    """Recompute snapshot ``snapshot_id`` from the store and compare, input by input."""
    snap = get(engine, snapshot_id)
    old_inputs = json.loads(snap.inputs)
    new_inputs = input_digests(engine, snap.month)
    changed = [f"{t} ({old_inputs.get(t, {}).get('rows')} → {v['rows']} rows)"
               if old_inputs.get(t, {}).get("rows") != v["rows"] else t
               for t, v in new_inputs.items() if old_inputs.get(t) != v]
    if json.loads(snap.definitions) != definitions_in_force(engine, snap.month):
        changed.append("kpi definitions")
    if json.loads(snap.batch_ids) != batch_ids(engine, snap.month):
        changed.append("import batches")
    old_reports = json.loads(snap.reports)
    new_reports = compute_reports(engine, snap.month)
    reports = [n for n in REPORTS if old_reports.get(n) != new_reports.get(n)]
    return Check(snap.id or 0, snap.month, changed, reports)


def listing(engine: Engine) -> list[dict[str, Any]]:
    """Every snapshot: id, month, when, by whom, input hash."""
    with Session(engine) as session:
        return [{"id": s.id, "month": s.month, "taken_at": s.taken_at.isoformat(),
                 "taken_by": s.taken_by, "input_hash": s.input_hash}
                for s in session.exec(select(Snapshot).order_by(Snapshot.id))]  # type: ignore[arg-type]
