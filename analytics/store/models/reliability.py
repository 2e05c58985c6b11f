"""Reliability and contracts: SLOs and their samples, SLA contracts, exclusions, outages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from analytics.store.models.base import Imported, natural_key


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
    owner_team: str | None = Field(default=None, max_length=80)  # default: the service's team
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})  # its slo_version


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
