"""reports.releases and reports.experiments: the failed releases the customer pages offer, and one
CSV reader/analysis for the `experiment` command and the Experiments page's upload."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, text

from analytics.reports import BadRequest, NoData
from analytics.reports import experiments as exp_report
from analytics.reports.releases import failed_releases
from analytics.store.bulk import bulk_insert
from analytics.store.queries import Filters

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "experiments"

# (service id, environment, status, is_rollback, finished_at)
DEPLOYS = [
    (1, "production", "failed", False, datetime(2026, 3, 2, 10)),
    (1, "production", "rolled_back", False, datetime(2026, 3, 5, 10)),
    (1, "production", "success", True, datetime(2026, 3, 5, 11)),    # the rollback itself
    (2, "production", "success", False, datetime(2026, 3, 6, 10)),
    (2, "staging", "failed", False, datetime(2026, 3, 7, 10)),        # not production
    (2, "production", "failed", False, datetime(2026, 3, 9, 23, 30)),  # 10 March in Berlin
    (2, "production", "failed", False, datetime(2026, 4, 1, 10)),     # after the period
]


def _fill(engine: Engine) -> None:
    services = pl.DataFrame({
        "id": [1, 2], "name": ["api", "web"], "team": ["core", "front"], "tier": ["gold", "silver"],
        "criticality": [1, 2], "customer_facing": [True, True], "timezone": ["UTC", "UTC"],
        "confirmed": [True, True], "source": ["test", "test"], "external_id": ["api", "web"]})
    deploys = pl.DataFrame([{"service_id": s, "environment": env, "status": st, "is_rollback": rb,
                             "started_at": at, "finished_at": at, "version": f"v{i}", "source": "test",
                             "external_id": f"d{i}"} for i, (s, env, st, rb, at) in enumerate(DEPLOYS)])
    with engine.begin() as conn:
        bulk_insert(conn, "service", services)
        bulk_insert(conn, "deployment", deploys)


def test_failed_releases_newest_first_production_only(engine: Engine) -> None:
    _fill(engine)
    march = Filters(start=date(2026, 3, 1), end=date(2026, 3, 31), environment="staging")
    got = failed_releases(engine, march)
    # failed or rolled back, in production (whatever the environment filter), rollbacks left out
    assert got.select("version", "service", "status").rows() == [
        ("v5", "web", "failed"), ("v1", "api", "rolled_back"), ("v0", "api", "failed")]
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM deployment WHERE environment = 'production' AND "
                              "status IN ('failed', 'rolled_back') AND NOT is_rollback AND "
                              "finished_at >= '2026-03-01' AND finished_at < '2026-04-01'")).scalar_one()
    assert got.height == n
    assert failed_releases(engine, march, limit=1)["version"].to_list() == ["v5"]


def test_failed_releases_days_in_the_filters_time_zone(engine: Engine) -> None:
    _fill(engine)
    # 23:30 UTC on 9 March is 00:30 on 10 March in Berlin (UTC+1).
    day = date(2026, 3, 10)
    assert failed_releases(engine, Filters(start=day, end=day))["version"].to_list() == []
    assert failed_releases(engine, Filters(start=day, end=day, timezone="Europe/Berlin"))["version"].to_list() == ["v5"]


def test_failed_releases_empty_has_the_columns(engine: Engine) -> None:
    got = failed_releases(engine, Filters(start=date(2026, 3, 1), end=date(2026, 3, 31)))
    assert got.height == 0 and got.columns == ["id", "service", "version", "status", "finished_at"]


def test_csv_from_bytes_equals_csv_from_path() -> None:
    path = FIXTURES / "means_summary.csv"
    from_path = exp_report.analyse_csv(path, metric_type="mean", control=None)
    from_bytes = exp_report.analyse_csv(path.read_bytes(), metric_type="mean", control=None, name="m.csv")
    assert exp_report.result_rows(from_path) == exp_report.result_rows(from_bytes)
    # REFERENCE §4: absolute lift 0.29, p = 0.02016
    b = exp_report.result_rows(from_bytes)[1]
    assert b["abs_lift"] == pytest.approx(0.29, abs=5e-5) and b["p_value"] == pytest.approx(0.02016, abs=5e-5)


def test_upload_problems_name_the_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"variant,value\nA,1.5\nA,2.5\nB,3.0\nB,abc\n"
    with pytest.raises(BadRequest, match=r"^up\.csv, row 4 \(line 5\), column 'value': 'abc' is not a number$"):
        exp_report.analyse_upload(data, name="up.csv", metric_type="mean", control=None)
    monkeypatch.setenv("WORKBENCH_UPLOAD_LIMIT_MB", "0")  # settings are read on each call
    with pytest.raises(BadRequest, match="over the upload limit of 0 MB"):
        exp_report.analyse_upload(b"variant,value\nA,1\nB,2\n", name="x.csv", metric_type="mean", control=None)


def test_stored_result_unknown_and_empty(engine: Engine) -> None:
    with pytest.raises(BadRequest, match="no experiment with id 9"):
        exp_report.stored_result(engine, experiment_id=9)
    with engine.begin() as conn:
        bulk_insert(conn, "experiment", pl.DataFrame({
            "name": ["empty"], "design": ["ab"], "metric": ["m"], "metric_type": ["mean"],
            "control": ["control"], "factors": ["[]"], "planned_split": ["{}"],
            "started_at": [datetime(2026, 1, 1)], "ended_at": [datetime(2026, 1, 2)], "description": [""],
            }))
        eid = conn.execute(text("SELECT id FROM experiment")).scalar_one()
    with pytest.raises(NoData, match="'empty' has no observations"):
        exp_report.stored_result(engine, experiment_id=eid)
