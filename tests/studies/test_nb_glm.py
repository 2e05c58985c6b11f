"""The numpy NB2 fits (studies.nb_glm) against statsmodels: the ML dispersion of
``NegativeBinomial``, and ``GLM`` with a fixed NB2 or Poisson family — coefficients, CRV1 and HC0
covariances, intervals, p-values — on random, near-Poisson and few-cluster data; the finite
sums of the likelihood against scipy's gamma functions."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import special, stats
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from analytics.studies.nb_glm import _count_sums, _nb2, fit_glm, nb2_alpha


def _data(n: int, k: int, groups: int, alpha: float, seed: int,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Counts with NB2 dispersion ``alpha`` (0: Poisson), a 0/1 design like the strata's and
    a log-exposure offset."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.integers(0, 2, size=(n, k - 1))]).astype(float)
    g = rng.integers(0, groups, n)
    off = rng.normal(2.0, 1.0, n)
    mu = np.exp(off + x @ np.r_[0.1, rng.normal(scale=0.3, size=k - 1)])
    lam = mu if alpha == 0 else rng.gamma(1 / alpha, alpha * mu)
    return rng.poisson(lam).astype(float), x, off, g


def _sm_glm(y, x, off, alpha, groups=None):  # noqa: ANN001, ANN202
    family = families.NegativeBinomial(alpha=alpha) if alpha > 0 else families.Poisson()
    glm = GLM(y, x, family=family, offset=off)
    if groups is None:
        return glm.fit(cov_type="HC0", tol=1e-14, maxiter=500)
    return glm.fit(cov_type="cluster", cov_kwds={"groups": groups}, tol=1e-14, maxiter=500)


@pytest.mark.parametrize(("n", "k", "groups", "alpha", "seed"), [
    (200, 3, 12, 0.5, 1), (3_000, 5, 60, 0.05, 2), (800, 4, 25, 1e-8, 3), (500, 3, 40, 0.0, 4)])
def test_glm_matches_statsmodels(n, k, groups, alpha, seed):
    y, x, off, g = _data(n, k, groups, alpha, seed)
    for grp in (g, None):
        ref, ours = _sm_glm(y, x, off, alpha, grp), fit_glm(y, x, off, alpha, grp)
        assert ours.cov_type == ("HC0" if grp is None else "cluster")
        # statsmodels' IRLS stops on a deviance change (one case here at a score of 2.5e-7,
        # ours at 6e-13): its coefficients are good to ~1e-10, so the tolerances allow that.
        np.testing.assert_allclose(ours.params, ref.params, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(ours.cov, ref.cov_params(), rtol=1e-8)
        np.testing.assert_allclose(ours.conf_int(), ref.conf_int(), rtol=1e-9, atol=1e-10)
        z = ours.params / ours.bse
        np.testing.assert_allclose(z, ref.tvalues, rtol=1e-8, atol=1e-9)
        # p-values from the same z (far tails magnify z's last digits): erfc against scipy.
        np.testing.assert_allclose(ours.pvalues(), 2 * stats.norm.sf(np.abs(z)), rtol=1e-12,
                                   atol=1e-300)


def test_glm_with_few_clusters_and_hc0():
    # 6 clusters: the study uses HC0 below 10; the CRV1 factor is still statsmodels' exactly.
    y, x, off, g = _data(300, 3, 6, 0.3, 7)
    ours, ref = fit_glm(y, x, off, 0.3, g), _sm_glm(y, x, off, 0.3, g)
    np.testing.assert_allclose(ours.cov, ref.cov_params(), rtol=1e-8)
    ours0, ref0 = fit_glm(y, x, off, 0.3), _sm_glm(y, x, off, 0.3)
    np.testing.assert_allclose(ours0.cov, ref0.cov_params(), rtol=1e-8)


def test_poisson_saturated_closed_form():
    # Two cells, no offset: β0 = log of cell A's mean, β1 = log ratio of the means; the HC0
    # variance of a cell's log mean is Σ(y − ȳ)²/(Σy)².
    y = np.array([1, 3, 2, 4, 8, 6, 9.0])
    x = np.column_stack([np.ones(7), [0, 0, 0, 1, 1, 1, 1]])
    fit = fit_glm(y, x)
    a, b = y[:3], y[3:]
    np.testing.assert_allclose(fit.params, [np.log(a.mean()), np.log(b.mean() / a.mean())],
                               rtol=1e-12)
    var_a = np.sum((a - a.mean()) ** 2) / a.sum() ** 2
    var_b = np.sum((b - b.mean()) ** 2) / b.sum() ** 2
    np.testing.assert_allclose(np.diag(fit.cov), [var_a, var_a + var_b], rtol=1e-10)


@pytest.mark.parametrize(("n", "k", "alpha", "seed"), [(400, 3, 0.8, 11), (2_000, 5, 0.1, 12),
                                                       (5_000, 3, 0.02, 13)])
def test_alpha_matches_statsmodels_newton(n, k, alpha, seed):
    # Over-dispersed data: statsmodels' own analytic score vanishes at our (β, α), its Newton
    # (in α, no step control) lands on the same maximum where it converges, and its default
    # BFGS stops near it.
    y, x, off, _ = _data(n, k, 10, alpha, seed)
    model = NegativeBinomial(y, x, offset=off)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        newton = model.fit(method="newton", tol=1e-14, maxiter=200, disp=0).params[-1]
        bfgs = model.fit(disp=0, maxiter=200).params[-1]
    ours = nb2_alpha(y, x, off)
    beta = fit_glm(y, x, off, ours).params
    model._transparams = False  # score in (β, α), not (β, ln α)
    assert np.max(np.abs(model.score(np.r_[beta, ours]))) < 1e-6
    if np.isfinite(newton):  # it diverges on seed 13
        np.testing.assert_allclose(ours, newton, rtol=1e-9)
    np.testing.assert_allclose(ours, bfgs, rtol=1e-3)


def test_alpha_is_zero_for_near_poisson_data():
    # Poisson data (under-dispersed relative to NB): the likelihood rises towards α = 0, where
    # statsmodels' BFGS stops wherever its gradient test lets it; the score at α = 0 (a plain
    # sum, computed here by a loop) is negative, so the maximum is the boundary.
    y, x, off, _ = _data(1_500, 4, 10, 0.0, 21)
    beta = fit_glm(y, x, off, 0.0).params
    score = 0.0
    for yi, xi, oi in zip(y, x, off, strict=True):
        mu = np.exp(oi + xi @ beta)
        score += (yi - mu) ** 2 - yi
    assert score < 0
    assert nb2_alpha(y, x, off) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bfgs = NegativeBinomial(y, x, offset=off).fit(disp=0, maxiter=200)
    assert bfgs.params[-1] < 1e-3  # statsmodels heads the same way
    # The exact likelihood at statsmodels' stopping point is not above the Poisson limit's.
    loglik, _ = _nb2(y, x, off)
    at_sm = loglik(np.r_[bfgs.params[:-1], np.log(max(bfgs.params[-1], 1e-300))])
    assert loglik(np.r_[beta, np.log(1e-12)]) >= at_sm - 1e-9 * abs(at_sm)


def test_count_sums_are_gamma_function_differences():
    y = np.array([0, 1, 2, 7, 40, 1_000, 8_000.0])
    for alpha in (1e-8, 0.01, 0.7, 5.0):
        lsum, s1, s2 = _count_sums(y, alpha)
        for got, term in ((lsum, lambda j: math.log1p(j * alpha)),
                          (s1, lambda j: j / (1 + j * alpha)),
                          (s2, lambda j: (j / (1 + j * alpha)) ** 2)):
            loop = [math.fsum(term(j) for j in range(int(v))) for v in y]
            np.testing.assert_allclose(got, loop, rtol=1e-11, atol=1e-300)
        if alpha < 1e-3:  # lnΓ at 1/α = 10⁸ keeps too few digits to compare with
            continue
        a = 1 / alpha
        np.testing.assert_allclose(lsum, special.gammaln(y + a) - special.gammaln(a)
                                   - y * np.log(a), rtol=1e-9, atol=1e-11)
        # Σ j/(1 + jα) = (y − a·(ψ(y + a) − ψ(a)))/α
        np.testing.assert_allclose(
            s1, (y - a * (special.digamma(y + a) - special.digamma(a))) / alpha, rtol=1e-9,
            atol=1e-11)


def test_bad_input_is_named():
    x = np.ones((3, 1))
    with pytest.raises(ValueError, match="whole numbers"):
        fit_glm(np.array([1.5, 2, 3]), x)
    with pytest.raises(ValueError, match="shapes"):
        fit_glm(np.array([1, 2.0]), x)
    with pytest.raises(ValueError, match="alpha"):
        fit_glm(np.array([1, 2, 3.0]), x, alpha=-1.0)
