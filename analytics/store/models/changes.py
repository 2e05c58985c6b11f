"""Change control (issue 16.3): proposals to change a KPI definition, its thresholds, an SLO or an
alert/rollback rule, approved by a second admin; and every version of every SLO.

Rows are written by :mod:`analytics.governance.changes` (each with an audit entry)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

# What a proposal may change: a KPI definition (methodology, unit, owner), its thresholds, an SLO
# (target, window), an alert rule or a rollback rule (their parameters, as JSON).
KINDS = ("kpi", "threshold", "slo", "alert_rule", "rollback_rule")
STATUSES = ("pending", "approved", "rejected")


class DefinitionProposal(SQLModel, table=True):
    """A proposed change: who, when, old → new (JSON), why; then who decided, when and from when
    it takes effect. Four eyes: the decider is never the proposer."""

    __tablename__ = "definition_proposal"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    key: str = Field(max_length=200, index=True)
    old: str = "null"  # JSON: the definition in force when proposed
    new: str = "{}"  # JSON: the fields that change, with their new values
    reason: str
    proposed_by: str = Field(max_length=120)
    proposed_at: datetime
    status: str = Field(default="pending", max_length=12, index=True)
    decided_by: str | None = Field(default=None, max_length=120)
    decided_at: datetime | None = None
    decision_note: str | None = None
    effective_from: datetime | None = None
    version: int | None = None  # the definition version the approval created


class SloVersion(SQLModel, table=True):
    """One version of an SLO's definition: re-importing an SLO file or approving a proposal adds
    one (the ``slo`` row holds the version in force; older ones stay here)."""

    __tablename__ = "slo_version"
    __table_args__ = (UniqueConstraint("slo_name", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    slo_name: str = Field(max_length=200, index=True)
    version: int = 1
    definition: str = "{}"  # JSON: target, window, budgeting, indicator, owner team …
    effective_from: datetime
    changed_by: str = Field(max_length=120)
    changed_at: datetime
    reason: str | None = None
    batch_id: int | None = None
