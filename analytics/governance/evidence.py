"""Evidence pack: what an auditor takes away, as one zip.

``index.html`` (self-contained: inline CSS with print rules, inline SVG charts, no CDN), the JSON
and CSV behind every section under ``data/``, and ``manifest.json`` with the size and SHA-256 of
every other file. Sections (:data:`SECTIONS`): KPI methodology with the stored definition
versions, KPI values per month by application criticality, release success by criticality, a
seeded sample of releases with their change requests, incidents and rollbacks, the compliance
lists, the latest data-source sign-off, the snapshots, the metric-gaming findings and the audit
chain's verification with its head hash. Building a pack writes one audited ``export`` event.

Release success (stated in the pack): a production deployment (rollbacks excluded) that is not
a *failed deployment* (REFERENCE §1: status failed/rolled_back or an attributed incident);
success rate = 1 − change failure rate, its 95% interval the Wilson interval of the CFR mirrored.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session

from analytics import catalogue
from analytics.exports import csv_text
from analytics.governance.events import ExportEvent
from analytics.reports import BadRequest
from analytics.store.db import read_frame
from analytics.store.queries import Filters

SAMPLE_SIZE = 20
SECTIONS = {
    "methodology": "Methodology per KPI and its version history",
    "kpi_by_criticality": "KPI values per month by application criticality",
    "release_success": "Release success rates by criticality",
    "release_sample": "Sample of release records",
    "compliance": "Compliance lists",
    "source_validation": "Latest data-source validation sign-off",
    "snapshots": "Snapshots",
    "gaming": "Metric-gaming findings",
    "audit": "Audit log verification",
}
# The delivery summary's columns shown per month (a KPI's headline column, from the catalogue).
MONTH_COLUMNS = ("criticality", "period", "deployments", "cfr_failed", "incidents")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same content gives the same zip bytes


@dataclass
class Section:
    """One section: a key, a title, plain sentences, named tables and extra JSON data."""

    key: str
    title: str
    sentences: list[str]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The section as plain JSON data (tables as lists of row objects)."""
        return jsonable({"section": self.key, "title": self.title, "sentences": self.sentences,
                         **self.data, "tables": {n: t.to_dicts() for n, t in self.tables.items()}})


@dataclass(frozen=True)
class Pack:
    """A built pack: the zip's bytes, its manifest and the sections it holds."""

    content: bytes
    manifest: dict[str, Any]
    sections: list[Section]

    @property
    def sha256(self) -> str:
        """SHA-256 of the zip."""
        return hashlib.sha256(self.content).hexdigest()


def jsonable(value: Any) -> Any:
    """Plain JSON data: datetimes as ISO text, NaN as null, tuples as lists.

    >>> jsonable({"a": float("nan"), "b": date(2026, 10, 1), "c": (1, 2)})
    {'a': None, 'b': '2026-10-01', 'c': [1, 2]}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any) -> str:
    """Stable JSON text (sorted keys, UTF-8 kept)."""
    return json.dumps(jsonable(value), indent=1, sort_keys=True, ensure_ascii=False)


def methodology(engine: Engine) -> Section:
    """Each KPI's catalogue entry and the stored versions of its definition."""
    rows = [{"key": k.key, "label": k.label, "unit": k.unit, "better": k.better,
             "reference": f"REFERENCE {k.reference}", "owner": k.owner, "warn": k.warn,
             "critical": k.critical, "methodology": k.methodology}
            for k in catalogue.kpis().values()]
    versions = read_frame(engine, "SELECT key, version, name, unit, direction, thresholds, "
                                  "changed_by, changed_at, reason FROM kpi_definition "
                                  "ORDER BY key, version")
    return Section("methodology", SECTIONS["methodology"], [
        "Each KPI's definition as the catalogue (analytics/catalogue.toml) states it, with the "
        "REFERENCE section it follows; below, every stored version of each definition (who "
        f"changed it, when, why): {versions.height} versions of {versions['key'].n_unique() if versions.height else 0} KPIs."],
        {"kpis": pl.DataFrame(rows), "versions": versions})


def delivery_sections(engine: Engine, filters: Filters) -> tuple[Section, Section, Any]:
    """KPI values per month by criticality, release success by criticality, and the facts."""
    from analytics.reports import delivery

    facts = delivery.facts(engine, filters)
    kpi_columns = [k.column for k in catalogue.kpis().values() if k.group == "delivery"]
    monthly = delivery.summary(facts, by=("criticality",), every="month")
    keep = [c for c in (*MONTH_COLUMNS, *kpi_columns) if c in monthly.columns]
    monthly = (monthly.select(list(dict.fromkeys(keep))).with_columns(pl.col("period").dt.strftime("%Y-%m"))
               .sort("criticality", "period"))
    overall = delivery.summary(facts, by=("criticality",)).sort("criticality")
    success = overall.select(
        "criticality", "deployments", failed="cfr_failed",
        succeeded=pl.col("cfr_deployments") - pl.col("cfr_failed"),
        success_rate=1 - pl.col("cfr"), ci_low=1 - pl.col("cfr_ci_high"),
        ci_high=1 - pl.col("cfr_ci_low"))
    # Short headings keep the table inside a printed page; units are in the methodology section.
    labels = {k.column: k.short for k in catalogue.kpis().values()} | {
        "cfr_failed": "Failed deploys", "deployments": "Deploys", "incidents": "Incidents"}
    kpi = Section("kpi_by_criticality", SECTIONS["kpi_by_criticality"], [
        "Delivery KPIs per calendar month and application criticality (1 = most critical), "
        "production only, computed by the delivery report (REFERENCE §1) — the same numbers as "
        "`python -m analytics report delivery`."], {"monthly": monthly},
        {"columns": {c: labels.get(c, c) for c in monthly.columns}})
    rel = Section("release_success", SECTIONS["release_success"], [
        "A release is a production deployment (rollbacks excluded); it succeeded unless it is a "
        "failed deployment (status failed or rolled_back, or an incident attributed to it, "
        "REFERENCE §1.1). Success rate = succeeded ÷ deployments = 1 − change failure rate; "
        "95% interval: the CFR's Wilson interval mirrored."], {"by_criticality": success})
    return kpi, rel, facts


def release_sample(engine: Engine, facts: Any, filters: Filters, seed: int,
                   size: int = SAMPLE_SIZE) -> Section:
    """A seeded sample of the period's releases with change request, incidents and rollbacks."""
    deps = facts.deployments
    lo, hi = filters.bounds()
    # The facts carry padded margins (attribution, recovery): keep the period's releases only.
    scope = deps.filter(~pl.col("is_rollback") & (pl.col("environment") == "production")
                        & (pl.col("finished_at") >= lo) & (pl.col("finished_at") < hi))
    ids = sorted(scope["id"].to_list())
    # Sorted ids in, its own Random stream: the same seed picks the same releases every time.
    picked = sorted(random.Random(seed).sample(ids, min(size, len(ids))))
    stored = read_frame(engine, "SELECT d.id, d.external_id, d.version, d.started_at, "
                                "d.change_request_id, cr.external_id AS change_request, "
                                "cr.outcome AS cr_outcome, cr.cab_required, cr.opened_at AS cr_opened_at "
                                "FROM deployment d LEFT JOIN change_request cr ON cr.id = d.change_request_id "
                                f"WHERE d.id IN ({','.join(str(int(i)) for i in picked) or 'NULL'})")
    rows = (scope.filter(pl.col("id").is_in(picked))
            .select("id", "service", "criticality", "finished_at", "status", "failed", "emergency")
            .join(stored, on="id", how="left").sort("id"))
    incidents = read_frame(engine, "SELECT id AS incident_id, external_id AS incident, severity, title, "
                                   "opened_at, resolved_at FROM incident").cast({"incident_id": pl.Int64})
    linked = (facts.attribution.filter(pl.col("deployment_id").is_in(picked))
              .join(incidents, on="incident_id", how="left")
              .select("deployment_id", "incident", "severity", "title", "opened_at", "resolved_at",
                      "rule").sort("deployment_id", "incident"))
    window = timedelta(hours=facts.window_hours)
    later = deps.filter(pl.col("is_rollback")).select(
        "service", rollback_id="id", rollback_finished_at="finished_at", rollback_status="status")
    rollbacks = (rows.select("id", "service", "finished_at", "status")
                 .join(later, on="service", how="inner")
                 .filter((pl.col("rollback_finished_at") > pl.col("finished_at"))
                         & (pl.col("rollback_finished_at") <= pl.col("finished_at") + window))
                 .select(deployment_id="id", rollback_id="rollback_id",
                         rollback_finished_at="rollback_finished_at",
                         rollback_status="rollback_status"))
    rolled = rows.filter(pl.col("status") == "rolled_back").select(
        deployment_id="id", rollback_id=pl.lit(None, pl.Int64),
        rollback_finished_at=pl.col("finished_at"), rollback_status=pl.lit("rolled_back (status)"))
    rollbacks = pl.concat([rolled, rollbacks], how="vertical_relaxed").sort("deployment_id")
    return Section("release_sample", SECTIONS["release_sample"], [
        f"{len(picked)} of {len(ids)} production releases finished in the period, drawn with "
        f"seed {seed} (Python random.Random(seed).sample over the ascending deployment ids: the "
        "same seed and store give the same sample). Rollbacks: the deployment's own status "
        f"rolled_back, or a rollback deployment of the same service within {facts.window_hours:g} h "
        "after it."], {"releases": rows, "incidents": linked, "rollbacks": rollbacks},
        {"seed": seed, "population": len(ids)})


def compliance_section(engine: Engine, filters: Filters, at: datetime | None) -> Section:
    """The three compliance lists."""
    from analytics.reports.compliance import compliance

    from analytics.store.bypasses import bypass_items

    c = compliance(engine, filters, at=at)
    counts = c.counts()
    lo, hi = filters.bounds()
    bypasses = bypass_items(engine, c.at).filter((pl.col("decided_at") >= lo) & (pl.col("decided_at") < hi))
    return Section("compliance", SECTIONS["compliance"], [
        f"Judged at {c.at:%Y-%m-%d %H:%M} UTC. Customer-facing outages without a post-mortem: "
        f"{counts['outages_without_postmortem']}. Emergency fixes not validated within 72 h: "
        f"{counts['emergency_unvalidated']} of {c.emergency_total} ({c.emergency_pending} still "
        f"within their 72 h). Changes without an approved change request: "
        f"{counts['unapproved_changes']} of {c.changes_required} that required one. Release-gate "
        f"emergency bypasses in the period: {bypasses.height} "
        f"({bypasses.filter(pl.col('status') == 'overdue').height} overdue).", c.rule],
        {"outages_without_postmortem": c.outages_without_postmortem,
         "emergency_unvalidated": c.emergency_unvalidated, "unapproved_changes": c.unapproved_changes,
         "gate_bypasses": bypasses},
        {"counts": counts, "emergency_total": c.emergency_total,
         "emergency_pending": c.emergency_pending, "changes_required": c.changes_required,
         "judged_at": c.at, "rule": c.rule})


def source_section(engine: Engine) -> Section:
    """The newest stored data-source sign-off with its checklist."""
    latest = read_frame(engine, "SELECT id, source, quarter, signed_by, signed_at, findings, checklist "
                                "FROM source_validation ORDER BY signed_at DESC, id DESC LIMIT 1")
    if latest.height == 0:
        return Section("source_validation", SECTIONS["source_validation"],
                       ["No data-source validation has been signed off yet."])
    row = latest.row(0, named=True)
    items = pl.DataFrame(json.loads(row["checklist"] or "{}").get("items", []))
    if items.height:
        items = items.with_columns(pl.col("value").cast(pl.Float64)).select(
            [c for c in ("item", "value", "status", "detail") if c in items.columns])
    return Section("source_validation", SECTIONS["source_validation"], [
        f"Source {row['source']}, quarter {row['quarter']}: signed off by {row['signed_by']} at "
        f"{row['signed_at']}.", f"Findings: {row['findings']}"],
        {"sign_off": latest.drop("checklist"), "checklist": items})


def snapshot_section(engine: Engine) -> Section:
    """Every stored month snapshot (verify one with `snapshot verify ID`)."""
    from analytics.governance import snapshots

    rows = snapshots.listing(engine)
    return Section("snapshots", SECTIONS["snapshots"], [
        f"{len(rows)} month snapshot(s) stored; each archives the month's report JSON with the "
        "definition versions, import batches and a hash of the input rows "
        "(`python -m analytics snapshot verify ID` recomputes them)."],
        {"snapshots": pl.DataFrame(rows, schema=["id", "month", "taken_at", "taken_by", "input_hash"])})


def gaming_section(engine: Engine, filters: Filters) -> Section:
    """The metric-gaming detectors' sentences, statistics and rows."""
    from analytics.reports import NoData
    from analytics.reports.gaming import gaming

    try:
        g = gaming(engine, filters)
    except NoData as exc:
        return Section("gaming", SECTIONS["gaming"], [str(exc)])
    tables: dict[str, pl.DataFrame] = {}
    for f in g.findings:
        if f.stats.height:
            tables[f"{f.key}_stats"] = f.stats
        if f.rows.height:
            tables[f"{f.key}_rows"] = f.rows
    findings = pl.DataFrame([{"key": f.key, "title": f.title, "flagged": f.flagged,
                              "sentence": f.sentence} for f in g.findings])
    return Section("gaming", SECTIONS["gaming"], [f"{g.incidents} incidents examined."],
                   {"findings": findings, **tables})


def audit_section(engine: Engine) -> Section:
    """The audit chain's verification (the `audit verify` function, checkpoint included)."""
    from analytics.store import audit

    v = audit.verify(engine)
    result = {"ok": v.ok, "entries": v.entries, "head": v.head_id, "head_hash": v.head_hash,
              "bad_entry": v.bad_id, "problem": v.problem or None}
    sentence = (f"Audit log intact: {v.entries} entries, head #{v.head_id} {v.head_hash}."
                if v.ok else f"Audit log BROKEN: {v.problem}")
    return Section("audit", SECTIONS["audit"], [sentence, "The pack's own export event is the "
                   "entry after this head."], {"verification": pl.DataFrame([result])},
                   {"verification": result})


def sections(engine: Engine, start: date, end: date, *, seed: int, timezone: str = "UTC",
             at: datetime | None = None) -> list[Section]:
    """Every section for the period [start, end] (inclusive days)."""
    if start > end:
        raise BadRequest(f"The period starts ({start}) after it ends ({end}).")
    filters = Filters(start=start, end=end, environment="production", timezone=timezone)
    kpi, rel, facts = delivery_sections(engine, filters)
    return [methodology(engine), kpi, rel, release_sample(engine, facts, filters, seed),
            compliance_section(engine, filters, at), source_section(engine),
            snapshot_section(engine), gaming_section(engine, filters), audit_section(engine)]


def files_of(found: list[Section], meta: dict[str, Any]) -> dict[str, bytes]:
    """Path in the zip → bytes, manifest last (it hashes every other file)."""
    from analytics.governance.evidence_html import render

    files: dict[str, bytes] = {"index.html": render(found, meta).encode()}
    for s in found:
        files[f"data/{s.key}.json"] = dumps(s.as_json()).encode()
        for name, table in s.tables.items():
            files[f"data/{s.key}__{name}.csv"] = csv_text(table).encode()
    manifest = {**jsonable(meta), "files": {p: {"bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                                            for p, b in sorted(files.items())}}
    files["manifest.json"] = dumps(manifest).encode()
    return files


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """The files as a deflated zip with fixed member times."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            z.writestr(zipfile.ZipInfo(path, ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def build(engine: Engine, start: date, end: date, *, actor: str, seed: int = 7,
          timezone: str = "UTC", at: datetime | None = None, name: str = "evidence.zip") -> Pack:
    """Build the pack for [start, end] and record the export in the audit log."""
    generated = datetime.now(UTC).replace(microsecond=0)
    found = sections(engine, start, end, seed=seed, timezone=timezone, at=at)
    meta = {"title": "Evidence pack", "from": start, "to": end, "timezone": timezone, "seed": seed,
            "generated_at": generated, "generated_by": actor,
            "sections": {s.key: s.title for s in found}}
    files = files_of(found, meta)
    pack = Pack(zip_bytes(files), json.loads(files["manifest.json"]), found)
    from analytics.store import audit

    with Session(engine) as session:
        audit.record(session, ExportEvent(actor=actor, entity_id=name, detail={
            "kind": "evidence_pack", "from": start.isoformat(), "to": end.isoformat(), "seed": seed,
            "sha256": pack.sha256, "bytes": len(pack.content), "sections": list(SECTIONS)}))
        session.commit()
    return pack
