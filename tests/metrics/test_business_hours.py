"""Business-hours ticket timers: weekends, DST, holidays, pauses, breaches (REFERENCE §3)."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from analytics.metrics.business_hours import (
    BusinessCalendar,
    Target,
    holidays_from_ics,
    ticket_timers,
)

AMS = "Europe/Amsterdam"
OFFICE = BusinessCalendar.office(AMS)  # Mon-Fri 09:00-17:00 local
TARGETS = {"P1": Target(1, 4), "P2": Target(2, 4), "P3": Target(8, 40)}


def tickets(*rows: tuple) -> pl.DataFrame:
    """(id, priority, opened_at[, responded_at[, resolved_at]]) rows, naive UTC."""
    return pl.DataFrame([{"id": r[0], "priority": r[1], "opened_at": r[2],
                          "responded_at": r[3] if len(r) > 3 else None,
                          "resolved_at": r[4] if len(r) > 4 else None} for r in rows],
                        schema={"id": pl.Int64, "priority": pl.String, "opened_at": pl.Datetime("us"),
                                "responded_at": pl.Datetime("us"), "resolved_at": pl.Datetime("us")})


def test_timer_across_a_weekend_and_the_dst_change() -> None:
    # Opened Friday 27 March 2026 16:00 CET (15:00 UTC). Friday gives 1 h (16-17 CET). Clocks go
    # forward on Sunday 29 March, so Monday 09:00 CEST = 07:00 UTC.
    # Response 2 h → 1 h Fri + 1 h Mon → Mon 10:00 CEST = 08:00 UTC.
    # Resolution 4 h → 1 h Fri + 3 h Mon → Mon 12:00 CEST = 10:00 UTC (wall-clock arithmetic
    # in UTC+1 would say 11:00 UTC, an hour late).
    # At now = Mon 09:00 UTC (11:00 CEST): responded 09:30 CEST → used 1.5 h of 2 → 0.5 left;
    # resolution used 1 h + 2 h = 3 h → 1 h left.
    t = tickets((1, "P2", datetime(2026, 3, 27, 15), datetime(2026, 3, 30, 7, 30)))
    row = ticket_timers(t, TARGETS, OFFICE, now=datetime(2026, 3, 30, 9)).row(0, named=True)
    assert row["response_due"] == datetime(2026, 3, 30, 8)
    assert row["resolution_due"] == datetime(2026, 3, 30, 10)
    assert (row["response_breached"], row["resolution_breached"]) == (False, False)
    assert row["response_remaining_hours"] == pytest.approx(0.5)
    assert row["resolution_remaining_hours"] == pytest.approx(1.0)
    assert row["business_hours_open"] == pytest.approx(3.0)


def test_24x7_timer_across_the_dst_night() -> None:
    # Opened 00:00 CET on 29 March (28 March 23:00 UTC); 4 real hours later is 03:00 UTC =
    # 05:00 CEST (the local night lost an hour; local wall clock + 4 h would say 04:00).
    t = tickets((1, "P1", datetime(2026, 3, 28, 23)))
    always = BusinessCalendar(tz=AMS, hours={d: (("00:00", "24:00"),) for d in range(7)})
    row = ticket_timers(t, TARGETS, always,
                        now=datetime(2026, 3, 29)).row(0, named=True)
    assert row["resolution_due"] == datetime(2026, 3, 29, 3)
    assert row["response_due"] == datetime(2026, 3, 29, 0)
    assert row["resolution_due"].replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(AMS)).hour == 5
    # At now = 00:00 UTC exactly: response due, not yet late; 1 h used of 4.
    assert (row["response_breached"], row["resolution_remaining_hours"]) == (False, pytest.approx(3.0))


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//holidays//EN
BEGIN:VEVENT
UID:easter-monday-2026
SUMMARY:Easter Monday
DTSTART;VALUE=DATE:20260406
DTEND;VALUE=DATE:20260407
END:VEVENT
BEGIN:VEVENT
UID:kings-day
SUMMARY:King's Day
DTSTART;VALUE=DATE:20140427
RRULE:FREQ=YEARLY
END:VEVENT
BEGIN:VEVENT
UID:christmas
SUMMARY:Christmas
DTSTART;VALUE=DATE:20261225
DTEND;VALUE=DATE:20261227
END:VEVENT
END:VCALENDAR
"""


def test_holidays_from_ics(tmp_path: Path) -> None:
    path = tmp_path / "nl.ics"
    path.write_text(ICS)
    days = holidays_from_ics(path, through=date(2027, 1, 1))
    assert {date(2026, 4, 6), date(2026, 4, 27), date(2026, 12, 25), date(2026, 12, 26)} <= days
    assert date(2026, 4, 7) not in days and date(2026, 12, 27) not in days
    assert date(2020, 4, 27) in days and date(2027, 4, 27) not in days
    assert holidays_from_ics(ICS, through=date(2026, 12, 31)) == days - {date(2027, 4, 27)}


def test_timer_skips_holidays() -> None:
    # Opened Thu 2 April 16:00 CEST (14:00 UTC), P1 resolution 4 h with Good Friday 3 April and
    # Easter Monday 6 April as holidays: Thu 1 h, then Tue 7 April 09:00-12:00 CEST → 10:00 UTC.
    cal = BusinessCalendar.office(AMS, holidays=frozenset({date(2026, 4, 3), date(2026, 4, 6)}))
    row = ticket_timers(tickets((1, "P1", datetime(2026, 4, 2, 14))), TARGETS, cal,
                        now=datetime(2026, 4, 2, 14)).row(0, named=True)
    assert row["resolution_due"] == datetime(2026, 4, 7, 10)


def test_waiting_on_customer_pauses_the_timer() -> None:
    # Opened Mon 2 March 09:00 CET (08:00 UTC), P1 resolution 4 h. Ticket 1 waits 10:00-15:00 CET:
    # 1 h used, then 15-17 (2 h), Tue 09:00-10:00 (1 h) → Tue 10:00 CET = 09:00 UTC.
    # Ticket 2 has no wait: Mon 13:00 CET = 12:00 UTC. Ticket 3 waits from 10:00 CET with no
    # end: no due time, 1 h used, 3 h left, never breached while waiting.
    opened = datetime(2026, 3, 2, 8)
    t = tickets((1, "P1", opened), (2, "P1", opened), (3, "P1", opened))
    waits = pl.DataFrame({"ticket_id": [1, 3], "start": [datetime(2026, 3, 2, 9)] * 2,
                          "end": [datetime(2026, 3, 2, 14), None]},
                         schema_overrides={"end": pl.Datetime("us")})
    out = ticket_timers(t, TARGETS, OFFICE, now=datetime(2026, 3, 4, 12), waits=waits)
    assert out["resolution_due"].to_list() == [datetime(2026, 3, 3, 9), datetime(2026, 3, 2, 12), None]
    assert out["resolution_breached"].to_list() == [True, True, False]
    assert out["resolution_remaining_hours"][2] == pytest.approx(3.0)


@pytest.mark.parametrize(("resolved", "breached", "remaining"), [
    (datetime(2026, 3, 2, 12), False, 0.0),       # exactly at the due time: not late
    (datetime(2026, 3, 2, 12, 30), True, -0.5),   # 4.5 business hours used of 4
    (None, True, 4 - 5 * 8),                      # open on Saturday: Mon-Fri used, 40 h
])
def test_breach_and_remaining(resolved: datetime | None, breached: bool, remaining: float) -> None:
    # Opened Mon 2 March 08:00 UTC (09:00 CET), due 12:00 UTC; "now" is Friday 6 March 20:00 UTC
    # for the resolved ones and Saturday 7 March for the open one. P1 target 4 h.
    now = datetime(2026, 3, 7, 12) if resolved is None else datetime(2026, 3, 6, 20)
    t = tickets((1, "P1", datetime(2026, 3, 2, 8), None, resolved))
    row = ticket_timers(t, TARGETS, OFFICE, now=now).row(0, named=True)
    assert row["resolution_breached"] is breached
    assert row["resolution_remaining_hours"] == pytest.approx(remaining)


def _brute_force_due(opened: datetime, hours: float) -> datetime:
    """Walk minute by minute in UTC, counting minutes whose local time is a working minute."""
    z, utc = ZoneInfo(AMS), ZoneInfo("UTC")
    t, left = opened, round(hours * 60)
    while left > 0:
        local = t.replace(tzinfo=utc).astimezone(z)
        if local.weekday() < 5 and 9 <= local.hour < 17:
            left -= 1
        t += timedelta(minutes=1)
    return t


def test_due_times_match_minute_by_minute_counting() -> None:
    # Tickets around both 2026 DST changes, P3 (8 h response, 40 h resolution).
    rng = np.random.default_rng(5)
    base = [datetime(2026, 3, 25), datetime(2026, 10, 21)]
    opened = [b + timedelta(minutes=int(m)) for b in base for m in rng.integers(0, 6 * 1440, 6)]
    t = tickets(*[(i, "P3", o) for i, o in enumerate(opened)])
    out = ticket_timers(t, TARGETS, OFFICE, now=datetime(2026, 12, 1))
    assert out["response_due"].to_list() == [_brute_force_due(o, 8) for o in opened]
    assert out["resolution_due"].to_list() == [_brute_force_due(o, 40) for o in opened]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: ticket_timers(tickets((1, "P9", datetime(2026, 3, 2))), TARGETS, OFFICE,
                           datetime(2026, 3, 3)), r"priority: no target for \['P9'\]"),
    (lambda: ticket_timers(tickets((1, "P1", datetime(2026, 3, 2))).drop("opened_at"), TARGETS,
                           OFFICE, datetime(2026, 3, 3)), "tickets: missing column 'opened_at'"),
    (lambda: BusinessCalendar.office(AMS, start="9am"), r"hours\[0\]: expected HH:MM"),
    (lambda: BusinessCalendar.office(AMS, start="17:00", end="09:00"), "ascending and non-empty"),
    (lambda: BusinessCalendar(AMS, {7: (("09:00", "17:00"),)}), "weekday must be 0"),
    (lambda: BusinessCalendar.office("Europe/Atlantis"), "timezone: unknown IANA"),
    (lambda: ticket_timers(tickets((1, "P1", datetime(2026, 3, 2))), TARGETS,
                           BusinessCalendar(AMS, {}), datetime(2026, 3, 3)), "no working hours"),
    (lambda: holidays_from_ics("BEGIN:VCALENDAR\nnonsense"), "holidays: not a valid ICS"),
])
def test_bad_input_names_the_field(call, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=message):
        call()


_T0, _MINUTES = datetime(2026, 3, 20), 90 * 1440


@functools.cache
def _working_minutes() -> np.ndarray:
    """Whether each minute from ``_T0`` is a working minute in Amsterdam (local clock)."""
    z, utc = ZoneInfo(AMS), ZoneInfo("UTC")
    local = ((_T0 + timedelta(minutes=m)).replace(tzinfo=utc).astimezone(z) for m in range(_MINUTES))
    return np.array([x.weekday() < 5 and 9 <= x.hour < 17 for x in local])


def _brute_force_pauses(opened: datetime, upto: datetime, hours: float,
                        waits: list[tuple[datetime, datetime | None]]) -> tuple[datetime | None, float]:
    """Due time and business hours used by ``upto``, minute by minute from ``_T0``: a minute
    counts when it is a working minute, not before the opening and inside none of the
    ticket's waits (None end: the wait never ends)."""
    def at(t: datetime) -> int:
        return int((t - _T0) / timedelta(minutes=1))

    counts = _working_minutes().copy()
    counts[:at(opened)] = False
    for s, e in waits:
        counts[max(at(s), 0):_MINUTES if e is None else max(at(e), 0)] = False
    reached = np.flatnonzero(np.cumsum(counts) == round(hours * 60))
    due = _T0 + timedelta(minutes=int(reached[0]) + 1) if reached.size else None
    return due, int(counts[:at(upto)].sum()) / 60


def test_pauses_match_minute_by_minute_counting() -> None:
    # Random minute-aligned waits around the spring DST change: overlapping, touching, before
    # the opening, inverted, and open (no end); both timers, due times and hours used.
    rng = np.random.default_rng(11)
    now = datetime(2026, 4, 10, 12, 34)
    opened = [datetime(2026, 3, 24) + timedelta(minutes=int(m))
              for m in rng.integers(0, 6 * 1440, 14)]
    responded = [o + timedelta(minutes=int(m)) if i % 3 else None
                 for i, (o, m) in enumerate(zip(opened, rng.integers(0, 3 * 1440, 14), strict=True))]
    t = pl.DataFrame({"id": np.arange(14) * 10, "priority": "P3", "opened_at": opened,
                      "responded_at": responded},
                     schema_overrides={"responded_at": pl.Datetime("us")})
    waits: dict[int, list[tuple[datetime, datetime | None]]] = {i: [] for i in range(14)}
    for i in rng.integers(0, 14, 40):
        start = opened[i] + timedelta(minutes=int(rng.integers(-1440, 5 * 1440)))
        end = start + timedelta(minutes=int(rng.integers(-30, 2 * 1440)))
        waits[int(i)].append((start, end))
    waits[3].append((opened[3] + timedelta(hours=30), None))
    waits[5].append((waits[5][0][1], waits[5][0][1] + timedelta(hours=20)) if waits[5]
                    else (opened[5], opened[5] + timedelta(hours=5)))  # touching
    frame = pl.DataFrame([{"ticket_id": i * 10, "start": s, "end": e}
                          for i, ws in waits.items() for s, e in ws] + [
        {"ticket_id": 999, "start": opened[0], "end": None}],  # an unknown ticket: ignored
        schema={"ticket_id": pl.Int64, "start": pl.Datetime("us"), "end": pl.Datetime("us")})
    out = ticket_timers(t, TARGETS, OFFICE, now=now, waits=frame)
    for i, row in enumerate(out.iter_rows(named=True)):
        live = [(s, e) for s, e in waits[i] if e is None or e > s]
        for kind, hours, event in (("response", 8, responded[i]), ("resolution", 40, None)):
            due, used = _brute_force_pauses(opened[i], min(event or now, now), hours, live)
            assert row[f"{kind}_due"] == due, (i, kind)
            assert row[f"{kind}_remaining_hours"] == pytest.approx(hours - used, abs=1e-9)
            assert row[f"{kind}_breached"] is (due is not None and min(event or now, now) > due)
        assert row["business_hours_open"] == pytest.approx(
            _brute_force_pauses(opened[i], now, 40, live)[1], abs=1e-9)
    assert out["resolution_due"].null_count() >= 1  # ticket 3 waits for ever


def test_timer_outcomes_match_ticket_timers_minute_by_minute() -> None:
    """timer_outcomes (no due times; the due time looked up only on a tie) gives ticket_timers'
    used hours and breach flags, and the breach agrees with counting minutes: events exactly on
    the due time (met), a minute after (breached), still open, after ``now``, and around both
    2026 DST changes."""
    from analytics.metrics.business_hours import HOUR_US, timer_outcomes

    rng = np.random.default_rng(23)
    now = datetime(2026, 5, 20, 10, 17)
    opened = [datetime(2026, 3, 23) + timedelta(minutes=int(m)) for m in rng.integers(0, 40 * 1440, 60)]
    events: list[datetime | None] = []
    for i, o in enumerate(opened):
        due, _ = _brute_force_pauses(o, o, 8, [])
        events.append([due, due + timedelta(minutes=1), due - timedelta(minutes=1), None,
                       o + timedelta(minutes=int(rng.integers(0, 20 * 1440)))][i % 5])
    t = pl.DataFrame({"id": range(60), "priority": "P3", "opened_at": opened,
                      "responded_at": events, "resolved_at": events},
                     schema_overrides={"responded_at": pl.Datetime("us"),
                                       "resolved_at": pl.Datetime("us")})
    full = ticket_timers(t, TARGETS, OFFICE, now=now)
    us = {c: t[c].cast(pl.Datetime("us")).to_physical().fill_null(-1).to_numpy()
          for c in ("opened_at", "responded_at")}
    got = timer_outcomes(us["opened_at"], [(us["responded_at"], np.full(60, 8 * HOUR_US)),
                                           (us["responded_at"], np.full(60, 40 * HOUR_US))],
                         OFFICE, now, 40)
    for (used, late), kind, target in zip(got, ("response", "resolution"), (8, 40), strict=True):
        assert late.tolist() == full[f"{kind}_breached"].to_list()
        assert ((target * HOUR_US - used) / HOUR_US).tolist() == \
            full[f"{kind}_remaining_hours"].to_list()
    # The response timer by hand: breached exactly when the event (or now) is after the due time.
    for i, (o, e) in enumerate(zip(opened, events, strict=True)):
        due, _ = _brute_force_pauses(o, o, 8, [])
        assert got[0][1][i] == (min(e or now, now) > due), i
    assert got[0][1][0::5].sum() == 0  # on the due time: met (the tie path)
    assert got[0][1][1::5].all()       # a minute later: breached


def test_timer_outcomes_refuse_a_ticket_without_an_opening() -> None:
    from analytics.metrics.business_hours import timer_outcomes

    with pytest.raises(ValueError, match="opened_at: every ticket needs an opening time"):
        timer_outcomes(np.array([np.iinfo(np.int64).min]), [], OFFICE, datetime(2026, 3, 3), 8)
