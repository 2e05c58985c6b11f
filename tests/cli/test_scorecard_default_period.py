"""`report scorecard` defaults to the period the Overview page shows (DEFAULT_PERIOD_DAYS)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from analytics.cli import main
from analytics.settings import DEFAULT_PERIOD_DAYS


def _rows(engine, capsys, *argv: str) -> list[dict]:
    capsys.readouterr()
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "scorecard", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _same(a: list[dict], b: list[dict]) -> None:
    """Equal rows; floats to 1e-9 (polars may sum in another order between runs)."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k, v in x.items():
            assert (v == pytest.approx(y[k], rel=1e-9, abs=1e-12) if isinstance(v, float)
                    else v == y[k]), (x.get("service"), k, v, y[k])


def test_scorecard_defaults_to_the_last_default_period_days_of_data(demo_engine, capsys):
    with demo_engine.connect() as conn:  # the last day with data, by plain SQL
        last = max(str(conn.execute(text(f"SELECT max({c}) FROM {t}")).scalar_one())[:10]
                   for t, c in (("deployment", "finished_at"), ("incident", "opened_at"),
                                ("ticket", "opened_at")))
    last = date.fromisoformat(last)
    assert last == date(2026, 11, 22) and DEFAULT_PERIOD_DAYS == 90
    lo = last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    default = _rows(demo_engine, capsys)
    explicit = _rows(demo_engine, capsys, "--from", lo.isoformat(), "--to", last.isoformat())
    _same(default, explicit)
    # Only --to given: the 90 days ending there.
    to = last - timedelta(days=30)
    _same(_rows(demo_engine, capsys, "--to", to.isoformat()), _rows(
        demo_engine, capsys, "--from", (to - timedelta(days=89)).isoformat(), "--to", to.isoformat()))
    # REFERENCE §1: production deployments finished in the period; rollbacks are not deployments.
    checkout = next(r for r in default if r["level"] == "service" and r["service"] == "checkout")
    with demo_engine.connect() as conn:
        n = conn.execute(text(
            "SELECT count(*) FROM deployment d JOIN service s ON s.id = d.service_id "
            "WHERE s.name = 'checkout' AND d.environment = 'production' AND NOT d.is_rollback "
            "AND d.finished_at >= :lo AND d.finished_at < :hi"),
            {"lo": lo, "hi": last + timedelta(days=1)}).scalar_one()
    assert checkout["deployments"] == n


def test_scorecard_help_states_the_default_period(capsys):
    with pytest.raises(SystemExit):
        main(["report", "scorecard", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert f"last {DEFAULT_PERIOD_DAYS} days of data" in out
