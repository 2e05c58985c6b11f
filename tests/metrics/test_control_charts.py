"""p-chart / Laney p′, EWMA, STL and change points against hand arithmetic and closed forms."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from analytics.metrics.control_charts import (
    change_points,
    ewma_chart,
    p_chart,
    weekly_seasonality,
)


def _periods(n: list[int], k: list[int], group: str | None = None) -> pl.DataFrame:
    f = pl.DataFrame({"period": [date(2026, 1, 5) + timedelta(weeks=i) for i in range(len(n))],
                      "n": n, "satisfied": k})
    f = f.with_columns(csat=pl.when(pl.col("n") > 0).then(pl.col("satisfied") / pl.col("n")),
                       gap=pl.col("n") == 0)
    return f.with_columns(service=pl.lit(group)) if group else f


def test_p_chart_limits_by_hand_with_each_periods_n() -> None:
    # p̄ = (80 + 45 + 160 + 100) / (100 + 50 + 200 + 160) = 385 / 510
    f = _periods([100, 50, 200, 160], [80, 45, 160, 100])
    out = p_chart(f)
    p_bar = 385 / 510
    for row, n in zip(out.iter_rows(named=True), [100, 50, 200, 160], strict=True):
        assert row["center"] == pytest.approx(p_bar)
        assert row["ucl"] == pytest.approx(min(1, p_bar + 3 * math.sqrt(p_bar * (1 - p_bar) / n)))
        assert row["lcl"] == pytest.approx(p_bar - 3 * math.sqrt(p_bar * (1 - p_bar) / n))
    # 100/160 = 0.625 < lcl 0.755 − 3·0.0340 = 0.653 → below; the others are inside.
    assert out["signal"].to_list() == [None, None, None, "below"]
    assert out["chart"].unique().to_list() == ["p"] and out["sigma_z"].to_list() == [1.0] * 4


def test_laney_sigma_z_by_hand_and_auto_rule() -> None:
    n = [2000, 2500, 3000, 2200, 2800]
    k = [1600, 1900, 2500, 1700, 2300]
    out = p_chart(_periods(n, k))
    assert out["chart"][0] == "laney p′"  # median n 2500 ≥ 1000 → p′ by default
    p_bar = sum(k) / sum(n)
    z = [(ki / ni - p_bar) / math.sqrt(p_bar * (1 - p_bar) / ni) for ki, ni in zip(k, n, strict=True)]
    sigma_z = sum(abs(b - a) for a, b in zip(z, z[1:], strict=False)) / 4 / 1.128
    assert out["sigma_z"][0] == pytest.approx(sigma_z)
    assert out["ucl"][1] == pytest.approx(p_bar + 3 * sigma_z * math.sqrt(p_bar * (1 - p_bar) / 2500))
    plain = p_chart(_periods(n, k), laney=False)
    # Over-dispersed large-n data: the plain p-chart flags more periods than p′.
    assert plain["out_of_control"].sum() > out["out_of_control"].sum()
    assert p_chart(_periods([50, 60, 70], [40, 50, 60]))["chart"][0] == "p"


def test_gaps_stay_null_and_are_skipped_by_moving_ranges() -> None:
    f = _periods([2000, 0, 2500, 3000], [1600, 0, 1900, 2500])
    out = p_chart(f, laney=True)
    assert out["out_of_control"][1] is None and out["signal"][1] is None
    p_bar = 6000 / 7500
    z = [(k / n - p_bar) / math.sqrt(p_bar * (1 - p_bar) / n) for k, n in [(1600, 2000), (1900, 2500), (2500, 3000)]]
    assert out["sigma_z"][0] == pytest.approx((abs(z[1] - z[0]) + abs(z[2] - z[1])) / 2 / 1.128)


def test_p_chart_per_group() -> None:
    f = pl.concat([_periods([100, 100], [90, 80], "a"), _periods([100, 100], [50, 60], "b")])
    out = p_chart(f, by="service")
    assert out.filter(pl.col("service") == "a")["center"][0] == pytest.approx(0.85)
    assert out.filter(pl.col("service") == "b")["center"][0] == pytest.approx(0.55)
    with pytest.raises(ValueError, match="one row per period"):
        p_chart(f)


def test_ewma_recursion_by_hand() -> None:
    f = _periods([100, 100, 0, 100], [80, 70, 0, 90])
    out = ewma_chart(f, laney=False)
    p_bar = 240 / 300
    z1 = 0.2 * 0.8 + 0.8 * p_bar
    z2 = 0.2 * 0.7 + 0.8 * z1
    z4 = 0.2 * 0.9 + 0.8 * z2  # the gap leaves z unchanged
    assert out["ewma"].to_list() == [pytest.approx(z1), pytest.approx(z2), None, pytest.approx(z4)]
    s2 = p_bar * (1 - p_bar) / 100
    v1 = 0.04 * s2
    v2 = 0.04 * s2 + 0.64 * v1
    v4 = 0.04 * s2 + 0.64 * v2
    assert out["ucl"].to_list() == [pytest.approx(p_bar + 3 * math.sqrt(v)) if v else None for v in (v1, v2, None, v4)]
    assert out["out_of_control"][2] is None


def test_ewma_constant_n_matches_montgomery_closed_form() -> None:
    rng = np.random.default_rng(3)
    n = [400] * 30
    k = list(rng.binomial(400, 0.8, 30))
    out = ewma_chart(_periods(n, k), laney=False)
    p_bar = sum(k) / sum(n)
    sigma = math.sqrt(p_bar * (1 - p_bar) / 400)
    for t in (1, 5, 30):
        half = 3 * sigma * math.sqrt(0.2 / 1.8 * (1 - 0.8 ** (2 * t)))
        assert out["ucl"][t - 1] == pytest.approx(p_bar + half)


def test_ewma_detects_a_sustained_small_drop() -> None:
    n = [300] * 40
    k = [240] * 25 + [222] * 15  # 0.80 → 0.74, each day alone inside the p-chart limits
    assert not p_chart(_periods(n, k), laney=False)["out_of_control"].any()
    out = ewma_chart(_periods(n, k), laney=False)
    assert out["signal"].to_list()[:25] == [None] * 25 and out["signal"][-1] == "below"


def test_seasonality_recovers_planted_weekday_pattern() -> None:
    days = 12 * 7
    pattern = np.array([-0.04, -0.02, 0.0, 0.01, 0.02, 0.03, 0.0])
    rng = np.random.default_rng(5)
    y = 0.8 + np.tile(pattern, days // 7) + rng.normal(0, 0.003, days)
    start = date(2026, 1, 5)  # a Monday: weekday 1 gets pattern[0]
    f = pl.DataFrame({"period": [start + timedelta(days=i) for i in range(days)], "csat": y})
    f = f.with_columns(csat=pl.when(pl.int_range(pl.len()) == 20).then(None).otherwise(pl.col("csat")))
    res = weekly_seasonality(f)
    assert res.by_weekday["seasonal"].to_numpy() == pytest.approx(pattern - pattern.mean(), abs=0.004)
    assert res.strength > 0.9
    gap = res.components.row(20, named=True)
    assert gap["csat"] is None and gap["resid"] is None and gap["gap"] is True
    with pytest.raises(ValueError, match="STL needs at least 14 observed days, got 10"):
        weekly_seasonality(f.head(10))


@pytest.mark.parametrize(("values", "expected"), [
    ([0.9, 0.91, 0.89, 0.9, 0.7, 0.71, 0.69, 0.7], [4]),
    ([0.80, 0.81, 0.79, 0.80, 0.81, 0.60, 0.61, 0.59, 0.60, 0.85, 0.84, 0.86, 0.85], [5, 9]),
    ([0.8, 0.81, 0.79, 0.8, 0.81, 0.79, 0.8, 0.8], []),
])
def test_change_points_find_planted_steps(values: list[float], expected: list[int]) -> None:
    f = pl.DataFrame({"period": range(len(values)), "csat": values})
    out = change_points(f)
    assert out["period"].to_list() == expected
    for row in out.iter_rows(named=True):
        i = row["period"]
        nxt = next((e for e in expected if e > i), len(values))
        assert row["mean_after"] == pytest.approx(np.mean(values[i:nxt]))
        assert row["shift"] == pytest.approx(row["mean_after"] - row["mean_before"])


def test_change_points_skip_gaps_and_need_data() -> None:
    f = pl.DataFrame({"period": range(9), "csat": [0.9, 0.91, 0.89, None, 0.9, 0.7, 0.71, 0.69, 0.7]})
    assert change_points(f)["period"].to_list() == [5]
    with pytest.raises(ValueError, match="csat: need at least 4 observed periods, got 3"):
        change_points(f.head(4))
