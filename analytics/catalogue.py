"""The KPI catalogue: every KPI's identity once, as data (``catalogue.toml`` beside this file).

A KPI's label, short heading, unit, format, direction ("better": ``higher`` or ``lower``), DORA
band, escalation flag, default thresholds, owner field and methodology live in one entry. Page
headings, tile help, trends' better/worse, scorecard escalation, band lookups, CLI table headings
and the KPI definitions seeded into the store all derive from it, so adding a KPI is one entry,
one metric function and its test.

>>> get("change_failure_rate").label
'Change failure rate'
>>> get("change_failure_rate").show(0.1335)
'13.4%'
>>> by_column("lead_time_median").key
'lead_time'
>>> directions()["deploys_per_day"]
'higher'
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PATH = Path(__file__).with_name("catalogue.toml")
BETTER = ("higher", "lower")
FORMATS = ("pct", "hours", "per_day", "number")
# What a catalogue KPI with its own ``compute`` aggregates over: one row per deployment of the
# delivery facts (columns of ``stability.deployment_facts``) or per incident (``incident_facts``).
OVER = ("deployments", "incidents")


@dataclass(frozen=True)
class Kpi:
    """One catalogue entry (see the header of ``catalogue.toml`` for each field)."""

    key: str
    label: str
    short: str
    column: str
    figure: str
    unit: str
    format: str
    better: str
    methodology: str
    reference: str
    owner: str = "team"
    owner_team: str = "unassigned"
    band: str | None = None
    escalate: bool = False
    warn: float | None = None
    critical: float | None = None
    over: str | None = None
    compute: str | None = None
    group: str = "delivery"

    def show(self, value: float | None) -> str:
        """The value as a person reads it, in the KPI's format ("—" when unknown).

        >>> get("mttr").show(3.25)
        '3.2 h'
        >>> get("mttr").show(None)
        '—'
        """
        if value is None:
            return "—"
        if self.format == "pct":
            return f"{value:.1%}"
        if self.format == "hours":
            return f"{value:,.1f} h"
        if self.format == "per_day":
            return f"{value:,.2f}/day"
        return f"{value:,.2f}".rstrip("0").rstrip(".")

    def show_change(self, delta: float | None) -> str:
        """A change of the value: percentage points for shares, hours for times.

        >>> get("change_failure_rate").show_change(-0.021)
        '-2.1 pp'
        """
        if delta is None:
            return "—"
        if self.format == "pct":
            return f"{delta * 100:+.1f} pp"
        if self.format == "hours":
            return f"{delta:+,.1f} h"
        return f"{delta:+,.2f}"

    def status(self, value: float | None) -> str:
        """``ok``, ``warn`` or ``critical`` against the default thresholds (``unknown`` for None).

        >>> get("change_failure_rate").status(0.2)
        'warn'
        >>> get("deployment_frequency").status(0.01)
        'critical'
        """
        if value is None:
            return "unknown"
        for level, limit in (("critical", self.critical), ("warn", self.warn)):
            if limit is not None and (value > limit if self.better == "lower" else value < limit):
                return level
        return "ok"

    def thresholds(self) -> dict[str, float | str | None]:
        """The default thresholds as stored with a KPI definition."""
        return {"warn": self.warn, "critical": self.critical,
                "crossed_when": "above" if self.better == "lower" else "below"}


def _check(key: str, entry: dict) -> Kpi:
    """A Kpi from its TOML entry, or a ValueError naming the entry and the problem."""
    try:
        kpi = Kpi(key=key, **entry)
    except TypeError as exc:
        raise ValueError(f"catalogue.toml [kpi.{key}]: {exc}") from None
    if kpi.better not in BETTER:
        raise ValueError(f"catalogue.toml [kpi.{key}]: better must be one of {BETTER}")
    if kpi.format not in FORMATS:
        raise ValueError(f"catalogue.toml [kpi.{key}]: format must be one of {FORMATS}")
    if (kpi.over is None) != (kpi.compute is None) or kpi.over not in (None, *OVER):
        raise ValueError(f"catalogue.toml [kpi.{key}]: a KPI that computes itself names both "
                         f"over (one of {OVER}) and compute (\"module:function\")")
    return kpi


@cache
def _load() -> tuple[dict[str, Kpi], dict[str, str]]:
    with PATH.open("rb") as fh:
        data = tomllib.load(fh)
    kpis = {key: _check(key, entry) for key, entry in data.get("kpi", {}).items()}
    return kpis, dict(data.get("note", {}))


def kpis() -> dict[str, Kpi]:
    """Every KPI, keyed by its catalogue key, in catalogue order."""
    return dict(_load()[0])


def get(key: str) -> Kpi:
    """The KPI ``key``; a KeyError names the known keys."""
    known = _load()[0]
    if key not in known:
        raise KeyError(f"unknown KPI {key!r}; the catalogue has {', '.join(known)}")
    return known[key]


def by_column(column: str) -> Kpi:
    """The KPI whose headline value is the summary column ``column``."""
    for kpi in _load()[0].values():
        if kpi.column == column:
            return kpi
    raise KeyError(f"no KPI has column {column!r}")


def directions(group: str = "delivery") -> dict[str, str]:
    """Summary column → which way is better, for trends and comparisons of ``group``'s KPIs."""
    return {k.column: k.better for k in _load()[0].values() if k.group == group}


def escalation() -> dict[str, str]:
    """Summary column → which way is better, for the KPIs the scorecard escalates."""
    return {k.column: k.better for k in _load()[0].values() if k.escalate}


def banded() -> dict[str, str]:
    """DORA band metric → the summary column holding its value."""
    return {k.band: k.column for k in _load()[0].values() if k.band}


def definitions(group: str | None = None) -> dict[str, str]:
    """Figure key → the text shown beside that figure: KPI methodology (of ``group``, or every
    KPI when None) and the delivery report's count notes."""
    kpis, notes = _load()
    return {**notes, **{k.figure: k.methodology for k in kpis.values()
                        if group is None or k.group == group}}


def aggregations(over: str) -> list:
    """The polars aggregations of the KPIs that compute themselves over ``over``.

    A KPI entry with ``over = "deployments"`` and ``compute = "module:function"`` names a
    function returning one ``pl.Expr`` aggregated per slice (aliased to the KPI's column by this
    function), so the delivery summary, trends, the report's JSON and the pages pick it up.
    """
    import importlib

    out = []
    for kpi in _load()[0].values():
        if kpi.over == over and kpi.compute:
            module, _, name = kpi.compute.partition(":")
            out.append(getattr(importlib.import_module(module), name)().alias(kpi.column))
    return out


def computed() -> list[Kpi]:
    """The KPIs that compute themselves (see :func:`aggregations`)."""
    return [k for k in _load()[0].values() if k.compute]


def labels(group: str = "delivery") -> dict[str, str]:
    """Summary column → label, for table headings of ``group``'s KPIs."""
    return {k.column: k.label for k in _load()[0].values() if k.group == group}
