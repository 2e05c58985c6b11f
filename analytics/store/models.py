"""Every table of the store, in one module.

Conventions (full-stack-fastapi-template style):
- timestamps are stored in UTC (SQLModel's UTCDateTime: aware UTC datetimes in the ORM,
  ``timestamptz`` on PostgreSQL); polars frames carry them as naive UTC; conversion to a user's
  zone happens at the edges;
- every imported row carries its natural key ``(source, external_id)``, unique per table, so an
  import is an upsert and running it twice changes nothing (SLI samples use ``(slo_id, ts)``);
- the columns pages filter on (service, time) are indexed;
- JSON-ish columns (credit ladders, thresholds, file lists) are stored as JSON text so the same
  schema works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

ENVIRONMENTS = ("production", "staging", "development", "test")
DEPLOYMENT_STATUSES = ("success", "failed", "rolled_back")
TIERS = ("gold", "silver", "bronze")
EXCLUSION_KINDS = ("scheduled", "force_majeure", "customer", "third_party")
OUTAGE_CAUSES = ("internal", "third_party")
ATTRIBUTION_RULES = ("explicit", "window", "unattributed")


def natural_key(table: str) -> Index:
    """The unique ``(source, external_id)`` index of an imported table.

    A named unique index rather than a table constraint, so a bulk load into an empty table can
    drop and rebuild it (SQLite cannot drop a constraint's index); ON CONFLICT works the same.
    """
    return Index(f"ux_{table}_natural_key", "source", "external_id", unique=True)


class Imported(SQLModel):
    """Columns every imported row carries: its natural key and the batch that last wrote it."""

    source: str = Field(default="manual", max_length=64)
    external_id: str = Field(max_length=255)
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")


class Service(Imported, table=True):
    """A service customers use; owned by a team, in a tier, with a criticality 1 (most) – 4."""

    __tablename__ = "service"
    __table_args__ = (natural_key("service"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    team: str = Field(default="unassigned", max_length=120, index=True)
    tier: str = Field(default="bronze", max_length=16)
    criticality: int = Field(default=3, ge=1, le=4)
    customer_facing: bool = True
    timezone: str = Field(default="UTC", max_length=64)
    # False for services an importer created from data; the Data page flags them until confirmed.
    confirmed: bool = True


class ImportBatch(SQLModel, table=True):
    """One import invocation: who, when, which files (with sha256) and what it did."""

    __tablename__ = "import_batch"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    source: str = Field(max_length=64)
    actor: str = Field(max_length=120)
    started_at: datetime
    finished_at: datetime | None = None
    files: str = "[]"  # JSON list of {"path", "sha256", "bytes"}
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    status: str = Field(default="running", max_length=16)


class ChangeRequest(Imported, table=True):
    """A change request (ITSM change record) with its planned and actual times and outcome."""

    __tablename__ = "change_request"
    __table_args__ = (natural_key("change_request"),)
    id: int | None = Field(default=None, primary_key=True)
    service_id: int | None = Field(default=None, foreign_key="service.id", index=True)
    title: str | None = None
    change_type: str | None = Field(default=None, max_length=40)
    risk: str | None = Field(default=None, max_length=40)
    emergency: bool = False
    cab_required: bool | None = None
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    outcome: str | None = Field(default=None, max_length=40)
    opened_at: datetime | None = None
    closed_at: datetime | None = None


class Deployment(Imported, table=True):
    """A deployment of a service version to an environment, and how it ended."""

    __tablename__ = "deployment"
    __table_args__ = (
        natural_key("deployment"),
        Index("ix_deployment_service_finished", "service_id", "finished_at"),
        Index("ix_deployment_env_finished", "environment", "finished_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="service.id")
    environment: str = Field(default="production", max_length=32)
    version: str | None = Field(default=None, max_length=120)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    status: str = Field(max_length=16)
    is_rollback: bool = False
    unplanned: bool = False
    emergency: bool = False
    change_request_id: int | None = Field(default=None, foreign_key="change_request.id")
    lines_changed: int | None = None
    files_changed: int | None = None
    test_coverage: float | None = None


class Change(Imported, table=True):
    """A commit (change) shipped by a deployment; lead time runs from ``committed_at``."""

    __tablename__ = "change"
    __table_args__ = (natural_key("change"),)
    id: int | None = Field(default=None, primary_key=True)
    commit_id: str = Field(max_length=80, index=True)
    committed_at: datetime
    deployment_id: int | None = Field(default=None, foreign_key="deployment.id", index=True)


class Incident(Imported, table=True):
    """An incident: severity 1 (worst) – 4, its timeline and what caused it."""

    __tablename__ = "incident"
    __table_args__ = (
        natural_key("incident"),
        Index("ix_incident_service_opened", "service_id", "opened_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    service_id: int | None = Field(default=None, foreign_key="service.id")
    environment: str = Field(default="production", max_length=32)
    severity: int = Field(default=3, ge=1, le=4)
    title: str | None = None
    opened_at: datetime
    detected_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    customer_facing: bool = False
    outage: bool = False
    caused_by_deployment_id: int | None = Field(default=None, foreign_key="deployment.id")
    caused_by_change_request_id: int | None = Field(default=None, foreign_key="change_request.id")
    root_cause_commit: str | None = Field(default=None, max_length=80)
    problem_id: str | None = Field(default=None, max_length=80)
    root_cause: str | None = Field(default=None, max_length=80)
    postmortem_url: str | None = None
    # The source tool's own "SLA met" flag (ServiceNow, UCI); None when the source has none.
    made_sla: bool | None = None


class IncidentAttribution(SQLModel, table=True):
    """Which deployment an incident is attributed to, by which rule (REFERENCE §1.1)."""

    __tablename__ = "incident_attribution"
    __table_args__ = (UniqueConstraint("incident_id", "window_hours"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    deployment_id: int | None = Field(default=None, foreign_key="deployment.id", index=True)
    rule: str = Field(max_length=16)  # explicit | window | unattributed
    window_hours: float = 48.0
    computed_at: datetime


class Ticket(Imported, table=True):
    """A support ticket (service-desk interaction); ``customer_id`` is pseudonymised."""

    __tablename__ = "ticket"
    __table_args__ = (
        natural_key("ticket"),
        Index("ix_ticket_service_opened", "service_id", "opened_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    service_id: int | None = Field(default=None, foreign_key="service.id")
    opened_at: datetime
    closed_at: datetime | None = None
    severity: int | None = Field(default=None, ge=1, le=4)
    user_role: str | None = Field(default=None, max_length=40)
    transaction_criticality: str | None = Field(default=None, max_length=40)
    channel: str | None = Field(default=None, max_length=40)
    customer_id: str | None = Field(default=None, max_length=80)
    text: str | None = None
    related_incident_id: int | None = Field(default=None, foreign_key="incident.id")


class TicketWait(SQLModel, table=True):
    """A period in which a ticket waited on the customer (business-hours timers pause)."""

    __tablename__ = "ticket_wait"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    start: datetime
    end: datetime | None = None


class CsatResponse(Imported, table=True):
    """A survey answer: CSAT score 1–5 and optionally an NPS answer 0–10."""

    __tablename__ = "csat_response"
    __table_args__ = (
        natural_key("csat_response"),
        Index("ix_csat_service_responded", "service_id", "responded_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    service_id: int | None = Field(default=None, foreign_key="service.id")
    responded_at: datetime
    score: int = Field(ge=1, le=5)
    nps: int | None = Field(default=None, ge=0, le=10)
    segment: str | None = Field(default=None, max_length=60)
    customer_id: str | None = Field(default=None, max_length=80)
    comment: str | None = None
    related_deployment_id: int | None = Field(default=None, foreign_key="deployment.id")


class Slo(Imported, table=True):
    """An SLO definition (OpenSLO-compatible): target over a rolling or calendar window."""

    __tablename__ = "slo"
    __table_args__ = (natural_key("slo"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    service_id: int | None = Field(default=None, foreign_key="service.id", index=True)
    description: str | None = None
    indicator: str = Field(default="availability", max_length=60)
    budgeting: str = Field(default="occurrences", max_length=16)  # or timeslices
    target: float = 0.999
    window_kind: str = Field(default="rolling", max_length=16)  # rolling | calendar
    window_days: int | None = 30
    calendar_unit: str | None = Field(default=None, max_length=16)  # month | quarter
    timezone: str = Field(default="UTC", max_length=64)
    slice_minutes: int | None = None
    slice_target: float | None = None


class SliSample(SQLModel, table=True):
    """Good and total events of one SLO in one time bucket starting at ``ts``."""

    __tablename__ = "sli_sample"
    __table_args__ = (UniqueConstraint("slo_id", "ts"),)
    id: int | None = Field(default=None, primary_key=True)
    slo_id: int = Field(foreign_key="slo.id")
    ts: datetime
    good: float
    total: float


class SlaContract(SQLModel, table=True):
    """One version of an SLA contract; a later ``effective_from`` for a name is a new version."""

    __tablename__ = "sla_contract"
    __table_args__ = (UniqueConstraint("name", "effective_from"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, index=True)
    customer: str = Field(max_length=120)
    services: str = "[]"  # JSON list of service names
    tier: str = Field(max_length=16)
    target_pct: float
    timezone: str = Field(default="UTC", max_length=64)
    period: str = Field(default="month", max_length=16)
    exclusion_mode: str = Field(default="exclude", max_length=16)  # or count_as_up
    exclude_third_party: bool = False
    monthly_fee: float = 0.0
    currency: str = Field(default="EUR", max_length=8)
    credit_cap_pct: float = 100.0
    credits: str = "[]"  # JSON list of {"below_pct", "credit_pct"}
    escalation: str | None = Field(default=None, max_length=120)
    effective_from: datetime


class MaintenanceWindow(Imported, table=True):
    """An exclusion: scheduled maintenance (one-off or RRULE), force majeure, customer, third party."""

    __tablename__ = "maintenance_window"
    __table_args__ = (natural_key("maintenance_window"),)
    id: int | None = Field(default=None, primary_key=True)
    service_id: int | None = Field(default=None, foreign_key="service.id", index=True)
    start: datetime
    end: datetime
    kind: str = Field(default="scheduled", max_length=16)
    recurrence: str | None = None  # RFC 5545 RRULE; start/end give the first occurrence
    description: str | None = None


class Outage(Imported, table=True):
    """A period during which a service was down, with its cause."""

    __tablename__ = "outage"
    __table_args__ = (
        natural_key("outage"),
        Index("ix_outage_service_start", "service_id", "start"),
    )
    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="service.id")
    start: datetime
    end: datetime
    cause: str = Field(default="internal", max_length=16)


class Experiment(SQLModel, table=True):
    """An A/B/n or factorial experiment on a customer metric."""

    __tablename__ = "experiment"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    design: str = Field(default="ab", max_length=16)  # ab | factorial
    metric: str = Field(max_length=60)
    metric_type: str = Field(default="mean", max_length=16)  # mean | proportion
    control: str = Field(default="control", max_length=60)
    factors: str = "[]"  # JSON list of factor names for factorial designs
    planned_split: str = "{}"  # JSON {variant: share}
    service_id: int | None = Field(default=None, foreign_key="service.id")
    started_at: datetime | None = None
    ended_at: datetime | None = None
    description: str | None = None


class ExperimentObservation(SQLModel, table=True):
    """One unit's value in one variant; factor levels are JSON for factorial designs."""

    __tablename__ = "experiment_observation"
    id: int | None = Field(default=None, primary_key=True)
    experiment_id: int = Field(foreign_key="experiment.id", index=True)
    unit_id: str = Field(max_length=80)
    variant: str = Field(max_length=60)
    levels: str = "{}"
    value: float


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


# Tables counted by `report summary`, with the timestamp column that defines their coverage.
SUMMARY_TABLES: dict[str, tuple[type[SQLModel], str | None]] = {
    "services": (Service, None),
    "deployments": (Deployment, "finished_at"),
    "changes": (Change, "committed_at"),
    "change_requests": (ChangeRequest, "actual_end"),
    "incidents": (Incident, "opened_at"),
    "tickets": (Ticket, "opened_at"),
    "csat_responses": (CsatResponse, "responded_at"),
    "slos": (Slo, None),
    "sli_samples": (SliSample, "ts"),
    "sla_contracts": (SlaContract, "effective_from"),
    "maintenance_windows": (MaintenanceWindow, "start"),
    "outages": (Outage, "start"),
    "experiments": (Experiment, "started_at"),
    "experiment_observations": (ExperimentObservation, None),
    "kpi_definitions": (KpiDefinition, "changed_at"),
    "improvements": (Improvement, "opened_at"),
    "import_batches": (ImportBatch, "started_at"),
    "audit_log": (AuditLog, "at"),
}
