"""SLOs, budgets, burn rates and burn-rate alerts against hand-computed values (REFERENCE §2)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from analytics.metrics.slo import (
    Window,
    budget_consumed,
    calendar_period,
    composite_status,
    error_budget_minutes,
    slo_status,
    timeslices,
)
from analytics.metrics.slo_alerts import (
    DEFAULT_ALERTS,
    AlertSpec,
    alert_factor,
    alert_history,
    alert_status,
    alert_warnings,
    deployments_during_burn,
)

T0 = datetime(2026, 1, 1)


def minutes_of(n: int, total: float = 100.0, bad: dict[int, float] | None = None,
               step: int = 1, slo_id: int = 1) -> pl.DataFrame:
    """n buckets of ``step`` minutes from T0, ``total`` events each, ``bad[k]`` failures in bucket k."""
    bad = bad or {}
    return pl.DataFrame({
        "slo_id": [slo_id] * n, "slo": [f"slo-{slo_id}"] * n, "service": ["checkout"] * n,
        "ts": [T0 + timedelta(minutes=k * step) for k in range(n)],
        "good": [total - bad.get(k, 0.0) for k in range(n)], "total": [total] * n})


def slo_def(target: float = 0.999, kind: str = "rolling", days: int | None = 30,
            unit: str | None = None, tz: str = "UTC", budgeting: str = "occurrences",
            slice_minutes: int | None = None, slice_target: float | None = None,
            slo_id: int = 1) -> pl.DataFrame:
    return pl.DataFrame({"slo_id": [slo_id], "slo": [f"slo-{slo_id}"], "service": ["checkout"],
                         "budgeting": [budgeting], "target": [target], "window_kind": [kind],
                         "window_days": [days], "calendar_unit": [unit], "timezone": [tz],
                         "slice_minutes": [slice_minutes], "slice_target": [slice_target]},
                        schema_overrides={"window_days": pl.Int64, "calendar_unit": pl.String,
                                          "slice_minutes": pl.Int64, "slice_target": pl.Float64})


# (1 − 0.999) × 30 × 1440 = 0.001 × 43,200 = 43.2;  × 28 × 1440 = 0.001 × 40,320 = 40.32;
# (1 − 0.99) × 7 × 1440 = 0.01 × 10,080 = 100.8
@pytest.mark.parametrize(("target", "days", "expected"), [
    (0.999, 30, 43.2), (0.999, 28, 40.32), (0.99, 7, 100.8), (0.9995, 30, 21.6)])
def test_error_budget_minutes(target: float, days: int, expected: float) -> None:
    assert error_budget_minutes(target, timedelta(days=days)) == pytest.approx(expected, rel=1e-12)


# factor = share × period ÷ long window. 30 d = 720 h: 0.02×720/1 = 14.4, 0.05×720/6 = 6,
# 0.10×720/24 = 3, 0.10×720/72 = 1. 28 d = 672 h: 13.44, 5.6, 2.8, 67.2/72 = 0.9333…
@pytest.mark.parametrize(("days", "expected"), [
    (30, [14.4, 6.0, 3.0, 1.0]), (28, [13.44, 5.6, 2.8, 14 / 15])])
def test_default_alert_factors_are_computed(days: int, expected: list[float]) -> None:
    got = [a.factor(timedelta(days=days)) for a in DEFAULT_ALERTS]
    assert got == pytest.approx(expected, rel=1e-12)
    assert round(got[3], 3) == (1.0 if days == 30 else 0.933)


def test_short_windows_are_a_twelfth_of_the_long() -> None:
    assert [a.short_window for a in DEFAULT_ALERTS] == [
        timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6)]
    assert alert_factor(0.5, timedelta(days=10), timedelta(days=1)) == pytest.approx(5.0)


def _status(samples: pl.DataFrame, slos: pl.DataFrame, at: datetime) -> dict:
    return slo_status(samples, slos, at).row(0, named=True)


def test_sli_budget_and_exhaustion_by_hand() -> None:
    # 1 day × 1440 min × 100 = 144,000 events; 72 bad, all in the last hour (12 per minute in
    # the last 6 minutes). SLI = 1 − 72/144,000 = 0.9995 → consumed (0.0005/0.001) = 0.5.
    # Current burn (last 1 h) = (72/6,000)/0.001 = 12 → exhaustion = 0.5 × 720 h / 12 = 30 h.
    samples = minutes_of(1440, bad={k: 12.0 for k in range(1434, 1440)})
    st = _status(samples, slo_def(), T0 + timedelta(days=1))
    assert st["sli"] == pytest.approx(0.9995)
    assert st["budget_consumed"] == pytest.approx(0.5)
    assert st["budget_remaining"] == pytest.approx(0.5)
    assert st["current_burn"] == pytest.approx(12.0)
    assert st["exhaustion_hours"] == pytest.approx(30.0)
    assert st["budget_minutes"] == pytest.approx(43.2)
    assert st["window"] == "rolling 30d"


def test_overspent_budget_goes_negative_and_is_exhausted() -> None:
    # 288 bad of 144,000 → SLI 0.998 → consumed 2.0, remaining −1.0, exhaustion 0.
    samples = minutes_of(1440, bad={k: 1.0 for k in range(288)})
    st = _status(samples, slo_def(), T0 + timedelta(days=1))
    assert (st["budget_consumed"], st["budget_remaining"], st["exhaustion_hours"]) == \
        pytest.approx((2.0, -1.0, 0.0))


def test_rolling_window_drops_older_samples_and_matches_plain_polars() -> None:
    rng = np.random.default_rng(7)
    n = 10 * 144  # 10 days of 10-minute buckets
    total = rng.integers(50, 150, n).astype(float)
    bad = rng.binomial(total.astype(int), 0.002).astype(float)
    samples = pl.DataFrame({"slo_id": 1, "slo": "slo-1", "service": "x",
                            "ts": [T0 + timedelta(minutes=10 * k) for k in range(n)],
                            "good": total - bad, "total": total})
    at = T0 + timedelta(days=9, hours=5)
    st = _status(samples, slo_def(0.99, days=7), at)
    inside = samples.filter((pl.col("ts") >= at - timedelta(days=7)) & (pl.col("ts") < at))
    expected = inside["good"].sum() / inside["total"].sum()
    assert st["sli"] == pytest.approx(expected, rel=1e-12)
    assert st["budget_consumed"] == pytest.approx((1 - expected) / 0.01, rel=1e-9)


def test_unsorted_input_gives_the_same_status() -> None:
    samples = minutes_of(600, bad={5: 3.0, 100: 7.0}).vstack(minutes_of(600, slo_id=2, bad={9: 1.0}))
    slos = pl.concat([slo_def(), slo_def(slo_id=2)])
    at = T0 + timedelta(hours=10)
    a = slo_status(samples, slos, at)
    b = slo_status(samples.reverse(), slos, at)
    assert a.equals(b)
    # SLO 2: 1 bad of 60,000 → SLI 1 − 1/60,000
    assert a["sli"][1] == pytest.approx(1 - 1 / 60_000)


# Amsterdam March 2026: 31 × 1440 = 44,640 minutes minus the hour skipped on 29 March
# (02:00 CET → 03:00 CEST) = 44,580. Q1: (31+28+31) × 1440 − 60 = 129,540. UTC March: 44,640.
@pytest.mark.parametrize(("unit", "tz", "start", "end", "minutes"), [
    ("month", "Europe/Amsterdam", datetime(2026, 2, 28, 23), datetime(2026, 3, 31, 22), 44_580),
    ("quarter", "Europe/Amsterdam", datetime(2025, 12, 31, 23), datetime(2026, 3, 31, 22), 129_540),
    ("month", "UTC", datetime(2026, 3, 1), datetime(2026, 4, 1), 44_640),
    ("month", "America/New_York", datetime(2026, 3, 1, 5), datetime(2026, 4, 1, 4), 44_580),
])
def test_calendar_period_in_a_zone(unit: str, tz: str, start: datetime, end: datetime,
                                   minutes: int) -> None:
    got = calendar_period(datetime(2026, 3, 15), unit, tz)
    assert got == (start, end)
    assert (got[1] - got[0]) / timedelta(minutes=1) == minutes


def test_calendar_boundary_instant_belongs_to_the_period_it_ends() -> None:
    april_local_midnight = datetime(2026, 3, 31, 22)  # 1 April 00:00 CEST
    assert calendar_period(april_local_midnight, "month", "Europe/Amsterdam")[0] == \
        datetime(2026, 2, 28, 23)
    assert calendar_period(april_local_midnight + timedelta(microseconds=1), "month",
                           "Europe/Amsterdam")[0] == april_local_midnight


def test_calendar_slo_budget_uses_the_zone_month() -> None:
    # 0.001 × 44,580 = 44.58 minutes; window starts 28 Feb 23:00 UTC (1 March local).
    samples = minutes_of(60)
    st = _status(samples, slo_def(kind="calendar", days=None, unit="month",
                                  tz="Europe/Amsterdam"), datetime(2026, 3, 10))
    assert st["budget_minutes"] == pytest.approx(44.58)
    assert st["window_start"] == datetime(2026, 2, 28, 23)
    assert st["window"] == "calendar month (Europe/Amsterdam)"
    assert st["sli"] is None  # samples are from January: none fall in March


def test_timeslice_budgeting() -> None:
    # Slice SLIs 0.99, 0.95, 0.94 and an empty slice; slice target 0.95 → good, good (exactly
    # on target), bad, good (nothing failed) → SLI = 3/4 = 0.75.
    samples = pl.DataFrame({"slo_id": 1, "slo": "slo-1", "service": "x",
                            "ts": [T0 + timedelta(minutes=k) for k in range(4)],
                            "good": [99.0, 95.0, 94.0, 0.0], "total": [100.0, 100.0, 100.0, 0.0]})
    assert timeslices(samples, 1, 0.95)["good"].to_list() == [1.0, 1.0, 0.0, 1.0]
    # 2-minute slices: (99+95)/200 = 0.97 good; (94+0)/100 = 0.94 bad → 1/2
    assert timeslices(samples, 2, 0.95)["good"].to_list() == [1.0, 0.0]
    slos = slo_def(0.9, budgeting="timeslices", slice_minutes=1, slice_target=0.95)
    st = _status(samples, slos, T0 + timedelta(minutes=4))
    assert st["sli"] == pytest.approx(0.75)
    assert st["budget_consumed"] == pytest.approx(0.25 / 0.1)


def _burst_samples(last_minutes_bad: bool) -> pl.DataFrame:
    # 1 day of 1-minute buckets, 100 events each. Buckets 1380..1409 (the hour before the last
    # 30 minutes) have 10 bad each; optionally the last 5 buckets 1435..1439 too.
    bad = {k: 10.0 for k in range(1380, 1410)}
    if last_minutes_bad:
        bad.update({k: 10.0 for k in range(1435, 1440)})
    return minutes_of(1440, bad=bad)


def test_long_window_over_threshold_with_short_under_does_not_fire() -> None:
    # page 1h: long = 300 bad / 6,000 = 0.05 → burn 50 > 14.4; short 5m = 0 → not firing.
    # page 6h: long = 300/36,000 → 8.33 > 6; short 30m [1410, 1440) = 0 → not firing.
    # ticket 3d: long (all data) = 300/144,000 → 2.083 > 1; short 6h = 8.33 > 1 → FIRES.
    rows = alert_status(_burst_samples(False), slo_def(), T0 + timedelta(days=1)).rows(named=True)
    got = {r["name"]: (r["long_burn"], r["short_burn"], r["firing"]) for r in rows}
    assert got["page 2% in 1h"] == pytest.approx((50.0, 0.0, False))
    assert got["page 5% in 6h"] == pytest.approx((300 / 36_000 / 0.001, 0.0, False))
    assert got["ticket 10% in 1d"] == pytest.approx((300 / 144_000 / 0.001, 300 / 12_000 / 0.001, False))
    assert got["ticket 10% in 3d"] == pytest.approx((300 / 144_000 / 0.001, 300 / 36_000 / 0.001, True))


def test_both_windows_over_threshold_fire() -> None:
    # page 1h: long = 350/6,000 → 58.33; short = 50/500 → 100 → both > 14.4.
    rows = alert_status(_burst_samples(True), slo_def(), T0 + timedelta(days=1)).rows(named=True)
    page = next(r for r in rows if r["name"] == "page 2% in 1h")
    assert (page["long_burn"], page["short_burn"]) == pytest.approx((350 / 6 , 100.0))
    assert page["firing"] is True
    assert page["factor"] == pytest.approx(14.4)


def test_alert_history_intervals_by_hand() -> None:
    # Buckets 600..609 fully bad (100 of 100). Evaluated at bucket ends e (minutes from T0):
    # page 1h: e = 601 → short 100/500 → 200, long 100/6,000 → 16.7 > 14.4 → starts at 601;
    #   e = 615 → short window [610, 615) clean → stops: [601, 615).
    # page 6h: needs long > 6 × 0.001 × 36,000 = 216 bad → e = 603 (300 bad); short 30m loses
    #   the last bad bucket at e = 640: [603, 640).
    samples = minutes_of(1440, bad={k: 100.0 for k in range(600, 610)})
    hist = alert_history(samples, slo_def(), alerts=DEFAULT_ALERTS[:2])
    got = [(r["alert"], r["start"], r["end"], r["ongoing"]) for r in hist.rows(named=True)]
    at = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
    assert got == [("page 2% in 1h", at(601), at(615), False),
                   ("page 5% in 6h", at(603), at(640), False)]
    assert hist["service"].to_list() == ["checkout", "checkout"]


def test_warnings_for_alerts_that_cannot_fire_and_coarse_data() -> None:
    # target 0.9: page 1h factor 14.4 × 0.1 = 1.44 > 1 (can never fire); 6 × 0.1 = 0.6 can.
    # 10-minute data: the 5-minute short window of page 1h is finer than the data.
    samples = minutes_of(50, step=10)
    w = alert_warnings(slo_def(0.9), T0, samples)
    assert w.rows() == [
        ("slo-1", "page 2% in 1h", "can never fire: factor 14.4 × error budget 0.1 = 1.44 > 1"),
        ("slo-1", "page 2% in 1h", "short window 5m is finer than the data resolution 10m")]
    assert alert_warnings(slo_def(0.999), T0, minutes_of(50)).height == 0


def test_composite_weighted_sli() -> None:
    # (3 × 0.999 + 1 × 0.996) / 4 = 0.99825; budget 0.01 → consumed 0.00175/0.01 = 0.175
    status = pl.DataFrame({"slo": ["a", "b", "c"], "sli": [0.999, 0.996, None]})
    got = composite_status(status, {"a": 3, "b": 1, "c": 5}, 0.99)
    assert got["sli"] == pytest.approx(0.99825)
    assert got["budget_consumed"] == pytest.approx(0.175)
    assert got["missing"] == ["c"]
    with pytest.raises(ValueError, match="unknown slo zz"):
        composite_status(status, {"zz": 1}, 0.99)


def test_deployments_during_page_burn() -> None:
    at = lambda h: T0 + timedelta(hours=h)  # noqa: E731
    intervals = pl.DataFrame({"service": ["checkout", "checkout"], "slo": ["s", "s"],
                              "alert": ["page 2% in 1h", "ticket 10% in 1d"],
                              "severity": ["page", "ticket"],
                              "start": [at(10), at(20)], "end": [at(12), at(22)]})
    deployments = pl.DataFrame({
        "id": [1, 2, 3, 4, 5, 6],
        "service": ["checkout", "search", "checkout", "checkout", "checkout", "checkout"],
        "environment": ["production"] * 5 + ["staging"],
        "started_at": [at(9.5), at(10), at(20.5), at(9), at(12), at(10.5)],
        "finished_at": [at(10.5), at(11), at(21), at(10), at(12.5), at(11)]})
    # 1 overlaps; 2 other service; 3 only a ticket alert; 4 ends exactly when the page starts
    # (included: the alert fired at its last instant); 5 starts when the interval has ended;
    # 6 is not production.
    got = deployments_during_burn(deployments, intervals)
    assert got["deployment_id"].to_list() == [4, 1]
    everywhere = deployments_during_burn(deployments, intervals, environment=None)
    assert everywhere["deployment_id"].to_list() == [4, 1, 6]
    grace = deployments_during_burn(deployments, intervals, severity="ticket",
                                    grace=timedelta(hours=1))
    assert grace["deployment_id"].to_list() == [3]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: error_budget_minutes(99.9, timedelta(days=30)), "target must be a ratio"),
    (lambda: budget_consumed(0.99, 0), "target must be a ratio"),
    (lambda: Window("rolling", 0), "window_days must be a positive integer"),
    (lambda: Window("sliding", 7), "window_kind must be 'rolling' or 'calendar'"),
    (lambda: Window("calendar", None, "week"), "calendar_unit must be one of"),
    (lambda: Window("calendar", None, "month", "Mars/Olympus"), "timezone: unknown IANA"),
    (lambda: slo_status(minutes_of(3).drop("good"), slo_def(), T0), r"samples: missing columns \['good'\]"),
    (lambda: slo_status(minutes_of(3), slo_def(budgeting="timeslices"), T0),
     "slo 'slo-1': timeslices budgeting needs slice_minutes"),
    (lambda: slo_status(minutes_of(3, bad={0: 200.0}), slo_def(), T0), "0 ≤ good ≤ total"),
    (lambda: AlertSpec("sms", 0.02, timedelta(hours=1)), "severity must be 'page' or 'ticket'"),
])
def test_bad_input_names_the_field(call, message: str) -> None:  # noqa: ANN001
    with pytest.raises((ValueError, TypeError), match=message):
        call()
