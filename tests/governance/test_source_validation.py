"""Quarterly source checklist and its sign-off: counts against plain SQL / by hand, the stored
and audited sign-off, and bad input refused with nothing written."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session

from analytics.cli import main
from analytics.reports import BadRequest
from analytics.reports.source_validation import checklist, quarter_days
from analytics.store.validations import sign_off_source, source_sign_offs
from tests.governance import builders as b


def _items(result) -> dict[str, dict]:
    return {i["item"]: i for i in result.items}


def _count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


@pytest.mark.parametrize(("quarter", "first", "last"), [
    ("2026Q1", "2026-01-01", "2026-03-31"), ("2024Q1", "2024-01-01", "2024-03-31"),
    ("2026Q4", "2026-10-01", "2026-12-31")])
def test_quarter_days(quarter, first, last):
    lo, hi = quarter_days(quarter)
    assert (lo.isoformat(), hi.isoformat()) == (first, last)


def test_checklist_counts_by_hand(engine):
    b.services(engine)
    # 3 deployments on 2 distinct days of 2026Q1 (90 days), 1 in Q2, 1 from another source.
    for i, day in enumerate([datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 15),
                             datetime(2026, 3, 31, 23, 59), datetime(2026, 4, 1)], start=1):
        b.deployment(engine, i, 2, day, source="jenkins")
    b.deployment(engine, 5, 2, datetime(2026, 2, 1), source="github")
    got = checklist(engine, source="jenkins", quarter="2026Q1")
    items = _items(got)
    assert items["deployment rows"]["value"] == 3
    cov = items["deployment coverage"]
    assert cov["value"] == pytest.approx(round(2 / 90, 4)) and cov["status"] == "check"
    assert "2 of 90 days" in cov["detail"]
    assert items["reconciliation differences"]["value"] == 0
    assert "incident rows" not in items  # the source has no incidents
    assert got.as_dict()["open_items"] == sum(i["status"] == "check" for i in got.items)


def test_demo_checklist_matches_plain_sql(demo_engine):
    got = _items(checklist(demo_engine, source="demo", quarter="2026Q3"))
    for table, ts in (("deployment", "finished_at"), ("ticket", "opened_at"), ("incident", "opened_at")):
        n = _count(demo_engine, f"SELECT count(*) FROM {table} WHERE source = 'demo' AND "
                                f"{ts} >= '2026-07-01' AND {ts} < '2026-10-01'")
        assert got[f"{table} rows"]["value"] == n > 0
    no_service = _count(demo_engine, "SELECT count(*) FROM incident WHERE service_id IS NULL")
    assert got["quality: incidents with no service"]["value"] == no_service


def test_sign_off_is_stored_audited_and_shown(engine, capsys):
    b.services(engine)
    b.deployment(engine, 1, 2, datetime(2026, 8, 1), source="jenkins")
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "validate-source", "--source", "jenkins", "--quarter", "2026Q3",
                 "--sign-off", "--by", "ana", "--findings", "=gaps in July", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(s["signed_by"], s["findings"]) for s in out["sign_offs"]] == [("ana", "=gaps in July")]
    stored = source_sign_offs(engine, "jenkins", "2026Q3")
    assert stored.height == 1
    with engine.connect() as conn:
        row = conn.execute(text("SELECT checklist FROM source_validation")).scalar_one()
        audit = conn.execute(text("SELECT action, actor FROM audit_log")).all()
    assert json.loads(row)["items"][0] == {"item": "deployment rows", "value": 1, "status": "ok",
                                           "detail": "1 rows from jenkins in 2026Q3"}
    assert [tuple(a) for a in audit] == [("sign_off_source", "ana")]


@pytest.mark.parametrize(("argv", "message"), [
    (["--source", "nope", "--quarter", "2026Q3"], "no imported table holds rows from source 'nope'"),
    (["--source", "jenkins", "--quarter", "2026-Q3"], "must look like 2026Q3"),
    (["--source", "jenkins", "--quarter", "2026Q3", "--sign-off", "--by", "ana"], "needs --by NAME and --findings"),
    (["--source", "jenkins", "--quarter", "2026Q3", "--by", "ana"], "only used with --sign-off"),
])
def test_bad_input_is_refused_and_nothing_written(engine, capsys, argv, message):
    b.services(engine)
    b.deployment(engine, 1, 2, datetime(2026, 8, 1), source="jenkins")
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "validate-source", *argv]) == 2
    assert message.lower() in capsys.readouterr().err.lower()
    assert _count(engine, "SELECT count(*) FROM source_validation") == 0


def test_store_function_refuses_empty_findings(engine):
    with Session(engine) as s, pytest.raises(ValueError, match="findings"):
        sign_off_source(session=s, source="x", quarter="2026Q1", by="ana", findings="  ", checklist={})
    with pytest.raises(BadRequest, match="2026Q3"):
        checklist(engine, source="x", quarter="Q3")


@pytest.fixture(scope="module")
def copied_demo(tmp_path_factory):  # noqa: ANN201
    """The demo store with a current read copy (every table holds the one source "demo")."""
    from analytics import demo
    from analytics.store import readcopy
    from analytics.store.db import get_engine, migrate
    from tests.conftest import DEMO_END

    eng = get_engine(f"sqlite:///{tmp_path_factory.mktemp('sv') / 'demo.db'}")
    migrate(eng)
    demo.load(eng, demo.generate(seed=7, end=DEMO_END))
    assert readcopy.refresh(eng) is not None
    return eng


@pytest.mark.parametrize("quarter", ["2025Q4", "2026Q2", "2026Q3", "2026Q4"])
def test_rows_and_days_from_the_copy_equal_plain_sql(copied_demo, quarter):
    """Counted in the read copy (the table holds only that source) or in SQL: the same rows
    and the same distinct UTC days as a plain SQL count."""
    from analytics.reports.source_validation import COPY_OF, SOURCE_TABLES, rows_and_days
    from analytics.store import copyscan
    from analytics.store.queries import Filters

    first, last = quarter_days(quarter)
    lo, hi = Filters(start=first, end=last).bounds()
    for table, copy in COPY_OF.items():
        assert copyscan.scan(copied_demo, copy) is not None  # the copy path is the one taken
        ts = SOURCE_TABLES[table]
        where = f"source = 'demo' AND {ts} >= '{lo}' AND {ts} < '{hi}'"
        n = _count(copied_demo, f"SELECT count(*) FROM {table} WHERE {where}")
        days = _count(copied_demo, f"SELECT count(DISTINCT date({ts})) FROM {table} WHERE {where}")
        assert rows_and_days(copied_demo, table, ts, "demo", lo, hi) == (n, days)
        assert rows_and_days(copied_demo, table, ts, "other", lo, hi) == (0, 0)
