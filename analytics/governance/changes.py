"""Change control (issue 16.3): a change to a KPI definition, its thresholds, an SLO or an
alert/rollback rule is a proposal (who, when, old → new, why) that an admin other than the
proposer approves — with the date from which it takes effect — or rejects.

Writes take the session keyword-only and leave the commit to the caller (the page, the CLI and the
tests share one path); each writes its typed audit event. Approving creates the next version:

- ``kpi`` (name, unit, methodology, direction, owner_team) and ``threshold`` (warn, critical, …):
  a new ``kpi_definition`` version with ``effective_from``;
- ``slo`` (target, window, budgeting, owner_team, …): a new ``slo_version``; the ``slo`` row takes
  the new values once the effective date has come (:func:`apply_due`);
- ``alert_rule`` / ``rollback_rule``: the approved proposals are the rule's versions (their
  parameters as JSON), counted per key.

:func:`effective_versions` says which version of each definition is in force, for the
``definitions`` block of every report and the caption of every page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, select

from analytics import catalogue
from analytics.governance.events import (DefinitionApprovedEvent, DefinitionProposedEvent,
                                         DefinitionRejectedEvent)
from analytics.store.audit import record
from analytics.store.definitions import (SLO_FIELDS, _aware, effective_definition,
                                         latest_definition, save_definition)
from analytics.store.models import DefinitionProposal, KpiDefinition, Slo, SloVersion
from analytics.store.models.changes import KINDS

KPI_FIELDS = ("name", "unit", "methodology", "direction", "owner_team")
RULE_KINDS = ("alert_rule", "rollback_rule")
# Short names used in captions and the report JSON for the KPIs people cite most.
SHORT = {"change_failure_rate": "cfr"}


class ChangeControlError(ValueError):
    """A proposal that cannot be made or decided; the message says why in one sentence."""


class FourEyesError(ChangeControlError):
    """The proposer tried to decide their own proposal."""


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def current(*, session: Session, kind: str, key: str) -> dict[str, Any] | None:
    """The definition of ``kind``/``key`` in force now, as a dict (None when there is none)."""
    if kind in ("kpi", "threshold"):
        row = effective_definition(session=session, key=key)
        if row is None:
            return None
        if kind == "threshold":
            return json.loads(row.thresholds)
        return {"name": row.name, "unit": row.unit, "methodology": row.methodology,
                "direction": row.direction, "owner_team": row.owner_team}
    if kind == "slo":
        slo = session.exec(select(Slo).where(Slo.name == key)).first()
        return None if slo is None else {f: getattr(slo, f) for f in SLO_FIELDS}
    approved = [p for p in _proposals(session, kind=kind, key=key, status="approved")
                if _aware(p.effective_from or p.decided_at) <= _now()]  # type: ignore[arg-type]
    return json.loads(approved[-1].new) if approved else None


def propose(*, session: Session, kind: str, key: str, new: dict[str, Any], reason: str,
            actor: str) -> DefinitionProposal:
    """Record a proposal (and its ``definition.proposed`` event); nothing changes until a second
    admin approves it."""
    if kind not in KINDS:
        raise ChangeControlError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not reason.strip():
        raise ChangeControlError("a proposal needs a reason")
    if not isinstance(new, dict) or not new:
        raise ChangeControlError("the new definition must be a non-empty JSON object")
    _check_fields(session, kind, key, new)
    old = current(session=session, kind=kind, key=key)
    row = DefinitionProposal(kind=kind, key=key, old=json.dumps(old, sort_keys=True, default=str),
                             new=json.dumps(new, sort_keys=True), reason=reason,
                             proposed_by=actor, proposed_at=_now())
    session.add(row)
    session.flush()
    record(session, DefinitionProposedEvent(
        actor=actor, entity_id=str(row.id),
        detail={"kind": kind, "key": key, "old": old, "new": new, "reason": reason}))
    return row


def _check_fields(session: Session, kind: str, key: str, new: dict[str, Any]) -> None:
    if kind in ("kpi", "threshold"):
        if key not in catalogue.kpis():
            raise ChangeControlError(f"no KPI {key!r} in the catalogue")
        if kind == "kpi":
            bad = sorted(set(new) - set(KPI_FIELDS))
            if bad:
                raise ChangeControlError(f"a KPI proposal may change {', '.join(KPI_FIELDS)}; "
                                         f"not {', '.join(bad)}")
            if "direction" in new and new["direction"] not in catalogue.BETTER:
                raise ChangeControlError(f"direction must be one of {catalogue.BETTER}")
        elif not all(isinstance(v, int | float) and not isinstance(v, bool) for v in new.values()):
            raise ChangeControlError("thresholds must be numbers")
    elif kind == "slo":
        if session.exec(select(Slo).where(Slo.name == key)).first() is None:
            raise ChangeControlError(f"no SLO named {key!r}")
        bad = sorted(set(new) - set(SLO_FIELDS))
        if bad:
            raise ChangeControlError(f"an SLO proposal may change {', '.join(SLO_FIELDS)}; "
                                     f"not {', '.join(bad)}")
        target = new.get("target")
        if target is not None and not (isinstance(target, int | float) and 0 < target < 1):
            raise ChangeControlError("an SLO target is a fraction between 0 and 1 (0.999)")


def _pending(session: Session, proposal_id: int, actor: str) -> DefinitionProposal:
    row = session.get(DefinitionProposal, proposal_id)
    if row is None:
        raise ChangeControlError(f"no proposal {proposal_id}")
    if row.status != "pending":
        raise ChangeControlError(f"proposal {proposal_id} is already {row.status}")
    if row.proposed_by == actor:
        raise FourEyesError(f"{actor} proposed change {proposal_id}; another admin must decide it "
                            "(four eyes)")
    return row


def approve(*, session: Session, proposal_id: int, actor: str,
            effective_from: datetime | None = None, note: str | None = None) -> DefinitionProposal:
    """Approve a pending proposal (never by its proposer) from ``effective_from`` (default now):
    create the definition's next version and write ``definition.approved``."""
    row = _pending(session, proposal_id, actor)
    when = _aware(effective_from) if effective_from else _now()
    new = json.loads(row.new)
    if row.kind in ("kpi", "threshold"):
        base = latest_definition(session=session, key=row.key)
        fields = {"name": base.name, "unit": base.unit, "methodology": base.methodology,
                  "direction": base.direction, "owner_team": base.owner_team} if base else {}
        thresholds = json.loads(base.thresholds) if base else {}
        if row.kind == "kpi":
            fields |= new
        else:
            thresholds |= new
        saved = save_definition(session=session, key=row.key, name=fields["name"],
                                unit=fields["unit"], methodology=fields["methodology"],
                                thresholds=thresholds, actor=actor,
                                reason=f"proposal {row.id} by {row.proposed_by}: {row.reason}",
                                direction=fields["direction"], owner_team=fields["owner_team"],
                                effective_from=when)
        row.version = saved.version
    elif row.kind == "slo":
        row.version = _approve_slo(session, row, new, when, actor)
    else:
        row.version = 1 + len(_proposals(session, kind=row.kind, key=row.key, status="approved"))
    row.status, row.decided_by, row.decided_at = "approved", actor, _now()
    row.decision_note, row.effective_from = note, when
    session.add(row)
    session.flush()
    record(session, DefinitionApprovedEvent(
        actor=actor, entity_id=str(row.id),
        detail={"kind": row.kind, "key": row.key, "version": row.version,
                "effective_from": when.isoformat(), "proposed_by": row.proposed_by,
                "note": note}))
    apply_due(session=session)
    return row


def _approve_slo(session: Session, row: DefinitionProposal, new: dict[str, Any], when: datetime,
                 actor: str) -> int:
    slo = session.exec(select(Slo).where(Slo.name == row.key)).one()
    versions = session.exec(select(SloVersion).where(SloVersion.slo_name == row.key)).all()
    now = _now()
    last = max((v.version for v in versions), default=0)
    if last == 0:  # never versioned: what is stored is version 1
        session.add(SloVersion(slo_name=row.key, version=1, effective_from=now, changed_by=actor,
                               changed_at=now, reason="as stored before versions",
                               definition=json.dumps({f: getattr(slo, f) for f in SLO_FIELDS},
                                                     sort_keys=True)))
        last = 1
    base = json.loads(max(versions, key=lambda v: v.version).definition) if versions else \
        {f: getattr(slo, f) for f in SLO_FIELDS}
    session.add(SloVersion(slo_name=row.key, version=last + 1, effective_from=when,
                           changed_by=actor, changed_at=now,
                           reason=f"proposal {row.id} by {row.proposed_by}: {row.reason}",
                           definition=json.dumps(base | new, sort_keys=True)))
    session.flush()
    return last + 1


def apply_due(*, session: Session) -> list[str]:
    """Bring every ``slo`` row to its version in force (approved versions whose effective date
    has come); return the names changed."""
    changed = []
    now = _now()
    by_name: dict[str, SloVersion] = {}
    for v in session.exec(select(SloVersion).order_by(SloVersion.version)).all():
        if _aware(v.effective_from) <= now:
            by_name[v.slo_name] = v
    for name, v in by_name.items():
        slo = session.exec(select(Slo).where(Slo.name == name)).first()
        if slo is None or slo.version == v.version:
            continue
        for f, value in json.loads(v.definition).items():
            if f in SLO_FIELDS:
                setattr(slo, f, value)
        slo.version = v.version
        session.add(slo)
        changed.append(name)
    session.flush()
    return changed


def reject(*, session: Session, proposal_id: int, actor: str, note: str) -> DefinitionProposal:
    """Reject a pending proposal (never by its proposer), saying why (``definition.rejected``)."""
    if not note.strip():
        raise ChangeControlError("a rejection needs a reason")
    row = _pending(session, proposal_id, actor)
    row.status, row.decided_by, row.decided_at, row.decision_note = "rejected", actor, _now(), note
    session.add(row)
    session.flush()
    record(session, DefinitionRejectedEvent(
        actor=actor, entity_id=str(row.id),
        detail={"kind": row.kind, "key": row.key, "proposed_by": row.proposed_by, "note": note}))
    return row


def _proposals(session: Session, *, kind: str | None = None, key: str | None = None,
               status: str | None = None) -> list[DefinitionProposal]:
    q = select(DefinitionProposal)
    if kind:
        q = q.where(DefinitionProposal.kind == kind)
    if key:
        q = q.where(DefinitionProposal.key == key)
    if status:
        q = q.where(DefinitionProposal.status == status)
    return list(session.exec(q.order_by(DefinitionProposal.id)).all())


def proposals(*, session: Session, kind: str | None = None, key: str | None = None,
              status: str | None = None) -> list[dict[str, Any]]:
    """Proposals (oldest first) as plain dicts, old and new decoded."""
    return [{"id": p.id, "kind": p.kind, "key": p.key, "status": p.status,
             "proposed_by": p.proposed_by, "proposed_at": p.proposed_at, "reason": p.reason,
             "old": json.loads(p.old), "new": json.loads(p.new), "decided_by": p.decided_by,
             "decided_at": p.decided_at, "effective_from": p.effective_from,
             "version": p.version, "note": p.decision_note}
            for p in _proposals(session, kind=kind, key=key, status=status)]


def history(*, session: Session, key: str) -> list[dict[str, Any]]:
    """Every version of KPI or SLO ``key`` (oldest first): version, effective date, who, why."""
    rows = session.exec(select(KpiDefinition).where(KpiDefinition.key == key)
                        .order_by(KpiDefinition.version)).all()  # type: ignore[arg-type]
    if rows:
        return [{"kind": "kpi", "key": key, "version": r.version,
                 "effective_from": r.effective_from or r.changed_at, "changed_by": r.changed_by,
                 "reason": r.reason, "owner_team": r.owner_team,
                 "thresholds": json.loads(r.thresholds)} for r in rows]
    versions = session.exec(select(SloVersion).where(SloVersion.slo_name == key)
                            .order_by(SloVersion.version)).all()  # type: ignore[arg-type]
    return [{"kind": "slo", "key": key, "version": v.version, "effective_from": v.effective_from,
             "changed_by": v.changed_by, "reason": v.reason,
             "definition": json.loads(v.definition)} for v in versions]


def effective_versions(engine: Engine, at: datetime | None = None) -> dict[str, int]:
    """Version in force of every definition: KPIs by catalogue key, SLOs as ``slo:<name>``,
    rules as ``<kind>:<key>``. Read-only, so every report can carry it.

    An SLO's version is its ``slo`` row's (re-imports and applied approvals set it)."""
    at = _aware(at) if at else _now()
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for key, version, eff, changed in conn.execute(text(
                "SELECT key, version, effective_from, changed_at FROM kpi_definition")).all():
            if _aware(_dt(eff or changed)) <= at and version > out.get(key, 0):
                out[key] = int(version)
        for name, version in conn.execute(text("SELECT name, version FROM slo ORDER BY name")):
            out[f"slo:{name}"] = int(version or 1)
        for kind, key, eff in conn.execute(text(
                "SELECT kind, key, effective_from FROM definition_proposal "
                "WHERE status = 'approved' AND kind IN ('alert_rule', 'rollback_rule') "
                "ORDER BY id")).all():
            if _aware(_dt(eff)) <= at:
                out[f"{kind}:{key}"] = out.get(f"{kind}:{key}", 0) + 1
    return dict(sorted(out.items()))


def owners(engine: Engine) -> dict[str, str | None]:
    """Owner team of every KPI (its newest version) and SLO (``slo:<name>``)."""
    out: dict[str, str | None] = {}
    with engine.connect() as conn:
        for key, team in conn.execute(text(
                "SELECT key, owner_team FROM kpi_definition ORDER BY key, version")).all():
            out[key] = team
        for name, team in conn.execute(text("SELECT name, owner_team FROM slo")).all():
            out[f"slo:{name}"] = team
    return out


def _dt(value: Any) -> datetime:
    # SQLite's text() reads return ISO strings; PostgreSQL returns datetimes.
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def caption(versions: dict[str, int], keys: list[str] | None = None) -> str:
    """"Definitions: cfr v3, slo:checkout-availability v2" for ``keys`` (default: all).

    >>> caption({"change_failure_rate": 3, "slo:checkout": 2})
    'Definitions: cfr v3, slo:checkout v2'
    >>> caption({}, ["mttr"])
    'Definitions: mttr (catalogue default)'
    """
    keys = list(versions) if keys is None else keys
    parts = [f"{SHORT.get(k, k)} v{versions[k]}" if k in versions
             else f"{SHORT.get(k, k)} (catalogue default)" for k in keys]
    return "Definitions: " + ", ".join(parts)
