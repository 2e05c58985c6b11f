"""Logistic regression by Newton's method with sandwich standard errors, for large samples.

statsmodels' ``GLM(family=Binomial())`` is the reference (tests compare the two), but on a
million deployments it spends most of its time in general machinery: a least-squares solve of
the whole N × K design per IRLS step, the pseudo-inverse of it again for the results, and N × K
score arrays copied several times for the cluster sums. For the canonical logit link the
maximum-likelihood equations need only the K × K matrix X'WX and the K-vector X'(y − μ) per
step, so each step is one pass over the design. The covariances are statsmodels' definitions:
``cluster`` is CRV1 with its small-sample factor G/(G−1)·(N−1)/(N−K), ``HC0`` the plain sandwich.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class LogitFit:
    """Coefficients, their covariance (``cov_type``) and the Newton steps taken."""

    params: np.ndarray
    cov: np.ndarray
    cov_type: str
    iterations: int

    def conf_int(self, z: float = Z95) -> np.ndarray:
        """Normal (Wald) intervals per coefficient, as statsmodels' GLM ``conf_int``."""
        se = np.sqrt(np.diag(self.cov))
        return np.column_stack([self.params - z * se, self.params + z * se])


def fit_logit(y: np.ndarray, x: np.ndarray, groups: np.ndarray | None = None, *,
              tol: float = 1e-10, max_iter: int = 100) -> LogitFit:
    """Maximum-likelihood logit of ``y`` (0/1) on ``x`` (N × K, with its constant column);
    covariance clustered by ``groups`` (CRV1) or, without groups, HC0.

    Newton steps until the largest step is below ``tol`` × (1 + the largest coefficient),
    halving a step that would lower the likelihood (a nearly separated design).

    >>> x = np.column_stack([np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1]])
    >>> fit = fit_logit(np.array([0, 0, 0, 1, 0, 1, 1, 1.0]), x)
    >>> [round(float(b), 6) for b in fit.params]    # log(1/3) and log(3) - log(1/3)
    [-1.098612, 2.197225]
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    n, k = x.shape
    beta, eta = np.zeros(k), np.zeros(n)
    loglik = _loglik(y, eta)
    for step_no in range(1, max_iter + 1):
        mu = _expit(eta)
        # lstsq, not solve: a collinear design gets the minimum-norm step instead of an error.
        step = np.linalg.lstsq(_xtwx(x, mu * (1.0 - mu)), x.T @ (y - mu), rcond=None)[0]
        moved, size = x @ step, 1.0
        while True:  # a full Newton step, unless it lowers the likelihood
            new_eta = eta + size * moved
            new_loglik = _loglik(y, new_eta)
            if new_loglik >= loglik - 1e-12 * abs(loglik) or size < 1e-8:
                break
            size /= 2
        beta, eta, loglik = beta + size * step, new_eta, new_loglik
        if np.max(np.abs(size * step)) < tol * (1.0 + np.max(np.abs(beta))):
            break
    mu = _expit(x @ beta)  # at the final coefficients, not accumulated steps
    bread = np.linalg.inv(_xtwx(x, mu * (1.0 - mu)))
    cov, cov_type = sandwich(bread, x * (y - mu)[:, None], groups)
    return LogitFit(beta, cov, cov_type, step_no)


def sandwich(bread: np.ndarray, scores: np.ndarray, groups: np.ndarray | None,
             ) -> tuple[np.ndarray, str]:
    """(covariance, "HC0" or "cluster") from the inverse Hessian ``bread`` and the per-row
    ``scores``: HC0 without ``groups``, else CRV1 with statsmodels' small-sample factor
    G/(G−1)·(N−1)/(N−K).

    >>> cov, kind = sandwich(np.eye(1), np.array([[1.0], [-1.0], [2.0]]), None)
    >>> float(cov[0, 0]), kind
    (6.0, 'HC0')
    """
    if groups is None:
        return bread @ (scores.T @ scores) @ bread, "HC0"
    n, k = scores.shape
    _, index = np.unique(np.asarray(groups), return_inverse=True)
    g = int(index.max()) + 1
    sums = np.column_stack([np.bincount(index, weights=scores[:, j], minlength=g)
                            for j in range(k)])
    meat = (sums.T @ sums) * (g / (g - 1.0) * ((n - 1.0) / (n - k)))
    return bread @ meat @ bread, "cluster"


def _expit(eta: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # e^-η = inf for η ≪ 0 gives μ = 0, as it should
        return 1.0 / (1.0 + np.exp(-eta))


def _loglik(y: np.ndarray, eta: np.ndarray) -> float:
    # log L = Σ y·η − log(1 + e^η), with log1p(e^η) evaluated stably for large |η|.
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _xtwx(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (x * w[:, None]).T @ x
