"""Snapshots: take → verify unchanged → a deployment imported into the month → verify changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from analytics.governance import snapshots
from analytics.ingest.importer import import_files
from analytics.store import audit

EXAMPLES = Path(__file__).resolve().parents[2] / "analytics" / "ingest" / "examples"
HEADER = ("id,service,environment,finished_at,status,started_at,version,team,is_rollback,"
          "unplanned,emergency,change_request,lines_changed,files_changed,test_coverage")


def test_take_verify_import_verify(engine, cli, capsys, tmp_path):
    import_files(engine, "deployments", [EXAMPLES / "deployments.csv"])
    import_files(engine, "incidents", [EXAMPLES / "incidents.csv"])
    assert cli(engine, "snapshot", "take", "--month", "2024-05", "--format", "json") == 0
    taken = json.loads(capsys.readouterr().out)
    snap = snapshots.get(engine, taken["id"])
    stored = json.loads(snap.reports)
    assert set(stored) == {"delivery", "sla", "slo", "csat"}
    # The example file holds 3 production deployments in May 2024 (counted here with plain SQL).
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM deployment WHERE finished_at >= '2024-05-01' "
                              "AND finished_at < '2024-06-01'")).scalar_one()
        batches = sorted(conn.execute(text("SELECT id FROM import_batch")).scalars())
    assert json.loads(snap.inputs)["deployment"]["rows"] == n == 3
    assert json.loads(snap.batch_ids) == batches == [1, 2]
    with engine.connect() as conn:  # a rollback is a remediation, not a deployment (§1)
        counted = conn.execute(text("SELECT count(*) FROM deployment WHERE NOT is_rollback "
                                    "AND status IN ('success', 'failed', 'rolled_back')")).scalar_one()
    assert json.loads(stored["delivery"])["deployments"] == counted == 2
    assert "error" in json.loads(stored["csat"])  # no answers that month: the report's sentence
    with engine.connect() as conn:  # audited
        action, detail = conn.execute(text("SELECT action, detail FROM audit_log "
                                           "ORDER BY id DESC")).first()
    assert (action, json.loads(detail)["input_hash"]) == ("snapshot", snap.input_hash)

    assert cli(engine, "snapshot", "verify", str(snap.id)) == 0
    assert capsys.readouterr().out.strip() == f"snapshot {snap.id} (2024-05): unchanged"

    extra = tmp_path / "late.csv"
    extra.write_text(HEADER + "\ndep-2001,checkout,production,2024-05-20T10:00:00Z,success,,"
                     "2.5.0,payments,false,no,0,,40,3,80\n")
    import_files(engine, "deployments", [extra])
    assert cli(engine, "snapshot", "verify", str(snap.id), "--format", "json") == 1
    check = json.loads(capsys.readouterr().out)
    assert check["unchanged"] is False
    assert check["changed_inputs"] == ["deployment (3 → 4 rows)", "import batches"]
    assert "delivery" in check["changed_reports"]

    assert cli(engine, "snapshot", "list", "--format", "json") == 0
    assert [s["month"] for s in json.loads(capsys.readouterr().out)] == ["2024-05"]
    assert audit.check(engine).ok


def test_input_digest_follows_the_rows(engine):
    """Editing one value changes that table's digest (and only it); restoring it restores it;
    the row count agrees with plain SQL."""
    import_files(engine, "deployments", [EXAMPLES / "deployments.csv"])
    before = snapshots.input_digests(engine, "2024-05")
    with engine.begin() as conn:
        conn.execute(text("UPDATE deployment SET lines_changed = 121 WHERE external_id = 'dep-1001'"))
    edited = snapshots.input_digests(engine, "2024-05")
    assert [t for t in before if before[t] != edited[t]] == ["deployment"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE deployment SET lines_changed = 120 WHERE external_id = 'dep-1001'"))
        n = conn.execute(text("SELECT count(*) FROM deployment")).scalar_one()
    assert snapshots.input_digests(engine, "2024-05") == before
    assert before["deployment"]["rows"] == n == 3
    assert before["incident"] == {"rows": 0, "sha256": before["incident"]["sha256"]}


def test_snapshot_rows_are_append_only(engine):
    import_files(engine, "deployments", [EXAMPLES / "deployments.csv"])
    snapshots.take(engine, "2024-05", actor="ana")
    for stmt in ("UPDATE snapshot SET input_hash = 'x'", "DELETE FROM snapshot"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(stmt))


def test_bad_month_and_unknown_id(engine, cli, capsys):
    assert cli(engine, "snapshot", "take", "--month", "2024-13") == 2
    assert "2024-13" in capsys.readouterr().err
    assert cli(engine, "snapshot", "verify", "42") == 2
    assert "no snapshot 42" in capsys.readouterr().err
