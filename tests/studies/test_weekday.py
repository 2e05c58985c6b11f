"""Weekday study: the planted Friday odds ratio on the demo, no effect on null data, hand checks."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from analytics.demo import read_truth
from analytics.store import queries
from analytics.studies.weekday import holm, verdict, weekday_study

MONDAY = datetime(2026, 1, 5)


def _synthetic(seed: int, friday_log_odds: float, n_services: int = 20, per_day: int = 6,
               weeks: int = 26) -> pl.DataFrame:
    """Deployments with size and service effects; Friday adds ``friday_log_odds``."""
    rng = np.random.default_rng(seed)
    rows = []
    base = rng.normal(-2.2, 0.4, n_services)
    for s in range(n_services):
        for day in range(weeks * 7):
            at = MONDAY + timedelta(days=day)
            if at.weekday() >= 5:
                continue
            for _ in range(rng.poisson(per_day / 4)):
                lines = int(np.exp(rng.normal(4.5, 1.0)))
                eta = base[s] + 0.4 * (np.log(max(lines, 1)) - 4.5) + friday_log_odds * (at.weekday() == 4)
                failed = rng.random() < 1 / (1 + np.exp(-eta))
                rows.append({"service_id": s + 1, "service": f"svc{s}",
                             "finished_at": at + timedelta(hours=int(rng.integers(8, 18))),
                             "status": "failed" if failed else "success", "lines_changed": lines,
                             "emergency": bool(rng.random() < 0.05),
                             "test_coverage": float(rng.normal(80, 5))})
    return pl.DataFrame(rows).with_columns(id=pl.int_range(1, pl.len() + 1), environment=pl.lit("production"),
                                           is_rollback=pl.lit(False))


@pytest.fixture(scope="module")
def demo_study(demo_engine) -> dict:  # noqa: ANN001
    return weekday_study(queries.deployments(demo_engine))


def test_demo_friday_odds_ratio_recovered_and_naive_differs(demo_study: dict, demo_engine) -> None:  # noqa: ANN001
    planted = read_truth(demo_engine)["friday_failure_odds_ratio"]["value"]["odds_ratio"]
    f = demo_study["friday_vs_rest"]
    assert f["ci_low"] <= planted <= f["ci_high"]
    # Friday changes are smaller (a confounder), so the naive odds ratio is biased low.
    assert demo_study["naive_friday_vs_rest"]["odds_ratio"] < f["ci_low"]
    assert demo_study["verdict"].startswith("Friday deployments fail more often")
    assert demo_study["cov_type"] == "cluster(service)"


def test_demo_wilson_and_naive_by_hand(demo_study: dict, demo_engine) -> None:  # noqa: ANN001
    dep = queries.deployments(demo_engine).filter(
        (pl.col("environment") == "production") & ~pl.col("is_rollback")).with_columns(
        wd=pl.col("finished_at").dt.weekday(), bad=pl.col("status").is_in(["failed", "rolled_back"]))
    counts = dep.group_by("wd").agg(n=pl.len(), k=pl.col("bad").sum()).sort("wd")
    by_day = demo_study["by_weekday"]
    assert by_day["deployments"].to_list() == counts["n"].to_list()
    lo, hi = proportion_confint(counts["k"].to_numpy(), counts["n"].to_numpy(), method="wilson")
    np.testing.assert_allclose(by_day["ci_low"].to_numpy(), lo, rtol=1e-9)
    np.testing.assert_allclose(by_day["ci_high"].to_numpy(), hi, rtol=1e-9)
    fri = counts.filter(pl.col("wd") == 5).row(0, named=True)
    rest = counts.filter(pl.col("wd") <= 4).select(pl.sum("n"), pl.sum("k")).row(0, named=True)
    naive = (fri["k"] / (fri["n"] - fri["k"])) / (rest["k"] / (rest["n"] - rest["k"]))
    assert demo_study["naive_friday_vs_rest"]["odds_ratio"] == pytest.approx(naive)
    _, holm_sm, _, _ = multipletests(by_day["p_value"].to_numpy(), method="holm")
    np.testing.assert_allclose(by_day["p_holm"].to_numpy(), holm_sm)


def test_no_effect_interval_covers_one_and_verdict_is_modest() -> None:
    out = weekday_study(_synthetic(seed=11, friday_log_odds=0.0))
    f = out["friday_vs_rest"]
    assert f["ci_low"] <= 1.0 <= f["ci_high"]
    assert out["verdict"].startswith("No detectable Friday effect")
    # The smallest detectable OR sits above the interval's half-width on the log scale.
    assert out["min_detectable_odds_ratio"] > f["ci_high"] / f["odds_ratio"]


def test_min_detectable_odds_ratio_matches_power_simulation_scale() -> None:
    """exp(2.80·SE): with SE from the fitted model, a z-test of that size has 80% power."""
    out = weekday_study(_synthetic(seed=4, friday_log_odds=0.0))
    f = out["friday_vs_rest"]
    se = np.log(f["ci_high"] / f["ci_low"]) / (2 * 1.959963984540054)
    assert out["min_detectable_odds_ratio"] == pytest.approx(np.exp((1.959963984540054 + 0.8416212335729143) * se))


@pytest.mark.parametrize("p", [[0.01, 0.04, 0.03], [0.2, 0.001, 0.5, 0.04, 0.049, 0.3, 0.7],
                               [0.5], [0.0, 1.0, 0.02, 0.02]])
def test_holm_matches_statsmodels(p: list[float]) -> None:
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 → ×3, ×2, ×1 = 0.03, 0.06, 0.04 → running max 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


@pytest.mark.parametrize(("args", "start"), [
    ((2.1, 1.6, 2.7, 1.2), "Friday deployments fail more often: odds 2.10×"),
    ((0.6, 0.4, 0.9, 1.5), "Friday deployments fail less often: odds 0.60×"),
    ((1.1, 0.9, 1.4, 1.8), "No detectable Friday effect (odds ratio 1.10, 95% CI 0.90–1.40); "
                           "this data could only detect an effect above 1.80×"),
])
def test_verdict_never_claims_more_than_interval(args: tuple, start: str) -> None:
    assert verdict(*args).startswith(start)


def test_bad_input_is_named() -> None:
    dep = _synthetic(seed=1, friday_log_odds=0.0, n_services=2, weeks=1)
    with pytest.raises(ValueError, match="no deployments"):
        weekday_study(dep.filter(pl.col("service_id") < 0))
    with pytest.raises(ValueError, match="finished_at"):
        weekday_study(dep.drop("finished_at"))
    with pytest.raises(ValueError, match="Fridays"):
        weekday_study(dep.filter(pl.col("finished_at").dt.weekday() != 5))


def test_no_failures_gives_counts_and_an_honest_verdict() -> None:
    dep = _synthetic(seed=2, friday_log_odds=0.0, n_services=3, weeks=2).with_columns(
        status=pl.lit("success"))
    out = weekday_study(dep)
    expected = dep.group_by(wd=pl.col("finished_at").dt.weekday()).len().sort("wd")["len"].to_list()
    assert out["by_weekday"]["deployments"].to_list() == expected
    assert out["by_weekday"]["failed"].to_list() == [0] * len(expected)
    assert out["by_weekday"]["p_value"].null_count() == len(expected)
    assert out["friday_vs_rest"]["odds_ratio"] is None and out["min_detectable_odds_ratio"] is None
    assert out["verdict"].startswith(f"No deployment in this data is recorded as failed or rolled "
                                     f"back (0 of {dep.height:,}), so failure rates by weekday "
                                     "cannot be compared.")


def test_outcome_incident_and_either_count_attributed_deployments() -> None:
    dep = _synthetic(seed=5, friday_log_odds=0.0, n_services=12, weeks=8)
    # Every third deployment has an incident; ids 3, 6, … — a count checkable by hand.
    linked = dep.filter(pl.col("id") % 3 == 0)
    attribution = pl.DataFrame({"incident_id": range(linked.height), "deployment_id": linked["id"],
                                "rule": "explicit"})
    incidents = pl.DataFrame({"id": range(linked.height), "opened_at": linked["finished_at"],
                              "resolved_at": linked["finished_at"]})
    by_status = dep["status"].is_in(["failed", "rolled_back"])
    for outcome, flag, means in (
            ("incident", dep["id"] % 3 == 0, "Failure means an incident attributed to the deployment."),
            ("either", (dep["id"] % 3 == 0) | by_status,
             "Failure means status failed or rolled back, or an attributed incident.")):
        out = weekday_study(dep, incidents, attribution, outcome=outcome)
        assert out["by_weekday"]["failed"].sum() == flag.sum()
        assert out["outcome"] == outcome
        assert means in out["verdict"]
    with pytest.raises(ValueError, match="outcome 'incident' needs incidents"):
        weekday_study(dep, outcome="incident")
    with pytest.raises(ValueError, match="outcome must be one of status, incident, either"):
        weekday_study(dep, outcome="tickets")


def test_verdict_names_only_controls_used() -> None:
    assert "after accounting for emergency and service." in verdict(
        2.1, 1.6, 2.7, 1.2, "status", ["emergency", "service"])


def test_many_services_control_by_service_log_odds_and_recover_the_effect() -> None:
    """Past MAX_SERVICE_DUMMIES services the model swaps dummies for each service's
    leave-one-out failure log-odds (memory N × S otherwise); the planted OR 2 is still inside."""
    from analytics.studies.weekday import MAX_SERVICE_DUMMIES

    data = _synthetic(seed=3, friday_log_odds=float(np.log(2.0)), n_services=MAX_SERVICE_DUMMIES + 40,
                      per_day=12, weeks=26)
    out = weekday_study(data)
    f = out["friday_vs_rest"]
    assert f["ci_low"] < 2.0 < f["ci_high"]
    assert "service (its failure log-odds)" in out["controls"]
