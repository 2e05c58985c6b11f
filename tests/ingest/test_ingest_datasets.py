"""Real datasets: BPIC 2014 and the UCI incident event log (full files when ../shared/data exists)."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from analytics.ingest.importer import import_files
from analytics.ingest.validate import InvalidImport
from analytics.store.db import get_engine, migrate
from tests.conftest import requires_shared_data

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ingest"


def _scalar(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_bpic_mini_handles_the_traps(engine, read):
    r = import_files(engine, "bpic2014", [FIXTURES / "bpic2014-mini"], tz="Europe/Amsterdam")
    t = {k: v["inserted"] for k, v in r.tables.items()}
    # 3 changes; C1 touches two components → 2 deployments; C3 has no Actual End (rejected).
    assert t == {"services created": 5, "change_requests": 3, "deployments": 3, "changes": 3,
                 "incidents": 3, "tickets": 3}
    assert r.rejected == 1
    dep = read(engine, "SELECT external_id, started_at, finished_at FROM deployment ORDER BY 1").rows()
    # WBS000001 rows of C1: 7:05–8:40 and 7:00–8:55 CET → 06:00–07:55 UTC.
    assert dep[0] == ("C00000001/WBS000001", datetime(2014, 3, 1, 6, 0), datetime(2014, 3, 1, 7, 55))
    # 30-3-2014 2:30 does not exist in Amsterdam (clocks jump 02:00→03:00): shifted to 03:00 CEST.
    assert dep[2] == ("C00000002/WBS000002", datetime(2014, 3, 30, 1, 0), datetime(2014, 3, 30, 1, 10))
    inc = read(engine, "SELECT i.external_id, i.severity, i.priority, i.resolved_at, i.closed_at, "
                       "c.external_id AS c, d.external_id AS d "
                       "FROM incident i LEFT JOIN change_request c ON c.id = i.caused_by_change_request_id "
                       "LEFT JOIN deployment d ON d.id = i.caused_by_deployment_id ORDER BY 1").rows()
    assert inc == [
        # Related Change C1, caused-by component WBS000002 → that component's deployment.
        ("IM0000001", 3, 3, datetime(2014, 3, 1, 10, 40), datetime(2014, 3, 1, 10, 41), "C00000001",
         "C00000001/WBS000002"),
        # #MULTIVALUE: no link; priority 5 kept (severity 4); no Resolved Time: resolved_at stays
        # empty, Close Time 05:00 CEST kept as closed_at.
        ("IM0000002", 4, 5, None, datetime(2014, 3, 30, 3, 0), None, None),
        # C00000404 is not in the change file: link left empty (warned).
        ("IM0000003", 4, 4, None, None, None, None)]
    assert any("C00000404" in w for w in r.warnings)
    tickets = read(engine, "SELECT t.external_id, i.external_id AS i FROM ticket t LEFT JOIN incident i "
                           "ON i.id = t.related_incident_id ORDER BY 1").rows()
    assert tickets == [("SD0000001", "IM0000001"), ("SD0000002", None), ("SD0000004", None)]


def test_bpic_bad_date_is_refused(engine, dump):
    before = dump(engine)
    with pytest.raises(InvalidImport) as err:
        import_files(engine, "bpic2014", [FIXTURES / "bpic2014-bad"])
    assert "row 2, column 'Open Time', value '31/02/2014 09:10:00': not a day-first date-time" in str(err.value)
    assert dump(engine) == before


def test_uci_mini_takes_the_final_record_and_keeps_links(engine, read):
    r = import_files(engine, "uci-incidents", [FIXTURES / "uci-mini"])
    assert r.tables["incidents"]["inserted"] == 2
    rows = read(engine, "SELECT i.external_id, s.name, i.severity, i.opened_at, i.resolved_at, "
                        "i.problem_id, c.external_id AS c, i.made_sla FROM incident i "
                        "JOIN service s ON s.id = i.service_id "
                        "LEFT JOIN change_request c ON c.id = i.caused_by_change_request_id ORDER BY 1").rows()
    assert rows == [
        # final priority 1 - Critical; rfc and problem_id from earlier events; resolved 29/2 11:29;
        # made_sla of the final (Closed) record is false although earlier events said true.
        ("INC0000001", "Category 5", 1, datetime(2016, 2, 29, 1, 16), datetime(2016, 2, 29, 11, 29),
         "PRB0000007", "CHG0000404", False),
        # still Active: not resolved.
        ("INC0000002", "Category 7", 4, datetime(2016, 3, 1, 10, 0), None, None, None, True)]


@pytest.fixture(scope="module")
def bpic_store(tmp_path_factory):
    """The full BPIC 2014 import, once for the module."""
    folder = requires_shared_data("bpic2014")
    engine = get_engine(f"sqlite:///{tmp_path_factory.mktemp('bpic') / 'store.db'}")
    migrate(engine)
    result = import_files(engine, "bpic2014", [folder])
    yield engine, result, folder
    engine.dispose()


def _raw(folder: Path, name: str) -> list[dict[str, str]]:
    text_ = gzip.decompress((folder / f"{name}.csv.gz").read_bytes()).decode("ascii")
    return list(csv.DictReader(io.StringIO(text_), delimiter=";"))


def test_bpic_reproduces_the_dataset_counts(bpic_store):
    engine, result, _ = bpic_store
    assert _scalar(engine, "SELECT count(*) FROM incident") == 46_606
    assert _scalar(engine, "SELECT count(DISTINCT external_id) FROM change_request") == 18_000
    assert _scalar(engine, "SELECT count(*) FROM ticket") == 147_004
    assert result.tables["incidents"]["inserted"] == 46_606


def test_bpic_change_incident_links_match_the_raw_file(bpic_store):
    engine, _, folder = bpic_store
    # Independently: the raw file's single Related Change ids that name a change in Detail_Change.
    changes = {r["Change ID"] for r in _raw(folder, "Detail_Change")}
    expected = {(r["Incident ID"], r["Related Change"]) for r in _raw(folder, "Detail_Incident")
                if r["Incident ID"] and r["Related Change"] not in ("", "#MULTIVALUE")
                and r["Related Change"] in changes}
    with engine.connect() as conn:
        stored = set(conn.execute(text(
            "SELECT i.external_id, c.external_id FROM incident i "
            "JOIN change_request c ON c.id = i.caused_by_change_request_id")).all())
    assert len(expected) == 505
    assert stored == expected


def test_bpic_second_import_changes_nothing(bpic_store):
    engine, _, folder = bpic_store
    again = import_files(engine, "bpic2014", [folder]).summary()
    assert (again["inserted"], again["updated"]) == (0, 0)
    assert again["unchanged"] == 18_000 + 17_894 * 2 + 46_606 + 147_004


def test_uci_full_log_collapses_to_one_incident_per_number(engine):
    folder = requires_shared_data("uci-incident-event-log")
    r = import_files(engine, "uci-incidents", [folder])
    assert r.tables["incidents"]["inserted"] == 24_918
    assert _scalar(engine, "SELECT count(*) FROM incident WHERE caused_by_change_request_id IS NOT NULL") == 179
    assert _scalar(engine, "SELECT count(*) FROM incident WHERE problem_id IS NOT NULL") == 381
    # The dataset's README: the last events say made_sla true for 15,803 incidents, false for 9,115.
    assert _scalar(engine, "SELECT count(*) FROM incident WHERE made_sla") == 15_803
    assert _scalar(engine, "SELECT count(*) FROM incident WHERE NOT made_sla") == 9_115
