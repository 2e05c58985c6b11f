"""Did an improvement work? Before/after validation on a KPI's weekly series (issue 18 point 4).

Two controlled comparisons, both by ordinary least squares in statsmodels:

- **segmented regression** (interrupted time series) on the treated services' series:
  ``y_t = b0 + b1·t + b2·post_t + b3·(t − t0)·post_t [+ Fourier terms of the season]``; ``b2`` is the
  level change at the intervention, ``b3`` the slope change. Seasonality enters only when the series
  covers at least two seasons (fewer cannot tell a season from the intervention). Standard errors
  are HAC (Newey–West, lags ``⌊4 (n/100)^(2/9)⌋``) because weekly KPIs are autocorrelated.
- **difference-in-differences** against comparable untreated services: ``y_it = unit_i + period_t +
  δ·treated_i·post_t``, with standard errors clustered by service.

Each gives an :class:`Effect`: the estimate in the KPI's units with its 95% interval, the
counterfactual level it is measured against (so a relative change can be read off), and the power
the comparison had to detect the expected effect (analytic, normal approximation at the fitted
standard error). Frames in, dataclasses out: no session, no settings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import norm

Z95 = float(norm.ppf(0.975))
ALPHA = 0.05
HARMONICS = 2  # sine/cosine pairs of the season, when the series covers two seasons


@dataclass(frozen=True)
class Effect:
    """An estimated effect of an intervention on a KPI (absolute, in the KPI's units)."""

    method: str
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    baseline: float  # the counterfactual level the estimate is measured against
    n: int  # observations
    n_pre: int
    n_post: int
    units: int  # services (ITS: the number of services summed into the series)
    errors: str  # how the standard errors were computed
    seasonality: bool = False
    slope_change: float | None = None
    slope_ci: tuple[float, float] | None = None
    se: float = math.nan

    @property
    def relative(self) -> float | None:
        """The estimate as a share of the counterfactual level (−0.5 = halved)."""
        return self.estimate / self.baseline if self.baseline else None

    @property
    def relative_ci(self) -> tuple[float, float] | None:
        """The 95% interval as shares of the counterfactual level (the level taken as known)."""
        if not self.baseline:
            return None
        lo, hi = self.ci_low / self.baseline, self.ci_high / self.baseline
        return (min(lo, hi), max(lo, hi))

    @property
    def significant(self) -> bool:
        """True when the 95% interval excludes zero."""
        return self.p_value < ALPHA

    def power(self, expected_relative: float | None) -> float | None:
        """Power to detect a relative change of ``expected_relative`` at this precision."""
        if expected_relative is None or not self.baseline or not self.se > 0:
            return None
        return power_to_detect(expected_relative * self.baseline, self.se)


def power_to_detect(effect: float, se: float, alpha: float = ALPHA) -> float:
    """Two-sided power of a z-test with standard error ``se`` against a true ``effect``.

    >>> round(power_to_detect(2.8016, 1.0), 3)  # (1.96 + 0.84)·se: the textbook 80%
    0.8
    >>> round(power_to_detect(0.0, 1.0), 3)  # no effect: the test's size
    0.05
    """
    z = float(norm.ppf(1 - alpha / 2))
    d = abs(effect) / se
    return float(norm.cdf(d - z) + norm.cdf(-d - z))


def newey_west_lags(n: int) -> int:
    """Newey–West's rule of thumb for the HAC lag length, ``⌊4 (n/100)^(2/9)⌋``.

    >>> newey_west_lags(52), newey_west_lags(100)
    (3, 4)
    """
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def its_design(n: int, post_start: int, *, season: int | None = None,
               harmonics: int = HARMONICS) -> tuple[np.ndarray, list[str]]:
    """The segmented-regression design matrix for ``n`` periods with the change at index
    ``post_start``: constant, time, post, time since the change, and (when ``season`` is given)
    ``harmonics`` sine/cosine pairs of that period.

    >>> x, names = its_design(4, 2)
    >>> names, x[:, 2].tolist(), x[:, 3].tolist()
    (['const', 'time', 'post', 'time_since'], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0])
    """
    t = np.arange(n, dtype=float)
    post = (t >= post_start).astype(float)
    cols = [np.ones(n), t, post, np.where(post > 0, t - post_start, 0.0)]
    names = ["const", "time", "post", "time_since"]
    if season:
        # A harmonic at or above half the season is zero (or aliased) at whole periods.
        for k in range(1, min(harmonics, (season - 1) // 2) + 1):
            cols += [np.sin(2 * np.pi * k * t / season), np.cos(2 * np.pi * k * t / season)]
            names += [f"sin{k}", f"cos{k}"]
    return np.column_stack(cols), names


@dataclass(frozen=True)
class SegmentedFit:
    """A segmented regression: the effect and the fitted and counterfactual lines to draw."""

    effect: Effect
    fitted: np.ndarray  # the model's fitted values, both segments
    counterfactual: np.ndarray  # the pre-change segment carried on (post terms set to zero)
    params: dict[str, float]


def segmented_regression(y: Sequence[float], post_start: int, *, season: int = 52,
                         units: int = 1) -> SegmentedFit:
    """Interrupted time series on ``y`` (one value per period, no gaps) with the change taking
    effect at index ``post_start``; HAC (Newey–West) standard errors.

    The headline estimate is the level change ``b2`` at the change; its baseline is the pre-change
    line's value there. A season is modelled only when ``len(y) ≥ 2·season``.

    >>> fit = segmented_regression([1, 2, 3, 4, 5, 10, 11, 12, 13, 14], 5, season=4)
    >>> round(fit.effect.estimate, 6), round(fit.effect.baseline, 6)
    (4.0, 6.0)
    """
    import statsmodels.api as sm

    values = np.asarray(y, dtype=float)
    n = values.size
    if not 2 <= post_start <= n - 2:
        raise ValueError(f"the series needs at least 2 periods on each side of the change "
                         f"(it has {post_start} before and {n - post_start} after)")
    seasonal = bool(season) and n >= 2 * season
    x, names = its_design(n, post_start, season=season if seasonal else None)
    lags = newey_west_lags(n)
    res = sm.OLS(values, x).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    params = np.asarray(res.params)
    cov = np.asarray(res.cov_params())
    ci = np.asarray(res.conf_int(ALPHA))
    se = float(np.sqrt(cov[2, 2]))
    counter_x = x.copy()
    counter_x[:, 2:4] = 0.0
    counterfactual = counter_x @ params
    effect = Effect(
        method="segmented regression", estimate=float(params[2]), ci_low=float(ci[2, 0]),
        ci_high=float(ci[2, 1]), p_value=float(np.asarray(res.pvalues)[2]),
        baseline=float(counterfactual[post_start]), n=n, n_pre=post_start, n_post=n - post_start,
        units=units, errors=f"HAC (Newey–West, {lags} lags)", seasonality=seasonal,
        slope_change=float(params[3]), slope_ci=(float(ci[3, 0]), float(ci[3, 1])), se=se)
    return SegmentedFit(effect, x @ params, counterfactual,
                        dict(zip(names, params.tolist(), strict=True)))


def difference_in_differences(panel: pl.DataFrame, *, unit: str = "unit", period: str = "period",
                              y: str = "y", treated: str = "treated", post: str = "post",
                              ) -> Effect:
    """Two-way fixed-effects difference-in-differences: ``y ~ unit + period + δ·treated·post``
    by OLS, standard errors clustered by ``unit``. ``treated`` and ``post`` are booleans; rows
    with a missing ``y`` are dropped. The baseline is the treated units' post-period mean
    minus δ (what they would have shown without the change).

    >>> p = pl.DataFrame({"unit": ["a", "a", "b", "b", "c", "c"], "period": [0, 1] * 3,
    ...                   "y": [1.0, 2.0, 1.0, 5.0, 2.0, 3.0], "treated": [False] * 2 + [True] * 2 + [False] * 2,
    ...                   "post": [False, True] * 3})
    >>> round(difference_in_differences(p).estimate, 6)  # (5 − 1) − mean(2 − 1, 3 − 2)
    3.0
    """
    data = panel.filter(pl.col(y).is_not_null() & pl.col(y).is_not_nan())
    if data.height == 0:
        raise ValueError("the panel has no observations")
    tr = data[treated].cast(pl.Boolean).to_numpy()
    po = data[post].cast(pl.Boolean).to_numpy()
    groups = {"treated before": tr & ~po, "treated after": tr & po,
              "untreated before": ~tr & ~po, "untreated after": ~tr & po}
    empty = [k for k, m in groups.items() if not m.any()]
    if empty:
        raise ValueError(f"difference-in-differences needs all four groups; none {', '.join(empty)}")
    unit_codes = data[unit].cast(pl.String).to_numpy()
    units, unit_idx = np.unique(unit_codes, return_inverse=True)
    periods, period_idx = np.unique(data[period].to_numpy(), return_inverse=True)
    d = (tr & po).astype(float)
    values = data[y].cast(pl.Float64).to_numpy()
    period_dummies = np.eye(periods.size)[period_idx][:, 1:]  # the first period is the reference
    # Frisch–Waugh–Lovell: demeaning within service absorbs the service dummies exactly, so the
    # fit is narrow (fast); the standard error is rescaled below to the full model's degrees of
    # freedom (statsmodels' small-sample factor (N − 1) ÷ (N − K) counts every dummy).
    x = _within(np.column_stack([d, period_dummies]), unit_idx, units.size)
    est, se_narrow = _first_coefficient(_within(values, unit_idx, units.size), x, unit_idx,
                                        units.size)
    k_narrow, k_full = x.shape[1], x.shape[1] + units.size
    scale = math.sqrt((values.size - k_narrow) / (values.size - k_full))
    se = se_narrow * scale
    # A perfect fit has no residual and se 0: the effect is then certain (or nothing at all).
    z = abs(est) / se if se > 0 else (math.inf if est != 0 else 0.0)
    p_value = float(2 * norm.sf(z))
    return Effect(
        method="difference-in-differences", estimate=est, ci_low=est - Z95 * se,
        ci_high=est + Z95 * se, p_value=p_value,
        baseline=float(values[tr & po].mean()) - est, n=int(values.size),
        n_pre=int(np.unique(period_idx[~po]).size), n_post=int(np.unique(period_idx[po]).size),
        units=int(units.size), errors=f"cluster-robust by service ({units.size} clusters)",
        se=se)


def _first_coefficient(y: np.ndarray, x: np.ndarray, groups: np.ndarray, n_groups: int,
                       ) -> tuple[float, float]:
    """OLS of ``y`` on ``x`` (no constant): the first coefficient and its cluster-robust
    standard error by ``groups``, as statsmodels' ``OLS(y, x).fit(cov_type="cluster")``
    computes them (sandwich with the G/(G−1)·(N−1)/(N−K) correction), from the K×K normal
    equations: the first row of (X'X)⁻¹X' is all the sandwich needs for one coefficient, so
    neither the QR nor the pseudo-inverse of the N×K design (2 CPU-s at 1,200 services × 52
    weeks) is formed."""
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ (x.T @ y)
    resid = y - x @ beta
    row = x @ xtx_inv[:, 0]  # the first row of (X'X)⁻¹X', one weight per observation
    scores = np.bincount(groups, weights=row * resid, minlength=n_groups)
    n, k = x.shape
    groups_seen = np.unique(groups).size
    correction = groups_seen / (groups_seen - 1.0) * (n - 1.0) / (n - k)
    return float(beta[0]), float(math.sqrt(correction * float(scores @ scores)))


def _within(a: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """``a`` minus its mean within each group (rows or columns of a matrix alike)."""
    a2 = a.reshape(len(a), -1)
    sums = np.zeros((n_groups, a2.shape[1]))
    np.add.at(sums, groups, a2)
    means = sums / np.bincount(groups, minlength=n_groups)[:, None]
    return (a2 - means[groups]).reshape(a.shape)


def verdict(effect: Effect, *, kpi: str, expected_relative: float | None = None,
            lower_is_better: bool = True) -> str:
    """One plain sentence: what changed, how sure, and whether the comparison could have seen
    the expected effect.

    >>> e = Effect("segmented regression", -0.05, -0.08, -0.02, 0.001, 0.1, 52, 28, 24, 5, "HAC",
    ...            se=0.015)
    >>> verdict(e, kpi="change failure rate", expected_relative=-0.5)
    'Segmented regression: change failure rate fell by 0.05 (−50%; 95% CI −0.08 to −0.02, p = 0.001) — an improvement, consistent with the expected −50%.'
    """
    rel = effect.relative
    rel_txt = f" ({_pct(rel)}" if rel is not None else " ("
    ci = f"95% CI {_num(effect.ci_low)} to {_num(effect.ci_high)}, p = {effect.p_value:.3g})"
    head = f"{effect.method[0].upper()}{effect.method[1:]}: {kpi}"
    if effect.significant:
        fell = effect.estimate < 0
        good = fell == lower_is_better
        text = (f"{head} {'fell' if fell else 'rose'} by {_num(abs(effect.estimate))}"
                f"{rel_txt}; {ci} — {'an improvement' if good else 'a deterioration'}")
        if expected_relative is not None and effect.baseline:
            lo, hi = effect.relative_ci or (math.nan, math.nan)
            inside = lo <= expected_relative <= hi
            text += (f", {'consistent with' if inside else 'unlike'} the expected "
                     f"{_pct(expected_relative)}")
        return text + "."
    text = f"{head} showed no detectable change ({_num(effect.estimate)}{', ' + _pct(rel) if rel is not None else ''}; {ci}"
    power = effect.power(expected_relative)
    if power is not None:
        text += (f"; the comparison had {power:.0%} power to detect the expected "
                 f"{_pct(expected_relative)}"
                 + (", so the improvement most likely did not move it" if power >= 0.8
                    else ", too little to rule that effect out"))
    return text + "."


def _num(x: float) -> str:
    return f"{x:.3g}".replace("-", "−")


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.0%}".replace("-", "−").replace("+0%", "0%")
