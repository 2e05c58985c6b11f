"""Negative-binomial (NB2) count regression with a log link, in numpy, for the release strata.

statsmodels is the reference (tests compare the two): its ``NegativeBinomial`` ML fit for the
dispersion ``alpha`` and its ``GLM`` with ``families.NegativeBinomial(alpha)`` and cluster-robust
covariance. Importing them pulls in scipy.stats, pandas and patsy, which cost a report more CPU
than the fits on a few thousand strata; the formulas needed are short.

Counts are whole numbers, so the gamma-function terms of the NB2 likelihood are finite sums:
lnΓ(y + 1/α) − lnΓ(1/α) − y·ln(1/α) = Σ_{j<y} ln(1 + jα), and likewise its α-derivatives. One
running sum over j = 0 … max(y) serves every stratum (α is shared), and the form stays exact as
α → 0, where differences of lnΓ at 1/α ≈ 10⁸ lose most of their digits.

Where statsmodels stops its BFGS on a gradient tolerance (so its ``alpha`` is good to a few
digits, and near α = 0 wanders wherever the flat likelihood left it), Newton here runs to the
maximum. When the likelihood is highest at the Poisson limit (its score in α at α = 0,
½·Σ[(y − μ)² − y], is ≤ 0), the estimate is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytics.studies.logit import sandwich

Z95 = 1.959963984540054  # standard normal 97.5 % quantile, as statsmodels' conf_int
MIN_ALPHA = 1e-10  # below this the NB2 likelihood is the Poisson one to ~1e-10 per count


@dataclass(frozen=True)
class CountFit:
    """Coefficients of a count GLM and their covariance (``cov_type``: cluster or HC0)."""

    params: np.ndarray
    cov: np.ndarray
    cov_type: str

    @property
    def bse(self) -> np.ndarray:
        """Standard errors."""
        return np.sqrt(np.diag(self.cov))

    def conf_int(self, z: float = Z95) -> np.ndarray:
        """Normal (Wald) 95 % intervals per coefficient, as statsmodels' ``conf_int``."""
        se = self.bse
        return np.column_stack([self.params - z * se, self.params + z * se])

    def pvalues(self) -> np.ndarray:
        """Two-sided normal p-values of the coefficients: 2·Φ(−|z|) = erfc(|z|/√2)."""
        z = np.abs(self.params / self.bse)
        return np.array([math.erfc(v / math.sqrt(2.0)) for v in z])


def _check(y: np.ndarray, x: np.ndarray, offset: np.ndarray | None,
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    off = np.zeros(y.size) if offset is None else np.asarray(offset, dtype=float)
    if y.ndim != 1 or x.ndim != 2 or x.shape[0] != y.size or off.shape != y.shape:
        raise ValueError(f"shapes do not fit: y {y.shape}, x {x.shape}, offset {off.shape}")
    if np.any(y < 0) or np.any(y != np.round(y)):
        raise ValueError("counts must be whole numbers ≥ 0")
    return y, x, off


def _newton(theta: np.ndarray, loglik, derivs, tol: float, max_iter: int,
            ) -> np.ndarray:
    """Maximise ``loglik(theta)`` by Newton steps (``derivs`` → gradient, Hessian), halving a
    step that would lower it; stop when the step is below ``tol`` × (1 + largest |θ|)."""
    ll = loglik(theta)
    for _ in range(max_iter):
        grad, hess = derivs(theta)
        step = np.linalg.lstsq(-hess, grad, rcond=None)[0]
        if grad @ step <= 0:  # Hessian not negative definite here: go uphill instead
            step = grad / max(np.max(np.abs(np.diag(hess))), 1.0)
        size = 1.0
        while True:
            new = theta + size * step
            new_ll = loglik(new)
            if new_ll >= ll - 1e-13 * abs(ll) or size < 1e-10:
                break
            size /= 2
        theta, ll = new, new_ll
        if np.max(np.abs(size * step)) < tol * (1.0 + np.max(np.abs(theta))):
            break
    return theta


def _glm_derivs(y: np.ndarray, x: np.ndarray, off: np.ndarray, alpha: float):
    """Log-likelihood in β (up to terms free of β), its gradient and observed Hessian."""

    def loglik(beta: np.ndarray) -> float:
        eta = off + x @ beta
        mu = np.exp(eta)
        if alpha == 0:
            return float(np.sum(y * eta - mu))
        return float(np.sum(y * eta - (y + 1.0 / alpha) * np.log1p(alpha * mu)))

    def derivs(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu = np.exp(off + x @ beta)
        d1, d2 = _eta_derivs(y, mu, alpha)
        return x.T @ d1, -(x * d2[:, None]).T @ x

    return loglik, derivs


def _eta_derivs(y: np.ndarray, mu: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """dℓ/dη = (y − μ)/(1 + αμ) and −d²ℓ/dη² = μ(1 + αy)/(1 + αμ)² per observation."""
    one = 1.0 + alpha * mu
    return (y - mu) / one, mu * (1.0 + alpha * y) / (one * one)


def fit_glm(y: np.ndarray, x: np.ndarray, offset: np.ndarray | None = None, alpha: float = 0.0,
            groups: np.ndarray | None = None, *, tol: float = 1e-12, max_iter: int = 100,
            ) -> CountFit:
    """Maximum-likelihood log-link GLM of counts ``y`` on ``x`` (N × K) with a fixed NB2
    dispersion ``alpha`` (0 = Poisson), as statsmodels' ``GLM(y, x, family, offset)``.

    Covariance: sandwich with the observed Hessian as bread (statsmodels' default for GLM),
    clustered by ``groups`` with the CRV1 factor G/(G−1)·(N−1)/(N−K), else HC0.

    >>> x = np.column_stack([np.ones(4), [0, 0, 1, 1]])
    >>> [round(float(b), 6) for b in fit_glm(np.array([1, 3, 4, 8.0]), x).params]  # log 2, log 3
    [0.693147, 1.098612]
    """
    y, x, off = _check(y, x, offset)
    if not alpha >= 0:
        raise ValueError(f"alpha must be ≥ 0, got {alpha}")
    loglik, derivs = _glm_derivs(y, x, off, alpha)
    # Start from least squares on log counts: near the answer, whatever the counts' scale.
    start = np.linalg.lstsq(x, np.log(y + 0.5) - off, rcond=None)[0]
    beta = _newton(start, loglik, derivs, tol, max_iter)
    mu = np.exp(off + x @ beta)
    d1, d2 = _eta_derivs(y, mu, alpha)
    bread = np.linalg.inv((x * d2[:, None]).T @ x)
    cov, cov_type = sandwich(bread, x * d1[:, None], groups)
    return CountFit(beta, cov, cov_type)


def _count_sums(y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per observation Σ_{j<y} ln(1 + jα), Σ j/(1 + jα) and Σ j²/(1 + jα)² (running sums over
    j, read at each count)."""
    j = np.arange(int(y.max()) if y.size else 0, dtype=float)
    one = 1.0 + alpha * j
    at = y.astype(np.int64)
    out = []
    for term in (np.log1p(alpha * j), j / one, (j / one) ** 2):
        run = np.concatenate([[0.0], np.cumsum(term)])
        out.append(run[at])
    return out[0], out[1], out[2]


def _nb2(y: np.ndarray, x: np.ndarray, off: np.ndarray):
    """NB2 log-likelihood in θ = (β, ln α) (up to terms free of θ), gradient and Hessian."""

    def parts(theta: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        mu = np.exp(off + x @ theta[:-1])
        return mu, float(np.exp(theta[-1])), off + x @ theta[:-1]

    def loglik(theta: np.ndarray) -> float:
        mu, alpha, eta = parts(theta)
        lsum = _count_sums(y, alpha)[0]
        return float(np.sum(lsum + y * eta - (y + 1.0 / alpha) * np.log1p(alpha * mu)))

    def derivs(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, alpha, _ = parts(theta)
        _, s1, s2 = _count_sums(y, alpha)
        xm = alpha * mu
        one = 1.0 + xm
        d1, d2 = _eta_derivs(y, mu, alpha)
        # d/dα of −(y + 1/α)·ln(1 + αμ), written so the 1/α² terms cancel stably.
        l1 = np.log1p(xm)
        g_a = s1 - y * mu / one + (l1 - xm / one) / alpha ** 2
        h_aa = (-s2 + y * mu * mu / (one * one)
                + (2.0 * xm / one + (xm / one) ** 2 - 2.0 * l1) / alpha ** 3)
        k = x.shape[1]
        grad = np.concatenate([x.T @ d1, [alpha * g_a.sum()]])
        hess = np.empty((k + 1, k + 1))
        hess[:k, :k] = -(x * d2[:, None]).T @ x
        cross = x.T @ (-alpha * mu * (y - mu) / (one * one))  # d²ℓ/dβ dlnα
        hess[:k, k], hess[k, :k] = cross, cross
        hess[k, k] = alpha * g_a.sum() + alpha ** 2 * h_aa.sum()
        return grad, hess

    return loglik, derivs


def nb2_alpha(y: np.ndarray, x: np.ndarray, offset: np.ndarray | None = None, *,
              tol: float = 1e-12, max_iter: int = 200) -> float:
    """Maximum-likelihood NB2 dispersion α of counts ``y`` on ``x`` (β estimated jointly), as
    statsmodels' ``NegativeBinomial(y, x, offset=offset).fit()`` (``params[-1]``), or 0.0 when
    the likelihood is highest at the Poisson limit.
    """
    y, x, off = _check(y, x, offset)
    beta = fit_glm(y, x, off, 0.0, tol=tol).params
    mu = np.exp(off + x @ beta)
    if np.sum((y - mu) ** 2 - y) <= 0:  # score in α at α = 0 (no over-dispersion)
        return 0.0
    resid = y - mu
    start = max(float(np.sum((resid ** 2 / mu - 1.0) / mu) / max(y.size - x.shape[1], 1)), 0.05)
    loglik, derivs = _nb2(y, x, off)
    theta = _newton(np.concatenate([beta, [np.log(start)]]), loglik, derivs, tol, max_iter)
    alpha = float(np.exp(theta[-1]))
    return alpha if alpha > MIN_ALPHA else 0.0
