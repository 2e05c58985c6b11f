"""CSAT/NPS per period: hand-counted shares, Wilson vs statsmodels, adjusted-Wald NPS by hand, gaps."""

from __future__ import annotations

import math
from datetime import date, datetime

import polars as pl
import pytest
from statsmodels.stats.proportion import proportion_confint

from analytics.metrics.csat import csat_periods, overall

Z = 1.959963984540054


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"responded_at": pl.Datetime("us"), "score": pl.Int64,
                                      "nps": pl.Int64, "service": pl.String, "segment": pl.String},
                        orient="row")


# Week of Mon 2026-01-05: scores 5,4,3,1,5 (3 satisfied of 5); NPS 10,9,6,None,8 → 2 promoters, 1 detractor of 4.
# Week of 2026-01-12: none (a gap). Week of 2026-01-19: scores 2,4 (1 of 2); NPS 0,10.
ROWS = [
    (datetime(2026, 1, 5, 9), 5, 10, "api", "smb"),
    (datetime(2026, 1, 6, 9), 4, 9, "api", "enterprise"),
    (datetime(2026, 1, 7, 23, 59), 3, 6, "web", "smb"),
    (datetime(2026, 1, 10, 12), 1, None, "web", "smb"),
    (datetime(2026, 1, 11, 23, 59, 59), 5, 8, "api", "smb"),
    (datetime(2026, 1, 19, 0, 0), 2, 0, "web", "enterprise"),
    (datetime(2026, 1, 25, 18), 4, 10, "web", "smb"),
]


def _adjusted_wald(promoters: int, detractors: int, m: int) -> tuple[float, float]:
    ap, ad = (promoters + 0.75) / (m + 3), (detractors + 0.75) / (m + 3)
    half = Z * math.sqrt((ap + ad - (ap - ad) ** 2) / (m + 3))
    return max(-100, 100 * (ap - ad - half)), min(100, 100 * (ap - ad + half))


def test_weekly_counts_rates_and_gap() -> None:
    w = csat_periods(_frame(ROWS), "week")
    assert w["period"].to_list() == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)]
    assert w["n"].to_list() == [5, 0, 2]
    assert w["satisfied"].to_list() == [3, 0, 1]
    assert w["csat"].to_list() == [pytest.approx(0.6), None, pytest.approx(0.5)]
    assert w["nps_n"].to_list() == [4, 0, 2]
    assert w["nps"].to_list() == [pytest.approx(100 * (2 - 1) / 4), None, pytest.approx(0.0)]
    assert w["gap"].to_list() == [False, True, False]
    assert w["gap"].sum() == 1


@pytest.mark.parametrize(("k", "n"), [(3, 5), (1, 2), (0, 7), (7, 7), (812, 1000)])
def test_wilson_interval_matches_statsmodels(k: int, n: int) -> None:
    rows = [(datetime(2026, 3, 2), 5 if i < k else 2, None, "api", "smb") for i in range(n)]
    w = csat_periods(_frame(rows), "week")
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (w["csat_low"][0], w["csat_high"][0]) == pytest.approx((low, high))


def test_nps_adjusted_wald_by_hand() -> None:
    w = csat_periods(_frame(ROWS), "week")
    # week 1: P=2, D=1, m=4 → (2.75 − 1.75)/7 = 0.142857 centre
    assert (w["nps_low"][0], w["nps_high"][0]) == pytest.approx(_adjusted_wald(2, 1, 4))
    assert w["nps_low"][1] is None


def test_overall_matches_plain_python() -> None:
    res = overall(_frame(ROWS))
    scores = [r[1] for r in ROWS]
    nps = [r[2] for r in ROWS if r[2] is not None]
    assert res["n"] == 7 and res["csat"] == pytest.approx(sum(s >= 4 for s in scores) / 7)
    promoters, detractors = sum(v >= 9 for v in nps), sum(v <= 6 for v in nps)
    assert res["nps"] == pytest.approx(100 * (promoters - detractors) / len(nps))
    assert (res["nps_low"], res["nps_high"]) == pytest.approx(_adjusted_wald(promoters, detractors, len(nps)))


def test_by_group_gets_every_period_and_counts_gaps() -> None:
    w = csat_periods(_frame(ROWS), "week", "service")
    assert w.height == 6  # 2 services × 3 weeks
    api = w.filter(pl.col("service") == "api")
    assert api["n"].to_list() == [3, 0, 0] and api["csat"].to_list() == [1.0, None, None]
    web = w.filter(pl.col("service") == "web")
    assert web["satisfied"].to_list() == [0, 0, 1]
    assert w.group_by("service").agg(pl.col("gap").sum()).sort("service")["gap"].to_list() == [2, 1]


@pytest.mark.parametrize(("every", "periods", "n"), [
    ("day", 21, [1, 1, 1, 0, 0, 1, 1] + [0] * 7 + [1] + [0] * 5 + [1]),
    ("month", 1, [7]),
])
def test_day_and_month(every: str, periods: int, n: list[int]) -> None:
    w = csat_periods(_frame(ROWS), every)
    assert w.height == periods and w["n"].to_list() == n


def test_time_zone_moves_period_boundaries() -> None:
    # 2026-01-19 00:00 UTC is Sunday 18 January 19:00 in New York: it joins the previous ISO week.
    w = csat_periods(_frame(ROWS), "week", tz="America/New_York")
    assert w["n"].to_list() == [5, 1, 1]


def test_start_and_end_list_empty_periods_and_drop_outside_rows() -> None:
    w = csat_periods(_frame(ROWS), "week", start=date(2025, 12, 29), end=date(2026, 1, 18))
    assert w["n"].to_list() == [0, 5, 0] and w["gap"].to_list() == [True, False, True]
    empty = csat_periods(_frame(ROWS).clear(), "week", start=date(2026, 2, 2), end=date(2026, 2, 15))
    assert empty["n"].to_list() == [0, 0] and empty["csat"].null_count() == 2


@pytest.mark.parametrize(("kwargs", "frame", "message"), [
    ({"every": "year"}, _frame(ROWS), "every must be one of"),
    ({"by": "customer_id"}, _frame(ROWS).with_columns(customer_id=pl.lit("c")), "by must be one of"),
    ({"by": "tier"}, _frame(ROWS), r"missing column\(s\) \['tier'\]"),
    ({}, _frame(ROWS).with_columns(score=pl.lit(6)), "score: CSAT scores must be 1–5, found 6"),
    ({}, _frame(ROWS).with_columns(nps=pl.lit(11)), "nps: NPS answers must be 0–10, found 11"),
    ({}, _frame(ROWS).clear(), "no CSAT responses in the period"),
    ({"start": date(2026, 2, 1), "end": date(2026, 1, 1)}, _frame(ROWS), "start 2026-02-01 is after end"),
    ({"confidence": 1.5}, _frame(ROWS), "confidence must lie in"),
])
def test_bad_input_names_the_field(kwargs: dict, frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        csat_periods(frame, **kwargs)
