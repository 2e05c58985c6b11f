"""Writes a person triggers for compliance: validating an emergency fix, signing off a data
source for a quarter. Each takes the session keyword-only, writes one row and one audit entry in
the caller's transaction, and raises ``ValueError`` with a plain sentence on bad input (nothing
is written then)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlmodel import Session, select

from analytics.store import audit
from analytics.store.db import read_frame
from analytics.store.models import Deployment, EmergencyValidation, SourceValidation

QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _text(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValueError(f"{field} must not be empty.")
    return value


def validate_emergency(*, session: Session, deployment_id: int, by: str, note: str,
                       at: datetime | None = None) -> EmergencyValidation:
    """Record that emergency deployment ``deployment_id`` was retroactively validated by ``by``."""
    by, note = _text(by, "The validator's name (--by)"), _text(note, "The note (--note)")
    dep = session.get(Deployment, deployment_id)
    if dep is None:
        raise ValueError(f"There is no deployment with id {deployment_id}.")
    if not dep.emergency:
        raise ValueError(f"Deployment {deployment_id} ({dep.external_id}) is not an emergency fix; "
                         "only emergency fixes need a retroactive validation.")
    done = session.exec(select(EmergencyValidation)
                        .where(EmergencyValidation.deployment_id == deployment_id)).first()
    if done is not None:
        raise ValueError(f"Deployment {deployment_id} was already validated by {done.validated_by} "
                         f"at {done.validated_at:%Y-%m-%d %H:%M} UTC.")
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # naive means UTC, as everywhere in the store
    row = EmergencyValidation(deployment_id=deployment_id, validated_by=by,
                              validated_at=at or _now(), note=note)
    session.add(row)
    session.flush()
    audit.record(session, actor=by, action="validate_emergency", entity="deployment",
                 entity_id=str(deployment_id),
                 detail={"external_id": dep.external_id, "note": note})
    return row


def validated_deployments(engine: Engine) -> pl.DataFrame:
    """Every recorded emergency validation: deployment_id, validated_by, validated_at, note."""
    frame = read_frame(engine, "SELECT deployment_id, validated_by, validated_at, note "
                               "FROM emergency_validation ORDER BY validated_at")
    # An empty result carries no types from SQLite: give the columns theirs.
    return frame.cast({"deployment_id": pl.Int64, "validated_by": pl.String, "note": pl.String})


def parse_quarter(quarter: str) -> tuple[int, int]:
    """(year, quarter number) of ``2026Q3``; anything else is a ``ValueError``.

    >>> parse_quarter("2026Q3")
    (2026, 3)
    """
    m = QUARTER.match(quarter or "")
    if not m:
        raise ValueError(f"The quarter must look like 2026Q3, got {quarter!r}.")
    return int(m.group(1)), int(m.group(2))


def sign_off_source(*, session: Session, source: str, quarter: str, by: str, findings: str,
                    checklist: dict[str, Any]) -> SourceValidation:
    """Store an analyst's sign-off of ``source`` for ``quarter`` with findings and the checklist."""
    parse_quarter(quarter)
    source = _text(source, "The source")
    by, findings = _text(by, "The analyst's name (--by)"), _text(findings, "The findings (--findings)")
    row = SourceValidation(source=source, quarter=quarter, signed_by=by, signed_at=_now(),
                           findings=findings, checklist=json.dumps(checklist, sort_keys=True, default=str))
    session.add(row)
    session.flush()
    audit.record(session, actor=by, action="sign_off_source", entity="source_validation",
                 entity_id=str(row.id), detail={"source": source, "quarter": quarter,
                                                "findings": findings})
    return row


def source_sign_offs(engine: Engine, source: str | None = None,
                     quarter: str | None = None) -> pl.DataFrame:
    """Stored sign-offs (newest first), optionally of one source and/or quarter."""
    clauses, params = ["1=1"], []
    if source is not None:
        clauses.append("source = ?")
        params.append(source)
    if quarter is not None:
        clauses.append("quarter = ?")
        params.append(quarter)
    return read_frame(engine, "SELECT id, source, quarter, signed_by, signed_at, findings "
                              f"FROM source_validation WHERE {' AND '.join(clauses)} "
                              "ORDER BY signed_at DESC, id DESC", params)
