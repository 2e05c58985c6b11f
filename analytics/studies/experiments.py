"""A/B/n and 2×2 factorial experiments on customer metrics (REFERENCE §4).

The arithmetic follows GrowthBook's open-source stats engine (gbstats), whose test values
REFERENCE §4 quotes: Welch's t with Welch–Satterthwaite degrees of freedom computed from the two
arms' unit variances, the relative lift's variance by the delta method, and a flat-prior Gaussian
posterior for chance to win and risk. Proportions use the Bernoulli variance p(1 − p).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

METRIC_TYPES = ("mean", "proportion")
SUMMARY_COLUMNS = ("variant", "n", "sum", "sum_squares")
UNIT_COLUMNS = ("variant", "value")
LIFT_FIELDS = ("abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift", "rel_ci_low", "rel_ci_high",
               "p_value", "rel_p_value", "chance_to_win", "risk", "risk_control")
SRM_ALARM_P = 0.001  # REFERENCE §4: sample-ratio mismatch alarm


@dataclass(frozen=True)
class Arm:
    """One arm's sufficient statistics: size, mean and unit variance.

    >>> Arm.from_sums("B", 30, 16, 16, "proportion").variance
    0.24888888888888888
    """

    variant: str
    n: int
    mean: float
    variance: float

    @classmethod
    def from_sums(cls, variant: str, n: int, total: float, sum_squares: float,
                  metric_type: str = "mean") -> Arm:
        """Build an arm from n, sum and sum of squares (``sum`` = successes for proportions)."""
        if metric_type not in METRIC_TYPES:
            raise ValueError(f"metric_type must be one of {METRIC_TYPES}, got {metric_type!r}")
        if n < 2:
            raise ValueError(f"variant {variant!r}: n must be at least 2, got {n}")
        mean = total / n
        if metric_type == "proportion":
            if not 0 <= total <= n:
                raise ValueError(f"variant {variant!r}: successes {total} outside 0..n={n}")
            # gbstats' ProportionStatistic: population variance p(1 - p), no n - 1 correction.
            return cls(variant, int(n), mean, mean * (1 - mean))
        variance = (sum_squares - total * total / n) / (n - 1)
        return cls(variant, int(n), mean, max(variance, 0.0))


@dataclass(frozen=True)
class Comparison:
    """A variant against the control: lifts with 95% intervals, p-values, Bayesian summary."""

    abs_lift: float
    abs_ci: tuple[float, float]
    rel_lift: float | None
    rel_ci: tuple[float, float] | None
    p_value: float
    rel_p_value: float | None
    dof: float
    chance_to_win: float | None
    risk: float | None
    risk_control: float | None


def welch_dof(control: Arm, variant: Arm) -> float:
    """Welch–Satterthwaite degrees of freedom from the two arms' unit variances."""
    va, vb = control.variance / control.n, variant.variance / variant.n
    denom = va * va / (control.n - 1) + vb * vb / (variant.n - 1)
    return (va + vb) ** 2 / denom if denom > 0 else math.inf


def compare(control: Arm, variant: Arm, alpha: float = 0.05) -> Comparison:
    """Welch test of ``variant`` against ``control``, absolute and relative (delta method).

    ``p_value`` tests the absolute difference, ``rel_p_value`` the delta-method relative lift.
    Relative results are None when the control mean is 0.

    >>> a = Arm.from_sums("A", 3407, 1396.87, 52377.9767)
    >>> b = Arm.from_sums("B", 3461, 2422.7, 134698.29)
    >>> round(compare(a, b).p_value, 5)
    0.02016
    """
    dof = welch_dof(control, variant)
    q = float(stats.t.ppf(1 - alpha / 2, dof))
    diff = variant.mean - control.mean
    se = math.sqrt(control.variance / control.n + variant.variance / variant.n)
    p_abs = _two_sided_p(diff, se, dof)
    rel = rel_ci = p_rel = ctw = risk = risk_ctrl = None
    if control.mean != 0:
        rel = variant.mean / control.mean - 1
        # Delta method for mean_b / mean_a (independent arms); dividing the absolute CI by the
        # control mean instead ignores the control's own noise (REFERENCE §4 pitfall).
        var_rel = (variant.variance / (variant.n * control.mean ** 2)
                   + control.variance * variant.mean ** 2 / (control.n * control.mean ** 4))
        se_rel = math.sqrt(var_rel)
        rel_ci = (rel - q * se_rel, rel + q * se_rel)
        p_rel = _two_sided_p(rel, se_rel, dof)
        ctw, risk, risk_ctrl = _bayes(rel, se_rel)
    return Comparison(diff, (diff - q * se, diff + q * se), rel, rel_ci, p_abs, p_rel, dof,
                      ctw, risk, risk_ctrl)


def _two_sided_p(estimate: float, se: float, dof: float) -> float:
    if se == 0:
        return 1.0 if estimate == 0 else 0.0
    return float(2 * stats.t.sf(abs(estimate / se), dof))


def _bayes(mu: float, sigma: float) -> tuple[float, float, float]:
    """Flat-prior Gaussian posterior of the relative lift: P(lift > 0) and expected losses.

    risk = E[max(0, −lift)] (loss from shipping the variant), risk_control = E[max(0, lift)].
    """
    if sigma == 0:
        return float(mu > 0), max(0.0, -mu), max(0.0, mu)
    z = mu / sigma
    pdf, cdf = float(stats.norm.pdf(z)), float(stats.norm.cdf(z))
    risk_control = mu * cdf + sigma * pdf
    risk = risk_control - mu  # E[max(0, -X)] = E[max(0, X)] - E[X]
    return cdf, risk, risk_control


def summarise(frame: pl.DataFrame, metric_type: str = "mean") -> pl.DataFrame:
    """Per-arm ``variant, n, sum, sum_squares`` from per-unit rows or per-arm summaries.

    Variants keep their first-appearance order.

    >>> summarise(pl.DataFrame({"variant": ["a", "a", "b", "b"], "value": [1, 0, 1, 1]}))["sum"].to_list()
    [1.0, 2.0]
    """
    if metric_type not in METRIC_TYPES:
        raise ValueError(f"metric_type must be one of {METRIC_TYPES}, got {metric_type!r}")
    cols = set(frame.columns)
    if set(SUMMARY_COLUMNS) <= cols:
        out = frame.select(pl.col("variant").cast(pl.String), pl.col("n").cast(pl.Int64),
                           pl.col("sum").cast(pl.Float64), pl.col("sum_squares").cast(pl.Float64))
        if out["variant"].is_duplicated().any():
            raise ValueError("variant: each variant must appear once in per-arm summaries")
        return out
    if set(UNIT_COLUMNS) <= cols:
        values = pl.col("value").cast(pl.Float64)
        if metric_type == "proportion" and not frame["value"].cast(pl.Float64).is_in([0.0, 1.0]).all():
            raise ValueError("value: proportion metrics need 0/1 values")
        return (frame.group_by(pl.col("variant").cast(pl.String), maintain_order=True)
                .agg(n=pl.len().cast(pl.Int64), sum=values.sum(), sum_squares=(values * values).sum()))
    raise ValueError(f"columns {sorted(cols)}: need {', '.join(SUMMARY_COLUMNS)} (per-arm summaries) "
                     f"or {', '.join(UNIT_COLUMNS)} (per-unit rows)")


@dataclass(frozen=True)
class SrmResult:
    """Sample-ratio-mismatch chi-square test against the planned split."""

    chi2: float
    dof: int
    p_value: float
    alarm: bool


def srm_check(counts: Mapping[str, int], planned: Mapping[str, float] | None = None) -> SrmResult:
    """Chi-square goodness of fit of observed arm sizes to the planned shares (default equal).

    >>> round(srm_check({"A": 1000, "B": 1100}).p_value, 6)
    0.029096
    """
    names = list(counts)
    observed = np.array([counts[v] for v in names], dtype=float)
    if planned is None:
        shares = np.full(len(names), 1 / len(names))
    else:
        missing = [v for v in names if v not in planned]
        if missing:
            raise ValueError(f"planned split: no share for variant(s) {missing}")
        shares = np.array([planned[v] for v in names], dtype=float)
        if (shares <= 0).any():
            raise ValueError("planned split: every share must be positive")
        shares = shares / shares.sum()
    expected = shares * observed.sum()
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    dof = len(names) - 1
    p = float(stats.chi2.sf(chi2, dof))
    return SrmResult(chi2, dof, p, p < SRM_ALARM_P)


@dataclass(frozen=True)
class ExperimentResult:
    """Every variant against the control, plus the SRM check."""

    control: str
    metric_type: str
    variants: pl.DataFrame
    srm: SrmResult


def analyse(frame: pl.DataFrame, metric_type: str = "mean", control: str | None = None,
            planned_split: Mapping[str, float] | None = None, alpha: float = 0.05) -> ExperimentResult:
    """Analyse an A/B/n test from per-unit rows or per-arm summaries.

    The control defaults to a variant named ``control`` (any case), else the first variant.
    The control's own row carries n and mean with null lifts.

    >>> f = pl.DataFrame({"variant": ["A", "B"], "n": [28, 30], "sum": [14, 16], "sum_squares": [14, 16]})
    >>> round(analyse(f, "proportion").variants["rel_lift"][1], 5)
    0.06667
    """
    arms_frame = summarise(frame, metric_type)
    names = arms_frame["variant"].to_list()
    if len(names) < 2:
        raise ValueError(f"variant: need at least two variants, got {names}")
    if control is None:
        control = next((v for v in names if v.lower() == "control"), names[0])
    elif control not in names:
        raise ValueError(f"control {control!r} is not a variant (variants: {', '.join(names)})")
    arms = {r["variant"]: Arm.from_sums(r["variant"], r["n"], r["sum"], r["sum_squares"], metric_type)
            for r in arms_frame.iter_rows(named=True)}
    rows = []
    for name in names:
        arm = arms[name]
        row: dict[str, object] = {"variant": name, "n": arm.n, "mean": arm.mean}
        if name == control:
            row.update(dict.fromkeys(LIFT_FIELDS))
        else:
            c = compare(arms[control], arm, alpha)
            rel_lo, rel_hi = c.rel_ci if c.rel_ci else (None, None)
            row.update(abs_lift=c.abs_lift, abs_ci_low=c.abs_ci[0], abs_ci_high=c.abs_ci[1],
                       rel_lift=c.rel_lift, rel_ci_low=rel_lo, rel_ci_high=rel_hi,
                       p_value=c.p_value, rel_p_value=c.rel_p_value, chance_to_win=c.chance_to_win,
                       risk=c.risk, risk_control=c.risk_control)
        rows.append(row)
    schema = {"variant": pl.String, "n": pl.Int64, "mean": pl.Float64} | dict.fromkeys(LIFT_FIELDS, pl.Float64)
    srm = srm_check({v: arms[v].n for v in names}, planned_split)
    return ExperimentResult(control, metric_type, pl.DataFrame(rows, schema=schema), srm)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order.

    >>> [round(q, 3) for q in benjamini_hochberg([0.01, 0.04, 0.03])]
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return []
    if ((p < 0) | (p > 1) | np.isnan(p)).any():
        raise ValueError("p_values: every p-value must lie in [0, 1]")
    order = np.argsort(p)
    m = p.size
    scaled = p[order] * m / np.arange(1, m + 1)
    # Step-up: each q is the smallest scaled p at or above its rank.
    q = np.minimum.accumulate(scaled[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = q
    return out.tolist()


@dataclass(frozen=True)
class FactorialResult:
    """A 2×2 factorial fit: effects with intervals, and the four cell means (interaction plot)."""

    effects: pl.DataFrame
    cells: pl.DataFrame


def factorial_2x2(frame: pl.DataFrame, factor_a: str = "a", factor_b: str = "b",
                  value: str = "value", alpha: float = 0.05) -> FactorialResult:
    """Main effects and interaction of a 2×2 design by OLS ``value ~ A + B + A:B``.

    Each factor is coded −½ / +½ (first / second level in sorted order), so in this saturated
    model the coefficient of A is the main effect (A's effect averaged over B's levels) and the
    A:B coefficient is the difference of differences, even when cells are unbalanced.
    """
    import statsmodels.api as sm

    for col in (factor_a, factor_b, value):
        if col not in frame.columns:
            raise ValueError(f"column {col!r} is missing (columns: {', '.join(frame.columns)})")
    levels = {}
    for col in (factor_a, factor_b):
        levels[col] = sorted(frame[col].cast(pl.String).unique().to_list())
        if len(levels[col]) != 2:
            raise ValueError(f"{col}: a 2×2 design needs exactly two levels, got {levels[col]}")
    data = frame.select(
        *(pl.when(pl.col(c).cast(pl.String) == levels[c][1]).then(0.5).otherwise(-0.5).alias(c)
          for c in (factor_a, factor_b)),
        pl.col(value).cast(pl.Float64).alias("y"))
    cells = (frame.group_by(pl.col(factor_a).cast(pl.String), pl.col(factor_b).cast(pl.String))
             .agg(n=pl.len(), mean=pl.col(value).cast(pl.Float64).mean())
             .sort(factor_a, factor_b))
    if cells.height != 4 or cells["n"].min() < 2:
        raise ValueError("a 2×2 design needs at least two units in each of the four cells")
    a, b = data[factor_a].to_numpy(), data[factor_b].to_numpy()
    design = np.column_stack([np.ones_like(a), a, b, a * b])
    fit = sm.OLS(data["y"].to_numpy(), design).fit()
    ci = fit.conf_int(alpha)
    effects = pl.DataFrame({
        "term": ["grand mean", factor_a, factor_b, f"{factor_a}:{factor_b}"],
        "contrast": ["mean of the four cell means",
                     f"{levels[factor_a][1]} − {levels[factor_a][0]}",
                     f"{levels[factor_b][1]} − {levels[factor_b][0]}",
                     "difference of differences"],
        "estimate": fit.params, "std_error": fit.bse, "ci_low": ci[:, 0], "ci_high": ci[:, 1],
        "p_value": fit.pvalues})
    return FactorialResult(effects, cells)


def _z_sum(alpha: float, power: float) -> float:
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError(f"alpha and power must lie in (0, 1), got alpha={alpha}, power={power}")
    return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))


def sample_size(baseline: float, mde: float, *, metric_type: str = "proportion",
                sd: float | None = None, relative: bool = False, alpha: float = 0.05,
                power: float = 0.8, ratio: float = 1.0) -> int:
    """Units needed in the control arm (the variant needs ``ratio`` times as many).

    Proportions use Cohen's arcsine effect size h, means the standardised difference mde ÷ sd;
    both two-sided normal approximations (statsmodels' NormalIndPower).

    >>> sample_size(0.10, 0.05)  # 10% -> 15% (REFERENCE §4: about 680 per group)
    681
    """
    target = baseline * (1 + mde) if relative else baseline + mde
    if metric_type == "proportion":
        if not (0 < baseline < 1 and 0 < target < 1):
            raise ValueError(f"baseline and baseline + mde must be proportions in (0, 1), "
                             f"got {baseline} and {target}")
        effect = abs(2 * math.asin(math.sqrt(target)) - 2 * math.asin(math.sqrt(baseline)))
    elif metric_type == "mean":
        if sd is None or sd <= 0:
            raise ValueError("sd: a positive standard deviation is required for mean metrics")
        effect = abs(target - baseline) / sd
    else:
        raise ValueError(f"metric_type must be one of {METRIC_TYPES}, got {metric_type!r}")
    if effect == 0:
        raise ValueError("mde: the minimum detectable effect must be non-zero")
    return math.ceil((_z_sum(alpha, power) / effect) ** 2 * (1 + 1 / ratio))


def minimum_detectable_effect(n: int, baseline: float, *, metric_type: str = "proportion",
                              sd: float | None = None, alpha: float = 0.05, power: float = 0.8,
                              ratio: float = 1.0) -> float:
    """Smallest absolute increase over ``baseline`` detectable with ``n`` control units.

    >>> round(minimum_detectable_effect(681, 0.10), 3)
    0.05
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    effect = _z_sum(alpha, power) * math.sqrt((1 + 1 / ratio) / n)
    if metric_type == "proportion":
        if not 0 < baseline < 1:
            raise ValueError(f"baseline must be a proportion in (0, 1), got {baseline}")
        angle = math.asin(math.sqrt(baseline)) + effect / 2
        if angle >= math.pi / 2:
            raise ValueError(f"n={n} is too small to detect any increase from {baseline}")
        return math.sin(angle) ** 2 - baseline
    if metric_type == "mean":
        if sd is None or sd <= 0:
            raise ValueError("sd: a positive standard deviation is required for mean metrics")
        return effect * sd
    raise ValueError(f"metric_type must be one of {METRIC_TYPES}, got {metric_type!r}")
