"""The Newton logit (studies.logit) against statsmodels' GLM Binomial: coefficients, CRV1 and HC0
covariances, intervals; and the closed form of a saturated 2×2 design."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm

from analytics.studies.logit import fit_logit


def _data(n: int, k: int, groups: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, k - 1))])
    g = rng.integers(0, groups, n)
    eta = x @ rng.normal(scale=0.5, size=k) + rng.normal(size=groups)[g]
    return (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float), x, g


@pytest.mark.parametrize(("n", "k", "groups", "seed"), [(300, 3, 12, 1), (5_000, 6, 40, 2),
                                                          (50_000, 9, 300, 3)])
def test_matches_statsmodels(n, k, groups, seed):
    y, x, g = _data(n, k, groups, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.GLM(y, x, family=sm.families.Binomial()).fit(cov_type="cluster",
                                                               cov_kwds={"groups": g})
        ref0 = sm.GLM(y, x, family=sm.families.Binomial()).fit(cov_type="HC0")
    ours, ours0 = fit_logit(y, x, g), fit_logit(y, x)
    assert ours.cov_type == "cluster" and ours0.cov_type == "HC0"
    np.testing.assert_allclose(ours.params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(ours.cov, ref.cov_params(), rtol=1e-7)
    np.testing.assert_allclose(ours0.cov, ref0.cov_params(), rtol=1e-7)
    np.testing.assert_allclose(ours.conf_int(), ref.conf_int(), rtol=1e-8, atol=1e-12)


def test_saturated_two_by_two_is_the_log_odds():
    # 3 of 10 fail in group A, 6 of 8 in group B: β0 = log(3/7), β1 = log(6/2) − log(3/7).
    y = np.array([1] * 3 + [0] * 7 + [1] * 6 + [0] * 2, dtype=float)
    x = np.column_stack([np.ones(18), [0] * 10 + [1] * 8])
    fit = fit_logit(y, x)
    np.testing.assert_allclose(fit.params, [np.log(3 / 7), np.log(3) - np.log(3 / 7)], rtol=1e-10)
    # HC0 of a saturated logit equals the model-based variance 1/(n p (1-p)) per cell.
    var_a = 1 / (10 * 0.3 * 0.7)
    np.testing.assert_allclose(fit.cov[0, 0], var_a, rtol=1e-10)
    np.testing.assert_allclose(fit.cov[1, 1], var_a + 1 / (8 * 0.75 * 0.25), rtol=1e-10)


def test_nearly_separated_design_stays_finite():
    # One column nearly separates the outcome: the likelihood has its maximum far out; the
    # step halving keeps every iterate finite and the likelihood never decreases.
    rng = np.random.default_rng(5)
    z = rng.normal(size=400)
    y = (z > 0).astype(float)
    y[:3] = 1 - y[:3]
    fit = fit_logit(y, np.column_stack([np.ones(400), z]))
    assert np.all(np.isfinite(fit.params)) and fit.params[1] > 5
