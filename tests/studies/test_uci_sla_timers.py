"""UCI ServiceNow log: parsing, business-hours resolution timers by hand, and the real log's
comparison with ``made_sla`` checked against scikit-learn."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from analytics.metrics.business_hours import ticket_timers
from analytics.studies.uci_sla_timers import (CALENDAR, compare, incidents_and_waits, read_events,
                                              study, targets)
from tests.conftest import requires_shared_data

HEAD = ("number,incident_state,active,made_sla,opened_at,sys_updated_at,priority,resolved_at,"
        "closed_at")
# 2016-03-04 is a Friday. Calendar Mon–Fri 08:00–18:00.
ROWS = [
    # 1: P1 Fri 16:00 → Mon 10:00 = 2 h + 2 h = 4 h: exactly on target, met. The first event's
    #    priority and made_sla are superseded by the last event's.
    "INC0000001,New,true,false,4/3/2016 16:00,4/3/2016 16:05,3 - Moderate,?,?",
    "INC0000001,Closed,false,true,4/3/2016 16:00,12/3/2016 10:00,1 - Critical,7/3/2016 10:00,12/3/2016 10:00",
    # 2: the same a minute later: 4 h 1 min > 4 h, breached; the log says met.
    "INC0000002,Closed,false,true,4/3/2016 16:00,12/3/2016 10:00,1 - Critical,7/3/2016 10:01,12/3/2016 10:00",
    # 3: P3 Mon 7/3 08:00, waits on the user Mon 12:00 → Wed 12:00, resolved Thu 12:00:
    #    4 h + 6 h + 4 h = 14 h < 24 h, met (without the pause 44 h); the log says breached.
    "INC0000003,Active,true,false,7/3/2016 08:00,7/3/2016 09:00,3 - Moderate,?,?",
    "INC0000003,Awaiting User Info,true,false,7/3/2016 08:00,7/3/2016 12:00,3 - Moderate,?,?",
    "INC0000003,Active,true,false,7/3/2016 08:00,9/3/2016 12:00,3 - Moderate,?,?",
    "INC0000003,Closed,false,false,7/3/2016 08:00,15/3/2016 12:00,3 - Moderate,10/3/2016 12:00,15/3/2016 12:00",
    # 4: P4, no resolved_at: the first Resolved event (Tue 15/3 09:00) → 10 h + 1 h = 11 h, met.
    "INC0000004,Resolved,true,true,14/3/2016 08:00,15/3/2016 09:00,4 - Low,?,?",
    "INC0000004,Closed,false,true,14/3/2016 08:00,20/3/2016 09:00,4 - Low,?,20/3/2016 09:00",
    # 5: never resolved: left out.
    "INC0000005,Closed,false,true,14/3/2016 08:00,20/3/2016 09:00,2 - High,?,20/3/2016 09:00",
]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "incident_event_log.csv"
    path.write_text("\n".join([HEAD, *ROWS]) + "\n")
    return path


def test_parsing_is_day_first_with_question_marks_missing(log: Path) -> None:
    events = read_events(log)
    assert events["opened_at"][3] == datetime(2016, 3, 7, 8, 0)  # 7 March, not 3 July
    assert events["resolved_at"][0] is None
    incidents, waits, dropped = incidents_and_waits(events)
    assert incidents.select("number", "priority", "made_sla").rows() == [
        ("INC0000001", "P1", True), ("INC0000002", "P1", True), ("INC0000003", "P3", False),
        ("INC0000004", "P4", True)]
    assert incidents["resolved_at"][3] == datetime(2016, 3, 15, 9)
    assert waits.rows() == [(3, datetime(2016, 3, 7, 12), datetime(2016, 3, 9, 12))]
    assert dropped == {"no resolution time or priority": 1, "resolved before opened": 0}


def test_timers_and_comparison_by_hand(log: Path) -> None:
    incidents, waits, _ = incidents_and_waits(read_events(log))
    timers = ticket_timers(incidents, targets(), CALENDAR, datetime(2016, 4, 1), waits=waits)
    assert timers["resolution_breached"].to_list() == [False, True, False, False]
    assert timers["resolution_remaining_hours"].to_list() == pytest.approx(
        [0.0, -1 / 60, 24 - 14, 40 - 11])
    out = compare(incidents, timers)
    assert out["confusion"] == {"timer_breach_log_breach": 0, "timer_breach_log_met": 1,
                                "timer_met_log_breach": 1, "timer_met_log_met": 2}
    # agreement 2/4; shares 1/4 each; chance = .25·.25 + .75·.75 = .625; κ = (.5−.625)/.375.
    assert (out["agreement"], out["timer_breach_share"], out["log_breach_share"]) == (0.5, 0.25, 0.25)
    assert out["kappa"] == pytest.approx(-1 / 3)
    assert out["by_priority"]["P1"]["n"] == 2 and out["by_priority"]["P1"]["agreement"] == 0.5
    whole = study(log)
    assert (whole["incidents"], whole["timed"], whole["incidents_with_waits"]) == (5, 4, 1)
    assert whole["confusion"] == out["confusion"]


def test_bad_input_names_the_problem(tmp_path: Path, log: Path) -> None:
    with pytest.raises(ValueError, match="path: .*missing.csv does not exist"):
        read_events(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text(log.read_text().replace("made_sla", "sla_made"))
    with pytest.raises(ValueError, match=r"bad.csv: missing columns \['made_sla'\]"):
        read_events(bad)


def test_real_log_against_its_made_sla_flag() -> None:
    path = requires_shared_data("uci-incident-event-log") / "incident_event_log.csv.gz"
    events = read_events(path)
    incidents, waits, dropped = incidents_and_waits(events)
    # README: 24,918 incidents; last events 15,803 made_sla true / 9,115 false.
    last = events.group_by("number").agg(pl.col("made_sla").sort_by("seq").last())
    assert last.height == 24_918 and last["made_sla"].sum() == 15_803
    assert incidents.height + sum(dropped.values()) == 24_918
    now = events["sys_updated_at"].max() + timedelta(minutes=1)
    timers = ticket_timers(incidents, targets(), CALENDAR, now, waits=waits)
    out = compare(incidents, timers)
    joined = incidents.join(timers, on="id")
    timer, logged = joined["resolution_breached"].to_numpy(), (~joined["made_sla"]).to_numpy()
    (ff, ft), (tf, tt) = confusion_matrix(logged, timer, labels=[False, True])
    assert out["confusion"] == {"timer_breach_log_breach": tt, "timer_breach_log_met": ft,
                                "timer_met_log_breach": tf, "timer_met_log_met": ff}
    assert out["kappa"] == pytest.approx(cohen_kappa_score(logged, timer))
    assert out["agreement"] == pytest.approx(np.mean(timer == logged))
    assert out["log_breach_share"] == pytest.approx(logged.mean())
