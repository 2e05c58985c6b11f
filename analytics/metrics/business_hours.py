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

    # In place into few buffers: at millions of tickets each fresh temporary array costs its
    # page faults, more than the search. Before the first span, span 0 gives 0 (its
    # ``before`` is 0, t − start < 0).
    def worked(self, t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.start, t, side="right")
        i -= 1
        np.maximum(i, 0, out=i)
        w = np.take(self.start, i)
        np.subtract(t, w, out=w)
        np.maximum(w, 0, out=w)
        limit = np.take(self.len, i)
        np.minimum(w, limit, out=w)
        w += np.take(self.before, i, out=limit)
        return w

    def when(self, w: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.before + self.len, w, side="left")
        np.minimum(i, self.len.size - 1, out=i)
        at = np.take(self.before, i)
        np.subtract(w, at, out=at)
        at += np.take(self.start, i)
        return at


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
    pauses = _pauses(tickets, waits)
    clock = _clock_for(calendar, opened, now_us, pauses, max(
        max(t.response_hours, t.resolution_hours) for t in targets.values()))
    out = {"id": tickets["id"].cast(pl.Int64), "priority": prios,
           "opened_at": tickets["opened_at"].cast(pl.Datetime("us"))}
    worked_open = clock.worked(opened)
    now_all = np.full(opened.size, now_us)
    used_open = (int(clock.worked(np.array([now_us]))[0]) - worked_open
                 - _paused_work(clock, opened, pauses, now_all))
    # Each ticket's priority as an index into ``targets`` (one pass over the strings).
    code = prios.cast(pl.Enum(list(targets))).to_physical().to_numpy()
    for kind, col in (("response", "responded_at"), ("resolution", "resolved_at")):
        # Target in float µs: truncated for the due time, kept as float for the remaining hours.
        hours = np.array([float(getattr(t, f"{kind}_hours")) for t in targets.values()])[code]
        target = hours * HOUR_US
        event = _col_us(tickets, col) if col in tickets.columns else np.full(opened.size, -1)
        upto = np.where(event >= 0, np.minimum(event, now_us), now_us)
        due = _due(clock, opened, worked_open, target.astype(np.int64), pauses)
        used = clock.worked(upto) - worked_open - _paused_work(clock, opened, pauses, upto)
        out[f"{kind}_due"] = pl.Series(due, dtype=pl.Int64).cast(pl.Datetime("us")).scatter(
            np.flatnonzero(due < 0), None)
        out[f"{kind}_breached"] = (due >= 0) & (upto > due)
        out[f"{kind}_remaining_hours"] = (target - used) / HOUR_US
    out["business_hours_open"] = used_open / HOUR_US
    return pl.DataFrame(out).select(**{c: pl.col(c).cast(t) for c, t in TIMER_SCHEMA.items()})


def timer_outcomes(opened: np.ndarray, timers: list[tuple[np.ndarray, np.ndarray]],
                   calendar: BusinessCalendar, now: datetime, max_hours: float,
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per timer, the business µs used and whether it is breached — ``ticket_timers``'
    ``{kind}_remaining_hours`` (target − used) and ``{kind}_breached`` — for tickets that never
    wait on the customer, without their due times (a summary needs none).

    ``opened``: µs since the epoch; ``timers``: (event µs, negative while it has not happened;
    target µs, truncated as ``ticket_timers`` truncates it) per timer; ``max_hours``: the
    longest target of the policy, which sizes the calendar as ``ticket_timers`` does.

    Business time is non-decreasing in wall time, so a timer whose used time is past (short of)
    its target is breached (met) whatever its due time; only where the used time equals the
    target exactly is the due time looked up, as "later than the due time" decides there.
    """
    if np.any(opened < 0):  # NaT reads as int64 min
        raise ValueError("opened_at: every ticket needs an opening time")
    now_us = iv.to_us(now)
    empty = np.array([], np.int64)
    clock = _clock_for(calendar, opened, now_us, _Pauses(empty, empty, empty), max_hours)
    worked_open = clock.worked(opened)
    out = []
    for event, target in timers:
        upto = np.where(event >= 0, np.minimum(event, now_us), now_us)
        used = clock.worked(upto)
        used -= worked_open
        breached = used > target
        tie = np.flatnonzero(used == target)
        if tie.size:
            breached[tie] = upto[tie] > clock.when(worked_open[tie] + target[tie])
        out.append((used, breached))
    return out


def _col_us(frame: pl.DataFrame, col: str) -> np.ndarray:
    return frame[col].cast(pl.Datetime("us")).to_numpy().astype(np.int64)  # NaT → int64 min


@dataclass(frozen=True)
class _Pauses:
    """Every ticket's waits, unioned per ticket: row ``ticket`` (index into the tickets),
    ``start``, ``end`` (int64 max = still waiting), sorted by ticket then start."""

    ticket: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @property
    def size(self) -> int:
        return int(self.ticket.size)


def _pauses(tickets: pl.DataFrame, waits: pl.DataFrame | None) -> _Pauses:
    empty = np.array([], np.int64)
    if waits is None or waits.height == 0:
        return _Pauses(empty, empty, empty)
    missing = [c for c in ("ticket_id", "start", "end") if c not in waits.columns]
    if missing:
        raise ValueError(f"waits: missing columns {missing}")
    never = np.iinfo(np.int64).max
    # An open wait (no end) pauses the timer indefinitely: its end is "never" (int64 max).
    # Ticket ids map to row positions (the last row of a repeated id; ids are unique in
    # practice); waits of unknown tickets are dropped.
    rows = tickets.select(ticket_id=pl.col("id").cast(pl.Int64),
                          ticket=pl.int_range(pl.len(), dtype=pl.Int64)).unique(
        "ticket_id", keep="last")
    w = (waits.select(pl.col("ticket_id").cast(pl.Int64),
                      start=pl.col("start").cast(pl.Datetime("us")).dt.epoch("us").fill_null(
                          np.iinfo(np.int64).min),
                      end=pl.col("end").cast(pl.Datetime("us")).dt.epoch("us").fill_null(never))
         .join(rows, on="ticket_id", how="inner")
         .filter(pl.col("end") > pl.col("start"))  # empty and inverted waits vanish (iv.union)
         .sort("ticket", "start"))
    # Union per ticket: a new block begins where a start lies beyond every end before it.
    w = w.with_columns(reach=pl.col("end").cum_max().over("ticket"))
    w = w.with_columns(new=(pl.col("start") > pl.col("reach").shift(1).over("ticket"))
                       .fill_null(True))
    blocks = (w.with_columns(block=pl.col("new").cum_sum())
              .group_by("block", maintain_order=True)
              .agg(pl.col("ticket").first(), pl.col("start").first(), pl.col("reach").last()))
    return _Pauses(blocks["ticket"].to_numpy(), blocks["start"].to_numpy(),
                   blocks["reach"].to_numpy())


def _clock_for(calendar: BusinessCalendar, opened: np.ndarray, now_us: int,
               pauses: _Pauses, max_hours: float) -> _Clock:
    if calendar.weekly_hours() <= 0:
        raise ValueError("calendar: no working hours in the week")
    finite = pauses.end[pauses.end < np.iinfo(np.int64).max]
    latest = max(int(opened.max()), now_us, int(finite.max()) if finite.size else now_us)
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


def _paused_work(clock: _Clock, opened: np.ndarray, pauses: _Pauses,
                 upto: np.ndarray) -> np.ndarray:
    """Working µs inside each ticket's pauses between opening and ``upto``."""
    out = np.zeros(opened.size, np.int64)
    if pauses.size == 0:
        return out
    lo = opened[pauses.ticket]
    hi = np.maximum(upto[pauses.ticket], lo)
    a, b = np.clip(pauses.start, lo, hi), np.clip(pauses.end, lo, hi)
    np.add.at(out, pauses.ticket, clock.worked(b) - clock.worked(a))  # exact int64 sums
    return out


def _due(clock: _Clock, opened: np.ndarray, worked_open: np.ndarray, target: np.ndarray,
         pauses: _Pauses) -> np.ndarray:
    """The instant each timer reaches its target; −1 while paused indefinitely.

    Walking a ticket's (unioned, ordered) pauses that end after its opening, the working time
    before pause k is the work between the previous pause's end (or the opening) and pause k's
    start. The timer runs out in the first gap where the running sum reaches the target, else
    after the last pause with what is left."""
    due = clock.when(worked_open + target)
    if pauses.size == 0:
        return due
    live = pauses.end > opened[pauses.ticket]  # pauses over before the opening do not matter
    tk, ps, pe = pauses.ticket[live], pauses.start[live], pauses.end[live]
    if tk.size == 0:
        return due
    first = np.concatenate(([True], tk[1:] != tk[:-1]))
    # Where the timer runs from before pause k: the opening, or the previous pause's end.
    cur = np.where(first, opened[tk], np.concatenate(([0], pe[:-1])))
    w_cur = clock.worked(cur)
    gap = clock.worked(np.maximum(ps, cur)) - w_cur
    total = np.cumsum(gap)
    starts = np.flatnonzero(first)
    before = np.repeat(total[starts] - gap[starts], np.diff(np.append(starts, tk.size)))
    ran = total - before  # working time used before the end of gap k, per ticket
    spent = ran - gap     # ... before gap k
    budget = target[tk]
    hit = ran >= budget
    # First gap where the target is reached: the due time lies in it.
    hit_rows = np.flatnonzero(hit)
    hit_tk, pick = np.unique(tk[hit_rows], return_index=True)
    hit_rows = hit_rows[pick]
    # Tickets never running out in a gap: after their last pause with what is left.
    last = np.append(starts[1:] - 1, tk.size - 1)
    rest = last[~np.isin(tk[last], hit_tk)]
    due[hit_tk] = clock.when(w_cur[hit_rows] + budget[hit_rows] - spent[hit_rows])
    never = np.iinfo(np.int64).max
    after = clock.when(clock.worked(pe[rest]) + budget[rest] - ran[rest])
    due[tk[rest]] = np.where(pe[rest] == never, -1, after)
    return due
