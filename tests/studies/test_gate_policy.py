"""Gate policy as data: the policy/calendar files (TOML and ICS), error-budget rules, freezes with
and without a valid risk acceptance, relaxations that lapse with their acceptance."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from analytics.studies import gate_policy, gates

AT = datetime(2026, 11, 23, 10)
OK = {"coverage": 95.0, "risk": 0.05, "emergency": False, "open_sev1": 0, "at": AT}


def _policy(tmp_path: Path, calendar: str, suffix: str = ".toml", extra: str = "") -> Path:
    (tmp_path / f"cal{suffix}").write_text(calendar)
    path = tmp_path / "policy.toml"
    path.write_text(f'calendar = "cal{suffix}"\n{extra}\n' + Path(gate_policy.DEFAULT_POLICY)
                    .read_text().split('calendar = "change_calendar.toml"', 1)[1])
    return path


FREEZE = """
[[freeze]]
id = "black-friday"
start = 2026-11-20
end = 2026-11-30
reason = "Black Friday trading"
"""


def test_default_policy_file_is_the_old_gate() -> None:
    g, files = gate_policy.load_policy(None, date(2026, 12, 24))
    assert (g.min_coverage, g.risk_limit, g.block_on_open_sev1) == (85.0, 0.25, True)
    assert files["calendar"].endswith("change_calendar.toml")
    assert [(f.start, f.end) for f in g.freezes] == [(date(2025, 12, 20), date(2026, 1, 2)),
                                                      (date(2026, 12, 20), date(2027, 1, 2))]
    assert [(r.id, r.below, r.action) for r in g.budget_rules] == [
        ("budget-exhausted", 0.0, "fixes-only"), ("budget-low", 0.25, "approval")]
    assert g.relaxations[0].acceptance.by == "Head of SRE"


@pytest.mark.parametrize(("remaining", "fix", "decision", "rule"), [
    (-0.4, False, "fail", "error-budget:budget-exhausted"),   # spent: only fixes and emergencies
    (-0.4, True, "pass", "error-budget:budget-exhausted"),   # a fix: allowed, the rule cited
    (0.0, False, "escalate", "error-budget:budget-low"),      # 0 is not below 0: approval band
    (0.249, False, "escalate", "error-budget:budget-low"),
    (0.25, False, "pass", "all-checks-passed"),               # exactly 25% is not below it
    (None, False, "pass", "all-checks-passed"),               # no SLO: no budget rule
])
def test_error_budget_rules(remaining, fix, decision, rule) -> None:  # noqa: ANN001
    g, _ = gate_policy.load_policy(None, AT.date())
    out = gates.decide(g, service="api", budget_remaining=remaining, fix=fix, **OK)
    assert (out["decision"], out["decided_by"]["rule"]) == (decision, rule)


def test_freeze_without_with_and_with_expired_acceptance(tmp_path: Path) -> None:
    none = gate_policy.load_policy(_policy(tmp_path, FREEZE), AT.date())[0]
    out = gates.decide(none, service="accounts", **OK)
    assert out["decision"] == "fail"
    assert out["decided_by"] == {"rule": "freeze:black-friday",
                                 "detail": "change freeze 2026-11-20–2026-11-30: Black Friday trading"}
    accepted = FREEZE + """
[[acceptance]]
freeze = "black-friday"
service = "accounts"
by = "CTO Kim"
why = "fraud rule fix, CHG-991"
until = 2026-11-25
"""
    g = gate_policy.load_policy(_policy(tmp_path, accepted), AT.date())[0]
    ok = gates.decide(g, service="accounts", **OK)
    assert ok["decision"] == "pass" and ok["decided_by"]["rule"] == "risk-acceptance"
    assert "risk accepted by CTO Kim until 2026-11-25: fraud rule fix, CHG-991" in ok["decided_by"]["detail"]
    other = gates.decide(g, service="billing", **OK)          # the acceptance names one service
    assert other["decision"] == "fail"
    late = gates.decide(g, service="accounts", **(OK | {"at": datetime(2026, 11, 26, 9)}))
    assert late["decision"] == "fail" and late["decided_by"]["rule"] == "freeze:black-friday"
    assert "the risk acceptance by CTO Kim expired on 2026-11-25" in late["decided_by"]["detail"]


def test_acceptance_must_say_who_why_and_until(tmp_path: Path) -> None:
    bad = FREEZE + '[[acceptance]]\nfreeze = "black-friday"\nservice = "a"\nby = "x"\n'
    with pytest.raises(ValueError, match="missing why, until"):
        gate_policy.load_policy(_policy(tmp_path, bad), AT.date())


def test_ics_calendar(tmp_path: Path) -> None:
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:bf-2026\r\n"
           "SUMMARY:Black Friday\\, Cyber Monday\r\n  trading\r\nDTSTART;VALUE=DATE:20261120\r\n"
           "DTEND;VALUE=DATE:20261201\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:Release train stop\r\n"
           "DTSTART:20261224T000000Z\r\nDTEND:20261224T180000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    accept = ('[[acceptance]]\nfreeze = "bf-2026"\nservice = "*"\nby = "VP Ops"\n'
              'why = "hotfix window"\nuntil = 2026-11-23\n')
    g, files = gate_policy.load_policy(_policy(tmp_path, ics, ".ics", accept), AT.date())
    assert files["calendar"].endswith("cal.ics")
    assert [(f.id, f.start, f.end, f.reason) for f in g.freezes] == [
        ("bf-2026", date(2026, 11, 20), date(2026, 11, 30), "Black Friday, Cyber Monday trading"),
        ("Release train stop", date(2026, 12, 24), date(2026, 12, 24), "Release train stop")]
    assert gates.decide(g, service="x", **OK)["decided_by"]["rule"] == "risk-acceptance"
    after = gates.decide(g, service="x", **(OK | {"at": datetime(2026, 11, 30, 23)}))
    assert after["decided_by"]["rule"] == "freeze:bf-2026"


def test_relaxation_lapses_with_its_acceptance(tmp_path: Path) -> None:
    cal = ('[[relaxation]]\nid = "summer"\nstart = "07-15"\nend = "08-31"\nreason = "summer"\n'
           'min_coverage = 80.0\nby = "SRE lead"\nwhy = "low traffic"\nuntil = 2026-08-10\n')
    g = gate_policy.load_policy(_policy(tmp_path, cal), date(2026, 8, 1))[0]
    inside = gates.decide(g, service="a", **(OK | {"coverage": 82, "at": datetime(2026, 8, 3)}))
    lapsed = gates.decide(g, service="a", **(OK | {"coverage": 82, "at": datetime(2026, 8, 20)}))
    assert inside["decision"] == "pass" and any("SRE lead" in r for r in inside["reasons"])
    assert lapsed["decision"] == "fail" and lapsed["decided_by"]["rule"] == "coverage"
    assert any("expired on 2026-08-10" in r for r in lapsed["reasons"])


def test_emergency_bypass_is_decided_by_its_rule() -> None:
    out = gates.decide(gates.Gate(), service="a", coverage=10, risk=0.9, emergency=True,
                       open_sev1=2, at=AT, budget_remaining=-1.0)
    assert out["decided_by"]["rule"] == "emergency-bypass"
    assert out["validation_due"] == datetime(2026, 11, 26, 10)
