"""KPI retirement aid: each KPI's correlation with customer outcomes per period, checked against
scipy (computed independently), and the outcomes of a hand-built store checked by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats
from sqlmodel import Session

from analytics.reports.kpi_outcomes import correlations, fisher_ci, kpi_outcomes, verdicts
from analytics.store.models import CsatResponse, Deployment, Service, Ticket
from analytics.store.queries import Filters

RNG = np.random.default_rng(16)


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_r_and_interval_match_scipy(method):
    x = RNG.normal(size=30)
    y = 0.5 * x + RNG.normal(size=30)
    x[3] = x[7]  # a tie: Spearman's average ranks
    units = pl.DataFrame({"period": [1] * 30, "k": x, "o": y})
    got = correlations(units, ["k"], ["o"], method=method, min_units=8).row(0, named=True)
    want = (stats.spearmanr(x, y) if method == "spearman" else stats.pearsonr(x, y)).statistic
    assert got["n"] == 30 and got["r"] == pytest.approx(want, abs=1e-12)
    # Fisher's z by hand: atanh(r) ± 1.959964 / sqrt(n - 3), back through tanh.
    half = 1.959963984540054 / math.sqrt(27)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx(
        (math.tanh(math.atanh(want) - half), math.tanh(math.atanh(want) + half)), abs=1e-12)
    if method == "pearson":  # scipy's own interval is Fisher's z too
        ci = stats.pearsonr(x, y).confidence_interval(0.95)
        assert (got["ci_low"], got["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert got["significant"] == (got["ci_low"] > 0 or got["ci_high"] < 0)


def test_small_and_constant_periods_are_left_out():
    units = pl.DataFrame({"period": [1] * 5 + [2] * 9, "k": [1.0, 2, 3, 4, 5] + [1.0] * 9,
                          "o": list(range(14))}, strict=False)
    assert correlations(units, ["k"], ["o"], min_units=8).is_empty()
    assert fisher_ci(0.3, 3) != fisher_ci(0.3, 3)  # NaN: no interval for n ≤ 3


def _corr(rows):
    return pl.DataFrame([{"kpi": k, "outcome": "o", "period": p, "n": 20, "r": r,
                          "ci_low": lo, "ci_high": hi, "significant": lo > 0 or hi < 0}
                         for k, p, r, lo, hi in rows])


def test_verdicts_tracks_faded_never():
    corr = _corr([("a", 1, 0.6, 0.2, 0.8), ("a", 2, 0.5, 0.1, 0.7),     # latest significant
                  ("b", 1, 0.6, 0.2, 0.8), ("b", 2, 0.1, -0.3, 0.4),    # was, no longer
                  ("c", 1, 0.1, -0.3, 0.4), ("c", 2, 0.2, -0.2, 0.5),   # never
                  # One earlier period of three significant by chance: pooled, it is not.
                  ("e", 1, 0.5, 0.06, 0.78), ("e", 2, -0.2, -0.6, 0.3), ("e", 3, -0.1, -0.5, 0.3),
                  ("e", 4, 0.0, -0.4, 0.4)])
    v = verdicts(corr, ["a", "b", "c", "d", "e"], ["o"])
    assert v["verdict"].to_list() == ["tracks", "faded", "never tracked", "too few services",
                                      "never tracked"]
    b = v.row(1, named=True)
    assert (b["first_r"], b["earlier_r"], b["latest_r"]) == pytest.approx((0.6, 0.6, 0.1))
    # e's earlier periods pooled by hand: Fisher z weighted by n - 3 = 17 each.
    z = (math.atanh(0.5) + math.atanh(-0.2) + math.atanh(-0.1)) / 3
    assert v.row(4, named=True)["earlier_r"] == pytest.approx(math.tanh(z))
    assert abs(z) < 1.959963984540054 / math.sqrt(51)  # hence not significant


def _t(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.mark.store
def test_outcomes_of_a_hand_built_store(engine):
    failed = [0, 1, 2, 3, 1, 2]          # failed deployments of 4, per service
    after = [1, 3, 2, 5, 4, 0]           # tickets within 48 h after the first release
    low = [2, 1, 4, 3, 5, 0]             # CSAT answers scoring 2 (of 10)
    with Session(engine) as s:
        for i in range(6):
            s.add(Service(id=i + 1, name=f"s{i}", external_id=f"s{i}", team="t"))
        s.flush()
        for i in range(6):
            for j, day in enumerate((2, 9, 16, 23)):
                s.add(Deployment(service_id=i + 1, external_id=f"d{i}-{j}", environment="production",
                                 status="failed" if j < failed[i] else "success",
                                 started_at=_t(day), finished_at=_t(day)))
            for n in range(after[i]):
                s.add(Ticket(service_id=i + 1, external_id=f"t{i}-{n}", opened_at=_t(3, 12)))
            # 7 days after the last release: not "after a release".
            s.add(Ticket(service_id=i + 1, external_id=f"late{i}", opened_at=_t(30)))
            for n in range(10):
                s.add(CsatResponse(service_id=i + 1, external_id=f"r{i}-{n}", responded_at=_t(20),
                                   score=2 if n < low[i] else 5))
        s.commit()
    f = Filters(start=_t(1).date(), end=_t(31).date())
    got = kpi_outcomes(engine, f, every="month", min_units=4)
    units = got.units.sort("service")
    assert units["cfr"].to_list() == [x / 4 for x in failed]
    assert units["tickets_after_release"].to_list() == [x / 4 for x in after]
    assert units["csat_share"].to_list() == [(10 - x) / 10 for x in low]
    row = got.correlations.filter((pl.col("kpi") == "cfr") &
                                  (pl.col("outcome") == "tickets_after_release")).row(0, named=True)
    assert row["n"] == 6
    assert row["r"] == pytest.approx(stats.spearmanr(failed, after).statistic, abs=1e-12)
    csat = got.correlations.filter((pl.col("kpi") == "cfr") & (pl.col("outcome") == "csat_share"))
    assert csat["r"][0] == pytest.approx(
        stats.spearmanr(failed, [10 - x for x in low]).statistic, abs=1e-12)
    out = got.to_dict()
    assert out["units"] == 6 and out["every"] == "month"
    assert {v["kpi_key"] for v in out["verdicts"]} >= {"change_failure_rate", "mttr"}
