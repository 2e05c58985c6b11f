"""BPIC 2014 (real data): the delivery, weekday and release-impact reports run and stay honest.

Every change is imported as a `success` deployment (the data records no outcome), so CFR rests
on attributed incidents, the status-based Friday question has no answer, and ticket counts are
already high before releases (the placebo lead window).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from analytics.cli import main

pytestmark = pytest.mark.bpic
PERIOD = ("--from", "2013-10-01", "--to", "2014-03-31")
IN_PERIOD = "'2013-10-01' AND {col} < '2014-04-01'"


def _report(engine: Engine, capsys: pytest.CaptureFixture, *argv: str) -> dict:
    code = main(["--db", engine.url.render_as_string(hide_password=False), "report", *argv,
                 *PERIOD, "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _sql(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _production_deployments(engine: Engine) -> int:
    return _sql(engine, "SELECT count(*) FROM deployment WHERE environment = 'production' AND "
                        "is_rollback = false AND finished_at IS NOT NULL AND finished_at >= "
                        + IN_PERIOD.format(col="finished_at"))


def test_delivery_report_numbers_match_sql(bpic_engine: Engine, capsys: pytest.CaptureFixture) -> None:
    out = _report(bpic_engine, capsys, "delivery")
    deployments = _production_deployments(bpic_engine)
    incidents = _sql(bpic_engine, "SELECT count(*) FROM incident WHERE environment = 'production' "
                                  "AND resolved_at >= opened_at AND opened_at >= "
                                  + IN_PERIOD.format(col="opened_at"))
    assert deployments > 0 and out["deployments"] == deployments
    assert out["deploys_per_day"] == pytest.approx(deployments / 182)  # Oct–Mar: 31+30+31+31+28+31 days
    assert out["lead_time_hours"]["n"] > 0 and out["lead_time_hours"]["median"] > 0
    assert out["mttr_hours"]["n"] == incidents > 0
    cfr = out["change_failure_rate"]
    # No deployment is recorded as failed: every failure comes from an attributed incident.
    assert 0 < cfr["failed"] <= out["attribution"]["explicit"] + out["attribution"]["window"]
    assert cfr["value"] == pytest.approx(cfr["failed"] / deployments)


def test_weekday_report_says_why_status_cannot_answer(bpic_engine: Engine,
                                                      capsys: pytest.CaptureFixture) -> None:
    out = _report(bpic_engine, capsys, "weekday")
    deployments = _production_deployments(bpic_engine)
    assert sum(r["deployments"] for r in out["by_weekday"]) == deployments
    assert all(r["failed"] == 0 and r["p_value"] is None for r in out["by_weekday"])
    assert out["friday_vs_rest"]["odds_ratio"] is None
    assert out["verdict"].startswith(f"No deployment in this data is recorded as failed or rolled "
                                     f"back (0 of {deployments:,}), so failure rates by weekday "
                                     "cannot be compared.")


def test_weekday_report_on_incident_outcome(bpic_engine: Engine, capsys: pytest.CaptureFixture) -> None:
    out = _report(bpic_engine, capsys, "weekday", "--outcome", "incident")
    f = out["friday_vs_rest"]
    assert f["ci_low"] < f["odds_ratio"] < f["ci_high"]
    assert 0 < sum(r["failed"] for r in out["by_weekday"]) < _production_deployments(bpic_engine)
    # BPIC records no change size or coverage: the verdict names only the controls used.
    assert out["controls"] == ["emergency", "service"]
    assert "Failure means an incident attributed to the deployment." in out["verdict"]


def test_release_impact_verdict_names_the_elevated_placebo(bpic_engine: Engine,
                                                           capsys: pytest.CaptureFixture) -> None:
    out = _report(bpic_engine, capsys, "release-impact")
    est = out["by_outcome"]["success"]["tickets"]
    lead = est["placebo"]
    assert out["by_outcome"]["failed"]["tickets"] is None
    assert est["n_releases"] == _production_deployments(bpic_engine)
    # The placebo lead window is as high as the post window: nothing to credit to releases.
    assert lead["ci_low"] > 1 and lead["ci_low"] <= est["ci_high"]
    assert out["verdict"].startswith(
        f"Tickets are already elevated in the 48 h before successful releases "
        f"({lead['rate_ratio']:.2f}× (95% CI {lead['ci_low']:.2f}–{lead['ci_high']:.2f})) as after "
        f"them ({est['rate_ratio']:.2f}× (95% CI {est['ci_low']:.2f}–{est['ci_high']:.2f}))")
