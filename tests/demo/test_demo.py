"""The demo organisation: deterministic, the right size, and its ground truth stored."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from analytics import demo
from analytics.store.db import read_frame

END = date(2026, 11, 22)


def test_same_seed_same_content_hash(engine, tmp_path):
    from analytics.store.db import get_engine, migrate

    other = get_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    for eng in (engine, other):
        demo.load(eng, demo.generate(seed=11, end=END, sli=False))
    assert demo.content_hash(engine) == demo.content_hash(other)
    third = get_engine(f"sqlite:///{tmp_path / 'third.db'}")
    migrate(third)
    demo.load(third, demo.generate(seed=12, end=END, sli=False))
    assert demo.content_hash(third) != demo.content_hash(engine)


def test_shape_of_the_organisation(demo_engine):
    svc = read_frame(demo_engine, "SELECT name, team, tier, criticality FROM service")
    assert svc.height == 40 and svc["team"].n_unique() == 8
    assert set(svc["tier"]) == {"gold", "silver", "bronze"}
    assert set(svc["criticality"]).issubset({1, 2, 3, 4}) and svc["criticality"].n_unique() >= 3
    prod = read_frame(demo_engine, "SELECT min(finished_at) AS lo, max(finished_at) AS hi, count(*) AS n "
                                   "FROM deployment WHERE environment = 'production' AND is_rollback = ?",
                      [False])
    assert 25_000 <= prod["n"][0] <= 40_000
    assert prod["hi"][0].date() == END
    assert (prod["hi"][0] - prod["lo"][0]).days == 364
    staging = read_frame(demo_engine, "SELECT count(*) AS n FROM deployment WHERE environment = 'staging'")
    assert staging["n"][0] > 0
    sli = read_frame(demo_engine, "SELECT count(*) AS n, count(DISTINCT slo_id) AS k FROM sli_sample")
    assert sli["k"][0] == 40 and sli["n"][0] == 40 * 90 * 288


def test_incidents_linked_close_and_unrelated(demo_engine):
    inc = read_frame(demo_engine, "SELECT caused_by_deployment_id, problem_id, service_id FROM incident")
    explicit = inc["caused_by_deployment_id"].is_not_null().sum()
    assert 0.2 * inc.height < explicit < 0.6 * inc.height
    assert inc["service_id"].is_null().sum() == 10  # the planted data-quality flag
    repeats = inc.drop_nulls("problem_id").group_by("problem_id").len().filter(pl.col("len") > 1)
    assert repeats.height > 0  # problem ids recur


def test_ground_truth_is_stored_with_its_sizes(demo_engine):
    truth = demo.read_truth(demo_engine)
    assert truth["friday_failure_odds_ratio"]["value"]["odds_ratio"] == 2.0
    assert truth["failed_deploy_ticket_rate_ratio"]["value"] == {"failed": 1.8, "success": 1.0,
                                                                 "window_hours": 48}
    assert truth["canary_adoption"]["value"]["failure_probability_ratio"] == 0.5
    assert truth["friday_smaller_changes"]["value"]["log_lines_shift"] < 0
    assert truth["csat_drop_after_customer_facing_incident"]["value"]["days"] == 7
    counts = truth["counts"]["value"]
    n = read_frame(demo_engine, "SELECT count(*) AS n FROM ticket")["n"][0]
    assert counts["tickets"] == n


def test_friday_deployments_are_smaller(demo_engine):
    """The planted confounder is visible in the raw data (Friday = weekday 4)."""
    dep = read_frame(demo_engine, "SELECT finished_at, lines_changed FROM deployment "
                                  "WHERE environment = 'production' AND is_rollback = ?", [False])
    by = dep.with_columns(fri=pl.col("finished_at").dt.weekday() == 5,
                          ll=pl.col("lines_changed").log()).group_by("fri").agg(pl.col("ll").mean())
    means = dict(by.iter_rows())
    assert means[True] - means[False] < -0.5


def test_planted_slo_states_are_what_report_slo_finds(demo_engine, capsys):
    """Most SLOs within budget, the planted burning ones at risk with their alerts firing, the
    planted bad release's SLO exhausted — as recorded in demo_truth."""
    import json

    from analytics.cli import main

    planted = demo.read_truth(demo_engine)["slo_states"]["value"]
    url = demo_engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "slo", "--format", "json"]) == 0
    rows = {r["slo"]: r for r in json.loads(capsys.readouterr().out)}
    assert len(rows) == 40
    healthy = [s for s, r in rows.items() if r["state"] == "healthy"]
    assert len(healthy) >= 30
    # state follows from the numbers: healthy = ≥ 25 % budget left and no alert pair firing
    for r in rows.values():
        firing = any(a["firing"] for a in r["alerts"])
        assert (r["state"] == "healthy") == (r["budget_remaining"] >= 0.25 and not firing)
        assert (r["state"] == "exhausted") == (r["budget_remaining"] <= 0)
    bad = planted["exhausted"]
    assert [s for s, r in rows.items() if r["state"] == "exhausted"] == [bad["slo"]]
    assert rows[bad["slo"]]["budget_remaining"] < 0
    assert bad["deployment"] is not None and bad["hours"] * bad["burn_rate"] / (30 * 24) > 1
    for name in planted["burning"]["slos"]:
        assert rows[name]["state"] == "at risk"
        assert {a["name"] for a in rows[name]["alerts"] if a["firing"]} >= {"ticket 10% in 3d"}


def test_the_bad_release_is_a_production_deployment_of_the_exhausted_slos_service(demo_engine):
    planted = demo.read_truth(demo_engine)["slo_states"]["value"]["exhausted"]
    dep = read_frame(demo_engine, "SELECT d.finished_at, d.environment, s.name FROM deployment d "
                                  "JOIN service s ON s.id = d.service_id WHERE d.external_id = ?",
                     [planted["deployment"]])
    assert dep.height == 1 and dep["environment"][0] == "production"
    assert f"{dep['name'][0]}-availability" == planted["slo"]
    # Its errors start in the bucket after it finished and last the planted hours: the SLO's
    # bad-event share over those hours ≈ burn rate × (1 − target), computed in plain SQL.
    start = dep["finished_at"][0]
    sql = ("SELECT sum(x.total - x.good) AS bad, sum(x.total) AS n, min(o.target) AS target "
           "FROM sli_sample x JOIN slo o ON o.id = x.slo_id WHERE o.name = ? AND x.ts > ? AND x.ts <= ?")
    got = read_frame(demo_engine, sql, [planted["slo"], start,
                                        start + timedelta(hours=planted["hours"])])
    ratio = got["bad"][0] / got["n"][0] / (1 - got["target"][0])
    assert abs(ratio - planted["burn_rate"]) < 0.1 * planted["burn_rate"]
