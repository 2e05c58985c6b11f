"""Gate JSON for the four policy cases on the demo (budget exhausted; freeze without and with a
risk acceptance; emergency bypass creating the validation item), the bypass ledger's life, and
the SLA impact assessment against hand-computed figures."""

from __future__ import annotations

import json
from datetime import date, UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from analytics.cli import main
from analytics.store.models import MaintenanceWindow, Outage, SlaContract
from tests.governance import builders as b

AT = "2026-11-22T12:00"
SMALL = ("--lines-changed", "40", "--files-changed", "2", "--coverage", "95")


def _gate(engine, capsys, service: str, *extra: str) -> tuple[int, dict]:  # noqa: ANN001
    code = main(["--db", engine.url.render_as_string(hide_password=False), "gate", "--service",
                 service, "--at", AT, *SMALL, *extra, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def _calendar_policy(tmp_path: Path, acceptance: str = "") -> str:
    (tmp_path / "cal.toml").write_text(
        '[[freeze]]\nid = "black-friday"\nstart = 2026-11-20\nend = 2026-11-30\n'
        'reason = "Black Friday trading"\n' + acceptance)
    policy = tmp_path / "policy.toml"
    policy.write_text('calendar = "cal.toml"\n')
    return str(policy)


def test_budget_exhausted_fails_unless_a_fix(demo_engine, capsys) -> None:  # noqa: ANN001
    code, body = _gate(demo_engine, capsys, "checkout")
    assert code == 1 and body["decision"] == "fail"
    assert body["decided_by"]["rule"] == "error-budget:budget-exhausted"
    assert body["error_budget"]["lowest_remaining"] < 0          # checkout's SLO: about −40%
    assert "Only fixes and emergencies may deploy" in body["decided_by"]["detail"]
    code, fix = _gate(demo_engine, capsys, "checkout", "--fix")
    assert code == 0 and fix["decided_by"]["rule"] == "error-budget:budget-exhausted"
    assert fix["decided_by"]["detail"].endswith("This change is a fix: allowed.")
    _, low = _gate(demo_engine, capsys, "chat")                  # 0 < remaining < 25%
    assert low["decision"] == "escalate" and low["decided_by"]["rule"] == "error-budget:budget-low"


def test_freeze_without_and_with_a_risk_acceptance(demo_engine, capsys, tmp_path) -> None:  # noqa: ANN001
    code, body = _gate(demo_engine, capsys, "accounts", "--policy", _calendar_policy(tmp_path))
    assert code == 1 and body["decided_by"] == {
        "rule": "freeze:black-friday", "detail": "change freeze 2026-11-20–2026-11-30: Black Friday trading"}
    accepted = _calendar_policy(tmp_path, '[[acceptance]]\nfreeze = "black-friday"\nservice = '
                                          '"accounts"\nby = "CTO Kim"\nwhy = "fraud rule fix"\n'
                                          'until = 2026-11-23\n')
    code, body = _gate(demo_engine, capsys, "accounts", "--policy", accepted)
    assert code == 0 and body["decided_by"]["rule"] == "risk-acceptance"
    assert "risk accepted by CTO Kim until 2026-11-23: fraud rule fix" in body["decided_by"]["detail"]
    expired = _calendar_policy(tmp_path, '[[acceptance]]\nfreeze = "black-friday"\nservice = '
                                         '"accounts"\nby = "CTO Kim"\nwhy = "x"\nuntil = 2026-11-21\n')
    code, body = _gate(demo_engine, capsys, "accounts", "--policy", expired)
    assert code == 1 and "expired on 2026-11-21" in body["decided_by"]["detail"]


def test_emergency_bypass_creates_the_validation_item(demo_engine, capsys) -> None:  # noqa: ANN001
    code, body = _gate(demo_engine, capsys, "accounts", "--emergency", "--coverage", "10")
    assert code == 0 and body["decided_by"]["rule"] == "emergency-bypass"
    item = body["validation_item"]
    assert item["status"] == "pending" and item["due_at"].startswith("2026-11-25T12:00")
    with demo_engine.connect() as conn:
        row = conn.execute(text("SELECT service, due_at FROM gate_bypass WHERE id = :i"),
                           {"i": item["id"]}).one()
        entry = conn.execute(text("SELECT entity_id, detail FROM audit_log WHERE action = 'gate.bypass' "
                                  "ORDER BY id DESC")).first()
    assert row[0] == "accounts" and str(row[1]).startswith("2026-11-25 12:00")
    assert entry[0] == str(item["id"]) and json.loads(entry[1])["service"] == "accounts"


def test_bypass_ledger_pending_overdue_validated(engine) -> None:  # noqa: ANN001
    from analytics.store.bypasses import bypass_items, record_bypass
    from analytics.store.validations import validate_emergency

    b.services(engine)
    t0 = datetime(2026, 3, 2, 10)
    with Session(engine) as s:
        record_bypass(session=s, service="gold-1", actor="ana", at=t0, detail={"risk": 0.4})
        record_bypass(session=s, service="silver-2", actor="bo", at=t0, detail={})
        s.commit()
    pending = bypass_items(engine, t0 + timedelta(hours=1))
    assert pending["status"].to_list() == ["pending", "pending"]
    assert pending["due_at"].to_list() == [t0 + timedelta(hours=72)] * 2
    b.deployment(engine, 1, 1, t0 + timedelta(minutes=30), emergency=True,
                 started_at=t0 + timedelta(minutes=10))                       # what gold-1's bypass let through
    with Session(engine) as s:
        validate_emergency(session=s, deployment_id=1, by="cy", note="diff reviewed",
                           at=t0 + timedelta(hours=20))
        s.commit()
    later = bypass_items(engine, t0 + timedelta(hours=73))
    assert later.select("service", "deployment_id", "status").rows() == [
        ("gold-1", 1, "validated"), ("silver-2", None, "overdue")]
    # The compliance lists carry the same ledger for the period (page and `compliance` CLI).
    from analytics.reports.compliance import compliance
    from analytics.store.queries import Filters

    march = compliance(engine, Filters(start=date(2026, 3, 1), end=date(2026, 3, 31)),
                       at=t0 + timedelta(hours=73))
    assert march.gate_bypasses.select("service", "status").rows() == [
        ("gold-1", "validated"), ("silver-2", "overdue")]
    april = compliance(engine, Filters(start=date(2026, 4, 1), end=date(2026, 4, 30)),
                       at=t0 + timedelta(hours=73))
    assert april.gate_bypasses.height == 0


def _sla_store(engine) -> None:  # noqa: ANN001
    b.services(engine)
    oct_ = datetime(2026, 10, 1, 10)
    # Failed deployments of gold-1 recovered by the next success 60, 90 and 600 min later.
    for i, (day, minutes) in enumerate([(1, 60), (5, 90), (8, 600)]):
        fail = oct_ + timedelta(days=day)
        b.deployment(engine, 2 * i + 1, 1, fail, status="failed")
        b.deployment(engine, 2 * i + 2, 1, fail + timedelta(minutes=minutes))
    with Session(engine) as s:
        s.add(SlaContract(name="acme", customer="ACME", services=json.dumps(["gold-1"]), tier="gold",
                          target_pct=99.9, monthly_fee=1000.0, currency="EUR",
                          credits=json.dumps([{"below_pct": 99.9, "credit_pct": 10},
                                              {"below_pct": 99.0, "credit_pct": 30}]),
                          effective_from=datetime(2026, 1, 1, tzinfo=UTC)))
        s.add(MaintenanceWindow(external_id="m1", service_id=1, kind="scheduled",
                                start=datetime(2026, 11, 15, 2, tzinfo=UTC),
                                end=datetime(2026, 11, 15, 4, tzinfo=UTC)))
        s.add(Outage(external_id="o1", service_id=1, start=datetime(2026, 11, 3, 8, tzinfo=UTC),
                     end=datetime(2026, 11, 3, 8, 30, tzinfo=UTC)))
        s.add(Outage(external_id="o2", service_id=1, start=datetime(2026, 11, 20, 8, tzinfo=UTC),
                     end=datetime(2026, 11, 20, 9, tzinfo=UTC)))  # after the decision: not "so far"
        s.commit()


def test_sla_impact_figures_by_hand(engine) -> None:  # noqa: ANN001
    from analytics.reports.gate_sla import sla_impact

    _sla_store(engine)
    got = sla_impact(engine, "gold-1", datetime(2026, 11, 10, 12))
    assert (got["median_failure_minutes"], got["failures"]) == (pytest.approx(90.0), 3)
    [c] = got["contracts"]
    # November 2026 in UTC: 30 × 1440 = 43,200 min; 120 min of scheduled maintenance leave the
    # denominator (exclude mode); 30 min of outage so far (the 20 Nov one is after the decision).
    assert (c["period_minutes"], c["excluded_minutes"], c["downtime_so_far_minutes"]) == (43200, 120, 30)
    assert c["allowance_minutes"] == pytest.approx((43200 - 120) * 0.001)           # 43.08
    assert c["allowance_left_minutes"] == pytest.approx(43.08 - 30)                 # 13.08
    assert c["uptime_pct_now"] == pytest.approx((43080 - 30) / 43080 * 100)         # 99.9304 → no credit
    assert c["credit_pct_now"] == 0
    # A 90-minute outage: (43080 − 120) / 43080 = 99.7214% < 99.9 → 10% of 1,000 EUR.
    assert c["uptime_pct_after"] == pytest.approx((43080 - 120) / 43080 * 100)
    assert (c["credit_pct_after"], c["exposure"], c["breach_after"]) == (10, pytest.approx(100.0), True)
    assert got["exposure_total"] == {"EUR": pytest.approx(100.0)}
    assert "median recovery time" in got["definition"]
    # No contract covers silver-2; no failed deployment either.
    none = sla_impact(engine, "silver-2", datetime(2026, 11, 10, 12))
    assert (none["contracts"], none["median_failure_minutes"]) == ([], None)


def test_bad_policy_file_exits_2(demo_engine, capsys, tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "p.toml"
    bad.write_text("[[error_budget]]\nbelow = 0.1\naction = 'maybe'\n")
    code = main(["--db", demo_engine.url.render_as_string(hide_password=False), "gate", "--service",
                 "accounts", "--at", AT, *SMALL, "--policy", str(bad)])
    assert code == 2 and "error_budget rule 1 needs below" in capsys.readouterr().err
