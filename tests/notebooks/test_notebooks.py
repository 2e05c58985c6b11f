"""Notebooks run top to bottom against the demo store and reproduce the pages' numbers."""

from __future__ import annotations

import json
import runpy
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.py"))


@pytest.fixture
def demo_env(demo_engine, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", demo_engine.url.render_as_string(hide_password=False))
    return demo_engine


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, demo_env):
    ns = runpy.run_path(str(path))
    assert ns  # ran to the end


def test_overview_notebook_matches_sql(demo_env):
    ns = runpy.run_path(str(next(p for p in NOTEBOOKS if p.name == "overview.py")))
    lo, hi = date(2026, 11, 22) - timedelta(days=89), date(2026, 11, 23)
    with demo_env.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM incident WHERE environment = 'production' "
                              "AND opened_at >= :lo AND opened_at < :hi"), {"lo": lo, "hi": hi}).scalar_one()
    assert ns["totals"](ns["events"])["incidents"] == n


def test_delivery_notebook_cfr_equals_report_delivery_json(demo_env, capsys):
    from analytics.cli import main

    ns = runpy.run_path(str(next(p for p in NOTEBOOKS if p.name == "delivery.py")))
    f = ns["filters"]
    url = demo_env.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "delivery", "--from", f.start.isoformat(), "--to",
                 f.end.isoformat(), "--window-hours", str(ns["window"]), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (f.start, f.end) == (date(2026, 11, 22) - timedelta(days=89), date(2026, 11, 22))
    cfr = ns["headline"]["change_failure_rate"]
    # The CLI rounds floats to 6 places (analytics.cli.common._plain); counts are exact.
    assert (cfr["failed"], cfr["deployments"]) == (report["change_failure_rate"]["failed"],
                                                   report["change_failure_rate"]["deployments"])
    assert cfr["value"] == pytest.approx(report["change_failure_rate"]["value"], abs=1e-6)
    assert ns["headline"]["attribution"] == report["attribution"]
    assert cfr["deployments"] > 0 and cfr["failed"] == ns["facts"].deployments["failed"].sum()
