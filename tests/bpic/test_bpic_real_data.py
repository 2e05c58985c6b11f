"""BPIC 2014 kept faithfully: priorities 1–5, resolved and closed apart, status and category,
the default period drawn from the bulk of the data, and resolution SLAs by priority recomputed
from the raw CSV with the csv module (not the importer)."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import Engine, text

from analytics.cli import main
from tests.conftest import requires_shared_data

pytestmark = pytest.mark.bpic
TARGETS = {1: 4, 2: 8, 3: 24, 4: 48, 5: 96}


def _run(engine: Engine, capsys: pytest.CaptureFixture, *argv: str) -> dict:
    code = main(["--db", engine.url.render_as_string(hide_password=False), "report", *argv,
                 "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _raw_incidents() -> list[dict[str, str]]:
    path = requires_shared_data("bpic2014") / "Detail_Incident.csv.gz"
    with gzip.open(path, "rt", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter=";") if r["Incident ID"]]


def _t(value: str) -> datetime:
    return datetime.strptime(value, "%d/%m/%Y %H:%M:%S")


def test_importer_keeps_priority_times_status_and_category(bpic_engine: Engine) -> None:
    raw = _raw_incidents()
    with bpic_engine.connect() as conn:
        stored = Counter(tuple(r) for r in conn.execute(text(
            "SELECT priority, status, category, resolved_at IS NULL FROM incident")))
    expected = Counter((int(r["Priority"]), r["Status"], r["Category"], r["Resolved Time"] == "")
                       for r in raw)
    assert stored == expected
    assert expected[(5, "Closed", "incident", False)] > 0  # priority 5 is no longer merged into 4


def test_delivery_without_dates_covers_the_bulk_and_says_what_it_left_out(
        bpic_engine: Engine, capsys: pytest.CaptureFixture) -> None:
    out = _run(bpic_engine, capsys, "delivery")
    period = out["period"]
    assert (period["from"], period["to"], period["days"]) == ("2013-10-01", "2014-03-31", 182)
    with bpic_engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM deployment WHERE finished_at >= '2013-10-01' "
                              "AND finished_at < '2014-04-01'")).scalar_one()
    assert out["deployments"] == n and out["deploys_per_day"] == pytest.approx(n / 182)
    assert out["deploys_per_day"] > 90  # not 5.83 over 3,069 days
    deployments = next(o for o in period["left_out"] if o["table"] == "deployments")
    assert deployments["last"].startswith("2021-03-21") and deployments["after"] == 11
    assert "2021-03-21" in period["note"]


def test_summary_flags_timestamps_outside_the_bulk(bpic_engine: Engine,
                                                   capsys: pytest.CaptureFixture) -> None:
    out = _run(bpic_engine, capsys, "summary")
    flags = {o["table"]: o for o in out["outside_bulk"]}
    assert flags["deployments"]["after"] == 11
    assert "2021-03-21 00:01:00" in [r["at"] for r in flags["deployments"]["rows"]]


@pytest.mark.parametrize("clock", ["wall"])
def test_resolution_sla_matches_the_raw_csv(bpic_engine: Engine, capsys: pytest.CaptureFixture,
                                            clock: str) -> None:
    out = _run(bpic_engine, capsys, "resolution-sla", "--targets",
               "P1=4h,P2=8h,P3=24h,P4=48h,P5=96h", "--clock", clock, "--category", "incident",
               "--status", "Closed", "--from", "2013-10-01")
    n, breached, fallback = Counter(), Counter(), 0
    for r in _raw_incidents():
        if r["Category"] != "incident" or r["Status"] != "Closed":
            continue
        opened = _t(r["Open Time"])
        if opened < datetime(2013, 10, 1) or opened >= datetime(2014, 4, 1):
            continue
        fallback += r["Resolved Time"] == ""
        ended = _t(r["Resolved Time"] or r["Close Time"])
        p = int(r["Priority"])
        n[p] += 1
        breached[p] += (ended - opened).total_seconds() / 3600 > TARGETS[p]
    assert out["incidents"] == sum(n.values()) and out["breached"] == sum(breached.values())
    assert out["closed_fallback"] == fallback > 0
    assert out["breach_rate"] == pytest.approx(sum(breached.values()) / sum(n.values()))
    for row in out["by_priority"]:
        p = int(row["priority"][1])
        assert (row["incidents"], row["breached"]) == (n[p], breached[p]), row


def test_weekday_on_a_store_with_deployments_only(bpic_engine: Engine, tmp_path,
                                                  capsys: pytest.CaptureFixture) -> None:
    """Hardening 14: BPIC without incidents and tickets crashed `report weekday` (SchemaError
    on the empty incident read)."""
    import shutil

    from analytics.store.db import get_engine

    bpic_engine.dispose()
    shutil.copy(bpic_engine.url.database, tmp_path / "deps.db")
    eng = get_engine(f"sqlite:///{tmp_path / 'deps.db'}")
    with eng.begin() as conn:
        for sql in ("DELETE FROM incident_attribution", "UPDATE ticket SET related_incident_id = NULL",
                    "DELETE FROM ticket", "DELETE FROM incident"):
            conn.execute(text(sql))
    out = _run(eng, capsys, "weekday", "--from", "2013-10-01", "--to", "2014-03-31")
    assert sum(r["deployments"] for r in out["by_weekday"]) > 0
    assert out["incidents_by_weekday"] and all(r["incidents"] == 0 for r in out["incidents_by_weekday"])
    eng.dispose()


def test_recurrence_says_its_basis(bpic_engine: Engine, capsys: pytest.CaptureFixture,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """BPIC's root cause is a closure code: by default recurrence uses problem ids only (BPIC has
    none, so nothing recurs); forcing the fallback on gives the misleading ~94%."""
    period = ("--from", "2013-10-01", "--to", "2014-03-31")
    out = _run(bpic_engine, capsys, "delivery", *period)
    assert out["incident_recurrence_basis"] == "problem_id"
    assert out["incident_recurrence_rate"] == 0
    monkeypatch.setenv("WORKBENCH_RECURRENCE_ROOT_CAUSE", "on")
    forced = _run(bpic_engine, capsys, "delivery", *period)
    assert forced["incident_recurrence_basis"] == "problem_id+root_cause"
    assert forced["incident_recurrence_rate"] > 0.9
