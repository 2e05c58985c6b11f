"""Release quality gates as data, and the decision for one proposed change.

Decision order: an emergency fix bypasses the gate (pass) but owes a retroactive validation
within 72 h; otherwise any failing rule → ``fail`` (coverage below the minimum, an open Sev1 on
the service, a change freeze without a valid risk acceptance, an exhausted error budget for a
change that is not a fix); then an approval rule (error budget low) or a risk score above the
limit → ``escalate``; else ``pass``. ``decided_by`` names the rule that decided and why.
The policy (thresholds, budget rules, calendar) is data: :mod:`analytics.studies.gate_policy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

EXIT_CODES = {"pass": 0, "fail": 1, "escalate": 3}
VALIDATION_DEADLINE = timedelta(hours=72)


@dataclass(frozen=True)
class RiskAcceptance:
    """A documented acceptance of a risk: who, why, until when (inclusive), for which freeze
    (its id) and service (``*`` = every service)."""

    freeze: str
    service: str
    by: str
    why: str
    until: date

    def valid(self, day: date) -> bool:
        """Whether the acceptance still holds on ``day``."""
        return day <= self.until

    def cite(self) -> str:
        """One line naming who accepted what, why and until when."""
        return f"risk accepted by {self.by} until {self.until}: {self.why}"


@dataclass(frozen=True)
class Freeze:
    """A change freeze [start, end] (inclusive days); ``exceptions`` maps service → documented reason."""

    start: date
    end: date
    reason: str
    exceptions: dict[str, str] = field(default_factory=dict)
    id: str = ""

    def covers(self, day: date) -> bool:
        """Whether ``day`` is inside the freeze."""
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Relaxation:
    """A seasonal relaxation: between month-days ``start`` and ``end`` (MM-DD, inclusive, may wrap
    the year) the gate uses ``min_coverage``/``risk_limit`` when given, while its
    ``acceptance`` (when it has one) is valid."""

    start: str
    end: str
    reason: str
    min_coverage: float | None = None
    risk_limit: float | None = None
    acceptance: RiskAcceptance | None = None

    def covers(self, day: date) -> bool:
        """Whether ``day`` falls in the season.

        >>> Relaxation("12-15", "01-05", "x").covers(date(2027, 1, 2))
        True
        """
        md = day.strftime("%m-%d")
        return self.start <= md <= self.end if self.start <= self.end else md >= self.start or md <= self.end


@dataclass(frozen=True)
class BudgetRule:
    """Remaining error-budget share strictly below ``below`` → ``action`` (fixes-only | approval)."""

    id: str
    below: float
    action: str
    why: str = ""


@dataclass(frozen=True)
class Gate:
    """The gate's data: thresholds, freezes, relaxations, error-budget rules, risk acceptances."""

    min_coverage: float = 85.0
    risk_limit: float = 0.25
    block_on_open_sev1: bool = True
    freezes: tuple[Freeze, ...] = ()
    relaxations: tuple[Relaxation, ...] = ()
    budget_rules: tuple[BudgetRule, ...] = ()
    acceptances: tuple[RiskAcceptance, ...] = ()

    def effective(self, day: date) -> tuple[float, float, list[str]]:
        """(min coverage, risk limit, notes) in force on ``day`` after seasonal relaxations."""
        cov, limit, notes = self.min_coverage, self.risk_limit, []
        for r in self.relaxations:
            if not r.covers(day):
                continue
            if r.acceptance is not None and not r.acceptance.valid(day):
                notes.append(f"seasonal relaxation NOT applied: {r.reason} (its risk acceptance by "
                             f"{r.acceptance.by} expired on {r.acceptance.until})")
                continue
            cov = r.min_coverage if r.min_coverage is not None else cov
            limit = r.risk_limit if r.risk_limit is not None else limit
            cited = f"; {r.acceptance.cite()}" if r.acceptance else ""
            notes.append(f"seasonal relaxation in force: {r.reason}{cited}")
        return cov, limit, notes

    def budget_rule(self, remaining: float | None) -> BudgetRule | None:
        """The rule that applies to a remaining budget share (the lowest limit it is below)."""
        if remaining is None:
            return None
        return next((r for r in sorted(self.budget_rules, key=lambda r: r.below)
                     if remaining < r.below), None)


def year_end_freeze(year: int) -> Freeze:
    """The documented year-end freeze (peak trading, thin on-call): 20 Dec – 2 Jan."""
    return Freeze(date(year, 12, 20), date(year + 1, 1, 2), "year-end change freeze (peak season)",
                  id="year-end")


def default_gate(at: datetime) -> Gate:
    """The gate of the default policy file (``gate_policy.toml``) around ``at``."""
    from analytics.studies.gate_policy import load_policy

    return load_policy(None, at.date())[0]


def _freeze_check(gate: Gate, service: str, day: date) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """(failures as (rule, detail), notes, acceptances cited) of the freezes covering ``day``."""
    fails, notes, cited = [], [], []
    for f in gate.freezes:
        if not f.covers(day):
            continue
        rule = f"freeze:{f.id}" if f.id else "freeze"
        if service in f.exceptions:
            notes.append(f"freeze exception for {service}: {f.exceptions[service]}")
            cited.append(f"freeze exception for {service}: {f.exceptions[service]}")
            continue
        mine = [a for a in gate.acceptances
                if a.freeze in (f.id, "*") and a.service in (service, "*")]
        valid = [a for a in mine if a.valid(day)]
        if valid:
            line = f"change freeze {f.start}–{f.end} ({f.reason}) passed: {valid[0].cite()}"
            notes.append(line)
            cited.append(line)
        elif mine:
            last = max(mine, key=lambda a: a.until)
            fails.append((rule, f"change freeze {f.start}–{f.end}: {f.reason}; the risk acceptance "
                                f"by {last.by} expired on {last.until}"))
        else:
            fails.append((rule, f"change freeze {f.start}–{f.end}: {f.reason}"))
    return fails, notes, cited


def decide(gate: Gate, *, service: str, coverage: float, risk: float, emergency: bool,
           open_sev1: int, at: datetime, budget_remaining: float | None = None,
           fix: bool = False) -> dict:
    """{decision, decided_by: {rule, detail}, reasons, risk} for a proposed change of ``service``.

    ``budget_remaining``: the lowest remaining error-budget share of the service's SLOs (None:
    no SLO); ``fix``: the change fixes a defect (allowed while the budget is exhausted).

    >>> decide(Gate(), service="a", coverage=90, risk=0.1, emergency=False, open_sev1=0,
    ...        at=datetime(2026, 3, 2))["decided_by"]["rule"]
    'all-checks-passed'
    """
    if not 0 <= coverage <= 100:
        raise ValueError(f"coverage must be a percentage in [0, 100], got {coverage}")
    if not 0 <= risk <= 1:
        raise ValueError(f"risk must be a probability in [0, 1], got {risk}")
    day = at.date()
    min_cov, limit, notes = gate.effective(day)
    if budget_remaining is not None:
        notes.append(f"error budget remaining {budget_remaining:.1%} (lowest of the service's SLOs)")
    if emergency:
        due = at + VALIDATION_DEADLINE
        detail = (f"emergency fix bypasses the gate; must be validated retroactively by "
                  f"{due.isoformat(timespec='minutes')}")
        return {"decision": "pass", "risk": risk, "decided_by": {"rule": "emergency-bypass",
                                                                 "detail": detail},
                "validation_due": due, "reasons": [detail, *notes]}
    fails: list[tuple[str, str]] = []
    if coverage < min_cov:
        fails.append(("coverage", f"test coverage {coverage:g}% is below the minimum {min_cov:g}%"))
    if gate.block_on_open_sev1 and open_sev1:
        fails.append(("open-sev1", f"{open_sev1} open Sev1 incident(s) on {service}"))
    frozen, freeze_notes, cited = _freeze_check(gate, service, day)
    fails += frozen
    notes += freeze_notes
    budget = gate.budget_rule(budget_remaining)
    escalate: list[tuple[str, str]] = []
    waived: tuple[str, str] | None = None
    if budget is not None:
        detail = (f"error budget remaining {budget_remaining:.1%} is below {budget.below:.0%}: "
                  f"{budget.why}".rstrip(": "))
        if budget.action == "fixes-only" and not fix:
            fails.append((f"error-budget:{budget.id}", detail + " Only fixes and emergencies may deploy."))
        elif budget.action == "fixes-only":
            waived = (f"error-budget:{budget.id}", f"{detail} This change is a fix: allowed.")
            notes.append(waived[1])
        else:
            escalate.append((f"error-budget:{budget.id}", detail + " Approval required."))
    if fails:
        return {"decision": "fail", "risk": risk, "decided_by": {"rule": fails[0][0], "detail": fails[0][1]},
                "reasons": [d for _, d in fails] + notes}
    if risk > limit:
        escalate.append(("risk-limit", f"risk score {risk:.3f} is above the limit {limit:g}: "
                                       "escalated approval required"))
    if escalate:
        return {"decision": "escalate", "risk": risk,
                "decided_by": {"rule": escalate[0][0], "detail": escalate[0][1]},
                "reasons": [d for _, d in escalate] + notes}
    if cited:
        decided = {"rule": "risk-acceptance", "detail": "; ".join(cited)}
    elif waived:
        decided = {"rule": waived[0], "detail": waived[1]}
    else:
        decided = {"rule": "all-checks-passed", "detail": "coverage, open Sev1, freezes, error "
                                                          "budget and risk all within policy"}
    return {"decision": "pass", "risk": risk, "decided_by": decided,
            "reasons": [f"coverage {coverage:g}% ≥ {min_cov:g}%", f"risk score {risk:.3f} ≤ {limit:g}",
                        *notes]}


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
