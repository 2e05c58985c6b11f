"""Trends, period-over-period comparison, escalation runs and bootstrap intervals."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest
from delivery_builders import END, START, scenario

from analytics.metrics.delivery_report import build_facts
from analytics.metrics.trends import (
    bootstrap_median_ci,
    compare,
    degraded_runs,
    median_intervals,
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
