"""Retention purge: dry-run counts per table, --apply redacts exactly those rows, audited, and
the audit chain still verifies."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from analytics import demo
from analytics.governance import purge
from analytics.settings import DEFAULT_RETAIN_SURVEY_COMMENT_DAYS, DEFAULT_RETAIN_TICKET_TEXT_DAYS


def _expected(engine) -> dict[str, int]:
    """The rows past retention, counted with plain SQL from the settings' defaults."""
    now = datetime.now(UTC)
    out = {}
    with engine.connect() as conn:
        for table, col, at, days in [("ticket", "text", "opened_at", DEFAULT_RETAIN_TICKET_TEXT_DAYS),
                                     ("csat_response", "comment", "responded_at",
                                      DEFAULT_RETAIN_SURVEY_COMMENT_DAYS)]:
            cut = (now - timedelta(days=days)).replace(tzinfo=None)
            rows = conn.execute(text(f"SELECT {at} FROM {table} WHERE {col} IS NOT NULL")).scalars()
            out[table] = sum(1 for v in rows if _naive(v) < cut)
    return out


def _naive(v) -> datetime:
    v = datetime.fromisoformat(v) if isinstance(v, str) else v
    return v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v


def test_purge_on_the_demo(engine, cli, capsys):
    # The demo's year ends 2026-11-22: its older tickets and answers are past retention.
    demo.load(engine, demo.generate(seed=7, end=date(2026, 11, 22), sli=False))
    expected = _expected(engine)
    assert expected["ticket"] > 0 and expected["csat_response"] > 0

    assert cli(engine, "purge", "--dry-run", "--format", "json") == 0
    planned = {r["table"]: r["rows"] for r in json.loads(capsys.readouterr().out)}
    assert planned == expected
    assert cli(engine, "purge", "--dry-run") == 0  # the table for people names each table
    out = capsys.readouterr().out
    assert "ticket" in out and "csat_response" in out and "nothing written" in out
    assert _expected(engine) == expected  # a dry run changes nothing

    assert cli(engine, "purge", "--apply", "--format", "json") == 0
    applied = {r["table"]: r["rows"] for r in json.loads(capsys.readouterr().out)}
    assert applied == expected
    assert _expected(engine) == {"ticket": 0, "csat_response": 0}
    with engine.connect() as conn:
        action, detail = conn.execute(text("SELECT action, detail FROM audit_log "
                                           "ORDER BY id DESC")).first()
    assert action == "purge"
    assert {r["table"]: r["rows"] for r in json.loads(detail)["redacted"]} == expected

    assert cli(engine, "audit", "verify") == 0
    assert "audit log intact" in capsys.readouterr().out
    # Nothing left to purge: a second run redacts nothing.
    assert {r["rows"] for r in purge.plan(engine)} == {0}


def test_retention_comes_from_the_settings(engine, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RETAIN_TICKET_TEXT_DAYS", "10")
    assert [p.days for p in purge.policies()] == [10, DEFAULT_RETAIN_SURVEY_COMMENT_DAYS]
