"""Coverage gaps, computed from the agreements (never typed in).

Three kinds:

- ``tighter_than_underpinning``: a customer or service SLA whose target is above the serial
  availability of the agreements that underpin it. Components in series are all needed, so
  the best they can jointly deliver is the product of their targets (as fractions);
- ``component_without_agreement``: a service component no live agreement covers;
- ``window_mismatch``: an underpinning agreement measured on another window, calendar or time
  zone than the SLA it supports (its figure cannot be compared month for month).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analytics.contracts.store import Catalogue

SLA_KINDS = ("customer_sla", "service_sla")


@dataclass(frozen=True)
class Gap:
    """One coverage gap: what kind, which agreement or component, and the figures behind it."""

    kind: str
    subject: str
    detail: str
    target_pct: float | None = None
    deliverable_pct: float | None = None


def serial_availability(targets_pct: list[float]) -> float:
    """Availability (%) of components in series: the product of their availabilities.

    >>> round(serial_availability([99.9, 99.95]), 6)
    99.85005
    >>> serial_availability([])
    100.0
    """
    return math.prod(t / 100.0 for t in targets_pct) * 100.0


def coverage_gaps(cat: Catalogue) -> list[Gap]:
    """Every coverage gap of the live agreements, SLAs first, in name order."""
    live = [a for a in cat.agreements if a.live]
    under: dict[str, list] = {}
    for a in live:
        for s in a.supports:
            under.setdefault(s, []).append(a)
    gaps = []
    for sla in sorted((a for a in live if a.kind in SLA_KINDS), key=lambda a: a.name):
        parts = sorted(under.get(sla.name, []), key=lambda a: a.name)
        if parts and sla.sli == "availability":  # other SLIs' targets are no availability
            serial = serial_availability([p.target_pct for p in parts])
            if sla.target_pct > serial + 1e-12:
                gaps.append(Gap("tighter_than_underpinning", sla.name,
                                f"target {sla.target_pct:g}% above the {serial:.6g}% that "
                                + " × ".join(f"{p.name} {p.target_pct:g}%" for p in parts)
                                + " can jointly deliver", sla.target_pct, serial))
        for p in parts:
            diff = [f"{what} {getattr(p, what)} vs {getattr(sla, what)}"
                    for what in ("window", "calendar", "timezone")
                    if getattr(p, what) != getattr(sla, what)]
            if diff:
                gaps.append(Gap("window_mismatch", p.name,
                                f"supports {sla.name} but measured on a different "
                                + ", ".join(diff), p.target_pct, None))
    covered = {a.component for a in live if a.component}
    for c in cat.components:
        if c.key not in covered:
            by = f"vendor {c.vendor}" if c.vendor else f"team {c.team}"
            gaps.append(Gap("component_without_agreement", c.key,
                            f"provided by {by} with no live agreement"))
    return gaps
