"""The append-only audit log: each entry carries the hash of the previous one (a hash chain),
so a removed or edited row is detectable even by someone who bypasses the database triggers."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, select

from analytics.store.models import AuditLog


def _digest(prev_hash: str, at: datetime, actor: str, action: str, entity: str,
            entity_id: str | None, detail: str) -> str:
    payload = "|".join([prev_hash, at.isoformat(), actor, action, entity, entity_id or "", detail])
    return hashlib.sha256(payload.encode()).hexdigest()


def record(session: Session, *, actor: str, action: str, entity: str,
           entity_id: str | None = None, detail: dict[str, Any] | None = None) -> AuditLog:
    """Append one audit entry in the caller's transaction and return it."""
    last = session.exec(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).first()  # type: ignore[union-attr]
    prev = last.hash if last else ""
    at = datetime.now(UTC).replace(microsecond=0)
    body = json.dumps(detail or {}, sort_keys=True, default=str)
    entry = AuditLog(at=at, actor=actor, action=action, entity=entity, entity_id=entity_id,
                     detail=body, prev_hash=prev,
                     hash=_digest(prev, at, actor, action, entity, entity_id, body))
    session.add(entry)
    session.flush()
    return entry


def verify_chain(engine: Engine) -> tuple[bool, int | None]:
    """Check the hash chain; return (intact, id of the first broken entry or None)."""
    prev = ""
    with Session(engine) as session:
        for e in session.exec(select(AuditLog).order_by(AuditLog.id)):  # type: ignore[arg-type]
            if e.prev_hash != prev or e.hash != _digest(prev, e.at, e.actor, e.action, e.entity,
                                                        e.entity_id, e.detail):
                return False, e.id
            prev = e.hash
    return True, None


def count(engine: Engine) -> int:
    """Number of audit entries."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
