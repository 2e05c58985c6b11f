"""Before/after validation (issue 18 point 4): segmented regression and difference-in-differences
recover known effects; coefficients agree with a hand-built least-squares fit (numpy lstsq)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from analytics.studies.intervention import (difference_in_differences, newey_west_lags,
                                            power_to_detect, segmented_regression, verdict)


def _step_series(seed: int, n: int = 60, t0: int = 30, step: float = -1.5, noise: float = 0.4):
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=float)
    return 5.0 + 0.02 * t + step * (t >= t0) + rng.normal(0, noise, n)


def test_segmented_regression_matches_lstsq_by_hand():
    y = _step_series(1)
    n, t0 = y.size, 30
    # The design written out by hand, independently of its_design.
    x = np.array([[1.0, t, 1.0 if t >= t0 else 0.0, (t - t0) if t >= t0 else 0.0] for t in range(n)])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    fit = segmented_regression(y, t0, season=52)  # 60 < 2·52: no season term
    assert not fit.effect.seasonality
    assert [fit.params[k] for k in ("const", "time", "post", "time_since")] == pytest.approx(beta, abs=1e-9)
    assert fit.effect.estimate == pytest.approx(beta[2], abs=1e-9)
    assert fit.effect.baseline == pytest.approx(beta[0] + beta[1] * t0, abs=1e-9)
    assert fit.effect.ci_low < -1.5 < fit.effect.ci_high
    assert fit.effect.significant
    assert fit.effect.errors == f"HAC (Newey–West, {newey_west_lags(60)} lags)"
    # The 95% interval is estimate ± z·se.
    assert fit.effect.ci_high - fit.effect.estimate == pytest.approx(norm.ppf(0.975) * fit.effect.se)


def test_noise_free_step_with_season_is_recovered_exactly():
    n, t0, season = 48, 26, 8
    t = np.arange(n, dtype=float)
    y = 2.0 + 0.1 * t + 3.0 * (t >= t0) + 1.2 * np.sin(2 * np.pi * t / season)
    fit = segmented_regression(y, t0, season=season)
    assert fit.effect.seasonality
    assert fit.effect.estimate == pytest.approx(3.0, abs=1e-8)
    assert fit.effect.slope_change == pytest.approx(0.0, abs=1e-8)
    assert fit.fitted == pytest.approx(y, abs=1e-8)
    # The counterfactual carries the pre-change line on: 3 below the data after the change.
    assert (y - fit.counterfactual)[t0:] == pytest.approx(np.full(n - t0, 3.0), abs=1e-8)


def test_segmented_regression_refuses_too_short_a_side():
    with pytest.raises(ValueError, match="at least 2 periods on each side"):
        segmented_regression([1.0, 2.0, 3.0, 4.0], 1)


def _panel(seed: int, effect: float, units: int = 20, periods: int = 24, t0: int = 12):
    rng = np.random.default_rng(seed)
    rows = []
    unit_fe = rng.normal(10, 2, units)
    period_fe = rng.normal(0, 1, periods)
    for u in range(units):
        for p in range(periods):
            treated, post = u < units // 4, p >= t0
            rows.append({"unit": f"s{u}", "period": p, "treated": treated, "post": post,
                         "y": unit_fe[u] + period_fe[p] + effect * (treated and post)
                         + rng.normal(0, 0.5)})
    return pl.DataFrame(rows)


def test_did_equals_the_difference_of_four_means_on_a_balanced_panel():
    panel = _panel(3, effect=-2.0)
    m = {(tr, po): panel.filter((pl.col("treated") == tr) & (pl.col("post") == po))["y"].mean()
         for tr in (True, False) for po in (True, False)}
    by_hand = (m[True, True] - m[True, False]) - (m[False, True] - m[False, False])
    eff = difference_in_differences(panel)
    assert eff.estimate == pytest.approx(by_hand, abs=1e-9)
    assert eff.ci_low < -2.0 < eff.ci_high and eff.significant
    assert eff.units == 20 and eff.errors == "cluster-robust by service (20 clusters)"
    assert eff.baseline == pytest.approx(m[True, True] - eff.estimate)
    assert eff.relative == pytest.approx(eff.estimate / eff.baseline)


def test_did_with_no_effect_is_not_significant_and_reports_its_power():
    eff = difference_in_differences(_panel(4, effect=0.0))
    assert not eff.significant and eff.ci_low < 0 < eff.ci_high
    expected = -0.5  # halving a level near 10 is far above the noise: power ≈ 1
    assert eff.power(expected) == pytest.approx(power_to_detect(expected * eff.baseline, eff.se))
    assert eff.power(expected) > 0.99
    assert "no detectable change" in verdict(eff, kpi="y", expected_relative=expected)


def test_did_needs_all_four_groups():
    panel = _panel(5, effect=1.0).filter(~pl.col("treated"))
    with pytest.raises(ValueError, match="all four groups"):
        difference_in_differences(panel)


@pytest.mark.parametrize("effect, se, expected", [
    (0.0, 1.0, 0.05),
    (1.959963984540054, 1.0, 0.5 + norm.cdf(-2 * 1.959963984540054)),
    (-3.0, 0.5, norm.cdf(6 - 1.959963984540054) + norm.cdf(-6 - 1.959963984540054)),
])
def test_power_is_the_two_sided_normal_formula(effect, se, expected):
    assert power_to_detect(effect, se) == pytest.approx(expected, abs=1e-9)


def test_power_agrees_with_simulation():
    """Analytic power against the share of 4,000 simulated z-tests that reject."""
    rng = np.random.default_rng(11)
    est = rng.normal(0.7, 0.3, 4000)
    share = float(np.mean(np.abs(est / 0.3) > norm.ppf(0.975)))
    assert power_to_detect(0.7, 0.3) == pytest.approx(share, abs=0.025)
    assert math.isclose(power_to_detect(0.7, 0.3), 0.6468, abs_tol=0.002)


def test_did_matches_the_full_dummy_regression_in_statsmodels():
    """The within (FWL) fit gives the same δ and clustered SE as OLS with every dummy."""
    import statsmodels.api as sm

    panel = _panel(6, effect=0.7).filter(pl.int_range(pl.len()) % 7 != 3)  # unbalanced
    eff = difference_in_differences(panel)
    units = panel["unit"].to_numpy()
    u_idx = np.unique(units, return_inverse=True)[1]
    p_idx = np.unique(panel["period"].to_numpy(), return_inverse=True)[1]
    d = (panel["treated"] & panel["post"]).cast(pl.Float64).to_numpy()
    x = np.column_stack([d, np.eye(u_idx.max() + 1)[u_idx], np.eye(p_idx.max() + 1)[p_idx][:, 1:]])
    full = sm.OLS(panel["y"].to_numpy(), x).fit(cov_type="cluster", cov_kwds={"groups": u_idx})
    assert eff.estimate == pytest.approx(full.params[0], abs=1e-9)
    assert eff.se == pytest.approx(full.bse[0], rel=1e-9)
    assert (eff.ci_low, eff.ci_high) == pytest.approx(tuple(full.conf_int()[0]), rel=1e-9)
    assert eff.p_value == pytest.approx(full.pvalues[0], rel=1e-6)


@pytest.mark.parametrize(("units", "weeks", "seed"), [(6, 8, 1), (40, 30, 2), (200, 53, 3)])
def test_first_coefficient_equals_statsmodels_cluster_fit(units, weeks, seed):
    """The normal-equations shortcut gives statsmodels' OLS coefficient and cluster-robust
    standard error (with its small-sample correction) on an unbalanced within-demeaned panel."""
    import numpy as np
    import statsmodels.api as sm

    from analytics.studies.intervention import _first_coefficient, _within

    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), weeks)
    week = np.tile(np.arange(weeks), units)
    keep = rng.random(unit.size) > 0.15  # missing weeks: an unbalanced panel
    unit, week = unit[keep], week[keep]
    d = ((unit % 3 == 0) & (week >= weeks // 2)).astype(float)
    x = _within(np.column_stack([d, np.eye(weeks)[week][:, 1:]]), unit, units)
    y = _within(rng.normal(size=unit.size) + 0.4 * d + 0.1 * week, unit, units)
    fit = sm.OLS(y, x, hasconst=False).fit(method="qr", cov_type="cluster",
                                           cov_kwds={"groups": unit})
    est, se = _first_coefficient(y, x, unit, units)
    assert est == pytest.approx(float(fit.params[0]), rel=1e-9)
    assert se == pytest.approx(float(fit.bse[0]), rel=1e-9)
