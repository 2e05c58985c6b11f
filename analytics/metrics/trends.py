"""Trends, period-over-period comparison, escalation runs and bootstrap intervals for medians.

Works on the output of :func:`analytics.metrics.delivery_report.summarize` (one row per slice,
KPI columns named as there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from analytics import catalogue
from analytics.metrics.delivery import with_period
from analytics.metrics.delivery_report import Facts, summarize

# Which way is better for each KPI column of a summary: from the KPI catalogue.
DIRECTIONS: dict[str, str] = catalogue.directions()
TREND_BUCKETS = {"week": "1w", "month": "1mo"}
DEFAULT_BOOT = 2000
BOOT_CELLS = 4_000_000  # resampled values held in memory at once
# Above this many values the median's interval is the distribution-free order-statistic one
# (exact binomial ranks): the bootstrap's answer converges to it, within its own resampling
# noise at this size, while its cost grows with n × resamples (a year of lead-time pairs at a
# million deployments took minutes).
BOOT_MAX_N = 20_000


def trend(facts: Facts, every: str = "week", *, by: Sequence[str] = ()) -> pl.DataFrame:
    """Weekly (ISO weeks) or monthly summary rows, one per slice and ``period``."""
    if every not in TREND_BUCKETS:
        raise ValueError(f"every: use one of {', '.join(TREND_BUCKETS)}, got {every!r}")
    return summarize(facts, by=by, every=TREND_BUCKETS[every])


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``start`` (inclusive days).

    >>> previous_period(date(2024, 3, 1), date(2024, 3, 31))
    (datetime.date(2024, 1, 30), datetime.date(2024, 2, 29))
    """
    if start > end:
        raise ValueError(f"period: start {start} is after end {end}")
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _verdict(direction: str, current: float | None, previous: float | None) -> str | None:
    if current is None or previous is None:
        return None
    if current == previous:
        return "unchanged"
    better = current > previous if direction == "higher" else current < previous
    return "improved" if better else "degraded"


def compare(current: Mapping[str, Any], previous: Mapping[str, Any],
            directions: Mapping[str, str] = DIRECTIONS) -> pl.DataFrame:
    """Period-over-period table: metric, direction, current, previous, change, change_pct,
    verdict (improved / degraded / unchanged; null when a side has no value).

    >>> compare({"cfr": 0.1}, {"cfr": 0.2}, {"cfr": "lower"}).row(0)
    ('cfr', 'lower', 0.1, 0.2, -0.1, -50.0, 'improved')
    """
    rows = []
    for metric, direction in directions.items():
        cur, prev = current.get(metric), previous.get(metric)
        change = cur - prev if cur is not None and prev is not None else None
        pct = change / prev * 100 if change is not None and prev else None
        rows.append((metric, direction, cur, prev, change, pct, _verdict(direction, cur, prev)))
    return pl.DataFrame(rows, orient="row", schema={
        "metric": pl.String, "direction": pl.String, "current": pl.Float64,
        "previous": pl.Float64, "change": pl.Float64, "change_pct": pl.Float64,
        "verdict": pl.String})


def degraded_runs(frame: pl.DataFrame, *, keys: Sequence[str], run: int = 3,
                  directions: Mapping[str, str] = DIRECTIONS) -> pl.DataFrame:
    """Per slice, which KPIs got worse in each of the last ``run`` consecutive periods.

    ``frame`` has ``keys``, ``period`` and KPI columns (a :func:`trend`). A KPI escalates when
    its last ``run`` period-over-period changes (``run`` + 1 periods with a value, ending at
    the slice's latest period) are all in the worse direction. Returns ``keys``,
    ``escalated_kpis`` (list) and ``escalate``.
    """
    if run < 1:
        raise ValueError(f"run: must be at least 1, got {run}")
    metrics = [m for m in directions if m in frame.columns]
    keys = list(keys)
    ordered = frame.sort([*keys, "period"])
    worse = []
    for m in metrics:
        delta = pl.col(m) - pl.col(m).shift(1)
        delta = delta.over(keys) if keys else delta
        bad = delta > 0 if directions[m] == "lower" else delta < 0
        worse.append(bad.fill_null(False).alias(m))
    flags = ordered.select(*keys, *worse)
    tail = [pl.col(m).tail(run).all() & (pl.col(m).len() >= run) for m in metrics]
    per = (flags.group_by(keys, maintain_order=True).agg(tail) if keys
           else flags.select(tail))
    names = pl.concat_list([pl.when(pl.col(m)).then(pl.lit(m)) for m in metrics]) \
        .list.drop_nulls() if metrics else pl.lit([], dtype=pl.List(pl.String))
    return per.select(*keys, names.alias("escalated_kpis")).with_columns(
        (pl.col("escalated_kpis").list.len() > 0).alias("escalate"))


def latest_periods(facts: Facts, *, by: Sequence[str], every: str, n: int) -> Facts:
    """``facts`` cut to each slice's last ``n`` ``every`` periods ("1w"/"1mo") holding a
    deployment or an incident: the rows a :func:`trend` row of those periods reads, so its rows
    for them are the full trend's (a period's figures rest on its own rows) and
    :func:`degraded_runs` with ``run`` < ``n`` answers as on the full trend. The lead-time
    pairs must carry ``by`` (:func:`analytics.metrics.delivery_report.with_pair_keys`)."""
    keys, tz = list(by), facts.tz
    deps = with_period(facts.deployments.lazy(), "finished_at", every, tz)
    incs = with_period(facts.incidents.lazy(), "opened_at", every, tz)
    pairs = with_period(facts.lead_pairs.lazy(), "finished_at", every, tz)
    # A trend has a row per slice and period with a deployment or an incident (pairs belong to
    # a deployment of theirs): the first of each slice's last n such periods.
    first = (pl.concat([deps.select(*keys, "period", _deployed=pl.lit(True)),
                        incs.select(*keys, "period", _deployed=pl.lit(False))])
             .group_by(*keys, "period").agg(pl.col("_deployed").any())
             .group_by(keys).agg(pl.col("period").drop_nulls().top_k(n).min().alias("_first"),
                                 pl.col("_deployed").any())
             .collect())
    # Rows before the cut of every slice they can belong to go first, without the join: a
    # deployment's (and pair's) slice is one with deployments.
    oldest = {"any": first["_first"].min(),
              "deployed": first.filter("_deployed")["_first"].min()}
    first = first.drop("_deployed")

    def recent(frame: pl.LazyFrame, cut: Any) -> pl.LazyFrame:
        # A row without a period (no time) stays: it sorts before the others, out of the run.
        undated = pl.col("period").is_null()
        if cut is not None:
            frame = frame.filter((pl.col("period") >= cut) | undated)
        return (frame.join(first.lazy(), on=keys, how="left", nulls_equal=True)
                .filter((pl.col("period") >= pl.col("_first")) | undated)
                .drop("period", "_first"))

    d, i, p = pl.collect_all([recent(deps, oldest["deployed"]), recent(incs, oldest["any"]),
                              recent(pairs, oldest["deployed"])])
    return replace(facts, deployments=d, incidents=i, lead_pairs=p)


def bootstrap_median_ci(values: Sequence[float] | np.ndarray | pl.Series, *,
                        n_boot: int = DEFAULT_BOOT, level: float = 0.95, seed: int = 0,
                        ) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval for the median (fixed ``seed``: same values, in any order,
    same answer); above :data:`BOOT_MAX_N` values, the order-statistic interval
    (:func:`order_statistic_ci`).

    Nulls/NaN are ignored; no values gives ``(None, None)``.

    >>> bootstrap_median_ci([5.0, 5.0, 5.0])
    (5.0, 5.0)
    """
    if not 0 < level < 1:
        raise ValueError(f"level: must be between 0 and 1, got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot: must be positive, got {n_boot}")
    # Sorted: the resamples depend on the values, not on the order a query returned them in
    # (the facts' row order varies between runs; an interval must not).
    x = np.sort(pl.Series(values, dtype=pl.Float64).drop_nulls().drop_nans().to_numpy())
    if x.size == 0:
        return None, None
    if x.size > BOOT_MAX_N:
        return order_statistic_ci(x, level=level)
    rng = np.random.default_rng(seed)
    chunk = max(1, BOOT_CELLS // x.size)
    medians = np.concatenate([
        _resample_medians(x, rng.integers(0, x.size, (min(chunk, n_boot - done), x.size)))
        for done in range(0, n_boot, chunk)])
    alpha = (1 - level) / 2
    low, high = np.quantile(medians, [alpha, 1 - alpha])
    return float(low), float(high)


def order_statistic_ci(sorted_values: np.ndarray, *, level: float = 0.95,
                       ) -> tuple[float, float]:
    """Distribution-free interval for the median from sorted values: ``[x_(k), x_(n−k+1)]``
    with the largest ``k`` whose coverage ``1 − 2·P(B ≤ k−1)``, ``B ~ Binomial(n, ½)``, is at
    least ``level`` (the smallest and largest value when none is).

    >>> order_statistic_ci(np.arange(1.0, 101.0))  # ranks 40 and 61 of 100
    (40.0, 61.0)
    """
    from scipy.stats import binom

    n, half = sorted_values.size, (1 - level) / 2
    j = int(binom.ppf(half, n, 0.5))  # smallest j with P(B ≤ j) ≥ half
    if binom.cdf(j, n, 0.5) > half:
        j -= 1  # the largest j with P(B ≤ j) ≤ half (−1: none)
    k = max(j, 0)  # 0-based index of x_(k) with k = j + 1
    return float(sorted_values[k]), float(sorted_values[n - 1 - k])


def _resample_medians(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``np.median(x[idx], axis=1)``, exactly, about 2.5× faster: each row's middle order
    statistics are found among the ranks of the drawn values (small integers, one partition at
    the upper middle; the lower middle of an even row is the largest rank left of it), then
    looked up in ``x`` sorted. Ties are equal values, so any order among them gives the same.

    >>> x = np.array([3.0, 1.0, 2.0, 2.0])
    >>> idx = np.array([[0, 1, 2, 3], [0, 0, 1, 2], [3, 3, 3, 3]])
    >>> _resample_medians(x, idx).tolist() == np.median(x[idx], axis=1).tolist()
    True
    """
    order = np.argsort(x, kind="stable")
    rank = np.empty(x.size, np.int32 if x.size < 2**31 else np.int64)
    rank[order] = np.arange(x.size)
    ranks, k, ordered = rank[idx], idx.shape[1] // 2, x[order]
    part = np.partition(ranks, k, axis=1)
    upper = ordered[part[:, k]]
    if idx.shape[1] % 2:
        return upper
    # np.median of an even row is the mean of its two middle values: the same arithmetic here.
    return np.mean(np.stack([ordered[part[:, :k].max(axis=1)], upper], axis=1), axis=1)


def median_intervals(frame: pl.DataFrame, value: str, *, by: Sequence[str] = (),
                     n_boot: int = DEFAULT_BOOT, level: float = 0.95, seed: int = 0,
                     ) -> pl.DataFrame:
    """Median, bootstrap interval and n of ``value`` per slice (e.g. ``lead_hours`` of
    ``Facts.lead_pairs``, ``restore_hours`` of ``Facts.incidents``)."""
    if value not in frame.columns:
        raise ValueError(f"value: no column {value!r} in the frame")
    groups = frame.partition_by(list(by), as_dict=True, maintain_order=True) if by \
        else {(): frame}
    rows = []
    for key, part in groups.items():
        low, high = bootstrap_median_ci(part[value], n_boot=n_boot, level=level, seed=seed)
        vals = part[value].drop_nulls()
        rows.append({**dict(zip(by, key, strict=True)), "median": vals.median(),
                     "ci_low": low, "ci_high": high, "n": vals.len()})
    schema = {**{k: frame.schema[k] for k in by}, "median": pl.Float64, "ci_low": pl.Float64,
              "ci_high": pl.Float64, "n": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


# Median KPI → (fact table, value column): the values whose median the summary reports
# (recovery_hours is null unless the deployment failed, as in deployment_aggs).
MEDIAN_KPIS: dict[str, tuple[str, str]] = {
    "lead_time": ("lead_pairs", "lead_hours"),
    "recovery_time": ("deployments", "recovery_hours"),
    "mttr": ("incidents", "restore_hours"),
}


def kpi_median_intervals(facts: Facts, *, n_boot: int = DEFAULT_BOOT, level: float = 0.95,
                         seed: int = 0) -> pl.DataFrame:
    """One row per KPI of :data:`MEDIAN_KPIS` (lead time, failed deployment recovery time,
    MTTR): ``kpi``, ``median``, bootstrap ``ci_low`` / ``ci_high`` and ``n``, hours.

    >>> from analytics.metrics import frames as fr
    >>> from analytics.metrics.delivery_report import build_facts
    >>> f = build_facts(fr.empty(fr.DEPLOYMENT_COLUMNS), fr.empty(fr.CHANGE_COLUMNS),
    ...                 fr.empty(fr.INCIDENT_COLUMNS))
    >>> kpi_median_intervals(f).select("kpi", "n").rows()
    [('lead_time', 0), ('recovery_time', 0), ('mttr', 0)]
    """
    return pl.concat([
        median_intervals(getattr(facts, table), value, n_boot=n_boot, level=level, seed=seed)
        .select(pl.lit(kpi).alias("kpi"), pl.all())
        for kpi, (table, value) in MEDIAN_KPIS.items()])


def mttr_by_severity(facts: Facts, *, n_boot: int = DEFAULT_BOOT, level: float = 0.95,
                     seed: int = 0) -> pl.DataFrame:
    """MTTR per incident severity (REFERENCE §1): ``severity``, ``incidents`` opened,
    ``n`` restored, ``median`` and ``mean`` hours, bootstrap ``ci_low`` / ``ci_high`` of the
    median; sorted by severity (unknown last)."""
    counts = facts.incidents.group_by("severity").agg(
        pl.len().cast(pl.Int64).alias("incidents"), pl.col("restore_hours").mean().alias("mean"))
    medians = median_intervals(facts.incidents, "restore_hours", by=["severity"],
                               n_boot=n_boot, level=level, seed=seed)
    return (counts.join(medians, on="severity", how="left", nulls_equal=True)
            .select("severity", "incidents", "n", "median", "mean", "ci_low", "ci_high")
            .sort("severity", nulls_last=True))
