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
