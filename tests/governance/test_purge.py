"""Retention purge: dry-run counts per table, --apply redacts exactly those rows, audited, and
the audit chain still verifies."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from analytics import demo
from analytics.governance import purge
from analytics.settings import DEFAULT_RETAIN_SURVEY_COMMENT_DAYS, DEFAULT_RETAIN_TICKET_TEXT_DAYS


def _past(engine, cutoffs: dict[str, str]) -> dict[str, int]:
    """Rows with text still kept from before each table's cut-off, counted with plain SQL.

    The cut-offs are the ones the purge printed, so the count does not depend on the clock
    moving between the purge and the check (a ticket opened within those seconds would)."""
    out = {}
    with engine.connect() as conn:
        for table, col, at in [("ticket", "text", "opened_at"),
                               ("csat_response", "comment", "responded_at")]:
            cut = datetime.fromisoformat(cutoffs[table])
            rows = conn.execute(text(f"SELECT {at} FROM {table} WHERE {col} IS NOT NULL")).scalars()
            out[table] = sum(1 for v in rows if _naive(v) < cut)
    return out


def _kept(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count({c}) FROM {t}")).scalar_one()
                for t, c in [("ticket", "text"), ("csat_response", "comment")]}


def _naive(v) -> datetime:
    v = datetime.fromisoformat(v) if isinstance(v, str) else v
    return v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v


def test_purge_on_the_demo(engine, cli, capsys):
    # The demo's year ends 2026-11-22: its older tickets and answers are past retention.
    demo.load(engine, demo.generate(seed=7, end=date(2026, 11, 22), sli=False))
    kept = _kept(engine)

    assert cli(engine, "purge", "--dry-run", "--format", "json") == 0
    planned = json.loads(capsys.readouterr().out)
    cutoffs = {r["table"]: r["cutoff"] for r in planned}
    days = {r["table"]: r["days"] for r in planned}
    assert days == {"ticket": DEFAULT_RETAIN_TICKET_TEXT_DAYS,
                    "csat_response": DEFAULT_RETAIN_SURVEY_COMMENT_DAYS}
    expected = _past(engine, cutoffs)
    assert expected["ticket"] > 0 and expected["csat_response"] > 0
    assert {r["table"]: r["rows"] for r in planned} == expected
    assert cli(engine, "purge", "--dry-run") == 0  # the table for people names each table
    out = capsys.readouterr().out
    assert "ticket" in out and "csat_response" in out and "nothing written" in out
    assert _kept(engine) == kept  # a dry run changes nothing

    assert cli(engine, "purge", "--apply", "--format", "json") == 0
    applied = json.loads(capsys.readouterr().out)
    redacted = {r["table"]: r["rows"] for r in applied}
    # Exactly the rows counted were redacted: the texts kept fell by those numbers and none is
    # left from before the cut-off the purge used (seconds after the dry run's, so as many or more).
    assert {t: kept[t] - n for t, n in _kept(engine).items()} == redacted
    assert all(redacted[t] >= expected[t] for t in expected)
    applied_cutoffs = {r["table"]: r["cutoff"] for r in applied}
    assert _past(engine, applied_cutoffs) == {"ticket": 0, "csat_response": 0}
    with engine.connect() as conn:
        action, detail = conn.execute(text("SELECT action, detail FROM audit_log "
                                           "ORDER BY id DESC")).first()
    assert action == "purge"
    assert {r["table"]: r["rows"] for r in json.loads(detail)["redacted"]} == redacted

    assert cli(engine, "audit", "verify") == 0
    assert "audit log intact" in capsys.readouterr().out
    # Nothing left to purge at the same instant: a second run redacts nothing.
    at = datetime.fromisoformat(applied_cutoffs["ticket"]).replace(tzinfo=UTC) \
        + timedelta(days=DEFAULT_RETAIN_TICKET_TEXT_DAYS)
    assert {r["rows"] for r in purge.plan(engine, now=at)} == {0}


def test_retention_comes_from_the_settings(engine, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RETAIN_TICKET_TEXT_DAYS", "10")
    assert [p.days for p in purge.policies()] == [10, DEFAULT_RETAIN_SURVEY_COMMENT_DAYS]
