"""Versioned definitions in the store: the KPI catalogue's defaults and the versions people save.

Writes take the session, keyword-only, and leave the commit to the caller, so a page, the CLI and
a test share one path: ``save_definition(session=s, …)`` then ``s.commit()``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlmodel import Session, select

from analytics import catalogue
from analytics.governance.events import DefinitionSavedEvent, SloVersionEvent
from analytics.store.audit import record
from analytics.store.models import KpiDefinition, Slo, SloVersion


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
                                  changed_at=_now(), owner_team=kpi.owner_team,
                                  reason=f"default from the KPI catalogue (REFERENCE {kpi.reference})"))
        added += 1
    return added


def latest_definition(*, session: Session, key: str) -> KpiDefinition | None:
    """The newest version of definition ``key``, or None."""
    return session.exec(select(KpiDefinition).where(KpiDefinition.key == key)
                        .order_by(KpiDefinition.version.desc())).first()  # type: ignore[union-attr]


def effective_definition(*, session: Session, key: str,
                         at: datetime | None = None) -> KpiDefinition | None:
    """The version of ``key`` in force at ``at`` (default now): the newest whose effective date
    (or, without one, its save time) is not after ``at``."""
    at = at or _now()
    rows = session.exec(select(KpiDefinition).where(KpiDefinition.key == key)
                        .order_by(KpiDefinition.version.desc())).all()  # type: ignore[union-attr]
    return next((r for r in rows if _aware(r.effective_from or r.changed_at) <= _aware(at)), None)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def save_definition(*, session: Session, key: str, name: str, unit: str, methodology: str,
                    thresholds: dict[str, Any], actor: str, reason: str,
                    direction: str = "lower", owner_team: str | None = None,
                    effective_from: datetime | None = None) -> KpiDefinition:
    """Add the next version of definition ``key`` and its audit entry (old → new, who, why)."""
    if direction not in catalogue.BETTER:
        raise ValueError(f"direction must be one of {catalogue.BETTER}, got {direction!r}")
    current = latest_definition(session=session, key=key)
    version = (current.version if current else 0) + 1
    if owner_team is None and current is not None:
        owner_team = current.owner_team
    row = KpiDefinition(key=key, version=version, name=name, unit=unit, direction=direction,
                        methodology=methodology, thresholds=json.dumps(thresholds, sort_keys=True),
                        changed_by=actor, changed_at=_now(), reason=reason,
                        owner_team=owner_team, effective_from=effective_from)
    session.add(row)
    record(session, DefinitionSavedEvent(
        actor=actor, entity_id=key,
        detail={"version": version, "old": json.loads(current.thresholds) if current else None,
                "new": thresholds, "reason": reason}))
    session.flush()
    return row


# ---------------------------------------------------------------------------- SLO versions

# The columns of an SLO that make up its definition (a change to any is a new version).
SLO_FIELDS = ("description", "indicator", "budgeting", "target", "window_kind", "window_days",
              "calendar_unit", "timezone", "slice_minutes", "slice_target", "owner_team")


def slo_definitions(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every stored SLO's definition, by name (read before an import overwrites them)."""
    cols = ", ".join(SLO_FIELDS)
    return {r[0]: dict(zip(SLO_FIELDS, r[1:], strict=True))
            for r in conn.execute(text(f"SELECT name, {cols} FROM slo")).all()}


def record_slo_versions(conn: Connection, before: dict[str, dict[str, Any]], *, actor: str,
                        batch_id: int | None) -> dict[str, int]:
    """After an import: give every new or changed SLO its next version and keep the old one.

    An SLO with no version rows yet was version 1 (stores from before versions): its first
    change stores that old definition as version 1 and the new one as version 2. Returns
    name → version written."""
    fill_slo_owner_teams(conn)
    after = slo_definitions(conn)
    stored: dict[str, int] = {}
    for name, version in conn.execute(text(
            "SELECT slo_name, max(version) FROM slo_version GROUP BY slo_name")).all():
        stored[name] = int(version)
    now = _now()
    written: dict[str, int] = {}
    rows = []
    for name, new in sorted(after.items()):
        old = before.get(name)
        if old is not None and old == new and name in stored:
            continue
        if old is not None and old == new:
            continue  # unchanged, never versioned: it stays version 1
        last = stored.get(name, 0)
        if old is not None and last == 0:
            rows.append(_slo_version_row(name, 1, old, now, actor, "as stored before versions",
                                         None))
            last = 1
        rows.append(_slo_version_row(name, last + 1, new, now, actor,
                                     "imported" if old is None else "re-imported with changes",
                                     batch_id))
        written[name] = last + 1
    if rows:
        table = SloVersion.__table__  # type: ignore[attr-defined]
        conn.execute(table.insert(), rows)
        slo = Slo.__table__  # type: ignore[attr-defined]
        for name, version in written.items():
            conn.execute(slo.update().where(slo.c.name == name).values(version=version))
        with Session(bind=conn) as session:
            record(session, SloVersionEvent(actor=actor, entity_id=None,
                                            detail={"versions": written, "batch_id": batch_id}))
    return written


def _slo_version_row(name: str, version: int, definition: dict[str, Any], at: datetime,
                     actor: str, reason: str, batch_id: int | None) -> dict[str, Any]:
    return {"slo_name": name, "version": version, "definition": json.dumps(definition,
                                                                           sort_keys=True),
            "effective_from": at, "changed_by": actor, "changed_at": at, "reason": reason,
            "batch_id": batch_id}


def fill_slo_owner_teams(conn: Connection) -> None:
    """An SLO without an owner team is owned by its service's team."""
    conn.execute(text("UPDATE slo SET owner_team = (SELECT team FROM service "
                      "WHERE service.id = slo.service_id) WHERE owner_team IS NULL"))


def fill_owner_teams(*, session: Session) -> None:
    """Stores from before owner teams: KPI versions without one take the catalogue's, SLOs their
    service's team (``init`` calls this)."""
    for key, kpi in catalogue.kpis().items():
        session.connection().execute(text(
            "UPDATE kpi_definition SET owner_team = :team WHERE key = :key AND owner_team IS NULL"),
            {"team": kpi.owner_team, "key": key})
    fill_slo_owner_teams(session.connection())
