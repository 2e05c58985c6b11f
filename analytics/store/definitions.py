"""Versioned definitions in the store: the KPI catalogue's defaults and the versions people save.

Writes take the session, keyword-only, and leave the commit to the caller, so a page, the CLI and
a test share one path: ``save_definition(session=s, …)`` then ``s.commit()``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from analytics import catalogue
from analytics.governance.events import DefinitionSavedEvent
from analytics.store.audit import record
from analytics.store.models import KpiDefinition


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def seed_kpi_definitions(*, session: Session, actor: str = "system") -> int:
    """Store version 1 of every catalogue KPI that has no definition yet; return how many.

    Called by ``init`` and ``demo``, so a store built from imports alone has the definitions too.
    """
    have = set(session.exec(select(KpiDefinition.key)).all())
    added = 0
    for key, kpi in catalogue.kpis().items():
        if key in have:
            continue
        session.add(KpiDefinition(key=key, version=1, name=kpi.label, unit=kpi.unit,
                                  direction=kpi.better, methodology=kpi.methodology,
                                  thresholds=json.dumps(kpi.thresholds()), changed_by=actor,
                                  changed_at=_now(),
                                  reason=f"default from the KPI catalogue (REFERENCE {kpi.reference})"))
        added += 1
    return added


def latest_definition(*, session: Session, key: str) -> KpiDefinition | None:
    """The newest version of definition ``key``, or None."""
    return session.exec(select(KpiDefinition).where(KpiDefinition.key == key)
                        .order_by(KpiDefinition.version.desc())).first()  # type: ignore[union-attr]


def save_definition(*, session: Session, key: str, name: str, unit: str, methodology: str,
                    thresholds: dict[str, Any], actor: str, reason: str,
                    direction: str = "lower") -> KpiDefinition:
    """Add the next version of definition ``key`` and its audit entry (old → new, who, why)."""
    if direction not in catalogue.BETTER:
        raise ValueError(f"direction must be one of {catalogue.BETTER}, got {direction!r}")
    current = latest_definition(session=session, key=key)
    version = (current.version if current else 0) + 1
    row = KpiDefinition(key=key, version=version, name=name, unit=unit, direction=direction,
                        methodology=methodology, thresholds=json.dumps(thresholds, sort_keys=True),
                        changed_by=actor, changed_at=_now(), reason=reason)
    session.add(row)
    record(session, DefinitionSavedEvent(
        actor=actor, entity_id=key,
        detail={"version": version, "old": json.loads(current.thresholds) if current else None,
                "new": thresholds, "reason": reason}))
    session.flush()
    return row
