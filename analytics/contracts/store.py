"""Read the contract tables into plain dataclasses (one read for every contracts report), and the
writes a person triggers (decommissioning)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from analytics.governance.events import AgreementDecommissionEvent
from analytics.store import audit
from analytics.store.models import (Agreement, AgreementSupport, MonitoringRule, ServiceComponent,
                                    Vendor)


@dataclass(frozen=True)
class Terms:
    """One agreement as the contracts modules use it (names instead of ids)."""

    name: str
    kind: str
    target_pct: float
    parent: str | None = None
    customer: str | None = None
    segment: str | None = None
    service: str | None = None
    component: str | None = None  # "service/name"
    vendor: str | None = None
    team: str | None = None
    sli: str = "availability"
    window: str = "month"
    calendar: str = "24x7"
    timezone: str = "UTC"
    credits: tuple[tuple[float, float], ...] = ()
    credit_cap_pct: float = 100.0
    monthly_fee: float = 0.0
    currency: str = "EUR"
    effective_from: date = date(1970, 1, 1)
    review_on: date | None = None
    renewal_on: date | None = None
    end_on: date | None = None
    data_source: str | None = None
    audit_rights: bool = False
    liability_cap: float | None = None
    status: str = "active"
    supports: tuple[str, ...] = ()
    sla_contract: str | None = None

    @property
    def live(self) -> bool:
        """In force (not decommissioned nor expired)."""
        return self.status not in ("decommissioned", "expired")


@dataclass(frozen=True)
class Component:
    """A service component and who provides it."""

    service: str
    name: str
    vendor: str | None = None
    team: str | None = None

    @property
    def key(self) -> str:
        """``service/name``."""
        return f"{self.service}/{self.name}"


@dataclass(frozen=True)
class Catalogue:
    """Everything contract-shaped in the store."""

    agreements: tuple[Terms, ...] = ()
    components: tuple[Component, ...] = ()
    vendors: tuple[str, ...] = ()
    rules: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)

    def by_name(self) -> dict[str, Terms]:
        """Agreements by name."""
        return {a.name: a for a in self.agreements}


def catalogue(engine: Engine) -> Catalogue:
    """Read vendors, components, agreements (with what they support) and monitoring rules."""
    with Session(engine) as s:
        vendors = {v.id: v.name for v in s.exec(select(Vendor))}
        comps = {c.id: c for c in s.exec(select(ServiceComponent))}
        rows = list(s.exec(select(Agreement).order_by(Agreement.name)))
        names = {a.id: a.name for a in rows}
        supports: dict[int, list[str]] = {}
        for sup in s.exec(select(AgreementSupport)):
            supports.setdefault(sup.agreement_id, []).append(names[sup.supports_id])
        rules: dict[str, list[tuple[str, bool]]] = {}
        for r in s.exec(select(MonitoringRule).order_by(MonitoringRule.name)):
            rules.setdefault(names[r.agreement_id], []).append((r.name, r.active))
    terms = []
    for a in rows:
        comp = comps.get(a.component_id)
        terms.append(Terms(
            name=a.name, kind=a.kind, target_pct=a.target_pct, parent=names.get(a.parent_id),
            customer=a.customer, segment=a.segment, service=a.service,
            component=f"{comp.service}/{comp.name}" if comp else None,
            vendor=vendors.get(a.vendor_id), team=a.team, sli=a.sli, window=a.window,
            calendar=a.calendar, timezone=a.timezone,
            credits=tuple((b["below_pct"], b["credit_pct"]) for b in json.loads(a.credits)),
            credit_cap_pct=a.credit_cap_pct, monthly_fee=a.monthly_fee, currency=a.currency,
            effective_from=a.effective_from, review_on=a.review_on, renewal_on=a.renewal_on,
            end_on=a.end_on, data_source=a.data_source, audit_rights=a.audit_rights,
            liability_cap=a.liability_cap, status=a.status,
            supports=tuple(sorted(supports.get(a.id, []))), sla_contract=a.sla_contract))
    components = tuple(Component(c.service, c.name, vendors.get(c.vendor_id), c.team)
                       for c in sorted(comps.values(), key=lambda c: (c.service, c.name)))
    return Catalogue(tuple(terms), components, tuple(sorted(vendors.values())), rules)


def decommission(*, session: Session, name: str, actor: str, on: date | None = None) -> int:
    """Mark agreement ``name`` decommissioned (end date ``on``, default today) and retire its
    monitoring rules; returns how many rules were retired. ``KeyError`` when unknown."""
    row = session.exec(select(Agreement).where(Agreement.name == name)).first()
    if row is None:
        raise KeyError(name)
    on = on or datetime.now(UTC).date()
    rules = list(session.exec(select(MonitoringRule).where(
        MonitoringRule.agreement_id == row.id, MonitoringRule.active == True)))  # noqa: E712
    for r in rules:
        r.active = False
    row.status, row.end_on = "decommissioned", on
    session.flush()
    audit.record(session, AgreementDecommissionEvent(
        actor=actor, entity_id=name, detail={"end_on": on.isoformat(),
                                             "rules_retired": [r.name for r in rules]}))
    return len(rules)
