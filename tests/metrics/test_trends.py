"""Trends, period-over-period comparison, escalation runs and bootstrap intervals."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.metrics.delivery_builders import END, START, scenario

from analytics.metrics.delivery_report import build_facts, summarize
from analytics.metrics.trends import (
    bootstrap_median_ci,
    compare,
    degraded_runs,
    kpi_median_intervals,
    median_intervals,
    mttr_by_severity,
    previous_period,
    trend,
)


def test_weekly_trend_of_the_scenario() -> None:
    deps, chg, inc = scenario()
    table = trend(build_facts(deps, chg, inc, start=START, end=END), "week")
    # Week of Jan 1: d1 d2 d4 d5 d6 d13 (d1 d2 d4 d6 failed); week of Jan 8: d7.
    assert table.select("period", "deployments", "cfr_failed").rows() == [
        (datetime(2024, 1, 1), 6, 4), (datetime(2024, 1, 8), 1, 0)]
    with pytest.raises(ValueError, match="every: use one of week, month"):
        trend(build_facts(deps, chg, inc), "fortnight")


@pytest.mark.parametrize(("start", "end", "expected"), [
    (date(2024, 3, 1), date(2024, 3, 31), (date(2024, 1, 30), date(2024, 2, 29))),  # 31 days
    (date(2024, 1, 8), date(2024, 1, 14), (date(2024, 1, 1), date(2024, 1, 7))),
    (date(2024, 1, 1), date(2024, 1, 1), (date(2023, 12, 31), date(2023, 12, 31))),
])
def test_previous_period(start: date, end: date, expected: tuple[date, date]) -> None:
    assert previous_period(start, end) == expected


def test_compare_verdicts_follow_each_kpi_direction() -> None:
    table = compare(
        {"deploys_per_day": 2.0, "cfr": 0.2, "mttr_median": 3.0, "lead_time_median": None},
        {"deploys_per_day": 1.0, "cfr": 0.1, "mttr_median": 3.0, "lead_time_median": 5.0})
    got = {r["metric"]: (r["change"], r["change_pct"], r["verdict"])
           for r in table.iter_rows(named=True)}
    assert got["deploys_per_day"] == (1.0, 100.0, "improved")   # more is better
    assert got["cfr"] == (pytest.approx(0.1), pytest.approx(100.0), "degraded")
    assert got["mttr_median"] == (0.0, 0.0, "unchanged")
    assert got["lead_time_median"] == (None, None, None)


def test_degraded_runs_need_three_consecutive_worse_periods() -> None:
    frame = pl.DataFrame({
        "service": ["a"] * 4 + ["b"] * 4 + ["c"] * 3,
        "period": [1, 2, 3, 4] * 2 + [1, 2, 3],
        "cfr": [0.1, 0.2, 0.3, 0.4,  0.1, 0.2, 0.2, 0.4,  0.1, 0.2, 0.3],
        "deploys_per_day": [4.0, 3.0, 2.0, 1.0,  1.0, 2.0, 3.0, 4.0,  3.0, 2.0, 1.0],
    })
    got = {r["service"]: (r["escalate"], r["escalated_kpis"])
           for r in degraded_runs(frame, keys=["service"]).iter_rows(named=True)}
    # a: CFR up and frequency down three times; b: a flat step breaks the run;
    # c: only two changes so far.
    assert got == {"a": (True, ["deploys_per_day", "cfr"]), "b": (False, []), "c": (False, [])}


def test_bootstrap_is_reproducible_and_brackets_the_median() -> None:
    rng = np.random.default_rng(7)
    x = rng.exponential(10.0, 301)
    first = bootstrap_median_ci(x, seed=3)
    assert first == bootstrap_median_ci(x, seed=3)
    assert first != bootstrap_median_ci(x, seed=4)
    # The same values in another order (as a query may return them): the same interval.
    assert first == bootstrap_median_ci(rng.permutation(x), seed=3)
    low, high = first
    assert low < np.median(x) < high
    # Second method: the distribution-free order-statistic interval for a median has ranks
    # n/2 ± 1.96·√n/2 = 150 ± 17; the bootstrap percentile interval lands within a few ranks.
    s = np.sort(x)
    assert s[150 - 25] < low < s[150 - 9] and s[150 + 9] < high < s[150 + 25]


def test_bootstrap_edge_cases() -> None:
    assert bootstrap_median_ci([]) == (None, None)
    assert bootstrap_median_ci([None, float("nan"), 4.0]) == (4.0, 4.0)
    with pytest.raises(ValueError, match="level: must be between 0 and 1"):
        bootstrap_median_ci([1.0], level=95)


def test_median_intervals_per_slice() -> None:
    deps, chg, inc = scenario()
    facts = build_facts(deps, chg, inc, start=START, end=END)
    table = median_intervals(facts.incidents, "restore_hours", by=["service"], n_boot=500)
    got = {r["service"]: r for r in table.iter_rows(named=True)}
    assert (got["checkout"]["median"], got["checkout"]["n"]) == (2.5, 4)  # 1, 2, 3, 5
    assert 1.0 <= got["checkout"]["ci_low"] <= 2.5 <= got["checkout"]["ci_high"] <= 5.0
    assert (got["billing"]["median"], got["billing"]["ci_low"], got["billing"]["n"]) == (
        None, None, 0)  # only an open incident
    with pytest.raises(ValueError, match="value: no column 'nope'"):
        median_intervals(facts.incidents, "nope")


def _numpy_bootstrap(x: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    """Second method: a plain numpy percentile bootstrap of the median, one draw matrix."""
    rng = np.random.default_rng(seed)
    medians = np.median(x[rng.integers(0, x.size, (n_boot, x.size))], axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(low), float(high)


def test_kpi_median_intervals_match_numpy_bootstrap() -> None:
    deps, chg, inc = scenario()
    facts = build_facts(deps, chg, inc, start=START, end=END)
    table = kpi_median_intervals(facts, n_boot=800, seed=5)
    got = {r["kpi"]: r for r in table.iter_rows(named=True)}
    # By hand (delivery_builders): lead pairs 6, 24, 12, 48, 1; recovery of the failed d1 25,
    # d2 16, d4 5, d6 184 (= 214 − 30); restore 3, 5, 1, 4, 2, 1 (i5 open).
    hand = {"lead_time": ("lead_pairs", "lead_hours", [1, 6, 12, 24, 48], 12.0),
            "recovery_time": ("deployments", "recovery_hours", [5, 16, 25, 184], 20.5),
            "mttr": ("incidents", "restore_hours", [1, 1, 2, 3, 4, 5], 2.5)}
    assert list(got) == list(hand)
    summary = summarize(facts).row(0, named=True)
    for kpi, (table_name, col, values, median) in hand.items():
        x = getattr(facts, table_name)[col].drop_nulls().to_numpy()
        assert sorted(x.tolist()) == values
        row = got[kpi]
        assert (row["median"], row["n"]) == (median, len(values))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(_numpy_bootstrap(x, 800, 5))
        assert row["ci_low"] <= median <= row["ci_high"]
    # The medians are the summary's (the tiles' numbers).
    assert (got["lead_time"]["median"], got["recovery_time"]["median"],
            got["mttr"]["median"]) == (summary["lead_time_median"], summary["recovery_median"],
                                       summary["mttr_median"])


def test_mttr_by_severity_by_hand() -> None:
    deps, chg, inc = scenario()
    table = mttr_by_severity(build_facts(deps, chg, inc, start=START, end=END), seed=1)
    # sev 1: i1 3 h, i9 1 h; sev 2: i2 5, i4 4, i5 open; sev 3: i3 1, i7 2. With two values
    # {a, b} a resample's median is a, (a+b)/2 or b, each end with probability 1/4: over 2,000
    # resamples the 2.5 % and 97.5 % points are the two values themselves.
    assert table.rows() == [(1, 2, 2, 2.0, 2.0, 1.0, 3.0), (2, 3, 2, 4.5, 4.5, 4.0, 5.0),
                            (3, 2, 2, 1.5, 1.5, 1.0, 2.0)]
    assert table.columns == ["severity", "incidents", "n", "median", "mean", "ci_low",
                             "ci_high"]
    empty = mttr_by_severity(build_facts(deps, chg, inc, start=date(2023, 6, 1),
                                         end=date(2023, 6, 30)))
    assert empty.height == 0


def test_large_samples_get_the_order_statistic_interval() -> None:
    """Above BOOT_MAX_N values the interval is [x_(k), x_(n-k+1)] with the largest k whose
    binomial coverage is still ≥ 95% (checked here by summing the binomial pmf directly), and
    it agrees with the bootstrap's answer on the same data within a few ranks."""
    from math import comb

    from analytics.metrics.trends import BOOT_MAX_N, _resample_medians

    rng = np.random.default_rng(11)
    n = BOOT_MAX_N + 1
    x = rng.lognormal(2.0, 1.0, n)
    low, high = bootstrap_median_ci(x)
    s = np.sort(x)
    k = int(np.searchsorted(s, low)) + 1  # 1-based rank of the lower end
    assert low == s[k - 1] and high == s[n - k]

    def coverage(rank: int) -> float:  # P(rank ≤ B ≤ n − rank), B ~ Binomial(n, ½)
        return sum(comb(n, b) for b in range(rank, n - rank + 1)) / 2 ** n

    assert coverage(k) >= 0.95 > coverage(k + 1)
    # The bootstrap (as for smaller samples) lands within a few ranks of it.
    idx = np.random.default_rng(0).integers(0, n, (400, n))
    boot = np.quantile(_resample_medians(s, idx), [0.025, 0.975])
    assert abs(np.searchsorted(s, boot[0]) - (k - 1)) < 60
    assert abs(np.searchsorted(s, boot[1]) - (n - k)) < 60


def _months_of_random_data(seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Deployments, changes and incidents of four services over ~9 months, some services
    stopping early or with gaps (so slices end in different months)."""
    from tests.metrics import delivery_builders as b

    rng = np.random.default_rng(seed)
    deps, chg, incs = [], [], []
    last = {1: 6500, 2: 3000, 3: 6500, 4: 4500}  # hours: services stop at different months
    for i in range(600):
        sid = int(rng.integers(1, 5))
        at = float(rng.uniform(0, last[sid]))
        if sid == 3 and 2000 < at < 4000:  # a gap of months
            continue
        deps.append({"id": i, "service_id": sid, "at": at,
                     "status": str(rng.choice(["success", "success", "failed", "rolled_back"]))})
        chg.append((i, i, at - float(rng.uniform(-2, 60))))
    for j in range(150):
        sid = int(rng.integers(1, 5)) if j % 10 else None  # some incidents have no service
        opened = float(rng.uniform(0, 6500))
        incs.append({"id": j, "service_id": sid, "opened": opened,
                     "resolved": opened + float(rng.uniform(0.1, 30)),
                     "problem": f"P{int(rng.integers(0, 8))}"})
    return b.deployments(deps), b.changes(chg), b.incidents(incs)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("by", "every"), [(["service"], "1mo"), (["criticality", "team"], "1mo"),
                                           (["service"], "1w")])
def test_latest_periods_give_the_full_trend_rows_and_runs(seed: int, by: list[str],
                                                          every: str) -> None:
    from analytics.metrics.delivery_report import with_pair_keys
    from analytics.metrics.trends import latest_periods

    deps, chg, inc = _months_of_random_data(seed)
    facts = build_facts(deps, chg, inc, start=date(2024, 1, 1), end=date(2024, 9, 30))
    full = summarize(facts, by=by, every=every)
    cut = summarize(latest_periods(with_pair_keys(facts, by), by=by, every=every, n=4),
                    by=by, every=every)
    # The cut keeps each slice's last four rows of the full trend, with the same figures.
    expected = (full.sort([*by, "period"], nulls_last=True)
                .group_by(by, maintain_order=True).tail(4).sort([*by, "period"], nulls_last=True))
    # Exact but for the last bits of float means (summed in whatever order polars groups).
    assert_frame_equal(cut.sort([*by, "period"], nulls_last=True), expected.select(cut.columns),
                       check_exact=False, rel_tol=1e-12, abs_tol=0.0)
    assert cut.height < full.height
    runs_full = degraded_runs(full, keys=by).sort(by, nulls_last=True)
    runs_cut = degraded_runs(cut, keys=by).sort(by, nulls_last=True)
    assert runs_cut.equals(runs_full)


def test_pairs_carrying_slice_keys_summarize_alike() -> None:
    from analytics.metrics.delivery_report import with_pair_keys

    deps, chg, inc = _months_of_random_data(4)
    facts = build_facts(deps, chg, inc, start=date(2024, 1, 1), end=date(2024, 9, 30))
    keyed = with_pair_keys(facts, ["service", "team", "criticality"])
    assert {"service", "team", "criticality"} <= set(keyed.lead_pairs.columns)
    built = build_facts(deps, chg, inc, start=date(2024, 1, 1), end=date(2024, 9, 30),
                        pair_keys=("service", "team", "criticality"))
    assert with_pair_keys(built, ["service", "team", "criticality"]) is built  # nothing to add
    order = ["deployment_id", "committed_at"]
    assert built.lead_pairs.sort(order).equals(
        keyed.lead_pairs.select(built.lead_pairs.columns).sort(order))
    for by in (["service"], ["criticality", "team"]):
        for every in (None, "1mo"):
            assert_frame_equal(summarize(keyed, by=by, every=every),
                               summarize(facts, by=by, every=every),
                               check_exact=False, rel_tol=1e-12, abs_tol=0.0)
