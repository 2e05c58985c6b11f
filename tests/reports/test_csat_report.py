"""reports.csat: one read rule for the page, `report csat` and the notebook — open bounds, the
time zone's local days and CSAT by segment, each expected value counted by hand or plain SQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import polars as pl
import pytest
from sqlalchemy import Engine, text

from analytics.cli import main
from analytics.reports import BadRequest, NoData
from analytics.reports import csat as report
from analytics.store.bulk import bulk_insert
from analytics.store.queries import Filters

# (responded_at UTC, score, nps, segment, service id). Scores ≥ 4 are satisfied.
ANSWERS = [
    (datetime(2026, 3, 2, 12), 5, 10, "smb", 1),
    (datetime(2026, 3, 2, 13), 4, 8, "smb", 1),
    (datetime(2026, 3, 2, 14), 1, 2, "enterprise", 2),
    (datetime(2026, 3, 10, 2), 5, 9, "enterprise", 1),   # still 9 March in New York (UTC−4)
    (datetime(2026, 3, 10, 15), 2, 6, "smb", 2),
    (datetime(2026, 3, 20, 9), 4, None, "smb", 1),
    (datetime(2026, 3, 20, 10), 4, 7, "enterprise", 2),
    (datetime(2026, 3, 20, 11), 4, 10, "enterprise", 1),
    (datetime(2026, 3, 20, 12), 1, 0, "smb", 2),
]


def _fill(engine: Engine) -> None:
    services = pl.DataFrame({
        "id": [1, 2], "name": ["api", "web"], "team": ["core", "front"], "tier": ["gold", "silver"],
        "criticality": [1, 2], "customer_facing": [True, True], "timezone": ["UTC", "UTC"],
        "confirmed": [True, True], "source": ["test", "test"], "external_id": ["api", "web"]})
    rows = [{"service_id": sid, "responded_at": at, "score": score, "nps": nps, "segment": seg,
             "customer_id": f"c{i}", "source": "test", "external_id": f"r{i}"}
            for i, (at, score, nps, seg, sid) in enumerate(ANSWERS)]
    with engine.begin() as conn:
        bulk_insert(conn, "service", services)
        bulk_insert(conn, "csat_response", pl.DataFrame(rows))


def _sql_share(engine: Engine, where: str) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            f"SELECT count(*), sum(CASE WHEN score >= 4 THEN 1 ELSE 0 END) FROM csat_response WHERE {where}")).one())


@pytest.mark.parametrize(("start", "end", "where", "n", "satisfied"), [
    # Only an end: 2 + 3 March (3 answers, 2 satisfied) and 10 March (2 answers, 1 satisfied).
    (None, date(2026, 3, 10), "responded_at < '2026-03-11'", 5, 3),
    # Only a start: 10 March (1 of 2) and 20 March (3 of 4).
    (date(2026, 3, 10), None, "responded_at >= '2026-03-10'", 6, 4),
    (None, None, "1=1", 9, 6),
])
def test_open_bounds_count_every_answer_on_the_open_side(engine: Engine, start, end, where, n, satisfied) -> None:
    # The old page read filtered `day >= start, day <= end` with a None bound and kept nothing.
    _fill(engine)
    assert _sql_share(engine, where) == (n, satisfied)
    result = report.csat_report(engine, filters=Filters(start=start, end=end))
    assert (result.total["n"], result.total["satisfied"]) == (n, satisfied)
    assert result.total["csat"] == pytest.approx(satisfied / n)
    assert int(result.weekly["n"].sum()) == n  # every answer lands in a week of the series


def test_local_day_decides_the_period(engine: Engine) -> None:
    _fill(engine)
    # In New York (EDT from 8 March, UTC−4) the 02:00 UTC answer of 10 March is on 9 March.
    ny = report.csat_report(engine, filters=Filters(start=date(2026, 3, 10), end=date(2026, 3, 10),
                                                    timezone="America/New_York"))
    utc = report.csat_report(engine, filters=Filters(start=date(2026, 3, 10), end=date(2026, 3, 10)))
    assert (ny.total["n"], ny.total["satisfied"]) == (1, 0)
    assert (utc.total["n"], utc.total["satisfied"]) == (2, 1)


def test_csat_by_segment_by_hand(engine: Engine) -> None:
    _fill(engine)
    groups = report.csat_by(engine, filters=Filters(), by="segment")
    # smb: scores 5, 4, 2, 4, 1 → 3 of 5; enterprise: 1, 5, 4, 4 → 3 of 4.
    # NPS smb: answers 10, 8, 6, 0 (one missing) → (1 − 2) / 4; enterprise 2, 9, 7, 10 → (2 − 1) / 4.
    rows = {r["segment"]: r for r in groups.iter_rows(named=True)}
    assert groups["segment"].to_list() == ["smb", "enterprise"]  # most answers first
    assert (rows["smb"]["n"], rows["smb"]["satisfied"]) == (5, 3)
    assert rows["enterprise"]["csat"] == pytest.approx(3 / 4)
    assert rows["smb"]["nps"] == pytest.approx(-25.0) and rows["enterprise"]["nps"] == pytest.approx(25.0)
    with engine.connect() as conn:
        sql = dict(conn.execute(text("SELECT segment, avg(CASE WHEN score >= 4 THEN 1.0 ELSE 0 END) "
                                     "FROM csat_response GROUP BY segment")).all())
    # PostgreSQL's avg() is a Decimal: compare as floats.
    assert {k: r["csat"] for k, r in rows.items()} == pytest.approx(
        {k: float(v) for k, v in sql.items()})


def test_csat_by_service_and_team_follow_the_service(engine: Engine) -> None:
    _fill(engine)
    by_service = report.csat_by(engine, filters=Filters(), by="service")
    by_team = report.csat_by(engine, filters=Filters(), by="team")
    # api: 5, 4, 5, 4, 4 → 5 of 5; web: 1, 2, 4, 1 → 1 of 4; team core = api, front = web.
    assert by_service.select("service", "n", "satisfied").rows() == [("api", 5, 5), ("web", 4, 1)]
    assert by_team.select("team", "n", "satisfied").rows() == [("core", 5, 5), ("front", 4, 1)]


def test_bad_split_and_empty_period(engine: Engine) -> None:
    _fill(engine)
    with pytest.raises(BadRequest, match="not 'region'"):
        report.csat_by(engine, filters=Filters(), by="region")
    with pytest.raises(NoData):
        report.csat_report(engine, filters=Filters(start=date(2027, 1, 1)))


def test_cli_by_segment_equals_report(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    _fill(engine)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "csat", "--by", "segment", "--to", "2026-03-10", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # Up to 10 March: smb 5, 4, 2 → 2 of 3; enterprise 1, 5 → 1 of 2.
    assert [(r["segment"], r["n"], r["satisfied"]) for r in out] == [("smb", 3, 2), ("enterprise", 2, 1)]
    assert out[0]["csat"] == pytest.approx(2 / 3, abs=1e-6)
    assert main(["--db", url, "report", "csat", "--by", "segment", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("segment,n,satisfied,csat")


def test_cli_only_end_given(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    _fill(engine)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "csat", "--to", "2026-03-10", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["n"], out["csat"]) == (5, pytest.approx(3 / 5))
    assert [w["period"] for w in out["weekly"]] == ["2026-03-02", "2026-03-09"]


def test_cli_choices_match_the_definitions() -> None:
    from analytics.cli.experiment import METRIC_TYPES
    from analytics.cli.report_csat import BY_CHOICES
    from analytics.metrics.csat import GROUP_COLUMNS
    from analytics.studies import experiments

    assert BY_CHOICES == GROUP_COLUMNS
    assert METRIC_TYPES == experiments.METRIC_TYPES


def test_cli_modules_import_no_report_or_statistics() -> None:
    code = ("import sys, analytics.cli.report_csat, analytics.cli.experiment; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'sklearn', 'statsmodels') "
            "or m.startswith('analytics.reports.') or m.startswith('analytics.studies')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
