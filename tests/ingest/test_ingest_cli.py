"""`python -m analytics import`: JSON summary, exit 2 with the problems, options."""

from __future__ import annotations

import json
from pathlib import Path

from analytics.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "analytics" / "ingest" / "examples"
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_import_prints_the_summary_and_is_idempotent(engine, capsys):
    assert main(["--db", _url(engine), "import", "deployments", str(EXAMPLES / "deployments.csv")]) == 0
    first = json.loads(capsys.readouterr().out)
    assert list(first) == ["kind", "files", "inserted", "updated", "unchanged", "rejected", "batch_id"]
    assert (first["kind"], first["inserted"], first["batch_id"]) == ("deployments", 3, 1)
    assert main(["--db", _url(engine), "import", "deployments", str(EXAMPLES / "deployments.csv"),
                 "--source", "canonical"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["inserted"], second["unchanged"], second["batch_id"]) == (0, 3, 2)


def test_invalid_file_exits_2_naming_file_row_column_value(engine, dump, capsys):
    before = dump(engine)
    code = main(["--db", _url(engine), "import", "deployments", str(FIXTURES / "deployments-bad-enum.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert "deployments-bad-enum.csv, row 2, column 'status', value 'succeeded'" in err
    assert dump(engine) == before


def test_options_tz_dry_run_map_and_unknown_zone(engine, capsys, read):
    args = ["--db", _url(engine), "import", "deployments", str(EXAMPLES / "deployments-mapped.csv"),
            "--map", str(EXAMPLES / "mapping.toml"), "--tz", "Europe/Amsterdam"]
    assert main([*args, "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["batch_id"] is None
    assert read(engine, "SELECT count(*) AS n FROM deployment")["n"][0] == 0
    assert main(args) == 0
    assert read(engine, "SELECT count(*) AS n FROM deployment")["n"][0] == 2
    capsys.readouterr()
    assert main(["--db", _url(engine), "import", "outages", str(EXAMPLES / "outages.csv"), "--tz", "Mars/Base"]) == 2
    assert "unknown time zone 'Mars/Base'" in capsys.readouterr().err


def test_warnings_go_to_stderr(engine, capsys):
    assert main(["--db", _url(engine), "import", "jenkins", str(FIXTURES / "jenkins-freestyle.json")]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rejected"] == 1
    assert "warning: 1 build(s) are running, aborted or not built; skipped" in captured.err
