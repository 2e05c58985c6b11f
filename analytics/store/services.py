"""Edits a person makes to services (through the ORM, with an audit entry)."""

from __future__ import annotations

from sqlmodel import Session, select

from analytics.governance.events import ServiceConfirmEvent
from analytics.store import audit
from analytics.store.models import Service


def confirm_services(*, session: Session, names: list[str], actor: str) -> int:
    """Mark services created by an import as confirmed, with one audit entry; return how many
    changed. Runs in the caller's transaction (the caller commits)."""
    rows = session.exec(select(Service).where(Service.name.in_(names),  # type: ignore[attr-defined]
                                              Service.confirmed == False)).all()  # noqa: E712
    for svc in rows:
        svc.confirmed = True
    if rows:
        audit.record(session, ServiceConfirmEvent(
            actor=actor, detail={"services": sorted(s.name for s in rows)}))
    session.flush()
    return len(rows)
