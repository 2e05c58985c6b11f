"""reports.slo: one read rule for the SLOs page and `report slo`, checked against hand sums."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine

from analytics.reports import BadRequest, NoData
from analytics.reports import slo as report
from analytics.store.bulk import bulk_insert
from analytics.store.queries import Filters

DAY = datetime(2026, 3, 10)


def _service(conn, names=("api",), zone="UTC") -> None:
    n = len(names)
    bulk_insert(conn, "service", pl.DataFrame({
        "id": list(range(1, n + 1)), "name": list(names), "team": ["core"] * n,
        "tier": ["gold"] * n, "criticality": [1] * n, "customer_facing": [True] * n,
        "timezone": [zone] * n, "confirmed": [True] * n, "source": ["test"] * n,
        "external_id": list(names)}))


def _slo(conn, **overrides) -> None:
    row = {"id": 1, "name": "api-availability", "service_id": 1, "indicator": "availability",
           "budgeting": "occurrences", "target": 0.999, "window_kind": "rolling",
           "window_days": 7, "calendar_unit": None, "timezone": "UTC", "slice_minutes": None,
           "slice_target": None, "source": "test", "external_id": "a"}
    row.update(overrides)
    bulk_insert(conn, "slo", pl.DataFrame([row]))


def test_a_time_slice_straddling_at_holds_only_what_came_before(engine: Engine) -> None:
    # One-minute buckets of 100 events on 10 March; 03:10 is all bad, and so is 12:40-12:59,
    # AFTER the evaluation instant 12:30. Hourly slices good at ≥ 99%:
    # 00:00 … 12:00 = 13 slices; 03:00 holds 5,900 good of 6,000 (98.3%) → bad;
    # 12:00 holds 12:00-12:29 only (3,000 of 3,000) → good. SLI = 12 / 13.
    # (The old `report slo --at` read the whole day, so the 12:00 slice saw the 12:40 failures
    # and the SLI was 11 / 13.)
    ts = [DAY + timedelta(minutes=k) for k in range(1440)]
    bad = {DAY + timedelta(hours=3, minutes=10)} | {DAY + timedelta(hours=12, minutes=m)
                                                    for m in range(40, 60)}
    with engine.begin() as conn:
        _service(conn)
        _slo(conn, budgeting="timeslices", slice_minutes=60, slice_target=0.99)
        bulk_insert(conn, "sli_sample", pl.DataFrame({
            "slo_id": 1, "ts": ts, "good": [0.0 if t in bad else 100.0 for t in ts],
            "total": 100.0}))
    at = DAY + timedelta(hours=12, minutes=30)
    got = report.slo_report(engine, at=at).rows()[0]
    assert got["sli"] == pytest.approx(12 / 13)
    assert got["budget_consumed"] == pytest.approx((1 / 13) / 0.001)
    assert got["at"] == at


def test_the_read_covers_a_calendar_month_in_the_slos_zone(engine: Engine) -> None:
    # A calendar-month SLO in Auckland (UTC+13 in March): March starts 28 Feb 11:00 UTC.
    # Hourly buckets of 10 events from 27 Feb 00:00 UTC; the bucket at 28 Feb 10:00 UTC (still
    # February in Auckland) is all bad, the one at 11:00 UTC (1 March 00:00 local) has 1 bad.
    # At 2 March 00:00 UTC the window holds 11:00 28 Feb … 23:00 1 Mar = 37 buckets = 370
    # events, 1 bad → SLI 1 − 1/370.
    start = datetime(2026, 2, 27)
    ts = [start + timedelta(hours=k) for k in range(72)]
    good = {datetime(2026, 2, 28, 10): 0.0, datetime(2026, 2, 28, 11): 9.0}
    with engine.begin() as conn:
        _service(conn)
        _slo(conn, window_kind="calendar", window_days=None, calendar_unit="month",
             timezone="Pacific/Auckland", target=0.99)
        bulk_insert(conn, "sli_sample", pl.DataFrame({
            "slo_id": 1, "ts": ts, "good": [good.get(t, 10.0) for t in ts], "total": 10.0}))
    at = datetime(2026, 3, 2)
    result = report.slo_report(engine, at=at)
    row = result.status.row(0, named=True)
    assert row["window_start"] == datetime(2026, 2, 28, 11)
    assert (row["total"], row["bad"]) == (370.0, 1.0)
    assert row["sli"] == pytest.approx(1 - 1 / 370)
    assert row["window"] == "calendar month (Pacific/Auckland)"
    # The read starts at the earlier of the window start and at − 3 days (the longest alert
    # window): 27 Feb 00:00.
    assert report.read_from(report.definitions(engine), at) == datetime(2026, 2, 27)


def test_filters_and_errors(engine: Engine) -> None:
    with pytest.raises(NoData):
        report.slo_report(engine)
    with engine.begin() as conn:
        _service(conn, names=("api", "web"))
        _slo(conn)
        bulk_insert(conn, "sli_sample", pl.DataFrame({
            "slo_id": 1, "ts": [DAY, DAY + timedelta(minutes=1)], "good": 10.0, "total": 10.0}))
    with pytest.raises(BadRequest, match="unknown service nope"):
        report.slo_report(engine, filters=Filters(services=("nope",)))
    with pytest.raises(NoData, match="No SLO"):
        report.slo_report(engine, filters=Filters(teams=("nobody",)))
    assert report.slo_report(engine).rows()[0]["sli"] == 1.0


def _status(slis: dict[str, float | None], targets: dict[str, float]) -> report.SloStatus:
    status = pl.DataFrame({"slo": list(slis), "service": ["api", "api", "web"][:len(slis)],
                           "sli": list(slis.values()), "target": [targets[k] for k in slis]},
                          schema_overrides={"sli": pl.Float64})
    return report.SloStatus(at=DAY, status=status, alerts=pl.DataFrame(),
                            warnings=pl.DataFrame())


def test_composite_defaults_to_the_services_slos_with_equal_weights() -> None:
    st = _status({"a": 0.999, "b": 0.995, "c": 0.9}, {"a": 0.999, "b": 0.99, "c": 0.9})
    got = report.composite(st, service="api")
    # (0.999 + 0.995) / 2 = 0.997 against (0.999 + 0.99) / 2 = 0.9945:
    # consumed = 0.003 / 0.0055.
    assert got["sli"] == pytest.approx(0.997)
    assert got["target"] == pytest.approx(0.9945)
    assert got["budget_consumed"] == pytest.approx(0.003 / 0.0055)
    assert got["components"]["slo"].to_list() == ["a", "b"]
    weighted = report.composite(st, weights={"a": 3, "c": 1}, target=0.95)
    assert weighted["sli"] == pytest.approx((3 * 0.999 + 0.9) / 4)
    with pytest.raises(BadRequest, match="unknown slo zz"):
        report.composite(st, weights={"zz": 1}, target=0.9)
    with pytest.raises(BadRequest, match="no SLO"):
        report.composite(st, service="nowhere")


def test_the_cheap_status_read_gives_the_full_reads_numbers(demo_engine) -> None:
    """load_status sums the older part of each window in the database; the status, alert states
    and warnings must equal those from every sample (load), and the daily burn-down must end at
    the budget remaining."""
    from polars.testing import assert_frame_equal

    from analytics.reports import slo as report

    full_in = report.load(demo_engine)
    full = report.evaluate(full_in)
    fast_in = report.load_status(demo_engine)
    fast = report.evaluate(fast_in)
    # 40 SLOs × (27 daily sums + 3 days of 5-minute samples) instead of 40 × 30+ days of samples
    assert fast_in.samples.height == 40 * (27 + 3 * 288) < full_in.samples.height / 5
    assert_frame_equal(fast.status, full.status, check_exact=False, rel_tol=1e-12)
    assert_frame_equal(fast.alerts, full.alerts, check_exact=False, rel_tol=1e-12)
    assert_frame_equal(fast.warnings, full.warnings)
    downs = report.burn_downs(fast_in, fast.status).join(
        fast.status.select("slo_id", "budget_remaining"), on="slo_id")
    assert downs.height == 40 and (downs["burn_down"].list.len() == 30).all()
    for row in downs.iter_rows(named=True):
        assert row["burn_down"][-1] == pytest.approx(row["budget_remaining"], abs=1e-12)
