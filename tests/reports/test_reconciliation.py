"""The reconciliation report (what the CLI and the Data page show) against plain SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from analytics.reports import BadRequest
from analytics.reports.reconciliation import reconciliation
from analytics.store.queries import Filters

LINKED = "SELECT count(*) FROM deployment d JOIN change_request c ON c.id = d.change_request_id"
MISMATCH = ("(CASE c.outcome WHEN 'successful' THEN 'success' WHEN 'unsuccessful' THEN 'failed' "
            "END) <> d.status")


def _one(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_linked_and_disagreeing_deployments_match_plain_sql(demo_engine):
    got = reconciliation(demo_engine)
    assert got.linked == _one(demo_engine, LINKED) > 0
    differ = (f"{LINKED} WHERE d.started_at <> c.actual_start OR d.finished_at <> c.actual_end "
              f"OR {MISMATCH}")
    assert got.disagree.height == _one(demo_engine, differ) > 0
    biggest = [max(abs(a or 0), abs(b or 0)) for a, b in
               got.disagree.select("start_diff_min", "end_diff_min").iter_rows()]
    assert biggest == sorted(biggest, reverse=True)


def test_tolerance_and_filters_narrow_the_report(demo_engine):
    late = _one(demo_engine, f"{LINKED} WHERE abs(julianday(d.finished_at) - "
                             "julianday(c.actual_end)) * 1440 > 60.0001") \
        if demo_engine.dialect.name == "sqlite" else None
    got = reconciliation(demo_engine, tolerance_minutes=60)
    issues = got.disagree["issues"].str.split(", ").explode()
    if late is not None:
        assert int((issues == "end").sum()) == late
    service = got.disagree["service"][0]
    one = reconciliation(demo_engine, filters=Filters(services=(service,)), tolerance_minutes=60)
    assert set(one.disagree["service"]) == {service}
    assert one.linked == _one(demo_engine, f"{LINKED} JOIN service s ON s.id = d.service_id "
                                           f"WHERE s.name = '{service}'")


def test_negative_tolerance_is_a_bad_request(engine):
    with pytest.raises(BadRequest, match="must not be negative"):
        reconciliation(engine, tolerance_minutes=-1)
