"""The improvement register (issue 18 points 3–4): audited writes with the risk score from the
TOML, and the demo's planted improvement effects recovered by the validation."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from analytics.demo import read_truth
from analytics.loop.improvements import add_improvement, risk_score, rules, update_improvement
from analytics.reports.improvements import register, validate
from tests.governance import builders as b


def _weights(name: str, level: int) -> int:
    return rules()["factors"][name]["weights"][level - 1]


@pytest.mark.parametrize("levels, score, priority", [
    ((5, 5, 1), 5 * 5 * 5, "P1"),   # severe, weekly, trivial: do it now
    ((4, 4, 2), 4 * 4 * 4, "P1"),
    ((3, 3, 3), 3 * 3 * 3, "P3"),   # 27: between P3 (12) and P2 (30)
    ((3, 4, 3), 3 * 4 * 3, "P2"),   # 36
    ((1, 1, 5), 1 * 1 * 1, "P4"),
])
def test_risk_score_is_the_product_of_the_toml_weights(levels, score, priority):
    by_hand = (_weights("business_impact", levels[0]) * _weights("recurrence", levels[1])
               * _weights("remediation_cost", levels[2]))
    assert risk_score(*levels) == (float(by_hand), priority)
    assert by_hand == score


@pytest.mark.parametrize("levels", [(0, 3, 3), (3, 6, 3), (3, 3, True)])
def test_risk_factor_out_of_range_is_a_plain_sentence(levels):
    with pytest.raises(ValueError, match="whole number from 1 to 5"):
        risk_score(*levels)


def _audit(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT actor, action, entity, entity_id, detail FROM audit_log "
                                 "ORDER BY id")).all()


def test_add_and_move_through_pdca_are_audited(engine):
    b.services(engine)
    t0 = datetime(2026, 3, 2, 9)
    with Session(engine) as s:
        row = add_improvement(session=s, actor="ana", title="Canary for gold", owner="team-a",
                              services=["gold-1", "silver-2"], kpis=["change_failure_rate"],
                              business_impact=4, recurrence=3, remediation_cost=2,
                              expected_impact=-0.4, cost=1200.0,
                              links={"problems": ["PRB-1"]}, at=t0)
        s.commit()
        imp_id = row.id
    with Session(engine) as s:
        update_improvement(session=s, actor="bo", improvement_id=imp_id, stage="do",
                           intervention=date(2026, 3, 9), whys=["a", "b", "c"],
                           fishbone={"process": "no review"}, links={"incidents": ["INC7"]},
                           at=t0 + timedelta(days=7))
        s.commit()
    reg = register(engine).row(0, named=True)
    assert (reg["status"], reg["priority"], reg["risk_score"]) == ("do", "P2", 4 * 3 * 4.0)  # 48: P2 (30–59)
    assert reg["services"] == "gold-1, silver-2" and reg["kpis"] == "change_failure_rate"
    assert reg["do_at"] == datetime(2026, 3, 9, 9) and reg["intervention_at"] == datetime(2026, 3, 9)
    assert json.loads(reg["links"]) == {"problems": ["PRB-1"], "incidents": ["INC7"]}
    assert json.loads(reg["whys"]) == ["a", "b", "c"]
    entries = _audit(engine)
    assert [tuple(e[:4]) for e in entries] == [("ana", "improvement.add", "improvement", str(imp_id)),
                                              ("bo", "improvement.update", "improvement", str(imp_id))]
    changed = json.loads(entries[1][4])["changed"]
    assert changed["status"] == {"old": "plan", "new": "do"}
    assert set(changed) >= {"status", "do_at", "intervention_at", "whys", "fishbone", "links"}


def test_bad_writes_are_refused_and_write_nothing(engine):
    b.services(engine)
    with Session(engine) as s:
        with pytest.raises(ValueError, match="no service named 'nope'"):
            add_improvement(session=s, actor="ana", title="x", owner="o", services=["nope"],
                            kpis=[], business_impact=3, recurrence=3, remediation_cost=3)
        with pytest.raises(ValueError, match="Unknown KPI"):
            add_improvement(session=s, actor="ana", title="x", owner="o", services=["gold-1"],
                            kpis=["uptime_vibes"], business_impact=3, recurrence=3,
                            remediation_cost=3)
        row = add_improvement(session=s, actor="ana", title="x", owner="o", services=["gold-1"],
                              kpis=[], business_impact=3, recurrence=3, remediation_cost=3)
        s.commit()
        with pytest.raises(ValueError, match="Unknown fishbone category"):
            update_improvement(session=s, actor="ana", improvement_id=row.id,
                               fishbone={"vibes": "x"})
        with pytest.raises(ValueError, match="needs its lessons learned"):
            update_improvement(session=s, actor="ana", improvement_id=row.id, stage="closed",
                               outcome="failed")
        s.rollback()
        with pytest.raises(ValueError, match="no improvement with id 99"):
            update_improvement(session=s, actor="ana", improvement_id=99, stage="do")
    assert [e[1] for e in _audit(engine)] == ["improvement.add"]


# The demo's planted improvements (truth "improvements"): validation must find the canary's
# halving (−50% inside both 95% intervals, significant) and nothing for the checklist.
@pytest.fixture(scope="module")
def demo_validations(demo_engine):
    truth = read_truth(demo_engine)["improvements"]["value"]
    out = {name: (t, validate(demo_engine, t["improvement_id"], with_roi=name == "canary"))
           for name, t in truth.items()}
    return out


def test_canary_effect_is_recovered(demo_validations):
    truth, v = demo_validations["canary"]
    ratio_change = truth["failure_probability_ratio"] - 1  # −0.5
    for effect in (v.its, v.did):
        lo, hi = effect.relative_ci
        assert lo < ratio_change < hi, (effect.method, lo, hi)
        assert effect.significant and effect.estimate < 0
    assert v.did.units == 35  # 5 treated + 30 controls (the checklist's 5 services left out)
    assert "consistent with the expected −50%" in v.verdicts[1]


def test_null_improvement_is_not_significant(demo_validations):
    truth, v = demo_validations["null"]
    assert truth["failure_probability_ratio"] == 1.0
    for effect in (v.its, v.did):
        assert not effect.significant and effect.ci_low < 0 < effect.ci_high
    assert all("no detectable change" in line for line in v.verdicts)


def test_roi_tickets_match_plain_sql(demo_validations, demo_engine):
    """Treated tickets per service-week before the change, counted in SQL, and the yearly value
    = −(treated change − control change) × 52 × services × rate."""
    _, v = demo_validations["canary"]
    rows = {r["quantity"]: r for r in v.roi.rows.to_dicts()}
    t = rows["tickets"]
    first = v.series["week"].min()
    before_end = v.intervention - timedelta(days=7)  # the transition week is left out
    weeks = (before_end - first).days // 7
    names = ", ".join(f"'{s}'" for s in v.services)
    with demo_engine.connect() as conn:
        n = conn.execute(text(f"""SELECT count(*) FROM ticket t JOIN service s ON s.id = t.service_id
            WHERE s.name IN ({names}) AND t.opened_at >= :lo AND t.opened_at < :hi"""),
            {"lo": first, "hi": before_end}).scalar_one()
    assert t["treated_before"] == pytest.approx(n / (weeks * len(v.services)))
    change = (t["treated_after"] - t["treated_before"]) - (t["control_after"] - t["control_before"])
    assert t["change"] == pytest.approx(change)
    assert t["yearly_value"] == pytest.approx(-change * 52 * 5 * t["unit_value"])
    assert v.roi.yearly_value == pytest.approx(sum(r["yearly_value"] for r in rows.values()))
    assert v.roi.roi == pytest.approx((v.roi.yearly_value - 40_000) / 40_000)
