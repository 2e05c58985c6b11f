"""Release quality gates: decisions, freezes with exceptions, relaxations, emergency validation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from analytics.studies import gates

MARCH = datetime(2026, 3, 2, 10)
FREEZE = gates.Freeze(date(2026, 3, 1), date(2026, 3, 5), "quarter close",
                      exceptions={"billing": "CFO-approved fix list, ticket CHG-12"})


@pytest.mark.parametrize(("kw", "decision", "reason"), [
    ({"coverage": 90, "risk": 0.10}, "pass", "risk score 0.100 ≤ 0.25"),
    ({"coverage": 84.9, "risk": 0.10}, "fail", "test coverage 84.9% is below the minimum 85%"),
    ({"coverage": 85, "risk": 0.25}, "pass", "coverage 85% ≥ 85%"),           # both limits inclusive
    ({"coverage": 90, "risk": 0.2501}, "escalate", "risk score 0.250 is above the limit 0.25"),
    ({"coverage": 90, "risk": 0.9, "open_sev1": 1}, "fail", "1 open Sev1 incident(s) on api"),
    ({"coverage": 50, "risk": 0.9, "emergency": True}, "pass", "emergency fix bypasses the gate"),
])
def test_decisions(kw: dict, decision: str, reason: str) -> None:
    args = {"service": "api", "emergency": False, "open_sev1": 0, "at": MARCH} | kw
    out = gates.decide(gates.Gate(), **args)
    assert out["decision"] == decision
    assert any(r.startswith(reason) for r in out["reasons"]), out["reasons"]
    assert gates.EXIT_CODES[decision] == {"pass": 0, "fail": 1, "escalate": 3}[decision]


def test_fail_wins_over_escalate() -> None:
    out = gates.decide(gates.Gate(), service="api", coverage=10, risk=0.99, emergency=False,
                       open_sev1=0, at=MARCH)
    assert out["decision"] == "fail"


def test_freeze_and_documented_exception() -> None:
    gate = gates.Gate(freezes=(FREEZE,))
    blocked = gates.decide(gate, service="api", coverage=95, risk=0.01, emergency=False, open_sev1=0, at=MARCH)
    allowed = gates.decide(gate, service="billing", coverage=95, risk=0.01, emergency=False, open_sev1=0, at=MARCH)
    after = gates.decide(gate, service="api", coverage=95, risk=0.01, emergency=False, open_sev1=0,
                         at=datetime(2026, 3, 6))
    assert blocked["decision"] == "fail" and "quarter close" in blocked["reasons"][0]
    assert allowed["decision"] == "pass" and any("CHG-12" in r for r in allowed["reasons"])
    assert after["decision"] == "pass"


def test_default_gate_has_year_end_freeze_and_summer_relaxation() -> None:
    g = gates.default_gate(datetime(2027, 1, 1))
    assert any(f.covers(date(2027, 1, 2)) for f in g.freezes)       # 20 Dec 2026 – 2 Jan 2027
    assert not any(f.covers(date(2027, 1, 3)) for f in g.freezes)
    assert g.effective(date(2026, 8, 1))[0] == 80.0                 # summer floor
    assert g.effective(date(2026, 9, 1))[0] == 85.0
    out = gates.decide(g, service="api", coverage=82, risk=0.1, emergency=False, open_sev1=0,
                       at=datetime(2026, 8, 3, 9))
    assert out["decision"] == "pass" and any("summer" in r for r in out["reasons"])


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="coverage"):
        gates.decide(gates.Gate(), service="a", coverage=120, risk=0.1, emergency=False, open_sev1=0, at=MARCH)
    with pytest.raises(ValueError, match="risk"):
        gates.decide(gates.Gate(), service="a", coverage=90, risk=1.5, emergency=False, open_sev1=0, at=MARCH)


def test_open_sev1_count() -> None:
    inc = pl.DataFrame({"service": ["api", "api", "api", "web", "api"], "severity": [1, 1, 2, 1, 1],
                        "opened_at": [MARCH - timedelta(hours=h) for h in (5, 3, 1, 1, -1)],
                        "resolved_at": [MARCH - timedelta(hours=4), None, None, None, None]})
    # only the second row: the first resolved, the third is Sev2, the fourth another service,
    # the fifth opens after the decision time
    assert gates.open_sev1_count(inc, "api", MARCH) == 1


def test_emergency_fixes_listed_until_validated() -> None:
    d = pl.DataFrame({"id": [1, 2, 3, 4], "service": "api", "environment": "production",
                      "emergency": [True, True, False, True],
                      "finished_at": [MARCH - timedelta(hours=h) for h in (80, 10, 5, 100)]})
    out = gates.pending_validations(d, {4}, MARCH)
    assert out["id"].to_list() == [1, 2]
    assert out["overdue"].to_list() == [True, False]                 # 80 h > 72 h, 10 h < 72 h
    assert out["due"][1] == MARCH - timedelta(hours=10) + timedelta(hours=72)
