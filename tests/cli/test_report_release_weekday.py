"""`report release-impact` and `report weekday` on the demo store: shapes, planted effects, errors."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from sqlalchemy import Engine

from analytics.cli import main
from analytics.store import queries


def _run(engine: Engine, capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, dict | str]:
    url = engine.url.render_as_string(hide_password=False)
    try:
        code = main(["--db", url, "report", *argv, "--format", "json"])
    except SystemExit as exc:  # argparse rejects bad values itself, exit status 2
        code = int(exc.code)
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else captured.err)


def test_release_impact_json(demo_engine: Engine, capsys: pytest.CaptureFixture) -> None:
    code, out = _run(demo_engine, capsys, "release-impact", "--top", "5")
    assert code == 0
    keys = {"rate_ratio", "ci_low", "ci_high", "p_value", "n_releases"}
    for kind in ("tickets", "incidents"):
        assert keys <= set(out[kind])
        for which in ("failed", "success"):
            assert keys <= set(out["by_outcome"][which][kind])
    failed = out["by_outcome"]["failed"]["tickets"]
    assert failed["ci_low"] <= 1.8 <= failed["ci_high"]
    success = out["by_outcome"]["success"]["tickets"]
    assert success["ci_low"] <= 1.0 <= success["ci_high"]
    prod = queries.deployments(demo_engine).filter(
        (pl.col("environment") == "production") & ~pl.col("is_rollback"))
    assert out["tickets"]["n_releases"] == prod.height
    assert len(out["releases"]) == 5
    assert {"id", "service", "finished_at", "expected", "observed", "excess", "impact_score"} <= set(out["releases"][0])
    excess = [r["excess"] for r in out["releases"]]
    assert excess == sorted(excess, reverse=True)


def test_release_impact_window_and_filters(demo_engine: Engine, capsys: pytest.CaptureFixture) -> None:
    code, out = _run(demo_engine, capsys, "release-impact", "--window-hours", "24", "--team", "payments",
                     "--from", "2026-03-01", "--to", "2026-08-31", "--top", "3")
    assert code == 0
    assert out["window_hours"] == 24
    dep = queries.deployments(demo_engine, queries.Filters(
        teams=("payments",), start=date(2026, 3, 1), end=date(2026, 8, 31),
        environment="production")).filter(~pl.col("is_rollback"))
    assert out["tickets"]["n_releases"] == dep.height
    assert {r["service"] for r in out["releases"]} <= set(dep["service"].to_list())


def test_weekday_json(demo_engine: Engine, capsys: pytest.CaptureFixture) -> None:
    code, out = _run(demo_engine, capsys, "weekday")
    assert code == 0
    days = [r["weekday"] for r in out["by_weekday"]]
    assert days == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert set(out["by_weekday"][0]) >= {"weekday", "deployments", "failed", "rate", "ci_low", "ci_high"}
    f = out["friday_vs_rest"]
    assert f["ci_low"] <= 2.0 <= f["ci_high"]
    assert out["naive_friday_vs_rest"]["odds_ratio"] < f["ci_low"]
    assert 1 < out["min_detectable_odds_ratio"] < f["odds_ratio"]
    assert "Friday" in out["verdict"]
    prod = queries.deployments(demo_engine).filter(
        (pl.col("environment") == "production") & ~pl.col("is_rollback"))
    assert sum(r["deployments"] for r in out["by_weekday"]) == prod.height
    assert sum(r["failed"] for r in out["by_weekday"]) == prod.filter(
        pl.col("status").is_in(["failed", "rolled_back"])).height


@pytest.mark.parametrize(("argv", "message"), [
    (("release-impact", "--window-hours", "-3"), "--window-hours must be positive"),
    (("release-impact", "--service", "nope"), "unknown service nope"),
    (("weekday", "--team", "nobody"), "unknown team nobody"),
    (("weekday", "--from", "2026-05-02", "--to", "2026-05-01"), "is after --to"),
    (("weekday", "--from", "2026-05-04", "--to", "2026-05-05"), "Fridays"),
])
def test_errors_are_one_line(demo_engine: Engine, capsys: pytest.CaptureFixture, argv: tuple, message: str) -> None:
    code, err = _run(demo_engine, capsys, *argv)
    assert code == 2
    assert message in err
