"""Compliance ledgers: retroactive validations of emergency fixes and quarterly data-source
sign-offs. Rows are written by :mod:`analytics.store.validations` (each with an audit entry)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class EmergencyValidation(SQLModel, table=True):
    """The retroactive validation of one emergency deployment (due within 72 h of its finish)."""

    __tablename__ = "emergency_validation"
    __table_args__ = (UniqueConstraint("deployment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id")
    validated_by: str = Field(max_length=120)
    validated_at: datetime
    note: str


class SourceValidation(SQLModel, table=True):
    """An analyst's sign-off of one data source for one quarter, with findings and the checklist
    (JSON) exactly as it stood when signed."""

    __tablename__ = "source_validation"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64, index=True)
    quarter: str = Field(max_length=7)  # e.g. 2026Q3
    signed_by: str = Field(max_length=120)
    signed_at: datetime
    findings: str
    checklist: str = "{}"  # JSON
