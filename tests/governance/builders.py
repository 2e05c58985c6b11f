"""Hand-built stores for the governance tests: a few services, deployments, change requests and
incidents written with the ORM, each with the fields the rules read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from analytics.store.models import ChangeRequest, Deployment, Incident, Service


def _aware(kw: dict) -> dict:
    # The ORM stores aware UTC datetimes; the tests write naive UTC for brevity.
    return {k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
            for k, v in kw.items()}


def services(engine: Engine) -> None:
    """gold-1 (gold, criticality 1), silver-2 (silver, 2), silver-1 (silver, criticality 1)."""
    with Session(engine) as s:
        for i, (name, tier, crit) in enumerate([("gold-1", "gold", 2), ("silver-2", "silver", 2),
                                                ("silver-1", "silver", 1)], start=1):
            s.add(Service(id=i, name=name, external_id=name, tier=tier, criticality=crit))
        s.commit()


def deployment(engine: Engine, id_: int, service_id: int, finished: datetime, **kw) -> None:
    """One deployment (production success unless ``kw`` says otherwise)."""
    fields = {"environment": "production", "status": "success", "started_at": finished} | kw
    with Session(engine) as s:
        s.add(Deployment(id=id_, service_id=service_id, external_id=f"d{id_}",
                         **_aware({"finished_at": finished} | fields)))
        s.commit()


def change_request(engine: Engine, id_: int, opened: datetime, **kw) -> None:
    """One change request."""
    with Session(engine) as s:
        s.add(ChangeRequest(id=id_, external_id=f"CHG{id_}", **_aware({"opened_at": opened} | kw)))
        s.commit()


def incident(engine: Engine, id_: int, service_id: int | None, opened: datetime,
             resolved: datetime | None = None, **kw) -> None:
    """One incident (severity 3 unless ``kw`` says otherwise)."""
    with Session(engine) as s:
        s.add(Incident(id=id_, service_id=service_id, external_id=f"INC{id_}",
                       **_aware({"opened_at": opened, "resolved_at": resolved} | kw)))
        s.commit()
