"""A/B/n maths against REFERENCE §4 (GrowthBook's test values), hand arithmetic and scipy/statsmodels."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from analytics.studies.experiments import (
    Arm,
    analyse,
    benjamini_hochberg,
    compare,
    factorial_2x2,
    minimum_detectable_effect,
    sample_size,
    srm_check,
    summarise,
    welch_dof,
)

MEANS = pl.DataFrame({"variant": ["A", "B"], "n": [3407, 3461], "sum": [1396.87, 2422.7],
                      "sum_squares": [52377.9767, 134698.29]})
PROPS = pl.DataFrame({"variant": ["A", "B"], "n": [28, 30], "sum": [14, 16], "sum_squares": [14, 16]})


def test_reference_means_match_growthbook_to_4_decimals() -> None:
    row = analyse(MEANS, "mean").variants.row(1, named=True)
    assert row["abs_lift"] == pytest.approx(0.29, abs=5e-5)
    assert row["abs_ci_low"] == pytest.approx(0.04538, abs=5e-5)
    assert row["abs_ci_high"] == pytest.approx(0.53462, abs=5e-5)
    assert row["p_value"] == pytest.approx(0.02016, abs=5e-5)


def test_reference_proportions_match_growthbook_to_4_decimals() -> None:
    row = analyse(PROPS, "proportion").variants.row(1, named=True)
    assert row["rel_lift"] == pytest.approx(0.06667, abs=5e-5)
    assert row["rel_ci_low"] == pytest.approx(-0.47767, abs=5e-5)
    assert row["rel_ci_high"] == pytest.approx(0.61101, abs=5e-5)
    assert row["rel_p_value"] == pytest.approx(0.80707, abs=5e-5)


def test_reference_srm() -> None:
    srm = srm_check({"A": 1000, "B": 1100})
    assert srm.p_value == pytest.approx(0.029096, abs=5e-7)
    assert srm.chi2 == pytest.approx(2 * 50 ** 2 / 1050)  # (1000-1050)²/1050 + (1100-1050)²/1050
    assert not srm.alarm


def test_pooled_dof_would_miss_the_reference() -> None:
    # Why Welch dof: with n_a + n_b − 2 dof the proportion CI's 4th decimal is off (−0.4776 not −0.4777).
    a, b = Arm.from_sums("A", 28, 14, 14, "proportion"), Arm.from_sums("B", 30, 16, 16, "proportion")
    c = compare(a, b)
    se = (c.rel_ci[1] - c.rel_ci[0]) / 2 / stats.t.ppf(0.975, welch_dof(a, b))
    pooled_low = c.rel_lift - stats.t.ppf(0.975, 56) * se
    assert round(pooled_low, 4) != round(-0.47767, 4)
    assert round(c.rel_ci[0], 4) == round(-0.47767, 4)


@pytest.mark.parametrize(("ka", "na", "kb", "nb"), [(14, 28, 16, 30), (40, 100, 55, 100), (5, 50, 1, 60)])
def test_proportions_by_hand(ka: int, na: int, kb: int, nb: int) -> None:
    pa, pb = ka / na, kb / nb
    va, vb = pa * (1 - pa), pb * (1 - pb)
    se_abs = math.sqrt(va / na + vb / nb)
    dof = (va / na + vb / nb) ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    q = stats.t.ppf(0.975, dof)
    rel = pb / pa - 1
    se_rel = math.sqrt(vb / (nb * pa ** 2) + va * pb ** 2 / (na * pa ** 4))
    frame = pl.DataFrame({"variant": ["a", "b"], "n": [na, nb], "sum": [ka, kb], "sum_squares": [ka, kb]})
    row = analyse(frame, "proportion").variants.row(1, named=True)
    assert row["abs_lift"] == pytest.approx(pb - pa)
    assert row["abs_ci_low"] == pytest.approx(pb - pa - q * se_abs)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(pb - pa) / se_abs, dof))
    assert row["rel_lift"] == pytest.approx(rel)
    assert row["rel_ci_high"] == pytest.approx(rel + q * se_rel)
    assert row["chance_to_win"] == pytest.approx(stats.norm.cdf(rel / se_rel))


def test_hand_computed_proportion_40_of_100_vs_50_of_100() -> None:
    # p̂ 0.4 vs 0.5: se = sqrt(.24/100 + .25/100) = 0.07; dof = .0049² / ((.0024² + .0025²)/99) = 197.92
    row = analyse(pl.DataFrame({"variant": ["a", "b"], "n": [100, 100], "sum": [40, 50],
                                "sum_squares": [40, 50]}), "proportion").variants.row(1, named=True)
    assert row["abs_lift"] == pytest.approx(0.1)
    assert row["abs_ci_high"] - row["abs_lift"] == pytest.approx(stats.t.ppf(0.975, 197.92) * 0.07, rel=1e-4)
    assert row["rel_lift"] == pytest.approx(0.25)


def test_per_unit_rows_match_scipy_welch() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(10, 2, 40), rng.normal(11, 3, 55)
    frame = pl.DataFrame({"variant": ["a"] * 40 + ["b"] * 55, "value": np.concatenate([a, b])})
    row = analyse(frame).variants.row(1, named=True)
    ref = stats.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert row["p_value"] == pytest.approx(ref.pvalue)
    assert (row["abs_ci_low"], row["abs_ci_high"]) == pytest.approx((ci.low, ci.high))
    assert row["mean"] == pytest.approx(b.mean())


def test_summaries_and_units_agree() -> None:
    units = pl.DataFrame({"variant": ["x", "x", "x", "y", "y"], "value": [1.0, 2.0, 4.0, 3.0, 5.0]})
    s = summarise(units)
    assert s.to_dicts() == [{"variant": "x", "n": 3, "sum": 7.0, "sum_squares": 21.0},
                            {"variant": "y", "n": 2, "sum": 8.0, "sum_squares": 34.0}]
    assert analyse(units).variants.equals(analyse(s).variants)


def test_bayesian_risk_is_expected_loss() -> None:
    # Monte-Carlo check of E[max(0, −lift)] for the posterior N(rel, se_rel²).
    row = analyse(PROPS, "proportion").variants.row(1, named=True)
    mu = row["rel_lift"]
    se = (row["rel_ci_high"] - row["rel_ci_low"]) / 2 / stats.t.ppf(0.975, compare(
        Arm.from_sums("A", 28, 14, 14, "proportion"), Arm.from_sums("B", 30, 16, 16, "proportion")).dof)
    draws = np.random.default_rng(1).normal(mu, se, 400_000)
    assert row["risk"] == pytest.approx(np.maximum(0, -draws).mean(), abs=2e-3)
    assert row["risk_control"] == pytest.approx(np.maximum(0, draws).mean(), abs=2e-3)
    assert row["chance_to_win"] == pytest.approx((draws > 0).mean(), abs=3e-3)


def test_abn_control_choice_and_control_row() -> None:
    frame = pl.DataFrame({"variant": ["b", "control", "c"], "n": [10, 10, 10], "sum": [5.0, 4.0, 3.0],
                          "sum_squares": [5.0, 4.0, 3.0]})
    res = analyse(frame)
    assert res.control == "control"
    control_row = res.variants.filter(pl.col("variant") == "control").row(0, named=True)
    assert control_row["abs_lift"] is None and control_row["mean"] == pytest.approx(0.4)
    assert analyse(frame, control="c").variants.filter(pl.col("variant") == "b")["abs_lift"][0] == pytest.approx(0.2)


def test_zero_control_mean_gives_null_relative_lift() -> None:
    frame = pl.DataFrame({"variant": ["a", "b"], "n": [10, 10], "sum": [0, 3], "sum_squares": [0, 3]})
    row = analyse(frame, "proportion").variants.row(1, named=True)
    assert row["rel_lift"] is None and row["abs_lift"] == pytest.approx(0.3)


@pytest.mark.parametrize(("frame", "kwargs", "message"), [
    (pl.DataFrame({"variant": ["a"], "value": [1.0]}), {}, "variant: need at least two"),
    (pl.DataFrame({"group": ["a"], "value": [1.0]}), {}, "need variant, n, sum"),
    (PROPS, {"control": "Z"}, "control 'Z' is not a variant"),
    (PROPS, {"metric_type": "ratio"}, "metric_type must be one of"),
    (pl.DataFrame({"variant": ["a", "b"], "value": [2.0, 1.0]}), {"metric_type": "proportion"}, "0/1"),
    (pl.DataFrame({"variant": ["a", "b"], "n": [5, 1], "sum": [1, 1], "sum_squares": [1, 1]}), {},
     "n must be at least 2"),
    (pl.DataFrame({"variant": ["a", "b"], "n": [5, 5], "sum": [9, 1], "sum_squares": [9, 1]}),
     {"metric_type": "proportion"}, "successes 9.0 outside"),
])
def test_bad_input_names_the_field(frame: pl.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analyse(frame, **kwargs)


@pytest.mark.parametrize(("counts", "planned", "expected_p", "alarm"), [
    ({"A": 1000, "B": 1100}, None, 0.029096, False),
    ({"A": 1000, "B": 1100}, {"A": 0.5, "B": 0.5}, 0.029096, False),
    ({"A": 500, "B": 600, "C": 520}, None, None, False),
    ({"A": 5000, "B": 5400}, None, None, True),
    ({"A": 2000, "B": 1000}, {"A": 2, "B": 1}, 1.0, False),
])
def test_srm_against_scipy(counts: dict, planned: dict | None, expected_p: float | None, alarm: bool) -> None:
    obs = np.array(list(counts.values()))
    shares = np.array([planned[k] for k in counts]) if planned else np.ones(len(obs))
    ref = stats.chisquare(obs, obs.sum() * shares / shares.sum()).pvalue
    res = srm_check(counts, planned)
    assert res.p_value == pytest.approx(ref)
    if expected_p is not None:
        assert res.p_value == pytest.approx(expected_p, abs=5e-7)
    assert res.alarm is alarm


def test_srm_planned_split_must_cover_variants() -> None:
    with pytest.raises(ValueError, match="no share for variant"):
        srm_check({"A": 1, "B": 2}, {"A": 1.0})


@pytest.mark.parametrize("p", [[0.01, 0.04, 0.03, 0.5], [0.2], [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074,
                                                                0.205, 0.212, 0.216], [0.5, 0.5, 0.01]])
def test_benjamini_hochberg_matches_statsmodels(p: list[float]) -> None:
    assert benjamini_hochberg(p) == pytest.approx(list(multipletests(p, method="fdr_bh")[1]))


def test_benjamini_hochberg_by_hand() -> None:
    # sorted 0.01, 0.03, 0.04 → ×3/1, ×3/2, ×3/3 = 0.03, 0.045, 0.04 → step-up min from the top: 0.03, 0.04, 0.04
    assert benjamini_hochberg([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.04, 0.04])
    with pytest.raises(ValueError, match="p_values"):
        benjamini_hochberg([0.5, 1.5])


def _factorial_frame() -> pl.DataFrame:
    cells = {("old", "no"): [10, 12, 11], ("old", "yes"): [13, 15, 14, 14],
             ("new", "no"): [12, 14], ("new", "yes"): [20, 22, 21]}
    rows = [(a, b, v) for (a, b), vals in cells.items() for v in vals]
    return pl.DataFrame(rows, schema=["ui", "email", "value"], orient="row")


def test_factorial_effects_from_cell_means() -> None:
    res = factorial_2x2(_factorial_frame(), "ui", "email")
    # cell means: old/no 11, old/yes 14, new/no 13, new/yes 21 (levels sorted: new < old, no < yes)
    m = {("new", "no"): 13, ("new", "yes"): 21, ("old", "no"): 11, ("old", "yes"): 14}
    est = dict(zip(res.effects["term"], res.effects["estimate"], strict=True))
    assert est["grand mean"] == pytest.approx(sum(m.values()) / 4)
    assert est["ui"] == pytest.approx(((m["old", "no"] - m["new", "no"]) + (m["old", "yes"] - m["new", "yes"])) / 2)
    assert est["email"] == pytest.approx(((m["new", "yes"] - m["new", "no"]) + (m["old", "yes"] - m["old", "no"])) / 2)
    assert est["ui:email"] == pytest.approx((m["old", "yes"] - m["old", "no"]) - (m["new", "yes"] - m["new", "no"]))
    assert res.cells["mean"].to_list() == pytest.approx([13, 21, 11, 14])


def test_factorial_interaction_p_value_matches_statsmodels_formula() -> None:
    import statsmodels.formula.api as smf

    frame = _factorial_frame()
    ref = smf.ols("value ~ C(ui, Sum) * C(email, Sum)", data=frame.to_pandas()).fit()
    res = factorial_2x2(frame, "ui", "email")
    assert res.effects.filter(pl.col("term") == "ui:email")["p_value"][0] == pytest.approx(ref.pvalues.iloc[3])
    # Sum coding uses ±1, so its interaction coefficient is a quarter of the difference of differences.
    assert res.effects["estimate"][3] == pytest.approx(4 * ref.params.iloc[3])


def test_factorial_rejects_three_levels() -> None:
    frame = _factorial_frame().with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("beta"))
                                            .otherwise(pl.col("ui")).alias("ui"))
    with pytest.raises(ValueError, match="ui: a 2×2 design needs exactly two levels"):
        factorial_2x2(frame, "ui", "email")


@pytest.mark.parametrize(("p1", "p2", "ratio"), [(0.10, 0.15, 1.0), (0.30, 0.33, 1.0), (0.5, 0.45, 2.0)])
def test_sample_size_proportions_match_statsmodels(p1: float, p2: float, ratio: float) -> None:
    h = proportion_effectsize(p2, p1)
    ref = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=ratio)
    assert sample_size(p1, p2 - p1, ratio=ratio) == math.ceil(ref)


def test_reference_power_example_about_680_per_group() -> None:
    # REFERENCE §4: 10% → 15% failure rate needs ≈680 per group.
    assert 675 <= sample_size(0.10, 0.05) <= 690
    assert sample_size(0.10, 0.5, relative=True) == sample_size(0.10, 0.05)


def test_sample_size_means_by_hand() -> None:
    # (1.959964 + 0.841621)² × 2 / (0.5 / 2)² = 7.848866 × 32 = 251.16 → 252
    assert sample_size(10.0, 0.5, metric_type="mean", sd=2.0) == 252


@pytest.mark.parametrize(("n", "baseline"), [(681, 0.10), (5000, 0.42), (120, 0.8)])
def test_mde_inverts_sample_size(n: int, baseline: float) -> None:
    mde = minimum_detectable_effect(n, baseline)
    h = proportion_effectsize(baseline + mde, baseline)
    assert NormalIndPower().power(effect_size=h, nobs1=n, alpha=0.05, ratio=1.0) == pytest.approx(0.8, abs=1e-6)


def test_mde_means_and_errors() -> None:
    assert minimum_detectable_effect(252, 10.0, metric_type="mean", sd=2.0) == pytest.approx(
        2.801585 * 2.0 * math.sqrt(2 / 252), rel=1e-5)
    with pytest.raises(ValueError, match="sd"):
        minimum_detectable_effect(100, 1.0, metric_type="mean")
    with pytest.raises(ValueError, match="alpha and power"):
        sample_size(0.1, 0.05, power=1.2)
