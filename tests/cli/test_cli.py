"""The CLI: --help everywhere, one clear line and exit 2 on bad input, JSON that matches the store."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text

from analytics.cli import build_parser, main


def _commands(parser=None, prefix=()):
    """Every command path of the parser tree, e.g. ('report', 'summary')."""
    parser = parser or build_parser()
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


@pytest.mark.parametrize("path", sorted(set(_commands())))
def test_every_command_has_help(path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["report", "nonsense"], "invalid choice"),
    (["demo", "--seed", "seven"], "invalid int value"),
    (["demo", "--end", "2026-13-01"], "invalid date"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert needle in err and len(err.strip().splitlines()) == 1


def test_unreachable_database_is_one_line(capsys):
    code = main(["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "init"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot open database") and len(err.splitlines()) == 1


def test_summary_json_matches_plain_sql(demo_engine, capsys):
    url = demo_engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "summary", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    with demo_engine.connect() as conn:
        for key, table in (("services", "service"), ("deployments", "deployment"), ("changes", "change"),
                           ("incidents", "incident"), ("tickets", "ticket"),
                           ("csat_responses", "csat_response"), ("sli_samples", "sli_sample")):
            assert out["tables"][key] == conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
        lo = conn.execute(text("SELECT min(opened_at) FROM incident")).scalar_one()
    assert out["coverage"]["incidents"]["from"][:16] == str(lo)[:16]
    assert set(out["coverage"]["deployments"]) == {"from", "to"}


def test_demo_refuses_a_non_empty_store_and_shows_truth(demo_engine, capsys):
    url = demo_engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "demo"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["--db", url, "demo", "--if-empty"]) == 0
    assert main(["--db", url, "demo", "--show-truth", "--format", "json"]) == 0
    truth = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert truth["friday_failure_odds_ratio"]["odds_ratio"] == 2.0


def test_module_entry_point_runs(tmp_path):
    """`python -m analytics` works as a process (the Makefile and CI call it so)."""
    db = f"sqlite:///{tmp_path / 'x.db'}"
    done = subprocess.run([sys.executable, "-m", "analytics", "--db", db, "report", "summary", "--format",
                           "json"], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["tables"]["services"] == 0


def test_lazy_parser_lists_what_the_full_parser_lists(capsys):
    """`--help` built from the registries (no command imported) reads the same as the full tree."""
    from analytics.cli import COMMANDS
    from analytics.cli.report import REPORTS

    def listing(parser) -> dict[str, str]:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        return {a.dest: a.help for a in sub._choices_actions}

    full = build_parser()
    assert listing(full) == {name: help_ for name, (_module, help_) in COMMANDS.items()}
    report = next(a for a in full._actions
                  if a.__class__.__name__ == "_SubParsersAction").choices["report"]
    assert listing(report) == {name: help_ for name, (_module, help_) in REPORTS.items()}
    for argv in (["--help"], ["report", "--help"]):
        for build in (lambda: build_parser(), lambda argv=argv: build_parser(argv)):
            with pytest.raises(SystemExit):
                build().parse_args(argv)
        full_out, lazy_out = capsys.readouterr().out.split("usage:")[1:]
        assert full_out == lazy_out


HEAVY = ("statsmodels", "scipy", "sklearn", "altair", "streamlit")


@pytest.mark.parametrize("argv", [["--help"], ["report", "--help"], ["report", "summary", "--help"],
                                  ["report", "reconciliation", "--help"], ["init", "--help"]])
def test_cli_start_up_imports_nothing_heavy(argv):
    """Building the parser and printing help must not import the statistics or UI stacks
    (`python -X importtime` lists every module a process imported)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "analytics", *argv],
                          capture_output=True, text=True, check=True)
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "usage:" in done.stdout
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
    if argv[:1] != ["report"] or len(argv) == 2:
        assert "polars" not in imported and "sqlalchemy" not in imported


def test_report_help_imports_no_report_module():
    code = ("import sys; from analytics.cli import build_parser; build_parser(['report', '--help']); "
            "print(sorted(m for m in sys.modules if m.startswith(('analytics.reports', "
            "'analytics.cli.report_', 'analytics.metrics', 'analytics.studies', 'polars'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_csv_output_neutralises_formulas(engine, capsys):
    """A service named like a formula comes out of `--format csv` as text ('=cmd), numbers stay."""
    import csv as csvlib
    import io
    from datetime import datetime

    import polars as pl

    from analytics.store.bulk import bulk_insert

    with engine.begin() as conn:
        bulk_insert(conn, "service", pl.DataFrame({"id": [1], "name": ["=cmd"], "source": ["t"],
                                                   "external_id": ["s1"]}))
        bulk_insert(conn, "change_request", pl.DataFrame({
            "id": [1], "source": ["t"], "external_id": ["-CHG1"], "service_id": [1],
            "actual_start": [datetime(2026, 1, 1, 10)], "actual_end": [datetime(2026, 1, 1, 11)],
            "outcome": ["successful"]}))
        bulk_insert(conn, "deployment", pl.DataFrame({
            "id": [1], "source": ["t"], "external_id": ["@d1"], "service_id": [1],
            "started_at": [datetime(2026, 1, 1, 10)], "finished_at": [datetime(2026, 1, 1, 11, 30)],
            "status": ["success"], "change_request_id": [1]}))
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "reconciliation", "--format", "csv"]) == 0
    rows = list(csvlib.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["service"], row["external_id"], row["change_request"]) == ("'=cmd", "'@d1", "'-CHG1")
    assert float(row["end_diff_min"]) == 30.0 and float(row["start_diff_min"]) == 0.0
    assert main(["--db", url, "report", "reconciliation", "--service", "=cmd", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["service"] == "=cmd"  # JSON keeps the data as is
