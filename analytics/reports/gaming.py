"""Metric gaming: four detectors with a plain sentence each and the rows behind it.

Resolution targets (wall-clock hours from ``opened_at`` to ``resolved_at``, by severity) are
:data:`RESOLUTION_TARGET_HOURS`. Detectors, over incidents opened in the period:

1. **bunching under the target**: δ = :data:`DELTA_SHARE` × the target (10 %: 12 min for a 2 h
   target); counts in [target − δ, target) vs [target, target + δ), one-sided binomial test
   against ½ (:func:`analytics.studies.gaming.bunching`);
2. **closed shortly before a breach**: the store keeps no severity history, so a downgrade
   cannot be seen; instead the same test with a fixed δ = :data:`CLOSE_MINUTES` minutes;
3. **reopened tickets**: the store keeps no reopen events (a ticket has one ``closed_at``), so
   this cannot be checked; said plainly;
4. **incidents with no service**: listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Engine

from analytics.reports import NoData, periods
from analytics.store import queries
from analytics.store.queries import Filters
from analytics.studies import gaming as detectors

NAME = "gaming"
HELP = ("metric gaming: resolution times bunched under targets, closes just before a breach, "
        "incidents with no service")
RESOLUTION_TARGET_HOURS: dict[int, float] = {1: 2.0, 2: 8.0, 3: 24.0, 4: 72.0}
DELTA_SHARE = 0.10
CLOSE_MINUTES = 15.0


@dataclass(frozen=True)
class Finding:
    """One detector: a sentence, whether it flags something, its statistics and its rows."""

    key: str
    title: str
    sentence: str
    flagged: bool
    stats: pl.DataFrame = field(default_factory=pl.DataFrame)
    rows: pl.DataFrame = field(default_factory=pl.DataFrame)


@dataclass(frozen=True)
class Gaming:
    """Every detector's finding, and how many incidents were examined."""

    incidents: int
    findings: list[Finding]


def _bunching_sentence(stats: pl.DataFrame, what: str) -> tuple[str, bool]:
    flagged = stats.filter(pl.col("flagged"))
    if flagged.height == 0:
        return (f"No severity shows {what}: just below and just above the target are "
                "about as common (no band with p < 0.01 and at least 1.5× as many below)."), False
    parts = [f"severity {r['severity']}: {r['just_below']} just below vs {r['just_above']} just "
             f"above the {r['target_hours']:g} h target (p = {r['p_value']:.2g})"
             for r in flagged.iter_rows(named=True)]
    return f"Possible {what} — " + "; ".join(parts) + ".", True


def gaming(engine: Engine, filters: Filters | None = None) -> Gaming:
    """Run the four detectors on incidents opened in ``filters``' period."""
    filters, _note = periods.fill(engine, filters or Filters(environment="production"))
    incidents = queries.incidents(engine, filters)
    if incidents.height == 0:
        raise NoData("No incidents were opened in this period, so there is nothing to examine.")
    targets = RESOLUTION_TARGET_HOURS
    share = detectors.bunching_table(incidents, targets, delta_share=DELTA_SHARE)
    sentence, flag = _bunching_sentence(share, "bunching of resolution times under the target")
    deltas = {s: h * 60.0 * DELTA_SHARE for s, h in targets.items()}
    findings = [Finding("bunching", "Resolution times bunched just under the target",
                        f"δ = {DELTA_SHARE:.0%} of each target. " + sentence, flag, share,
                        detectors.rows_just_below(incidents, targets, deltas))]
    close = detectors.bunching_table(incidents, targets, delta_minutes=CLOSE_MINUTES)
    sentence, flag = _bunching_sentence(close, "closing just before a breach")
    findings.append(Finding(
        "closed_before_breach", "Incidents closed shortly before a breach",
        "The store keeps no severity history, so downgrades before a breach cannot be detected; "
        f"instead: closes within {CLOSE_MINUTES:g} minutes before vs after the target. " + sentence,
        flag, close, detectors.rows_just_below(incidents, targets,
                                               dict.fromkeys(targets, CLOSE_MINUTES))))
    findings.append(Finding(
        "reopened", "Reopened tickets",
        "Not checked: the store keeps no reopen data (a ticket has a single closed_at and no "
        "status history), so tickets closed and reopened cannot be counted.", False))
    none = detectors.without_service(incidents)
    findings.append(Finding(
        "no_service", "Incidents with no service",
        (f"{none.height} of {incidents.height} incidents have no service: they are left out of "
         "every per-service and per-team KPI." if none.height else
         "Every incident names a service."), none.height > 0, rows=none))
    return Gaming(incidents=incidents.height, findings=findings)
