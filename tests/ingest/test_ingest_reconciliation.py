"""Reconciliation of deployments against their change requests."""

from __future__ import annotations

import json
from datetime import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from analytics.cli import main
from analytics.ingest.importer import import_files
from analytics.ingest.reconciliation import reconcile

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ingest"
CHANGES = pl.DataFrame({"change_request_id": [1], "change_request": ["CHG1"],
                        "actual_start": [dt(2024, 1, 1, 10)], "actual_end": [dt(2024, 1, 1, 11)],
                        "outcome": ["successful"]})


@pytest.mark.parametrize(("start", "end", "status", "outcome", "tolerance", "expected"), [
    (dt(2024, 1, 1, 10), dt(2024, 1, 1, 11), "success", "successful", 0, None),       # agrees
    (dt(2024, 1, 1, 9, 45), dt(2024, 1, 1, 11), "success", "successful", 0, (-15.0, 0.0, "start")),
    (dt(2024, 1, 1, 10), dt(2024, 1, 1, 12, 30), "success", "successful", 0, (0.0, 90.0, "end")),
    (dt(2024, 1, 1, 10), dt(2024, 1, 1, 11, 10), "success", "successful", 15, None),  # within tolerance
    (dt(2024, 1, 1, 10), dt(2024, 1, 1, 11), "failed", "successful", 0, (0.0, 0.0, "status")),
    (dt(2024, 1, 1, 10), dt(2024, 1, 1, 11), "rolled_back", "backed out", 0, None),
    (dt(2024, 1, 1, 10), dt(2024, 1, 1, 11), "failed", "something else", 0, None),    # unknown outcome
])
def test_discrepancies_and_their_size(start, end, status, outcome, tolerance, expected):
    deps = pl.DataFrame({"external_id": ["d1"], "service": ["web"], "change_request_id": [1],
                         "started_at": [start], "finished_at": [end], "status": [status]})
    out = reconcile(deps, CHANGES.with_columns(outcome=pl.lit(outcome)), tolerance)
    if expected is None:
        assert out.height == 0
    else:
        assert out.select("start_diff_min", "end_diff_min", "issues").row(0) == expected


def test_cli_report_lists_a_deployment_that_disagrees(engine, tmp_path, capsys):
    import_files(engine, "servicenow", [FIXTURES / "servicenow-display-all.json"])
    path = tmp_path / "d.csv"
    # CHG0100 ran 15:10–16:20 UTC and was unsuccessful; this deployment says 15:10–16:50, success.
    path.write_text("id,service,environment,finished_at,status,started_at,change_request\n"
                    "d1,checkout,production,2024-05-03T16:50:00Z,success,2024-05-03T15:10:00Z,CHG0100\n")
    import_files(engine, "deployments", [path])
    engine.dispose()
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "reconciliation", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["external_id"], r["change_request"], r["start_diff_min"], r["end_diff_min"], r["outcome"],
             r["issues"]) for r in rows] == [("d1", "CHG0100", 0.0, 30.0, "failed", "end, status")]
