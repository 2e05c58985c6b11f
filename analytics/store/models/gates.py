"""The release gate's emergency-bypass ledger: each bypass owes a retroactive validation within
72 h (:mod:`analytics.store.bypasses` writes the rows, each with an audit entry)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class GateBypass(SQLModel, table=True):
    """One emergency bypass of the release gate: the pending 72-hour validation item."""

    __tablename__ = "gate_bypass"

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=120, index=True)
    decided_at: datetime
    due_at: datetime
    actor: str = Field(max_length=120)
    detail: str = "{}"  # JSON: the change (lines, files, coverage, risk) as the gate saw it
