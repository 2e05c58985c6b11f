"""Two small canonical CSVs of issue 19, imported all or nothing and idempotently:

- ``vendor-data``: what vendors report — ``vendor,service,component,month,uptime_pct,
  downtime_minutes,incidents`` (one row per vendor component and month, ``month`` = YYYY-MM);
  vendor and component must be declared first (``import contracts``);
- ``billed-credits``: the credits finance billed — ``contract,customer,month,amount,currency``.

Rows are upserted by (vendor, component, month) and (contract, month). Every problem names the
file, the row and the column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from analytics.governance.events import ImportEvent
from analytics.ingest.files import from_bytes, load
from analytics.ingest.validate import InvalidImport, Problem
from analytics.store import audit
from analytics.store.models import BilledCredit, ImportBatch, ServiceComponent, Vendor, VendorReport

COLUMNS = {
    "vendor-data": ("vendor", "service", "component", "month", "uptime_pct", "downtime_minutes",
                    "incidents"),
    "billed-credits": ("contract", "customer", "month", "amount", "currency"),
}
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse(kind: str, raw: bytes, file: str) -> list[dict[str, Any]]:
    """Validate one CSV of ``kind``; the typed rows. Raises :class:`InvalidImport`.

    >>> parse("billed-credits", b"contract,customer,month,amount,currency\\na,A,2026-13,5,EUR\\n", "b.csv")
    Traceback (most recent call last):
    ...
    analytics.ingest.validate.InvalidImport: 1 problem(s); nothing was imported:
      b.csv, row 2, column 'month', value '2026-13': must be YYYY-MM
    """
    want = COLUMNS[kind]
    try:
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
        header = reader.fieldnames or []
        body = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidImport([Problem(file, None, None, None, f"not a readable CSV ({exc})")]) from None
    missing = [c for c in want if c not in header]
    if missing:
        raise InvalidImport([Problem(file, 1, None, None, f"missing column(s) {', '.join(missing)}; "
                                     f"expected {','.join(want)}")])
    problems, rows, seen = [], [], set()
    for n, r in enumerate(body, start=2):
        row: dict[str, Any] = {}
        for col in want:
            value = (r.get(col) or "").strip()
            bad = None
            if col == "month":
                bad = None if MONTH.match(value) else "must be YYYY-MM"
            elif col in ("uptime_pct", "downtime_minutes", "amount", "incidents"):
                try:
                    number = int(value) if col == "incidents" else float(value)
                    if col == "uptime_pct" and not 0 <= number <= 100:
                        bad = "must be in [0, 100]"
                    elif number < 0 and col != "amount":
                        bad = "must not be negative"
                    value = number
                except ValueError:
                    bad = "must be a whole number" if col == "incidents" else "must be a number"
            elif not value:
                bad = "is required"
            if bad:
                problems.append(Problem(file, n, col, str(r.get(col) or ""), bad))
            row[col] = value
        key = ((row["vendor"], row["service"], row["component"], row["month"])
               if kind == "vendor-data" else (row["contract"], row["month"]))
        if key in seen:
            problems.append(Problem(file, n, None, None, "duplicate of an earlier row"))
        seen.add(key)
        rows.append(row)
    if problems:
        raise InvalidImport(problems[:20], total=len(problems))
    return rows


def import_csv(engine: Engine, kind: str, path: str | Path | None = None, *,
               upload: tuple[str, bytes] | None = None, actor: str = "system") -> dict[str, Any]:
    """Validate and upsert one ``vendor-data`` or ``billed-credits`` CSV in one transaction."""
    files = load([path]) if path is not None else [from_bytes(*upload)] if upload else []
    if not files:
        raise InvalidImport([Problem("input", None, None, None, "no file given")])
    f = files[0]
    rows = parse(kind, f.data, f.name)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    now = datetime.now(UTC).replace(microsecond=0)
    with Session(engine) as session, session.begin():
        batch = ImportBatch(kind=kind, source="canonical", actor=actor, started_at=now,
                            files=json.dumps([f.record()]))
        session.add(batch)
        session.flush()
        if kind == "vendor-data":
            vendors = {v.name: v.id for v in session.exec(select(Vendor))}
            comps = {(c.service, c.name): c for c in session.exec(select(ServiceComponent))}
            problems = []
            for n, r in enumerate(rows, start=2):
                comp = comps.get((r["service"], r["component"]))
                if r["vendor"] not in vendors:
                    problems.append(Problem(f.name, n, "vendor", r["vendor"], "unknown vendor"))
                elif comp is None or comp.vendor_id != vendors[r["vendor"]]:
                    problems.append(Problem(f.name, n, "component", r["component"],
                                            f"no component of {r['service']} provided by this vendor"))
            if problems:
                raise InvalidImport(problems[:20], total=len(problems))
            for r in rows:
                comp = comps[(r["service"], r["component"])]
                where = {"vendor_id": vendors[r["vendor"]], "component_id": comp.id, "month": r["month"]}
                values = {"uptime_pct": r["uptime_pct"], "downtime_minutes": r["downtime_minutes"],
                          "incidents": r["incidents"]}
                _upsert(session, VendorReport, where, values, counts)
        else:
            for r in rows:
                _upsert(session, BilledCredit, {"contract": r["contract"], "month": r["month"]},
                        {"customer": r["customer"], "amount": r["amount"],
                         "currency": r["currency"]}, counts)
        batch.finished_at, batch.status = now, "done"
        batch.inserted, batch.updated, batch.unchanged = (counts["inserted"], counts["updated"],
                                                          counts["unchanged"])
        session.flush()
        audit.record(session, ImportEvent(actor=actor, entity_id=str(batch.id), detail={
            "kind": kind, "files": [f.record()], "counts": counts}))
        batch_id = batch.id
    return {"kind": kind, "files": [f.record()], **counts, "rejected": 0, "batch_id": batch_id}


def _upsert(session: Session, model: type, where: dict, values: dict, counts: dict) -> None:
    stmt = select(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    old = session.exec(stmt).first()
    if old is None:
        session.add(model(**where, **values))
        counts["inserted"] += 1
    elif any(getattr(old, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(old, k, v)
        counts["updated"] += 1
    else:
        counts["unchanged"] += 1
