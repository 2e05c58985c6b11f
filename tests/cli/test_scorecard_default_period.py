"""`report scorecard` without dates covers the one default period (analytics.reports.periods):
the bulk of the data, at most its last DEFAULT_PERIOD_DAYS days — the period the pages open on."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from analytics.cli import main
from analytics.cli.common import PERIOD_HELP
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


def test_scorecard_defaults_to_the_bulk_at_most_default_period_days(demo_engine, capsys):
    with demo_engine.connect() as conn:  # the first and last day with data, by plain SQL
        days = [str(conn.execute(text(f"SELECT {f}({c}) FROM {t}")).scalar_one())[:10]
                for f in ("min", "max") for t, c in (("deployment", "finished_at"),
                                                     ("incident", "opened_at"), ("ticket", "opened_at"))]
    first, last = date.fromisoformat(min(days[:3])), date.fromisoformat(max(days[3:]))
    # The demo: 365 days with no sparse month, so its bulk is all of it and no longer than the
    # 365-day cap: the default period is the whole demo.
    assert (first, last) == (date(2025, 11, 23), date(2026, 11, 22)) and DEFAULT_PERIOD_DAYS == 365
    default = _rows(demo_engine, capsys)
    _same(default, _rows(demo_engine, capsys, "--from", first.isoformat(), "--to", last.isoformat()))
    assert default != _rows(demo_engine, capsys, "--from", (first + timedelta(days=1)).isoformat(),
                            "--to", last.isoformat())  # a day less is another period
    # Only --to given: the DEFAULT_PERIOD_DAYS days ending there, never before the bulk.
    to = last - timedelta(days=30)
    _same(_rows(demo_engine, capsys, "--to", to.isoformat()),
          _rows(demo_engine, capsys, "--from", first.isoformat(), "--to", to.isoformat()))
    # Only --from given: to the last day of the bulk.
    since = last - timedelta(days=59)
    _same(_rows(demo_engine, capsys, "--from", since.isoformat()),
          _rows(demo_engine, capsys, "--from", since.isoformat(), "--to", last.isoformat()))
    # REFERENCE §1: production deployments finished in the period; rollbacks are not deployments.
    checkout = next(r for r in default if r["level"] == "service" and r["service"] == "checkout")
    with demo_engine.connect() as conn:
        n = conn.execute(text(
            "SELECT count(*) FROM deployment d JOIN service s ON s.id = d.service_id "
            "WHERE s.name = 'checkout' AND d.environment = 'production' AND NOT d.is_rollback "
            "AND d.finished_at >= :lo AND d.finished_at < :hi"),
            {"lo": first, "hi": last + timedelta(days=1)}).scalar_one()
    assert checkout["deployments"] == n > 0


def test_scorecard_help_states_the_default_period(capsys):
    with pytest.raises(SystemExit):
        main(["report", "scorecard", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert " ".join(PERIOD_HELP.split()) in out
    assert f"at most its last {DEFAULT_PERIOD_DAYS} days" in out
