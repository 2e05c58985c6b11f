"""Governance: versioned KPI definitions, the improvement register, the audit log, demo truth."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class KpiDefinition(SQLModel, table=True):
    """A versioned KPI definition: methodology text next to its thresholds, and who changed it."""

    __tablename__ = "kpi_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, index=True)
    version: int = 1
    name: str = Field(max_length=120)
    unit: str = Field(max_length=40)
    direction: str = Field(default="lower_is_better", max_length=20)
    methodology: str
    thresholds: str = "{}"  # JSON
    changed_by: str = Field(default="system", max_length=120)
    changed_at: datetime
    reason: str | None = None
    owner_team: str | None = Field(default=None, max_length=80)  # who answers for the KPI
    effective_from: datetime | None = None  # None: in force since it was saved


class Improvement(SQLModel, table=True):
    """An entry of the continual-improvement register."""

    __tablename__ = "improvement"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str | None = None
    owner: str | None = Field(default=None, max_length=120)
    status: str = Field(default="open", max_length=20)
    kpi_key: str | None = Field(default=None, max_length=80)
    service_id: int | None = Field(default=None, foreign_key="service.id")
    opened_at: datetime
    due_at: datetime | None = None
    closed_at: datetime | None = None
    # Migration 0008 (issue 18): the register's analysis and Plan–Do–Check–Act columns. Lists
    # and mappings are JSON text, so the same schema works on SQLite and PostgreSQL.
    services: str = "[]"  # JSON list of service names (service_id keeps the first)
    kpis: str = "[]"  # JSON list of KPI keys it should move (kpi_key keeps the first)
    expected_impact: float | None = None  # relative change expected, e.g. -0.5 = halve
    business_impact: int | None = None  # risk-score factors, 1–5 each (improvement_risk.toml)
    recurrence: int | None = None
    remediation_cost: int | None = None
    risk_score: float | None = None
    priority: str | None = Field(default=None, max_length=16)
    intervention_at: datetime | None = None  # when the change took effect (validation splits here)
    do_at: datetime | None = None
    check_at: datetime | None = None
    act_at: datetime | None = None
    whys: str = "[]"  # JSON list: the 5 whys, in order
    fishbone: str = "{}"  # JSON: category → note
    links: str = "{}"  # JSON: {"incidents": [...], "problems": [...], "themes": [...]}
    lessons: str | None = None
    outcome: str | None = Field(default=None, max_length=20)  # succeeded | failed | inconclusive
    cost: float | None = None
    origin: str = Field(default="manual", max_length=40)  # manual | demo | candidate kind
    updated_at: datetime | None = None


class AuditLog(SQLModel, table=True):
    """Append-only audit trail; each row hashes the previous one, and triggers forbid edits."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=60)
    entity: str = Field(max_length=60)
    entity_id: str | None = Field(default=None, max_length=120)
    detail: str = "{}"  # JSON
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(max_length=64)


class DemoTruth(SQLModel, table=True):
    """The demo organisation's planted effects, with their true sizes."""

    __tablename__ = "demo_truth"
    key: str = Field(primary_key=True, max_length=80)
    value: str  # JSON
    description: str


class AuditKeySwitch(SQLModel, table=True):
    """Where the audit chain switched from plain SHA-256 to keyed HMAC-SHA256: entries up to
    ``legacy_through`` (written before migration 0004) verify with the old digest, every later
    one with the key. One row, written by the migration; triggers forbid edits."""

    __tablename__ = "audit_key_switch"
    id: int | None = Field(default=None, primary_key=True)
    legacy_through: int = 0
    at: datetime


class Snapshot(SQLModel, table=True):
    """A month's reports archived as JSON with what they were computed from (append-only)."""

    __tablename__ = "snapshot"
    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)  # YYYY-MM
    taken_at: datetime
    taken_by: str = Field(max_length=120)
    reports: str = "{}"  # JSON: report name → its JSON (or {"error": sentence})
    definitions: str = "[]"  # JSON: [{"key", "version"}] of the KPI definitions in force
    batch_ids: str = "[]"  # JSON: import batches that wrote the month's input rows
    inputs: str = "{}"  # JSON: table → {"rows", "sha256"}
    input_hash: str = Field(max_length=64)
