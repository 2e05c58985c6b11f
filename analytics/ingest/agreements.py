"""Vendors, service components and the agreement hierarchy from a TOML file (issue 19):
``python -m analytics import contracts FILE``.

Tables: ``[[vendor]]`` (name, kind, contact), ``[[component]]`` (service, name, and vendor or
team), ``[[agreement]]`` (see ``analytics/ingest/examples/agreements.toml``). An agreement names
its ``parent`` agreement, the agreements it ``supports`` (an OLA/UC → the SLAs it underpins), its
provider ``component`` as ``"service/component"`` and its monitoring ``rules``. Rows are upserted
by name; every problem names the file, the table and the field, and nothing is written unless the
whole file is valid (one transaction).
"""

from __future__ import annotations

import contextlib
import json
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from analytics.governance.events import ImportEvent
from analytics.ingest.files import from_bytes, load
from analytics.ingest.validate import InvalidImport, Problem
from analytics.store import audit
from analytics.store.models import (Agreement, AgreementSupport, ImportBatch, MonitoringRule,
                                    ServiceComponent, Vendor)
from analytics.store.models.contracts import AGREEMENT_KINDS, AGREEMENT_STATUSES

KIND = "contracts"
WINDOWS = ("month", "quarter", "year")
SLIS = ("availability", "outages", "response", "resolution")
AGREEMENT_FIELDS = {
    "name", "kind", "parent", "customer", "segment", "service", "component", "vendor", "team", "sli",
    "target_pct", "window", "calendar", "timezone", "credits", "credit_cap_pct", "monthly_fee",
    "currency", "effective_from", "review_on", "renewal_on", "end_on", "data_source",
    "audit_rights", "liability_cap", "status", "supports", "sla_contract", "rules"}
DATES = ("effective_from", "review_on", "renewal_on", "end_on")


class _Check:
    def __init__(self, file: str) -> None:
        self.file, self.problems = file, []

    def add(self, table: str, i: int, name: Any, field: str | None, value: Any, msg: str) -> None:
        label = f"{table} {name!r}" if isinstance(name, str) and name else f"{table} #{i + 1}"
        self.problems.append(Problem(self.file, None, field, None if value is None else str(value),
                                     f"{label}: {msg}"))


def _str(ck: _Check, where: tuple, t: dict, key: str, required: bool = False,
         choices: tuple[str, ...] | None = None, default: str | None = None) -> str | None:
    value = t.get(key, default)
    if value is None:
        if required:
            ck.add(*where, key, None, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        ck.add(*where, key, value, "must be a non-empty string")
        return None
    if choices and value not in choices:
        ck.add(*where, key, value, f"must be one of {', '.join(choices)}")
        return None
    return value


def _num(ck: _Check, where: tuple, t: dict, key: str, lo: float, hi: float,
         default: float | None = None, required: bool = False) -> float | None:
    value = t.get(key, default)
    if value is None:
        if required:
            ck.add(*where, key, None, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        ck.add(*where, key, value, f"must be a number in [{lo:g}, {hi:g}]")
        return None
    return float(value)


def _date(ck: _Check, where: tuple, t: dict, key: str) -> date | None:
    value = t.get(key)
    if value is None:
        if key == "effective_from":
            ck.add(*where, key, None, "is required")
        return None
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    ck.add(*where, key, value, "must be a date (YYYY-MM-DD)")
    return None


def _names(ck: _Check, where: tuple, t: dict, key: str) -> list[str]:
    value = t.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        ck.add(*where, key, value, "must be a list of names")
        return []
    return value


def _credits(ck: _Check, where: tuple, value: Any) -> list[dict[str, float]]:
    if not isinstance(value, list):
        ck.add(*where, "credits", value, "must be a list of {below_pct, credit_pct} tables")
        return []
    out = []
    for j, band in enumerate(value):
        if not isinstance(band, dict) or set(band) != {"below_pct", "credit_pct"}:
            ck.add(*where, f"credits[{j}]", band, "must have exactly below_pct and credit_pct")
            continue
        below = _num(ck, where, band, "below_pct", 0, 100)
        credit = _num(ck, where, band, "credit_pct", 0, 100)
        if below is not None and credit is not None:
            out.append({"below_pct": below, "credit_pct": credit})
    return sorted(out, key=lambda b: -b["below_pct"])


def parse(raw: bytes, file: str) -> dict[str, list[dict]]:
    """Validate a contracts TOML document; {"vendor", "component", "agreement"} row dicts.

    Raises :class:`InvalidImport` listing every problem (file, table, field).

    >>> doc = b'[[vendor]]\\nname = "EdgeCDN"\\n[[agreement]]\\nname = "x"\\nkind = "sla"\\n'
    >>> try:
    ...     parse(doc, "a.toml")
    ... except InvalidImport as exc:
    ...     print(exc.problems[0])
    a.toml, column 'kind', value 'sla': agreement 'x': must be one of corporate, customer_sla, service_sla, ola, uc
    """
    ck = _Check(file)
    try:
        doc = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidImport([Problem(file, None, None, None, f"not valid TOML ({exc})")]) from None
    extra = sorted(set(doc) - {"vendor", "component", "agreement"})
    if extra:
        raise InvalidImport([Problem(file, None, None, None, "expected only [[vendor]], "
                                     f"[[component]] and [[agreement]] tables (unexpected: {', '.join(extra)})")])
    out: dict[str, list[dict]] = {"vendor": [], "component": [], "agreement": []}
    for i, t in enumerate(doc.get("vendor", [])):
        w = ("vendor", i, t.get("name"))
        for key in sorted(set(t) - {"name", "kind", "contact"}):
            ck.add(*w, key, None, "unknown field")
        out["vendor"].append({"name": _str(ck, w, t, "name", True),
                              "kind": _str(ck, w, t, "kind", default="other"),
                              "contact": _str(ck, w, t, "contact")})
    vendors = {v["name"] for v in out["vendor"]}
    for i, t in enumerate(doc.get("component", [])):
        w = ("component", i, t.get("name"))
        for key in sorted(set(t) - {"service", "name", "vendor", "team"}):
            ck.add(*w, key, None, "unknown field")
        row = {k: _str(ck, w, t, k, k in ("service", "name")) for k in ("service", "name", "vendor", "team")}
        if row["vendor"] and row["vendor"] not in vendors:
            ck.add(*w, "vendor", row["vendor"], "unknown vendor (declare it in a [[vendor]] table)")
        if bool(row["vendor"]) == bool(row["team"]):
            ck.add(*w, "vendor", None, "give exactly one of vendor (third party) or team (internal)")
        out["component"].append(row)
    components = {f"{c['service']}/{c['name']}" for c in out["component"]}
    names = [t.get("name") for t in doc.get("agreement", [])]
    for i, t in enumerate(doc.get("agreement", [])):
        w = ("agreement", i, t.get("name"))
        for key in sorted(set(t) - AGREEMENT_FIELDS):
            ck.add(*w, key, None, "unknown field")
        row: dict[str, Any] = {
            "name": _str(ck, w, t, "name", True),
            "kind": _str(ck, w, t, "kind", True, AGREEMENT_KINDS),
            "sli": _str(ck, w, t, "sli", choices=SLIS, default="availability"),
            "target_pct": _num(ck, w, t, "target_pct", 0, 100, required=True),
            "window": _str(ck, w, t, "window", choices=WINDOWS, default="month"),
            "status": _str(ck, w, t, "status", choices=AGREEMENT_STATUSES, default="active"),
            "credit_cap_pct": _num(ck, w, t, "credit_cap_pct", 0, 100, default=100.0),
            "monthly_fee": _num(ck, w, t, "monthly_fee", 0, float("inf"), default=0.0),
            "liability_cap": _num(ck, w, t, "liability_cap", 0, float("inf")),
            "credits": json.dumps(_credits(ck, w, t["credits"]) if "credits" in t else []),
            "supports": _names(ck, w, t, "supports"),
        }
        for key in ("parent", "customer", "segment", "service", "component", "vendor", "team",
                    "calendar", "timezone", "currency", "data_source", "sla_contract"):
            row[key] = _str(ck, w, t, key, default={"calendar": "24x7", "timezone": "UTC",
                                                     "currency": "EUR"}.get(key))
        for key in DATES:
            row[key] = _date(ck, w, t, key)
        audit_rights = t.get("audit_rights", False)
        if not isinstance(audit_rights, bool):
            ck.add(*w, "audit_rights", audit_rights, "must be true or false")
        row["audit_rights"] = audit_rights is True
        rules = t.get("rules", [])
        if not isinstance(rules, list) or not all(
                isinstance(r, dict) and isinstance(r.get("name"), str) and set(r) <= {"name", "slo"}
                for r in rules):
            ck.add(*w, "rules", rules, "must be a list of {name, slo} tables")
            rules = []
        row["rules"] = rules
        for ref, known, what in (("parent", names, "agreement"), ("vendor", vendors, "vendor"),
                                 ("component", components, "component (service/name)")):
            if row[ref] and row[ref] not in known:
                ck.add(*w, ref, row[ref], f"unknown {what}")
        for s in row["supports"]:
            if s not in names:
                ck.add(*w, "supports", s, "unknown agreement")
        if row["kind"] in ("ola", "uc") and not row["supports"]:
            ck.add(*w, "supports", None, "an OLA or UC must name the SLAs it supports")
        if row["kind"] == "uc" and not row["vendor"]:
            ck.add(*w, "vendor", None, "an underpinning contract (uc) names its vendor")
        if row["effective_from"] and row["end_on"] and row["end_on"] < row["effective_from"]:
            ck.add(*w, "end_on", row["end_on"], "is before effective_from")
        out["agreement"].append(row)
    if len(set(names)) != len(names):
        ck.add("agreement", 0, None, "name", None, "two agreements share a name")
    if ck.problems:
        raise InvalidImport(ck.problems)
    return out


def _upsert(session: Session, model: type, where: dict, values: dict, counts: dict) -> Any:
    stmt = select(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    old = session.exec(stmt).first()
    if old is None:
        old = model(**where, **values)
        session.add(old)
        counts["inserted"] += 1
    elif any(getattr(old, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(old, k, v)
        counts["updated"] += 1
    else:
        counts["unchanged"] += 1
    session.flush()
    return old


def import_agreements(engine: Engine, path: str | Path | None = None, *,
                      upload: tuple[str, bytes] | None = None, actor: str = "system") -> dict[str, Any]:
    """Validate and upsert one contracts TOML file in one transaction; the summary dict.

    Raises :class:`InvalidImport` (nothing written) on any problem.
    """
    files = load([path]) if path is not None else [from_bytes(*upload)] if upload else []
    if not files:
        raise InvalidImport([Problem("input", None, None, None, "no file given")])
    f = files[0]
    doc = parse(f.data, f.name)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    now = datetime.now(UTC).replace(microsecond=0)
    with Session(engine) as session, session.begin():
        batch = ImportBatch(kind=KIND, source="toml", actor=actor, started_at=now,
                            files=json.dumps([f.record()]))
        session.add(batch)
        session.flush()
        vendor_ids = {v["name"]: _upsert(session, Vendor, {"name": v["name"]},
                                         {"kind": v["kind"], "contact": v["contact"]}, counts).id
                      for v in doc["vendor"]}
        for v in session.exec(select(Vendor)):
            vendor_ids.setdefault(v.name, v.id)
        comp_ids = {}
        for c in doc["component"]:
            row = _upsert(session, ServiceComponent, {"service": c["service"], "name": c["name"]},
                          {"vendor_id": vendor_ids.get(c["vendor"]), "team": c["team"]}, counts)
            comp_ids[f"{c['service']}/{c['name']}"] = row.id
        plain = {}
        for a in doc["agreement"]:
            values = {k: v for k, v in a.items()
                      if k not in ("name", "parent", "supports", "rules", "vendor", "component")}
            values["vendor_id"] = vendor_ids.get(a["vendor"])
            values["component_id"] = comp_ids.get(a["component"])
            plain[a["name"]] = _upsert(session, Agreement, {"name": a["name"]}, values, counts)
        for a in doc["agreement"]:
            row = plain[a["name"]]
            row.parent_id = plain[a["parent"]].id if a["parent"] else None
            for s in a["supports"]:
                _upsert(session, AgreementSupport, {"agreement_id": row.id,
                                                    "supports_id": plain[s].id}, {}, counts)
            for r in a["rules"]:
                _upsert(session, MonitoringRule, {"agreement_id": row.id, "name": r["name"]},
                        {"slo": r.get("slo")}, counts)
        batch.finished_at, batch.status = now, "done"
        batch.inserted, batch.updated, batch.unchanged = (counts["inserted"], counts["updated"],
                                                          counts["unchanged"])
        session.flush()
        audit.record(session, ImportEvent(actor=actor, entity_id=str(batch.id), detail={
            "kind": KIND, "files": [f.record()], "counts": counts,
            "agreements": sorted(plain)}))
        batch_id = batch.id
    return {"kind": KIND, "files": [f.record()], **counts, "rejected": 0, "batch_id": batch_id,
            "agreements": sorted(plain)}
