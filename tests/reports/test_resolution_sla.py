"""`report resolution-sla`: opened → resolved (closed when the source has no resolved time)
against a target per priority, wall or business clock; expected values worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from analytics.cli import main
from analytics.reports import BadRequest, NoData
from analytics.reports.resolution_sla import parse_targets, resolution_sla
from analytics.store.models import Incident
from analytics.store.queries import Filters

JAN = Filters(start=date(2026, 1, 1), end=date(2026, 1, 31), environment="production")
TARGETS = "P1=4h,P2=8h,P3=1d"
# id, priority, category, status, opened, resolved, closed — hours worked out by hand:
ROWS = [
    # Mon 09:00 → 12:00: 3 h wall, 3 h business (target 4): met on both clocks.
    ("I1", 1, "incident", "Closed", datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 12), None),
    # Fri 16:00 → Mon 10:00: 66 h wall (breached), 1 + 1 = 2 business hours (met).
    ("I2", 1, "incident", "Closed", datetime(2026, 1, 9, 16), datetime(2026, 1, 12, 10), None),
    # No resolved time: closed Tue 08:00 → 20:00 is used: 12 h wall (> 8, breached),
    # 09:00–17:00 = 8 business hours (not above 8: met).
    ("I3", 2, "incident", "Closed", datetime(2026, 1, 6, 8), None, datetime(2026, 1, 6, 20)),
    # Another category: left out by --category incident.
    ("I4", 2, "request", "Closed", datetime(2026, 1, 7, 10), datetime(2026, 1, 7, 11), None),
    # Still open since Fri 2 Jan: past its 24 h on both clocks by the period end → breached.
    ("I5", 3, "incident", "Open", datetime(2026, 1, 2, 0), None, None),
    # Still open since Sat 31 Jan 23:00: 1 h wall, 0 business hours → pending, not counted.
    ("I6", 3, "incident", "Open", datetime(2026, 1, 31, 23), None, None),
]


@pytest.fixture()
def store(engine: Engine) -> Engine:
    with Session(engine) as s:
        for ext, prio, cat, status, *times in ROWS:
            opened, resolved, closed = (t.replace(tzinfo=UTC) if t else None for t in times)
            s.add(Incident(source="test", external_id=ext, priority=prio, severity=min(prio, 4),
                           category=cat, status=status, opened_at=opened, resolved_at=resolved,
                           closed_at=closed))
        s.commit()
    return engine


@pytest.mark.parametrize(("clock", "breached", "by_priority"), [
    ("wall", 3, {"P1": (2, 1), "P2": (1, 1), "P3": (1, 1)}),
    ("business", 1, {"P1": (2, 0), "P2": (1, 0), "P3": (1, 1)}),
])
def test_breaches_by_priority(store: Engine, clock: str, breached: int,
                              by_priority: dict[str, tuple[int, int]]) -> None:
    out = resolution_sla(store, JAN, parse_targets(TARGETS), clock=clock, category="incident")
    assert (out["incidents"], out["breached"], out["pending"]) == (4, breached, 1)
    assert out["breach_rate"] == pytest.approx(breached / 4)
    assert out["closed_fallback"] == 1 and "closed when the source has no resolved time" in out["basis"]
    assert {r["priority"]: (r["incidents"], r["breached"]) for r in out["by_priority"]} == by_priority
    assert (out["calendar"] is not None) == (clock == "business")


def test_status_filter_and_cli_json(store: Engine, capsys: pytest.CaptureFixture) -> None:
    code = main(["--db", store.url.render_as_string(hide_password=False), "report",
                 "resolution-sla", "--targets", TARGETS, "--status", "Closed", "--from",
                 "2026-01-01", "--to", "2026-01-31", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    # I1 met, I2 and I3 breached, I4 met (1 h against 8 h).
    assert (out["incidents"], out["breached"]) == (4, 2)
    assert [r["priority"] for r in out["by_priority"]] == ["P1", "P2", "P3"]


@pytest.mark.parametrize("bad", ["P1=4x", "P1=-2h", "", "4h"])
def test_bad_targets_are_refused(bad: str) -> None:
    with pytest.raises(BadRequest, match="Target|at least one"):
        parse_targets(bad)


def test_no_incident_is_a_plain_message(engine: Engine, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(NoData):
        resolution_sla(engine, JAN, parse_targets(TARGETS))
    code = main(["--db", engine.url.render_as_string(hide_password=False), "report",
                 "resolution-sla", "--targets", "P1=zz"])
    assert code == 2 and "P1=zz" in capsys.readouterr().err
