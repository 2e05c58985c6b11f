"""The release gate's emergency bypasses: each creates a pending validation item due 72 h later.

An item is closed by the ordinary emergency validation (:func:`analytics.store.validations.
validate_emergency`) of the deployment it let through: the first emergency production
deployment of the service that started at or after the bypass (ties by id). Status:
``validated`` (validated by the due time), ``late`` (validated after it), ``overdue`` (not
validated and past due), ``pending`` (not validated, not yet due).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session

from analytics.governance.events import GateBypassEvent
from analytics.store import audit
from analytics.store.db import read_frame
from analytics.store.models import GateBypass
from analytics.studies.gates import VALIDATION_DEADLINE


def record_bypass(*, session: Session, service: str, actor: str, at: datetime,
                  detail: dict[str, Any]) -> GateBypass:
    """Store one emergency bypass of ``service`` at ``at`` (naive = UTC) and its audit entry."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    row = GateBypass(service=service, decided_at=at, due_at=at + VALIDATION_DEADLINE,
                     actor=actor or "unknown", detail=json.dumps(detail, sort_keys=True, default=str))
    session.add(row)
    session.flush()
    audit.record(session, GateBypassEvent(actor=row.actor, entity_id=str(row.id), detail={
        "service": service, "decided_at": at.isoformat(), "due_at": row.due_at.isoformat(), **detail}))
    return row


def bypass_items(engine: Engine, at: datetime) -> pl.DataFrame:
    """Every bypass with the deployment it let through, its validation and status at ``at``."""
    items = read_frame(engine, "SELECT id, service, decided_at, due_at, actor FROM gate_bypass "
                               "ORDER BY decided_at, id")
    deps = read_frame(engine, """
        SELECT d.id AS deployment_id, s.name AS service, COALESCE(d.started_at, d.finished_at) AS began,
               v.validated_at, v.validated_by
        FROM deployment d JOIN service s ON s.id = d.service_id
        LEFT JOIN emergency_validation v ON v.deployment_id = d.id
        WHERE d.emergency AND d.environment = 'production'""")
    schema = {"deployment_id": pl.Int64, "service": pl.String, "began": pl.Datetime("us"),
              "validated_at": pl.Datetime("us"), "validated_by": pl.String}
    deps = pl.DataFrame(deps.to_dicts(), schema=schema) if deps.height else pl.DataFrame(schema=schema)
    # An empty result carries no types from SQLite: give the columns theirs.
    items = items.cast({"id": pl.Int64, "service": pl.String, "decided_at": pl.Datetime("us"),
                        "due_at": pl.Datetime("us"), "actor": pl.String})
    matched = (items.join(deps, on="service", how="left")
               .filter(pl.col("began").is_null() | (pl.col("began") >= pl.col("decided_at")))
               .sort("id", "began", "deployment_id", nulls_last=True)
               .unique("id", keep="first", maintain_order=True))
    status = (pl.when(pl.col("validated_at").is_not_null() & (pl.col("validated_at") <= pl.col("due_at")))
              .then(pl.lit("validated"))
              .when(pl.col("validated_at").is_not_null()).then(pl.lit("late"))
              .when(pl.col("due_at") < at).then(pl.lit("overdue")).otherwise(pl.lit("pending")))
    return (items.join(matched.select("id", "deployment_id", "validated_at", "validated_by"),
                       on="id", how="left").with_columns(status=status).sort("decided_at", "id"))
