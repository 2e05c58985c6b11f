"""Deployment risk score: past-only service history, time-ordered split, calibration on the demo."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from analytics.studies import risk

T0 = datetime(2026, 1, 5)


def _deps(rows: list[tuple[str, int, str]]) -> pl.DataFrame:
    return pl.DataFrame({
        "id": list(range(1, len(rows) + 1)), "service": [r[0] for r in rows],
        "finished_at": [T0 + timedelta(days=r[1]) for r in rows], "status": [r[2] for r in rows],
        "environment": "production", "is_rollback": False, "emergency": False,
        "lines_changed": 100, "files_changed": 4, "test_coverage": 85.0})


def test_service_history_uses_only_the_past() -> None:
    # Fleet rate from strictly earlier deployments: none before day 0 (0.1 default), 1 failure in
    # 1 before day 1 (a and b both deploy on day 1, neither sees the other), 1 in 3 before day 2.
    rows = risk.features(_deps([("a", 0, "failed"), ("a", 1, "success"), ("b", 1, "success"),
                                ("a", 2, "success")]))
    w = risk.PRIOR_WEIGHT
    expected = [(0 + w * 0.1) / (0 + w),            # a, day 0: no past at all
                (1 + w * 1.0) / (1 + w),            # a, day 1: its own failure; fleet 1/1
                (0 + w * 1.0) / (0 + w),            # b, day 1: no own past; fleet 1/1
                (1 + w * (1 / 3)) / (2 + w)]        # a, day 2: 1 of 2; fleet 1 of 3
    got = rows.sort("finished_at", "service")["service_failure_rate"].to_list()
    assert got == pytest.approx(expected)


def test_history_forgets_after_ninety_days() -> None:
    rows = risk.features(_deps([("a", 0, "failed"), ("a", 91, "success")]))
    w = risk.PRIOR_WEIGHT
    assert rows["service_failure_rate"][1] == pytest.approx((0 + w * 1.0) / (0 + w))


def test_brier_by_hand() -> None:
    # (0.1−0)² + (0.6−1)² + (0.3−0)² = 0.01 + 0.16 + 0.09 = 0.26 → mean 0.08667
    assert risk.brier(np.array([0.1, 0.6, 0.3]), np.array([0, 1, 0])) == pytest.approx(0.26 / 3)


def test_time_split_is_ordered_by_month() -> None:
    rows = risk.features(_deps([("a", d, "failed" if d % 3 == 0 else "success") for d in range(0, 150, 2)]))
    train, cal, test = risk.time_split(rows)
    assert train["finished_at"].max() < cal["finished_at"].min() < cal["finished_at"].max() < test["finished_at"].min()
    assert train.height + cal.height + test.height == rows.height
    assert test["finished_at"].min().day == 1 or test["finished_at"].min().month != cal["finished_at"].max().month


def test_bad_input_names_the_field() -> None:
    d = _deps([("a", 0, "failed"), ("a", 40, "success"), ("a", 80, "success")]).with_columns(
        test_coverage=pl.lit(None, pl.Float64))
    with pytest.raises(ValueError, match="test_coverage"):
        risk.features(d)
    with pytest.raises(ValueError, match="3 months"):
        risk.time_split(risk.features(_deps([("a", 0, "failed"), ("a", 1, "success")])))


def test_demo_risk_is_calibrated(demo_engine) -> None:  # noqa: ANN001
    from analytics.store.queries import Filters, deployments

    out = risk.evaluate(deployments(demo_engine, Filters(environment="production")))
    # Skill over always predicting the training failure rate, on later months only.
    assert out["test_brier"] < out["base_rate_brier"]
    rel = out["reliability"]
    assert rel["n"].sum() == out["n_test"]
    assert (rel["predicted"] - rel["observed"]).abs().max() < 0.03
    # Binomial check per bin: observed within 3 standard errors of the predicted rate.
    se = np.sqrt(rel["predicted"] * (1 - rel["predicted"]) / rel["n"]).to_numpy()
    assert (np.abs((rel["observed"] - rel["predicted"]).to_numpy()) < 3 * se).all()
    coef = out["model"].coefficients()
    assert coef["log_lines"] > 0 and coef["coverage"] < 0 and coef["emergency"] > 0
