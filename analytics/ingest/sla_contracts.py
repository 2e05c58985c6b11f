"""SLA contracts from a TOML file → versioned ``sla_contract`` rows (issue 6).

Each ``[[contract]]`` table is one version; a later ``effective_from`` for the same name is a new
version, the same (name, effective_from) updates that version in place. Every problem is listed
with the contract and field it concerns, and nothing is written unless the whole file is valid
(all or nothing). The import is recorded as an ``import_batch`` row and an audit entry.

A contract may name a ``preset`` (``analytics.metrics.sla.PRESETS``: cloud-region, gold, silver,
bronze) that supplies ``target_pct`` and ``credits`` when the table does not.
"""

from __future__ import annotations

import contextlib
import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, select

from analytics.ingest.files import from_bytes, load
from analytics.ingest.validate import InvalidImport, Problem
from analytics.metrics.sla import PRESETS
from analytics.metrics.slo import zone
from analytics.governance.events import ImportEvent
from analytics.store import audit
from analytics.store.models import TIERS, ImportBatch, SlaContract

KIND = "sla-contracts"
REQUIRED = ("name", "customer", "services", "tier", "effective_from")
OPTIONAL = ("target_pct", "credits", "timezone", "period", "exclusion_mode", "exclude_third_party",
            "monthly_fee", "currency", "credit_cap_pct", "escalation", "preset")
MODES = ("exclude", "count_as_up")
PERIODS = ("month",)
# Columns compared to decide whether a stored version changed.
VALUES = ("customer", "services", "tier", "target_pct", "timezone", "period", "exclusion_mode",
          "exclude_third_party", "monthly_fee", "currency", "credit_cap_pct", "credits", "escalation")


@dataclass
class _Check:
    file: str
    problems: list[Problem]

    def add(self, index: int, name: str, field: str, value: Any, message: str) -> None:
        label = f"contract {name!r}" if name else f"contract #{index + 1}"
        self.problems.append(Problem(self.file, None, field, None if value is None else str(value),
                                     f"{label}: {message}"))


def _number(ck: _Check, i: int, name: str, table: dict, key: str, lo: float, hi: float,
            default: float | None = None, lo_open: bool = False) -> float | None:
    value = table.get(key, default)
    if value is None:
        ck.add(i, name, key, None, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        ck.add(i, name, key, value, "must be a number")
        return None
    if value < lo or value > hi or (lo_open and value == lo):
        bound = f"({lo:g}, {hi:g}]" if lo_open else f"[{lo:g}, {hi:g}]"
        ck.add(i, name, key, value, f"must be in {bound}")
        return None
    return float(value)


def _text(ck: _Check, i: int, name: str, table: dict, key: str, default: str | None = None,
          choices: tuple[str, ...] | None = None, required: bool = True) -> str | None:
    value = table.get(key, default)
    if value is None:
        if required:
            ck.add(i, name, key, None, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        ck.add(i, name, key, value, "must be a non-empty string")
        return None
    if choices and value not in choices:
        ck.add(i, name, key, value, f"must be one of {', '.join(choices)}")
        return None
    return value


def _effective(ck: _Check, i: int, name: str, value: Any) -> datetime | None:
    # The date is a calendar date in the contract's zone; the row keeps it as midnight, tagged
    # UTC only because the ORM column stores aware datetimes.
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    ck.add(i, name, "effective_from", value, "must be a date (YYYY-MM-DD)")
    return None


def _credits(ck: _Check, i: int, name: str, value: Any) -> list[dict[str, float]] | None:
    if not isinstance(value, list):
        ck.add(i, name, "credits", value, "must be a list of {below_pct, credit_pct} tables")
        return None
    out = []
    for j, band in enumerate(value):
        field = f"credits[{j}]"
        if not isinstance(band, dict) or set(band) != {"below_pct", "credit_pct"}:
            ck.add(i, name, field, band, "must have exactly below_pct and credit_pct")
            continue
        below = _number(ck, i, name, band, "below_pct", 0, 100, lo_open=True)
        credit = _number(ck, i, name, band, "credit_pct", 0, 100)
        if below is not None and credit is not None:
            out.append({"below_pct": below, "credit_pct": credit})
    limits = [b["below_pct"] for b in out]
    if len(set(limits)) != len(limits):
        ck.add(i, name, "credits", None, "two bands have the same below_pct")
    return sorted(out, key=lambda b: -b["below_pct"])


def parse_contracts(raw: bytes, file: str, known_services: set[str] | None = None) -> list[dict]:
    """Validate a TOML document and return one ``sla_contract`` row dict per version.

    Raises :class:`InvalidImport` listing every problem (contract name and field in each).
    """
    ck = _Check(file, [])
    try:
        doc = tomllib.loads(raw.decode("utf-8-sig"))  # a BOM is valid here as in CSV
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidImport([Problem(file, None, None, None, f"not valid TOML ({exc})")]) from None
    extra = sorted(set(doc) - {"contract"})
    tables = doc.get("contract")
    if extra or not isinstance(tables, list) or not tables:
        raise InvalidImport([Problem(file, None, None, None,
                                     "expected one or more [[contract]] tables and nothing else"
                                     + (f" (unexpected: {', '.join(extra)})" if extra else ""))])
    rows, seen = [], set()
    for i, t in enumerate(tables):
        name = t.get("name") if isinstance(t.get("name"), str) else ""
        for key in sorted(set(t) - set(REQUIRED) - set(OPTIONAL)):
            ck.add(i, name, key, None, "unknown field")
        preset = _text(ck, i, name, t, "preset", choices=tuple(PRESETS), required=False)
        base = PRESETS.get(preset or "", {})
        row: dict[str, Any] = {
            "name": _text(ck, i, name, t, "name"),
            "customer": _text(ck, i, name, t, "customer"),
            "tier": _text(ck, i, name, t, "tier", choices=TIERS),
            "target_pct": _number(ck, i, name, t, "target_pct", 0, 100,
                                  default=base.get("target_pct"), lo_open=True),
            "timezone": _text(ck, i, name, t, "timezone", default="UTC"),
            "period": _text(ck, i, name, t, "period", default="month", choices=PERIODS),
            "exclusion_mode": _text(ck, i, name, t, "exclusion_mode", default="exclude",
                                    choices=MODES),
            "monthly_fee": _number(ck, i, name, t, "monthly_fee", 0, float("inf"), default=0.0),
            "currency": _text(ck, i, name, t, "currency", default="EUR"),
            "credit_cap_pct": _number(ck, i, name, t, "credit_cap_pct", 0, 100, default=100.0),
            "escalation": _text(ck, i, name, t, "escalation", required=False),
        }
        if row["timezone"]:
            try:
                zone(row["timezone"])
            except ValueError:
                ck.add(i, name, "timezone", row["timezone"], "unknown IANA time zone")
        if row["currency"] and len(row["currency"]) > 8:
            ck.add(i, name, "currency", row["currency"], "must be at most 8 characters")
        third = t.get("exclude_third_party", False)
        if not isinstance(third, bool):
            ck.add(i, name, "exclude_third_party", third, "must be true or false")
        row["exclude_third_party"] = third is True
        services = t.get("services")
        if not isinstance(services, list) or not services or not all(
                isinstance(s, str) and s for s in services):
            ck.add(i, name, "services", services, "must be a non-empty list of service names")
        elif known_services is not None and set(services) - known_services:
            ck.add(i, name, "services", ", ".join(sorted(set(services) - known_services)),
                   "unknown service (import or create it first)")
        row["services"] = json.dumps(services if isinstance(services, list) else [])
        credits = _credits(ck, i, name, t["credits"]) if "credits" in t else [
            {"below_pct": b.below_pct, "credit_pct": b.credit_pct} for b in base.get("credits", ())]
        row["credits"] = json.dumps(credits or [])
        row["effective_from"] = None
        if "effective_from" not in t:
            ck.add(i, name, "effective_from", None, "is required")
        else:
            row["effective_from"] = _effective(ck, i, name, t["effective_from"])
        key = (row["name"], row["effective_from"])
        if None not in key and key in seen:
            ck.add(i, name, "effective_from", row["effective_from"].date(),
                   "a version with this name and effective_from appears twice in the file")
        seen.add(key)
        rows.append(row)
    if ck.problems:
        raise InvalidImport(ck.problems)
    return rows


def import_contracts(engine: Engine, path: str | Path | None = None, *,
                     upload: tuple[str, bytes] | None = None, actor: str = "system") -> dict[str, Any]:
    """Validate and upsert every contract version of one TOML file in one transaction.

    Returns {"kind", "files", "inserted", "updated", "unchanged", "rejected", "batch_id",
    "contracts"}; raises :class:`InvalidImport` (nothing written) on any problem.
    """
    files = load([path]) if path is not None else [from_bytes(*upload)] if upload else []
    if not files:
        raise InvalidImport([Problem("input", None, None, None, "no file given")])
    f = files[0]
    with engine.connect() as conn:
        known = {r[0] for r in conn.execute(text("SELECT name FROM service"))}
    rows = parse_contracts(f.data, f.name, known)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    now = datetime.now(UTC).replace(microsecond=0)
    with Session(engine) as session, session.begin():
        batch = ImportBatch(kind=KIND, source="toml", actor=actor, started_at=now,
                            files=json.dumps([f.record()]))
        session.add(batch)
        session.flush()
        for row in rows:
            old = session.exec(select(SlaContract).where(
                SlaContract.name == row["name"],
                SlaContract.effective_from == row["effective_from"])).first()
            if old is None:
                session.add(SlaContract(**row))
                counts["inserted"] += 1
            elif any(getattr(old, k) != row[k] for k in VALUES):
                for k in VALUES:
                    setattr(old, k, row[k])
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        batch.finished_at = now
        batch.status = "done"
        batch.inserted, batch.updated, batch.unchanged = (counts["inserted"], counts["updated"],
                                                          counts["unchanged"])
        session.flush()
        versions = [f"{r['name']}@{r['effective_from'].date()}" for r in rows]
        audit.record(session, ImportEvent(
            actor=actor, entity_id=str(batch.id),
            detail={"kind": KIND, "files": [f.record()], "tables": {"sla_contract": counts},
                    "versions": versions}))
        batch_id = batch.id
    return {"kind": KIND, "files": [f.record()], **counts, "rejected": 0, "batch_id": batch_id,
            "contracts": versions}
