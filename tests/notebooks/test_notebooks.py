"""Notebooks run as an analyst opens them and reproduce the reports' numbers.

Each notebook is executed by jupytext in a Jupyter kernel with ``notebooks/`` as its folder,
against the demo store passed by ``DATABASE_URL``, importing ``analytics`` only from a copy of
the project installed from pyproject.toml (what ``make setup`` does with ``pip install -e .``).
A number each notebook prints is compared with the same number from the CLI report (or plain
SQL), and each notebook must draw at least one chart.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
DEMO_LAST = date(2026, 11, 22)  # tests/conftest.py DEMO_END
LO, HI = DEMO_LAST - timedelta(days=364), DEMO_LAST  # the default period: the demo's year


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the package as pip installs it from pyproject.toml (no source tree)."""
    base = tmp_path_factory.mktemp("install")
    src, site = base / "src", base / "site"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "analytics", src / "analytics",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(src)],
                   check=True, capture_output=True, text=True)
    return site


def execute(path: Path, url: str, site: Path, out: Path) -> tuple[str, int]:
    """Run ``path`` with jupytext --execute from notebooks/; (printed text, charts drawn)."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-m", "jupytext", "--to", "ipynb", "--set-kernel", "python3",
         "--execute", "--output", str(out), path.name],
        cwd=path.parent, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    nb = json.loads(out.read_text())
    printed, charts = [], 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output.get("evalue")
            if output["output_type"] == "stream":
                printed.append("".join(output["text"]))
            data = output.get("data", {})
            html = "".join(data.get("text/html", ""))
            if any("vega" in k for k in data) or "vegaEmbed" in html:
                charts += 1
    return "".join(printed), charts


def number(printed: str, pattern: str) -> float:
    """The number captured by ``pattern`` in the notebook's printed text."""
    match = re.search(pattern, printed)
    assert match, f"{pattern!r} not in {printed!r}"
    return float(match.group(1))


def cli_json(url: str, capsys: pytest.CaptureFixture, *argv: str):
    """``python -m analytics --db URL report … --format json``, parsed."""
    from analytics.cli import main

    capsys.readouterr()
    assert main(["--db", url, "report", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def expected(name: str, url: str, engine, capsys, printed: str) -> list[tuple[str, float]]:
    """(pattern in the notebook's output, the report's value) per notebook."""
    period = ("--from", LO.isoformat(), "--to", HI.isoformat())
    if name == "overview":
        with engine.connect() as conn:
            n = conn.execute(text(
                "SELECT count(*) FROM incident WHERE environment = 'production' "
                "AND opened_at >= :lo AND opened_at < :hi"),
                {"lo": LO, "hi": HI + timedelta(days=1)}).scalar_one()
        return [(r"(\d+) incidents", n)]
    if name == "delivery":
        cfr = cli_json(url, capsys, "delivery", *period)["change_failure_rate"]
        return [(r"(\d+) deployments", cfr["deployments"]), (r"failure rate ([\d.]+)", cfr["value"])]
    if name == "customer":
        csat = cli_json(url, capsys, "csat", *period)
        return [(r"of (\d+) answers", csat["n"]), (r"CSAT ([\d.]+)", csat["csat"])]
    if name == "weekday":
        return [(r"odds ratio ([\d.]+)",
                 cli_json(url, capsys, "weekday")["friday_vs_rest"]["odds_ratio"])]
    if name == "release_impact":
        impact = cli_json(url, capsys, "release-impact")
        return [(r"rate ratio ([\d.]+)", impact["by_outcome"]["failed"]["tickets"]["rate_ratio"])]
    if name == "reliability":
        slos = cli_json(url, capsys, "slo")
        month = re.search(r"SLA breaches in (\d{4}-\d{2})", printed).group(1)
        totals = cli_json(url, capsys, "sla", "--month", month, "--totals")
        return [(r"SLOs evaluated at [^:]+:\d+ UTC: (\d+)", len(slos)),
                (r"error budget spent: (\d+)", sum(s["budget_remaining"] <= 0 for s in slos)),
                (r"SLA breaches in \d{4}-\d{2}: (\d+)", sum(t["breaches"] for t in totals))]
    raise AssertionError(f"notebooks/{name}.py has no expected number: add one here")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_in_jupyter_and_prints_the_reports_number(path, demo_engine, installed,
                                                                    tmp_path, capsys):
    url = demo_engine.url.render_as_string(hide_password=False)
    printed, charts = execute(path, url, installed, tmp_path / f"{path.stem}.ipynb")
    assert charts >= 1, f"{path.name} draws no chart through analytics.charts"
    for pattern, value in expected(path.stem, url, demo_engine, capsys, printed):
        # Printed with 6 decimals, as the CLI rounds floats (analytics.cli.common._plain).
        assert number(printed, pattern) == pytest.approx(value, abs=1e-6), pattern


def test_every_notebook_draws_through_analytics_charts():
    for path in NOTEBOOKS:
        source = path.read_text()
        assert re.search(r"from analytics\.charts import \w+ as charts", source), path.name
        assert re.search(r"^charts\.\w+\(", source, re.M), path.name
        assert "analytics.cli" not in source, path.name


def test_reliability_notebook_draws_every_reliability_chart():
    from analytics.charts import reliability

    source = (ROOT / "notebooks" / "reliability.py").read_text()
    builders = [n for n in dir(reliability) if n.endswith("_chart")]
    assert builders and all(f"charts.{b}(" in source for b in builders)


@pytest.fixture
def demo_env(demo_engine, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", demo_engine.url.render_as_string(hide_password=False))
    return demo_engine


def test_delivery_notebook_cfr_equals_report_delivery_json(demo_env, capsys):
    ns = runpy.run_path(str(ROOT / "notebooks" / "delivery.py"))
    f = ns["filters"]
    url = demo_env.url.render_as_string(hide_password=False)
    report = cli_json(url, capsys, "delivery", "--from", f.start.isoformat(), "--to",
                      f.end.isoformat(), "--window-hours", str(ns["window"]))
    assert (f.start, f.end) == (LO, HI)
    cfr = ns["headline"]["change_failure_rate"]
    # The CLI rounds floats to 6 places (analytics.cli.common._plain); counts are exact.
    assert (cfr["failed"], cfr["deployments"]) == (report["change_failure_rate"]["failed"],
                                                   report["change_failure_rate"]["deployments"])
    assert cfr["value"] == pytest.approx(report["change_failure_rate"]["value"], abs=1e-6)
    assert ns["headline"]["attribution"] == report["attribution"]
    assert cfr["deployments"] > 0 and cfr["failed"] == ns["facts"].deployments["failed"].sum()
