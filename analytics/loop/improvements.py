"""The continual-improvement register's writes (issue 18 point 3): add an improvement and move
it through Plan–Do–Check–Act, with its root-cause notes, links, lessons and cost.

Each write takes the session keyword-only, changes one row and appends one audit event in the
caller's transaction, and raises ``ValueError`` with a plain sentence on bad input (nothing is
written then). The risk score, priority bands, stages and fishbone categories are data
(``improvements.toml``).
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from analytics.governance.events import ImprovementAddEvent, ImprovementUpdateEvent
from analytics.store import audit
from analytics.store.models import Improvement, Service

RULES_FILE = Path(__file__).with_name("improvements.toml")
FACTORS = ("business_impact", "recurrence", "remediation_cost")


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """The register's rules (``improvements.toml``)."""
    return tomllib.loads(RULES_FILE.read_text())


def risk_score(business_impact: int, recurrence: int, remediation_cost: int) -> tuple[float, str]:
    """(score, priority) of three 1–5 factor levels, from the weights and bands in the TOML.

    >>> risk_score(5, 5, 1)  # severe, weekly, trivial to fix: 5 × 5 × 5
    (125.0, 'P1')
    >>> risk_score(2, 2, 5)  # minor, yearly, very large: 2 × 2 × 1
    (4.0, 'P4')
    """
    score = 1.0
    for name, level in zip(FACTORS, (business_impact, recurrence, remediation_cost), strict=True):
        weights = rules()["factors"][name]["weights"]
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= len(weights):
            raise ValueError(f"{rules()['factors'][name]['label']} must be a whole number from 1 "
                             f"to {len(weights)}, got {level!r}.")
        score *= weights[level - 1]
    band = next(b["name"] for b in rules()["priority"] if score >= b["min_score"])
    return score, band


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _text(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValueError(f"{what} must not be empty.")
    return value


def _services(session: Session, names: list[str]) -> list[Service]:
    found = []
    for name in names:
        svc = session.exec(select(Service).where(Service.name == name)).first()
        if svc is None:
            raise ValueError(f"There is no service named {name!r}.")
        found.append(svc)
    return found


def _kpis(keys: list[str]) -> list[str]:
    from analytics import catalogue

    known = catalogue.kpis()
    bad = [k for k in keys if k not in known]
    if bad:
        raise ValueError(f"Unknown KPI {', '.join(bad)}; known: {', '.join(known)}.")
    return keys


def _links(links: dict[str, list[str]]) -> dict[str, list[str]]:
    kinds = rules()["analysis"]["link_kinds"]
    bad = sorted(set(links) - set(kinds))
    if bad:
        raise ValueError(f"Unknown link kind {', '.join(bad)}; use {', '.join(kinds)}.")
    return {k: [str(v) for v in vs] for k, vs in links.items()}


def _fishbone(notes: dict[str, str]) -> dict[str, str]:
    cats = rules()["analysis"]["fishbone"]
    bad = sorted(set(notes) - set(cats))
    if bad:
        raise ValueError(f"Unknown fishbone category {', '.join(bad)}; use {', '.join(cats)}.")
    return notes


def _whys(whys: list[str]) -> list[str]:
    limit = rules()["analysis"]["max_whys"]
    whys = [w.strip() for w in whys if w and w.strip()]
    if len(whys) > limit:
        raise ValueError(f"At most {limit} whys, got {len(whys)}.")
    return whys


def _aware(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # naive means UTC


def add_improvement(*, session: Session, actor: str, title: str, services: list[str], owner: str,
                    kpis: list[str], business_impact: int, recurrence: int,
                    remediation_cost: int, expected_impact: float | None = None,
                    cost: float | None = None, description: str | None = None,
                    links: dict[str, list[str]] | None = None, origin: str = "manual",
                    at: datetime | None = None) -> Improvement:
    """Add an improvement in the Plan stage, scored and prioritised; audited."""
    title, owner, actor = _text(title, "The title"), _text(owner, "The owner"), _text(actor, "Who")
    if not services:
        raise ValueError("Name at least one service the improvement is for.")
    svcs = _services(session, services)
    kpis = _kpis(list(kpis))
    score, priority = risk_score(business_impact, recurrence, remediation_cost)
    if expected_impact is not None and not -1.0 <= expected_impact <= 10.0:
        raise ValueError(f"The expected impact is a relative change (−0.3 = 30% lower), got "
                         f"{expected_impact}.")
    if cost is not None and cost < 0:
        raise ValueError(f"The cost must not be negative, got {cost}.")
    now = _aware(at) or _now()
    row = Improvement(
        title=title, description=description, owner=owner, status="plan",
        kpi_key=kpis[0] if kpis else None, service_id=svcs[0].id, opened_at=now,
        services=json.dumps(services), kpis=json.dumps(kpis), expected_impact=expected_impact,
        business_impact=business_impact, recurrence=recurrence, remediation_cost=remediation_cost,
        risk_score=score, priority=priority, links=json.dumps(_links(links or {})), cost=cost,
        origin=origin, updated_at=now)
    session.add(row)
    session.flush()
    audit.record(session, ImprovementAddEvent(
        actor=actor, entity_id=str(row.id),
        detail={"title": title, "services": services, "owner": owner, "kpis": kpis,
                "risk_score": score, "priority": priority, "origin": origin}))
    return row


def update_improvement(*, session: Session, actor: str, improvement_id: int,
                       stage: str | None = None, intervention: date | datetime | None = None,
                       whys: list[str] | None = None, fishbone: dict[str, str] | None = None,
                       links: dict[str, list[str]] | None = None, lessons: str | None = None,
                       outcome: str | None = None, cost: float | None = None,
                       owner: str | None = None, expected_impact: float | None = None,
                       factors: tuple[int, int, int] | None = None,
                       at: datetime | None = None) -> Improvement:
    """Change an improvement; a new ``stage`` stamps its date column. Links are added to the
    existing ones. Audited with every changed field's old and new value."""
    actor = _text(actor, "Who")
    row = session.get(Improvement, improvement_id)
    if row is None:
        raise ValueError(f"There is no improvement with id {improvement_id}.")
    now = _aware(at) or _now()
    before = row.model_dump()
    stages = rules()["stages"]
    if stage is not None:
        if stage not in stages:
            raise ValueError(f"Unknown stage {stage!r}; use {', '.join(stages)}.")
        row.status = stage
        setattr(row, stages[stage], now)
    if intervention is not None:
        row.intervention_at = _aware(intervention)
    if whys is not None:
        row.whys = json.dumps(_whys(whys))
    if fishbone is not None:
        merged = {**json.loads(row.fishbone or "{}"), **_fishbone(fishbone)}
        row.fishbone = json.dumps(merged)
    if links is not None:
        merged_links = json.loads(row.links or "{}")
        for kind, values in _links(links).items():
            merged_links[kind] = sorted(set(merged_links.get(kind, [])) | set(values))
        row.links = json.dumps(merged_links)
    if lessons is not None:
        row.lessons = _text(lessons, "The lessons learned")
    if outcome is not None:
        if outcome not in rules()["analysis"]["outcomes"]:
            raise ValueError(f"Unknown outcome {outcome!r}; use "
                             f"{', '.join(rules()['analysis']['outcomes'])}.")
        row.outcome = outcome
    if cost is not None:
        if cost < 0:
            raise ValueError(f"The cost must not be negative, got {cost}.")
        row.cost = cost
    if owner is not None:
        row.owner = _text(owner, "The owner")
    if expected_impact is not None:
        row.expected_impact = expected_impact
    if factors is not None:
        row.risk_score, row.priority = risk_score(*factors)
        row.business_impact, row.recurrence, row.remediation_cost = factors
    if row.status in ("closed", "abandoned") and row.outcome == "failed" and not row.lessons:
        raise ValueError("A failed remediation needs its lessons learned before it is closed.")
    after = row.model_dump()
    changed = {k: {"old": before[k], "new": after[k]} for k in after
               if before[k] != after[k] and k != "updated_at"}
    if not changed:
        raise ValueError("Nothing to change.")
    row.updated_at = now
    session.add(row)
    session.flush()
    audit.record(session, ImprovementUpdateEvent(actor=actor, entity_id=str(row.id),
                                                 detail={"changed": changed}))
    return row
