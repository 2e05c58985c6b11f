"""`report ticket-sla --holidays FILE.ics`: an ICS holiday stops the business-hours clock."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from analytics.cli import main
from analytics.store.bulk import bulk_insert

# Monday 9 March 2026 as an all-day event, and a yearly one (expanded by its RRULE) that never
# touches the ticket.
ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1
SUMMARY:Company day
DTSTART;VALUE=DATE:20260309
DTEND;VALUE=DATE:20260310
END:VEVENT
BEGIN:VEVENT
UID:2
SUMMARY:New year
DTSTART;VALUE=DATE:20250101
RRULE:FREQ=YEARLY
END:VEVENT
END:VCALENDAR
"""


def _p1(engine: Engine, capsys: pytest.CaptureFixture, *extra: str) -> dict:
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "ticket-sla", *extra, "--format", "json"]) == 0
    return {r["priority"]: r for r in json.loads(capsys.readouterr().out)}["P1"]


def test_an_ics_holiday_is_excluded(engine: Engine, capsys: pytest.CaptureFixture,
                                    tmp_path: Path) -> None:
    # Mon–Fri 09:00–17:00 UTC; P1 target 8 business hours. Opened Fri 6 March 16:00, closed
    # Tue 10 March 10:00: Fri 16–17 (1) + Mon 09–17 (8) + Tue 09–10 (1) = 10 h > 8 → breached;
    # with Monday a holiday: 1 + 1 = 2 h ≤ 8 → met.
    with engine.begin() as conn:
        bulk_insert(conn, "service", pl.DataFrame({
            "id": [1], "name": ["checkout"], "team": ["payments"], "tier": ["gold"],
            "criticality": [1], "customer_facing": [True], "timezone": ["UTC"],
            "confirmed": [True], "source": ["test"], "external_id": ["checkout"]}))
        bulk_insert(conn, "ticket", pl.DataFrame({
            "service_id": [1], "severity": [1], "opened_at": [datetime(2026, 3, 6, 16)],
            "closed_at": [datetime(2026, 3, 10, 10)], "source": "test", "external_id": ["a"]}))
    before = _p1(engine, capsys)
    assert (before["resolution_met"], before["resolution_breached"]) == (0, 1)
    path = tmp_path / "holidays.ics"
    path.write_text(ICS)
    after = _p1(engine, capsys, "--holidays", str(path))
    assert (after["resolution_met"], after["resolution_breached"]) == (1, 0)


@pytest.mark.parametrize(("content", "needle"), [
    (None, "No such file"),
    ("BEGIN:VCALENDAR\nnonsense", "not a valid ICS"),
])
def test_a_bad_holiday_file_is_one_line_naming_it(engine: Engine, capsys: pytest.CaptureFixture,
                                                  tmp_path: Path, content: str | None,
                                                  needle: str) -> None:
    path = tmp_path / "bad.ics"
    if content is not None:
        path.write_text(content)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "ticket-sla", "--holidays", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"--holidays {path}" in err and needle in err
