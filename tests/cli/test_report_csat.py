"""`report csat` on a small store: expected numbers from plain SQL and hand arithmetic."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine, text

from analytics.cli import main
from analytics.store.bulk import bulk_insert

MONDAY = datetime(2026, 2, 2)
# (week index, responses, satisfied) per service; week 2 has no responses at all (a gap);
# week 5 is the planted drop: 12 of 40 satisfied.
WEEKS = {"api": [(0, 30, 27), (1, 30, 26), (3, 30, 27), (4, 30, 28), (5, 20, 6), (6, 30, 27)],
         "web": [(0, 10, 9), (1, 10, 9), (3, 10, 8), (4, 10, 9), (5, 20, 6), (6, 10, 9)]}


def _fill(engine: Engine) -> None:
    services = pl.DataFrame({
        "id": [1, 2], "name": ["api", "web"], "team": ["core", "front"], "tier": ["gold", "silver"],
        "criticality": [1, 2], "customer_facing": [True, True], "timezone": ["UTC", "UTC"],
        "confirmed": [True, True], "source": ["test", "test"], "external_id": ["api", "web"]})
    rows = []
    for sid, (name, weeks) in enumerate(WEEKS.items(), start=1):
        for week, n, k in weeks:
            for i in range(n):
                at = MONDAY + timedelta(weeks=week, hours=1 + i * 3)  # spread over the week
                # NPS: every satisfied answer is a promoter (10); a third of the rest detractors (3), others passive (7)
                nps = 10 if i < k else (3 if i % 3 == 0 else 7)
                rows.append({"service_id": sid, "responded_at": at, "score": 5 if i < k else 2, "nps": nps,
                             "segment": "smb", "customer_id": f"c{i}", "source": "test",
                             "external_id": f"{name}-{week}-{i}"})
    with engine.begin() as conn:
        bulk_insert(conn, "service", services)
        bulk_insert(conn, "csat_response", pl.DataFrame(rows))


def _run(engine: Engine, capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, dict | str]:
    url = engine.url.render_as_string(hide_password=False)
    code = main(["--db", url, "report", "csat", *argv, "--format", "json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else captured.err)


def _sql(engine: Engine, sql: str) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(text(sql)).one())


def test_report_csat_totals_match_sql(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    _fill(engine)
    code, out = _run(engine, capsys)
    assert code == 0
    n, sat, promoters, detractors = _sql(engine, "SELECT count(*), sum(CASE WHEN score >= 4 THEN 1 ELSE 0 END), "
                                         "sum(CASE WHEN nps >= 9 THEN 1 ELSE 0 END), "
                                         "sum(CASE WHEN nps <= 6 THEN 1 ELSE 0 END) FROM csat_response")
    assert out["n"] == n == 240
    assert out["csat"] == pytest.approx(sat / n)
    assert out["nps"] == pytest.approx(100 * (promoters - detractors) / n)
    assert out["csat_low"] < out["csat"] < out["csat_high"]


def test_report_csat_weekly_gap_and_out_of_control(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    _fill(engine)
    _, out = _run(engine, capsys)
    weekly = out["weekly"]
    assert [w["period"] for w in weekly] == [(MONDAY.date() + timedelta(weeks=i)).isoformat() for i in range(7)]
    assert [w["n"] for w in weekly] == [40, 40, 0, 40, 40, 40, 40]
    assert weekly[2]["csat"] is None and weekly[2]["gap"] is True and out["gap_weeks"] == 1
    assert weekly[5]["csat"] == pytest.approx(12 / 40)
    # p̄ = (36 + 35 + 35 + 37 + 12 + 36) / 240 = 191 / 240; limits p̄ ± 3·sqrt(p̄(1 − p̄)/40)
    p_bar = 191 / 240
    half = 3 * math.sqrt(p_bar * (1 - p_bar) / 40)
    assert out["chart"] == "p"
    assert weekly[0]["lcl"] == pytest.approx(p_bar - half) and weekly[0]["ucl"] == pytest.approx(min(1.0, p_bar + half))
    assert out["out_of_control"] == [{"period": "2026-03-09", "n": 40, "csat": pytest.approx(0.3),
                                      "center": pytest.approx(p_bar), "lcl": pytest.approx(p_bar - half),
                                      "ucl": pytest.approx(p_bar + half), "signal": "below"}]


def test_report_csat_filters(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    _fill(engine)
    _, out = _run(engine, capsys, "--service", "web", "--from", "2026-02-09", "--to", "2026-02-22")
    # web, weeks 1 and 2 (week 2 a gap): 9 of 10
    assert out["n"] == 10 and out["csat"] == pytest.approx(0.9)
    assert [(w["period"], w["n"]) for w in out["weekly"]] == [("2026-02-09", 10), ("2026-02-16", 0)]


def test_report_csat_in_another_time_zone(engine: Engine, capsys: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(engine)
    monkeypatch.setenv("WORKBENCH_TIMEZONE", "America/New_York")
    _, out = _run(engine, capsys, "--from", "2026-02-02", "--to", "2026-02-08")
    # Responses at 01:00 and 04:00 UTC on Monday 2 Feb are still Sunday 1 Feb in New York
    # (i = 0, 1 of each service's week 0); the first 5 h of Mon 9 Feb UTC (i = 0, 1) belong to 8 Feb.
    assert out["timezone"] == "America/New_York" and out["n"] == 40
    assert out["weekly"][0]["period"] == date(2026, 2, 2).isoformat()


@pytest.mark.parametrize(("argv", "message"), [
    (["--service", "nope"], "unknown service nope (--service)"),
    (["--from", "2027-01-01", "--to", "2027-01-31"], "no CSAT responses match the filters"),
    (["--from", "2026-03-01", "--to", "2026-02-01"], "--from 2026-03-01 is after --to 2026-02-01"),
])
def test_report_csat_bad_input_exit_2(engine: Engine, capsys: pytest.CaptureFixture, argv: list[str],
                                      message: str) -> None:
    _fill(engine)
    code, err = _run(engine, capsys, *argv)
    assert code == 2 and message in err
