"""Business-hours timers for support tickets (REFERENCE §3).

Response and resolution targets per priority run only inside a calendar (working hours per
weekday, holidays, an IANA zone) and pause while the ticket waits on the customer. Working time
is laid out once as UTC spans with a cumulative sum, so "business time until t" and "the instant
at which N business hours have passed" are ``searchsorted`` look-ups. Local wall-clock times are
converted to UTC per day at the edge, so a day with a DST jump is 23 or 25 hours long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from analytics.metrics import intervals as iv
from analytics.metrics.slo import zone

HOUR_US = 3_600_000_000
_UTC = ZoneInfo("UTC")


def _minutes(value: str, what: str) -> int:
    try:
        h, m = (int(x) for x in value.split(":"))
    except (ValueError, AttributeError):
        raise ValueError(f"{what}: expected HH:MM, got {value!r}") from None
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 1440:
        raise ValueError(f"{what}: {value!r} is not a time of day (00:00-24:00)")
    return h * 60 + m


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours per weekday (0 = Monday) as ("HH:MM", "HH:MM") pairs, holidays, zone.

    >>> BusinessCalendar.office("Europe/Amsterdam").weekly_hours()
    40.0
    """

    tz: str
    hours: dict[int, tuple[tuple[str, str], ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        zone(self.tz)
        for day, spans in self.hours.items():
            if day not in range(7):
                raise ValueError(f"hours: weekday must be 0 (Monday) to 6, got {day!r}")
            prev = -1
            for a, b in spans:
                lo, hi = _minutes(a, f"hours[{day}]"), _minutes(b, f"hours[{day}]")
                if hi <= lo or lo < prev:
                    raise ValueError(f"hours[{day}]: spans must be ascending and non-empty, "
                                     f"got {a}-{b}")
                prev = hi

    @classmethod
    def office(cls, tz: str, start: str = "09:00", end: str = "17:00",
               days: tuple[int, ...] = (0, 1, 2, 3, 4),
               holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
        """The same working hours on each of ``days``."""
        return cls(tz=tz, hours={d: ((start, end),) for d in days}, holidays=frozenset(holidays))

    def weekly_hours(self) -> float:
        """Working hours in a week without holidays."""
        return sum(_minutes(b, "") - _minutes(a, "") for s in self.hours.values() for a, b in s) / 60

    def spans(self, first: date, last: date) -> iv.Spans:
        """Working time of the local days first..last as UTC µs spans."""
        z = zone(self.tz)
        starts, ends = [], []
        day = first
        while day <= last:
            if day not in self.holidays:
                for a, b in self.hours.get(day.weekday(), ()):
                    starts.append(_local_us(day, _minutes(a, ""), z))
                    ends.append(_local_us(day, _minutes(b, ""), z))
            day += timedelta(days=1)
        return iv.union((np.array(starts, np.int64), np.array(ends, np.int64)))


def _local_us(day: date, minute: int, z: ZoneInfo) -> int:
    if minute == 1440:
        day, minute = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=z)
    return iv.to_us(local.astimezone(_UTC).replace(tzinfo=None))


def holidays_from_ics(source: str | Path, through: date = date(2099, 12, 31)) -> frozenset[date]:
    """Holiday dates from an ICS calendar (``icalendar``): all-day and multi-day events, and
    RRULE-recurring ones expanded up to ``through``. Timed events give their start date."""
    from dateutil.rrule import rrulestr
    from icalendar import Calendar

    text = Path(source).read_text() if isinstance(source, Path) or not str(source).lstrip().startswith(
        "BEGIN:") else str(source)
    try:
        cal = Calendar.from_ical(text)
    except ValueError as exc:
        raise ValueError(f"holidays: not a valid ICS calendar ({exc})") from None
    days: set[date] = set()
    for ev in cal.walk("VEVENT"):
        if ev.get("DTSTART") is None:
            raise ValueError(f"holidays: event {str(ev.get('SUMMARY'))!r} has no DTSTART")
        start = ev.decoded("DTSTART")
        start_day = start.date() if isinstance(start, datetime) else start
        end = ev.decoded("DTEND") if ev.get("DTEND") is not None else None
        end_day = end.date() if isinstance(end, datetime) else end
        length = max((end_day - start_day).days, 1) if end_day else 1
        firsts = [start_day]
        if ev.get("RRULE") is not None:
            rule = ev.get("RRULE").to_ical().decode()
            rr = rrulestr(rule, dtstart=datetime.combine(start_day, time()), ignoretz=True)
            firsts = [o.date() for o in rr.between(datetime.combine(start_day, time()),
                                                   datetime.combine(through, time()), inc=True)]
        for f in firsts:
            days.update(f + timedelta(days=i) for i in range(length))
    return frozenset(days)


class _Clock:
    """Cumulative working µs over UTC spans: ``worked(t)`` and its inverse ``when(w)``."""

    def __init__(self, spans: iv.Spans) -> None:
        self.start, self.end = spans
        self.len = self.end - self.start
        self.before = np.concatenate(([0], np.cumsum(self.len)[:-1])) if self.len.size else self.len
        self.total = int(self.len.sum())

    def worked(self, t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.start, t, side="right") - 1
        safe = np.maximum(i, 0)
        w = self.before[safe] + np.clip(t - self.start[safe], 0, self.len[safe])
        return np.where(i < 0, 0, w)

    def when(self, w: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.before + self.len, w, side="left")
        safe = np.minimum(i, self.len.size - 1)
        return self.start[safe] + (w - self.before[safe])


@dataclass(frozen=True)
class Target:
    """Business hours allowed until first response and until resolution."""

    response_hours: float
    resolution_hours: float


TIMER_SCHEMA = {"id": pl.Int64, "priority": pl.String, "opened_at": pl.Datetime("us"),
                "response_due": pl.Datetime("us"), "response_breached": pl.Boolean,
                "response_remaining_hours": pl.Float64, "resolution_due": pl.Datetime("us"),
                "resolution_breached": pl.Boolean, "resolution_remaining_hours": pl.Float64,
                "business_hours_open": pl.Float64}


def ticket_timers(tickets: pl.DataFrame, targets: dict[str, Target], calendar: BusinessCalendar,
                  now: datetime, waits: pl.DataFrame | None = None) -> pl.DataFrame:
    """Due times, breach flags and remaining business hours of every ticket at ``now``.

    ``tickets``: id, priority, opened_at, and optionally responded_at, resolved_at (naive UTC).
    ``waits``: ticket_id, start, end (null = still waiting) — both timers pause inside them; a
    ticket waiting at ``now`` has no due time until it resumes. A timer is breached when its
    event (or ``now``, while it has not happened) is later than the due time; remaining hours
    are the target minus business time used up to the event or ``now`` (negative past due).
    """
    for col in ("id", "priority", "opened_at"):
        if col not in tickets.columns:
            raise ValueError(f"tickets: missing column {col!r}")
    prios = tickets["priority"].cast(pl.String)
    unknown = sorted(set(prios.drop_nulls().unique().to_list()) - set(targets))
    if unknown or prios.null_count():
        raise ValueError(f"priority: no target for {unknown or [None]} (targets: {sorted(targets)})")
    for name, t in targets.items():
        if t.response_hours <= 0 or t.resolution_hours <= 0:
            raise ValueError(f"targets[{name!r}]: hours must be positive")
    if tickets.height == 0:
        return pl.DataFrame(schema=TIMER_SCHEMA)
    now_us = iv.to_us(now)
    opened = _col_us(tickets, "opened_at")
    if np.any(opened < 0) or np.any(opened == np.iinfo(np.int64).min):
        raise ValueError("opened_at: every ticket needs an opening time")
    pauses = _pauses(tickets, waits, now_us)
    clock = _clock_for(calendar, opened, now_us, pauses, max(
        max(t.response_hours, t.resolution_hours) for t in targets.values()))
    out = {"id": tickets["id"].cast(pl.Int64).to_list(), "priority": prios.to_list(),
           "opened_at": tickets["opened_at"].to_list()}
    used_open = (clock.worked(np.full(opened.size, now_us)) - clock.worked(opened)
                 - _paused_work(clock, opened, pauses, np.full(opened.size, now_us)))
    for kind, col in (("response", "responded_at"), ("resolution", "resolved_at")):
        target = np.array([getattr(targets[p], f"{kind}_hours") for p in prios]) * HOUR_US
        event = _col_us(tickets, col) if col in tickets.columns else np.full(opened.size, -1)
        upto = np.where(event >= 0, np.minimum(event, now_us), now_us)
        due = _due(clock, opened, target.astype(np.int64), pauses)
        used = clock.worked(upto) - clock.worked(opened) - _paused_work(clock, opened, pauses, upto)
        out[f"{kind}_due"] = [None if d < 0 else iv.from_us(d) for d in due]
        out[f"{kind}_breached"] = ((due >= 0) & (upto > due)).tolist()
        out[f"{kind}_remaining_hours"] = ((target - used) / HOUR_US).tolist()
    out["business_hours_open"] = (used_open / HOUR_US).tolist()
    return pl.DataFrame(out, schema=TIMER_SCHEMA)


def _col_us(frame: pl.DataFrame, col: str) -> np.ndarray:
    return frame[col].cast(pl.Datetime("us")).to_numpy().astype(np.int64)  # NaT → int64 min


def _pauses(tickets: pl.DataFrame, waits: pl.DataFrame | None, now_us: int) -> dict[int, iv.Spans]:
    if waits is None or waits.height == 0:
        return {}
    missing = [c for c in ("ticket_id", "start", "end") if c not in waits.columns]
    if missing:
        raise ValueError(f"waits: missing columns {missing}")
    idx = {tid: i for i, tid in enumerate(tickets["id"].to_list())}
    out: dict[int, iv.Spans] = {}
    # An open wait (no end) pauses the timer indefinitely: its end is "never" (int64 max).
    w = waits.with_columns(pl.col("end").cast(pl.Datetime("us")))
    for tid, group in w.group_by("ticket_id"):
        if tid[0] not in idx:
            continue
        start = group["start"].cast(pl.Datetime("us")).to_numpy().astype(np.int64)
        end = group["end"].to_numpy().astype(np.int64)
        end = np.where(end == np.iinfo(np.int64).min, np.iinfo(np.int64).max, end)
        out[idx[tid[0]]] = iv.union((start, end))
    return out


def _clock_for(calendar: BusinessCalendar, opened: np.ndarray, now_us: int,
               pauses: dict[int, iv.Spans], max_hours: float) -> _Clock:
    if calendar.weekly_hours() <= 0:
        raise ValueError("calendar: no working hours in the week")
    finite = [s[1][s[1] < np.iinfo(np.int64).max] for s in pauses.values()]
    latest = max([int(opened.max()), now_us, *[int(f.max()) for f in finite if f.size]])
    first = iv.from_us(int(opened.min())).date() - timedelta(days=2)
    pad = math.ceil(max_hours / calendar.weekly_hours() * 7) + 14
    while True:
        last = iv.from_us(latest).date() + timedelta(days=pad)
        clock = _Clock(calendar.spans(first, last))
        # Enough working time after the latest instant for the longest target?
        if clock.total - int(clock.worked(np.array([latest]))[0]) > max_hours * HOUR_US:
            return clock
        if pad > 366 * 50:
            raise ValueError("calendar: not enough working time (holidays cover everything?)")
        pad *= 2


def _paused_work(clock: _Clock, opened: np.ndarray, pauses: dict[int, iv.Spans],
                 upto: np.ndarray) -> np.ndarray:
    """Working µs inside each ticket's pauses between opening and ``upto``."""
    out = np.zeros(opened.size, np.int64)
    for i, (ps, pe) in pauses.items():
        a = np.clip(ps, opened[i], max(upto[i], opened[i]))
        b = np.clip(pe, opened[i], max(upto[i], opened[i]))
        out[i] = int((clock.worked(b) - clock.worked(a)).sum())
    return out


def _due(clock: _Clock, opened: np.ndarray, target: np.ndarray,
         pauses: dict[int, iv.Spans]) -> np.ndarray:
    """The instant each timer reaches its target; −1 while paused indefinitely."""
    due = clock.when(clock.worked(opened) + target)
    never = np.iinfo(np.int64).max
    for i, (ps, pe) in pauses.items():
        cur, budget = int(opened[i]), int(target[i])
        for a, b in zip(ps.tolist(), pe.tolist(), strict=True):
            if b <= cur:
                continue
            avail = int(clock.worked(np.array([max(a, cur)]))[0] - clock.worked(np.array([cur]))[0])
            if avail >= budget:
                break
            budget -= avail
            cur = b
        due[i] = -1 if cur == never else int(clock.when(clock.worked(np.array([cur])) + budget)[0])
    return due
