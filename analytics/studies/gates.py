"""Release quality gates as data, and the decision for one proposed change.

Decision order: an emergency fix bypasses the gate (pass) but stays on the validation list until
it is retroactively validated within 72 h; otherwise any hard failure (coverage below the
minimum, an open Sev1 on the service, a change freeze without an exception) → ``fail``; a risk
score above the limit → ``escalate`` (needs escalated approval); else ``pass``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

EXIT_CODES = {"pass": 0, "fail": 1, "escalate": 3}
VALIDATION_DEADLINE = timedelta(hours=72)


@dataclass(frozen=True)
class Freeze:
    """A change freeze [start, end] (inclusive days); ``exceptions`` maps service → documented reason."""

    start: date
    end: date
    reason: str
    exceptions: dict[str, str] = field(default_factory=dict)

    def covers(self, day: date) -> bool:
        """Whether ``day`` is inside the freeze."""
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Relaxation:
    """A seasonal relaxation: between month-days ``start`` and ``end`` (MM-DD, inclusive, may wrap
    the year) the gate uses ``min_coverage``/``risk_limit`` when given."""

    start: str
    end: str
    reason: str
    min_coverage: float | None = None
    risk_limit: float | None = None

    def covers(self, day: date) -> bool:
        """Whether ``day`` falls in the season.

        >>> Relaxation("12-15", "01-05", "x").covers(date(2027, 1, 2))
        True
        """
        md = day.strftime("%m-%d")
        return self.start <= md <= self.end if self.start <= self.end else md >= self.start or md <= self.end


@dataclass(frozen=True)
class Gate:
    """The gate's data: thresholds, freezes and relaxations."""

    min_coverage: float = 85.0
    risk_limit: float = 0.25
    block_on_open_sev1: bool = True
    freezes: tuple[Freeze, ...] = ()
    relaxations: tuple[Relaxation, ...] = ()

    def effective(self, day: date) -> tuple[float, float, list[str]]:
        """(min coverage, risk limit, notes) in force on ``day`` after seasonal relaxations."""
        cov, limit, notes = self.min_coverage, self.risk_limit, []
        for r in self.relaxations:
            if r.covers(day):
                cov = r.min_coverage if r.min_coverage is not None else cov
                limit = r.risk_limit if r.risk_limit is not None else limit
                notes.append(f"seasonal relaxation in force: {r.reason}")
        return cov, limit, notes


def year_end_freeze(year: int) -> Freeze:
    """The documented year-end freeze (peak trading, thin on-call): 20 Dec – 2 Jan."""
    return Freeze(date(year, 12, 20), date(year + 1, 1, 2), "year-end change freeze (peak season)")


# Summer traffic is lowest: a slightly looser coverage floor is accepted, risk limit unchanged.
DEFAULT_RELAXATIONS = (Relaxation("07-15", "08-31", "summer low-traffic season", min_coverage=80.0),)


def default_gate(at: datetime) -> Gate:
    """Coverage ≥ 85 %, risk ≤ 0.25, no open Sev1, the year-end freeze around ``at``."""
    return Gate(freezes=(year_end_freeze(at.year - 1), year_end_freeze(at.year)),
                relaxations=DEFAULT_RELAXATIONS)


def decide(gate: Gate, *, service: str, coverage: float, risk: float, emergency: bool,
           open_sev1: int, at: datetime) -> dict:
    """{decision, reasons, risk} for a proposed change of ``service`` at ``at``.

    >>> decide(Gate(), service="a", coverage=90, risk=0.1, emergency=False, open_sev1=0,
    ...        at=datetime(2026, 3, 2))["decision"]
    'pass'
    """
    if not 0 <= coverage <= 100:
        raise ValueError(f"coverage must be a percentage in [0, 100], got {coverage}")
    if not 0 <= risk <= 1:
        raise ValueError(f"risk must be a probability in [0, 1], got {risk}")
    min_cov, limit, notes = gate.effective(at.date())
    if emergency:
        due = at + VALIDATION_DEADLINE
        return {"decision": "pass", "risk": risk,
                "reasons": [f"emergency fix bypasses the gate; must be validated retroactively "
                            f"by {due.isoformat(timespec='minutes')}", *notes]}
    fails = []
    if coverage < min_cov:
        fails.append(f"test coverage {coverage:g}% is below the minimum {min_cov:g}%")
    if gate.block_on_open_sev1 and open_sev1:
        fails.append(f"{open_sev1} open Sev1 incident(s) on {service}")
    for f in gate.freezes:
        if f.covers(at.date()):
            if service in f.exceptions:
                notes.append(f"freeze exception for {service}: {f.exceptions[service]}")
            else:
                fails.append(f"change freeze {f.start}–{f.end}: {f.reason}")
    if fails:
        return {"decision": "fail", "reasons": fails + notes, "risk": risk}
    if risk > limit:
        return {"decision": "escalate", "risk": risk,
                "reasons": [f"risk score {risk:.3f} is above the limit {limit:g}: escalated approval required",
                            *notes]}
    return {"decision": "pass", "reasons": [f"coverage {coverage:g}% ≥ {min_cov:g}%",
                                            f"risk score {risk:.3f} ≤ {limit:g}", *notes], "risk": risk}


def open_sev1_count(incidents: pl.DataFrame, service: str, at: datetime) -> int:
    """Sev1 incidents of ``service`` opened by ``at`` and not resolved by then."""
    return incidents.filter((pl.col("service") == service) & (pl.col("severity") == 1)
                            & (pl.col("opened_at") <= at)
                            & (pl.col("resolved_at").is_null() | (pl.col("resolved_at") > at))).height


def pending_validations(deployments: pl.DataFrame, validated_ids: set[int] | frozenset[int],
                        at: datetime) -> pl.DataFrame:
    """Emergency production deployments not yet retroactively validated: id, service,
    finished_at, due (finished + 72 h) and overdue (due < ``at``)."""
    return deployments.filter(pl.col("emergency") & (pl.col("environment") == "production")
                              & pl.col("finished_at").is_not_null()
                              & ~pl.col("id").is_in(list(validated_ids))).select(
        "id", "service", "finished_at", due=pl.col("finished_at") + VALIDATION_DEADLINE).with_columns(
        overdue=pl.col("due") < at).sort("finished_at")
