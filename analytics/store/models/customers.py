"""Customers: support tickets and their waits, survey answers, experiments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from analytics.store.models.base import Imported, natural_key


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
    # The first answer to the customer: starts/stops the business-hours response timer.
    first_response_at: datetime | None = None
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
