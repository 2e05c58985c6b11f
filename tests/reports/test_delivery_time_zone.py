"""The delivery report against hand-made stores: period boundaries in WORKBENCH_TIMEZONE
(issue point 2), and the report functions' errors."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from sqlalchemy import Engine

from analytics.metrics.delivery_report import summarize
from analytics.reports import BadRequest, NoData
from analytics.reports import delivery as report
from analytics.store import queries
from analytics.store.bulk import bulk_insert
from analytics.store.queries import Filters

KIRITIMATI = "Pacific/Kiritimati"  # UTC+14, no DST: local = UTC + 14 h
NOVEMBER = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
# id, finished_at (UTC), status; the local time in Kiritimati in the comment.
DEPLOYS = [
    (1, datetime(2026, 10, 31, 12), "failed"),       # Nov 1 02:00 local: November only there
    (2, datetime(2026, 11, 15, 12), "success"),      # Nov 16 02:00 local: both
    (3, datetime(2026, 11, 30, 11), "success"),      # Dec 1 01:00 local: November only in UTC
    (4, datetime(2026, 10, 31, 9), "success"),       # Oct 31 23:00 local: neither
    (5, datetime(2026, 11, 30, 9), "rolled_back"),   # Nov 30 23:00 local: both
    (6, datetime(2026, 11, 1, 5), "success"),        # Nov 1 19:00 local: both
    (7, datetime(2026, 10, 31, 20), "success"),      # Nov 1 10:00 local: November only there
]


def _fill(engine: Engine) -> None:
    with engine.begin() as conn:
        bulk_insert(conn, "service", pl.DataFrame([{
            "id": 1, "name": "checkout", "team": "payments", "tier": "gold", "criticality": 1,
            "source": "test", "external_id": "checkout"}]))
        bulk_insert(conn, "deployment", pl.DataFrame(
            [{"id": i, "service_id": 1, "environment": "production", "finished_at": at,
              "status": status, "is_rollback": False, "source": "test",
              "external_id": f"d{i}"} for i, at, status in DEPLOYS]))


@pytest.mark.parametrize(("tz", "ids", "failed"), [
    ("UTC", {2, 3, 5, 6}, {5}),
    (KIRITIMATI, {1, 2, 5, 6, 7}, {1, 5}),
])
def test_november_is_drawn_in_the_workbench_time_zone(engine: Engine, tz, ids, failed) -> None:
    _fill(engine)
    r = report.delivery(engine, Filters(**NOVEMBER, environment="production", timezone=tz),
                        window_hours=48)
    # Expected sets read off the table above by hand (local time = UTC + 14 h).
    assert r["deployments"] == len(ids)
    cfr = r["change_failure_rate"]
    assert (cfr["failed"], cfr["deployments"]) == (len(failed), len(ids))
    assert cfr["value"] == pytest.approx(len(failed) / len(ids))
    assert r["deploys_per_day"] == pytest.approx(len(ids) / 30)
    assert (r["period"]["from"], r["period"]["to"]) == (date(2026, 11, 1), date(2026, 11, 30))
    facts = report.facts(engine, Filters(**NOVEMBER, environment="production", timezone=tz),
                         window_hours=48)
    assert set(facts.deployments["id"]) == ids


def test_weekly_and_daily_buckets_are_local(engine: Engine) -> None:
    _fill(engine)
    f = Filters(**NOVEMBER, environment="production", timezone=KIRITIMATI)
    weekly = report.summary(report.facts(engine, f, window_hours=48), every="week")
    # Local days: d1, d7, d6 on Sun Nov 1 (ISO week of Mon Oct 26); d2 Mon Nov 16; d5 Mon Nov 30.
    got = dict(zip(weekly["period"].dt.date().to_list(), weekly["deployments"].to_list(),
                   strict=True))
    assert {k: v for k, v in got.items() if v} == {
        date(2026, 10, 26): 3, date(2026, 11, 16): 1, date(2026, 11, 30): 1}
    # The first week covers one local day of the period (Nov 1): 3 per day.
    first = weekly.row(0, named=True)
    assert (first["days"], first["deploys_per_day"]) == (pytest.approx(1.0), pytest.approx(3.0))
    utc = report.summary(report.facts(engine, Filters(**NOVEMBER, environment="production"),
                                      window_hours=48), every="week")
    got_utc = dict(zip(utc["period"].dt.date().to_list(), utc["deployments"].to_list(),
                       strict=True))
    # UTC: d6 Sun Nov 1 (week Oct 26); d2 Sun Nov 15 (week Nov 9); d5, d3 Mon Nov 30.
    assert {k: v for k, v in got_utc.items() if v} == {
        date(2026, 10, 26): 1, date(2026, 11, 9): 1, date(2026, 11, 30): 2}
    local = report.facts(engine, f, window_hours=48)
    daily = summarize(local, every="1d").filter(pl.col("deployments") > 0)
    per_day = {d: n for d, n in zip(daily["period"].dt.date().to_list(),
                                    daily["deployments"].to_list(), strict=True)}
    assert per_day == {date(2026, 11, 1): 3, date(2026, 11, 16): 1, date(2026, 11, 30): 1}
    # Deploy-days per week, local: weeks Oct 26 … Nov 30 (6 weeks) with 1, 0, 0, 1, 0, 1 days.
    assert daily.height == 3
    overall = summarize(local).row(0, named=True)
    assert overall["deploy_days_per_week_median"] == pytest.approx(0.5)


def test_report_errors_are_plain_sentences(engine: Engine) -> None:
    _fill(engine)
    with pytest.raises(BadRequest, match="no service named nope"):
        report.delivery(engine, Filters(services=("nope",)))
    with pytest.raises(BadRequest, match="positive number of hours"):
        report.facts(engine, Filters(), window_hours=-1)
    with pytest.raises(NoData, match="No restored incident"):
        report.mttr_baselines(engine, Filters())
