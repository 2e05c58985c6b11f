"""Canonical CSV / Parquet / JSON-lines imports: values, idempotency, malformed files, batches."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from analytics.ingest.importer import import_files, preview
from analytics.ingest.validate import InvalidImport

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "analytics" / "ingest" / "examples"
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"


def _load_examples(engine, upto: str | None = None) -> dict[str, dict]:
    """Import every README example in dependency order; return each summary."""
    order = [("services", "services.csv"), ("openslo", "slos.yaml"), ("deployments", "deployments.csv"),
             ("changes", "changes.csv"), ("incidents", "incidents.csv"), ("tickets", "tickets.csv"),
             ("csat", "csat.jsonl"), ("sli", "sli.csv"), ("maintenance", "maintenance.csv"),
             ("outages", "outages.csv")]
    out = {}
    for kind, name in order:
        out[kind] = import_files(engine, kind, [EXAMPLES / name], actor="tester").summary()
        if kind == upto:
            break
    return out


def test_every_readme_example_imports_with_its_values(engine, read):
    s = _load_examples(engine)
    assert {k: v["inserted"] for k, v in s.items()} == {
        "services": 1, "openslo": 1, "deployments": 3, "changes": 3, "incidents": 1, "tickets": 1,
        "csat": 1, "sli": 2, "maintenance": 1, "outages": 1}
    dep = read(engine, "SELECT * FROM deployment ORDER BY external_id")
    # dep-1002 is naive (read as UTC); dep-1003 carries +02:00 → 15:05 UTC.
    assert dep["finished_at"].to_list() == [datetime(2024, 5, 2, 9, 14), datetime(2024, 5, 3, 16, 40),
                                            datetime(2024, 5, 3, 15, 5)]
    assert dep["unplanned"].to_list() == [False, True, False]
    assert dep["emergency"].to_list() == [False, False, True]
    assert dep["is_rollback"].to_list() == [False, False, True]
    assert dep["test_coverage"].to_list() == [81.5, 80.9, None]
    inc = read(engine, "SELECT i.*, d.external_id AS dep FROM incident i "
                             "JOIN deployment d ON d.id = i.caused_by_deployment_id")
    assert inc.select("external_id", "severity", "dep", "customer_facing", "outage").row(0) == (
        "INC-77", 2, "dep-1002", True, False)
    t = read(engine, "SELECT t.severity, i.external_id AS inc, t.first_response_at FROM ticket t "
                           "JOIN incident i ON i.id = t.related_incident_id")
    assert t.rows() == [(2, "INC-77", datetime(2024, 5, 3, 17, 20))]
    c = read(engine, "SELECT r.score, r.nps, d.external_id AS dep FROM csat_response r "
                           "JOIN deployment d ON d.id = r.related_deployment_id")
    assert c.rows() == [(2, 4, "dep-1002")]
    sli = read(engine, "SELECT good, total FROM sli_sample ORDER BY ts")
    assert sli.rows() == [(9921.0, 10000.0), (10000.0, 10000.0)]
    svc = read(engine, "SELECT name, team, tier, criticality, timezone, confirmed FROM service")
    assert svc.rows() == [("checkout", "payments", "gold", 1, "Europe/Amsterdam", True)]
    mw = read(engine, "SELECT kind, recurrence FROM maintenance_window")
    assert mw.rows() == [("scheduled", "FREQ=WEEKLY;BYDAY=SU")]


def test_same_file_twice_changes_nothing_and_a_changed_row_updates_in_place(engine, dump, tmp_path, read):
    _load_examples(engine, upto="deployments")
    before = dump(engine)
    again = import_files(engine, "deployments", [EXAMPLES / "deployments.csv"]).summary()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    after = dump(engine)
    # Only the batch and audit tables grow: the data is untouched.
    assert {t: r for t, r in after.items() if t not in ("import_batch", "audit_log")} == \
        {t: r for t, r in before.items() if t not in ("import_batch", "audit_log")}
    edited = tmp_path / "deployments.csv"
    edited.write_text((EXAMPLES / "deployments.csv").read_text().replace(",failed,", ",rolled_back,"))
    ids_before = read(engine, "SELECT id, external_id FROM deployment ORDER BY id").rows()
    third = import_files(engine, "deployments", [edited]).summary()
    assert (third["inserted"], third["updated"], third["unchanged"]) == (0, 1, 2)
    rows = read(engine, "SELECT id, external_id, status, batch_id FROM deployment ORDER BY id")
    assert rows.select("id", "external_id").rows() == ids_before
    assert rows.filter(pl.col("external_id") == "dep-1002").row(0)[2:] == ("rolled_back", third["batch_id"])


def test_batch_and_audit_entry_record_who_what_and_file_hash(engine, read):
    import hashlib

    s = import_files(engine, "deployments", [EXAMPLES / "deployments.csv"], actor="ana").summary()
    batch = read(engine, "SELECT * FROM import_batch").row(0, named=True)
    digest = hashlib.sha256((EXAMPLES / "deployments.csv").read_bytes()).hexdigest()
    assert (batch["id"], batch["actor"], batch["kind"], batch["source"], batch["status"]) == (
        s["batch_id"], "ana", "deployments", "canonical", "done")
    assert json.loads(batch["files"])[0]["sha256"] == digest
    assert (batch["inserted"], batch["updated"], batch["unchanged"]) == (3, 0, 0)
    audit = read(engine, "SELECT actor, action, entity, entity_id, detail FROM audit_log")
    assert audit.row(0)[:4] == ("ana", "import", "import_batch", str(s["batch_id"]))
    assert json.loads(audit["detail"][0])["tables"]["deployments"]["inserted"] == 3


def test_unknown_service_is_created_unconfirmed_with_the_file_team(engine, read):
    import_files(engine, "deployments", [EXAMPLES / "deployments.csv"])
    svc = read(engine, "SELECT name, team, confirmed, source FROM service")
    assert svc.rows() == [("checkout", "payments", False, "canonical")]
    import_files(engine, "services", [EXAMPLES / "services.csv"])
    assert read(engine, "SELECT confirmed, tier FROM service").rows() == [(True, "gold")]


@pytest.mark.parametrize(("fixture", "expected"), [
    ("deployments-missing-column.csv", "missing required column 'finished_at'"),
    ("deployments-bad-date.csv", "row 3, column 'finished_at', value '2024-05-32T09:14:00Z': not a date-time"),
    ("deployments-bad-enum.csv", "row 2, column 'status', value 'succeeded': not one of success, failed, rolled_back"),
    ("deployments-duplicate-id.csv", "row 4, column 'id', value 'dep-1': duplicate id"),
    ("deployments-truncated.csv", "row 3: the file looks truncated: its last row has 3 of 5 fields and no line end"),
    ("deployments-truncated.csv.gz", "the gzip file is truncated"),
])
def test_malformed_file_names_the_problem_and_leaves_the_store_unchanged(engine, dump, fixture, expected):
    _load_examples(engine, upto="deployments")
    before = dump(engine)
    with pytest.raises(InvalidImport) as err:
        import_files(engine, "deployments", [FIXTURES / fixture])
    assert expected in str(err.value)
    assert str(FIXTURES / fixture) in str(err.value)
    assert dump(engine) == before


def test_bad_values_in_other_kinds_are_reported_per_row(engine, dump):
    before = dump(engine)
    with pytest.raises(InvalidImport) as err:
        import_files(engine, "incidents", [FIXTURES / "incidents-bad-severity.csv"])
    text = str(err.value)
    assert "row 2, column 'severity', value '0': must be between 1 and 4" in text
    assert "row 3, column 'severity', value 'high': not a whole number" in text
    with pytest.raises(InvalidImport) as err:
        import_files(engine, "incidents", [FIXTURES / "incidents-unknown-deployment.csv"])
    assert ("row 2, column 'caused_by_deployment', value 'dep-404': no deployment with this id "
            "in the store or in this import") in str(err.value)
    assert dump(engine) == before


def test_problem_list_stops_at_twenty_then_counts(engine, tmp_path):
    lines = ["id,service,environment,finished_at,status"]
    lines += [f"d{i},svc,production,not-a-date,success" for i in range(25)]
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidImport) as err:
        import_files(engine, "deployments", [path])
    text = str(err.value)
    assert text.startswith("25 problem(s)")
    assert text.count("not a date-time") == 20
    assert "… and 5 more problem(s)" in text


def test_mapping_file_renames_headers_translates_values_and_reads_european_numbers(engine, read):
    s = import_files(engine, "deployments", [EXAMPLES / "deployments-mapped.csv"],
                     mapping=EXAMPLES / "mapping.toml", tz="Europe/Amsterdam").summary()
    assert s["inserted"] == 2
    rows = read(engine, "SELECT external_id, environment, status, finished_at, test_coverage "
                              "FROM deployment ORDER BY external_id").rows()
    # 3 May 16:40 CEST = 14:40 UTC; PRD is an alias of production; 81,5 is 81.5.
    assert rows == [("rel-1", "production", "success", datetime(2024, 5, 3, 14, 40), 81.5),
                    ("rel-2", "production", "failed", datetime(2024, 5, 4, 7, 5), 79.0)]


def test_parquet_jsonl_gzip_and_folder_give_the_same_rows(engine, tmp_path):
    frame = pl.read_csv(EXAMPLES / "deployments.csv", infer_schema=False)
    folder = tmp_path / "drop"
    folder.mkdir()
    frame.head(1).write_parquet(folder / "a.parquet")
    (folder / "b.jsonl.gz").write_bytes(gzip.compress(frame.slice(1, 1).write_ndjson().encode()))
    frame.slice(2, 1).write_csv(folder / "c.csv")
    shutil.copy(EXAMPLES / "changes.csv", folder / "changes.csv")  # another kind: skipped
    s = import_files(engine, "deployments", [folder]).summary()
    assert [Path(f["path"]).name for f in s["files"]] == ["a.parquet", "b.jsonl.gz", "c.csv", "changes.csv"]
    assert s["inserted"] == 3
    direct = import_files(engine, "deployments", [EXAMPLES / "deployments.csv"]).summary()
    assert (direct["inserted"], direct["unchanged"]) == (0, 3)


@pytest.mark.parametrize(("tz", "value", "stored"), [
    ("UTC", "2024-03-10 12:00", datetime(2024, 3, 10, 12)),
    ("America/New_York", "2024-03-10 12:00", datetime(2024, 3, 10, 16)),  # EDT, UTC−4
    ("America/New_York", "2024-01-10 12:00", datetime(2024, 1, 10, 17)),  # EST, UTC−5
    ("America/New_York", "2024-01-10T12:00:00Z", datetime(2024, 1, 10, 12)),  # offset wins
])
def test_naive_times_are_read_in_the_given_zone(engine, tmp_path, tz, value, stored, read):
    path = tmp_path / "o.csv"
    path.write_text(f"service,start,end,cause\napi,{value},2024-12-31T00:00:00Z,internal\n")
    import_files(engine, "outages", [path], tz=tz)
    assert read(engine, "SELECT start FROM outage")["start"].to_list() == [stored]


def test_dry_run_counts_but_writes_nothing(engine, dump):
    before = dump(engine)
    s = import_files(engine, "deployments", [EXAMPLES / "deployments.csv"], dry_run=True).summary()
    assert (s["inserted"], s["batch_id"]) == (3, None)
    assert dump(engine) == before


def test_preview_shows_first_rows_detected_kind_and_problems():
    ok = preview(None, (EXAMPLES / "tickets.csv").read_bytes(), "tickets.csv")
    assert (ok["detected_kind"], ok["counts"], ok["problems"]) == ("tickets", {"tickets": 1}, [])
    assert ok["rows"]["tickets"]["external_id"].to_list() == ["T-501"]
    bad = preview("deployments", FIXTURES / "deployments-bad-enum.csv")
    assert bad["total_problems"] == 1 and "not one of success" in bad["problems"][0]
    unknown = preview(None, b"a,b\n1,2\n", "what.csv")
    assert unknown["kind"] is None and "choose a kind" in unknown["problems"][0]
