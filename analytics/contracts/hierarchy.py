"""The SLA hierarchy (ITIL multi-level): corporate → customer → service, segments and
customer-specific overrides, resolved to the effective target for one customer and service.

Most specific wins: a customer SLA naming both the customer and the service; then the customer's
SLA for every service; then a service SLA for the customer's segment; then the service SLA for
everyone; then the corporate agreement. Only live agreements in force on the day count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from analytics.contracts.store import Terms


@dataclass(frozen=True)
class Effective:
    """The target that applies and the agreement (and rule) it came from."""

    customer: str | None
    service: str
    target_pct: float
    agreement: str
    rule: str
    sli: str = "availability"


def in_force(a: Terms, day: date) -> bool:
    """Live and effective on ``day`` (an end date is the last day in force)."""
    return a.live and a.effective_from <= day and (a.end_on is None or day <= a.end_on)


def effective_target(agreements: tuple[Terms, ...] | list[Terms], *, customer: str | None,
                     service: str, segment: str | None = None,
                     day: date | None = None, sli: str = "availability") -> Effective | None:
    """The effective target of ``customer`` on ``service`` for ``sli`` (availability, outages,
    response, resolution; None when nothing applies). Each SLI resolves on its own: an outages
    SLA never stands in for an availability one.

    >>> corp = Terms("corp", "corporate", 99.5)
    >>> gold = Terms("gold", "service_sla", 99.9, service="api", segment="enterprise")
    >>> acme = Terms("acme", "customer_sla", 99.95, customer="Acme", service="api")
    >>> effective_target([corp, gold, acme], customer="Acme", service="api").agreement
    'acme'
    >>> effective_target([corp, gold, acme], customer="Bob", service="api", segment="enterprise").target_pct
    99.9
    >>> effective_target([corp, gold, acme], customer="Bob", service="web").rule
    'corporate'
    >>> effective_target([corp, Terms("fix", "service_sla", 90, sli="resolution", segment="enterprise")],
    ...                  customer="Bob", service="api", segment="enterprise", sli="resolution").agreement
    'fix'
    """
    day = day or date.today()
    live = [a for a in agreements if in_force(a, day) and a.sli == sli]
    rules = (
        ("customer override", lambda a: a.kind == "customer_sla" and a.customer == customer
         and a.service == service),
        ("customer", lambda a: a.kind == "customer_sla" and a.customer == customer
         and a.service is None),
        ("segment", lambda a: a.kind == "service_sla" and segment is not None
         and a.segment == segment and a.service in (service, None)),
        ("service", lambda a: a.kind == "service_sla" and a.segment is None and a.service == service),
        ("corporate", lambda a: a.kind == "corporate"),
    )
    for rule, match in rules:
        hits = sorted((a for a in live if match(a)), key=lambda a: (-a.effective_from.toordinal(), a.name))
        if hits:
            return Effective(customer, service, hits[0].target_pct, hits[0].name, rule, sli)
    return None


def tree(agreements: tuple[Terms, ...] | list[Terms]) -> list[tuple[int, Terms]]:
    """The agreements as (depth, agreement) in tree order: parents before children, and each
    underpinning agreement under the first SLA it supports.

    >>> corp = Terms("corp", "corporate", 99.5)
    >>> sla = Terms("sla", "customer_sla", 99.9, parent="corp")
    >>> uc = Terms("uc", "uc", 99.95, supports=("sla",))
    >>> [(d, a.name) for d, a in tree([uc, sla, corp])]
    [(0, 'corp'), (1, 'sla'), (2, 'uc')]
    """
    names = {a.name for a in agreements}
    children: dict[str | None, list[Terms]] = {}
    for a in agreements:
        up = a.parent if a.parent in names else next((s for s in a.supports if s in names), None)
        children.setdefault(up, []).append(a)
    out: list[tuple[int, Terms]] = []

    def walk(node: str | None, depth: int) -> None:
        for a in sorted(children.get(node, []), key=lambda a: a.name):
            if any(b is a for _, b in out):
                continue
            out.append((depth, a))
            walk(a.name, depth + 1)

    walk(None, 0)
    return out
