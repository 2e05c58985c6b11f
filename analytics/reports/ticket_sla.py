"""Business-hours ticket SLA report (REFERENCE §3): first response and resolution met or breached
per priority (and per month of opening and priority), with timers that run only inside a working
calendar and pause while a ticket waits on the customer (``metrics.business_hours``).

The default calendar and per-priority targets are data in ``ticket_sla.toml`` beside this
module (defaults, not a contract). Priority Pn is the ticket's severity n. A ticket is resolved
at ``closed_at``; one still open at ``at`` is ``open`` or, past its due time, ``open_overdue``.
It is answered at ``first_response_at``: answered in time is met, answered late or unanswered
past due is breached; unanswered within target is not decided yet and left out, and so is a
closed ticket whose source recorded no first response. A period in which no ticket records a
first response measures the resolution timer only (``RESPONSE_NOTE``).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from analytics.metrics.business_hours import BusinessCalendar, Target, ticket_timers
from analytics.reports import BadRequest, NoData, periods
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.db import read_frame
from analytics.store.queries import Filters

POLICY_FILE = Path(__file__).with_name("ticket_sla.toml")
RESPONSE_NOTE = ("No ticket in this period records a first response: only the resolution timer "
                 "is measured; response targets are listed for reference.")
SUMMARY_SCHEMA = {"priority": pl.String, "tickets": pl.Int64, "resolved": pl.Int64,
                  "resolution_met": pl.Int64, "resolution_breached": pl.Int64,
                  "met_pct": pl.Float64, "open": pl.Int64, "open_overdue": pl.Int64,
                  "responded": pl.Int64, "response_met": pl.Int64, "response_breached": pl.Int64,
                  "response_met_pct": pl.Float64, "response_median_hours": pl.Float64,
                  "response_target_hours": pl.Float64, "resolution_target_hours": pl.Float64}
MONTHLY_SCHEMA = {"month": pl.String, "priority": pl.String, "tickets": pl.Int64,
                  "response_met": pl.Int64, "response_breached": pl.Int64,
                  "response_met_pct": pl.Float64, "response_median_hours": pl.Float64,
                  "resolution_met": pl.Int64, "resolution_breached": pl.Int64,
                  "resolution_met_pct": pl.Float64}
# The ticket columns the timers and summaries use (a copy read skips the others).
TICKET_COLUMNS = ("service", "opened_at", "closed_at", "first_response_at", "severity")
_RESPONSE_COLS = ("responded", "response_met", "response_breached", "response_met_pct",
                  "response_median_hours")


@dataclass(frozen=True)
class Policy:
    """A working calendar and business-hour targets per priority."""

    calendar: BusinessCalendar
    targets: dict[str, Target]

    def describe(self) -> str:
        """e.g. ``Mon–Fri 09:00–17:00 UTC, 40 h/week, 0 holidays``."""
        days = sorted(self.calendar.hours)
        names = "MonTueWedThuFriSatSun"
        span = (f"{names[days[0] * 3:days[0] * 3 + 3]}–{names[days[-1] * 3:days[-1] * 3 + 3]}"
                if days == list(range(days[0], days[-1] + 1)) else
                ",".join(names[d * 3:d * 3 + 3] for d in days))
        hours = {s for v in self.calendar.hours.values() for s in v}
        when = " ".join(f"{a}–{b}" for a, b in sorted(hours)) if len(hours) == 1 else "varied hours"
        return (f"{span} {when} {self.calendar.tz}, {self.calendar.weekly_hours():g} h/week, "
                f"{len(self.calendar.holidays)} holidays")


def default_policy(tz: str | None = None, holidays: frozenset[date] = frozenset()) -> Policy:
    """The defaults of ``ticket_sla.toml``; an empty zone there means ``tz`` or the workbench's.
    ``holidays`` (e.g. ``metrics.business_hours.holidays_from_ics``) add to the file's.

    >>> p = default_policy("Europe/Amsterdam")
    >>> p.describe(), p.targets["P1"]
    ('Mon–Fri 09:00–17:00 Europe/Amsterdam, 40 h/week, 0 holidays', Target(response_hours=1.0, resolution_hours=8.0))
    """
    data = tomllib.loads(POLICY_FILE.read_text())
    cal = data["calendar"]
    zone = cal.get("timezone") or tz or get_settings().timezone
    try:
        calendar = BusinessCalendar.office(
            zone, start=cal["start"], end=cal["end"], days=tuple(cal["days"]),
            holidays=frozenset(date.fromisoformat(d) for d in cal.get("holidays", [])) | holidays)
    except ValueError as exc:
        raise BadRequest(f"ticket SLA calendar: {exc}") from None
    targets = {p: Target(float(t["response_hours"]), float(t["resolution_hours"]))
               for p, t in data["targets"].items()}
    return Policy(calendar=calendar, targets=targets)


@dataclass(frozen=True)
class TicketSla:
    """``summary``: one row per priority (``SUMMARY_SCHEMA``); ``monthly``: one row per month of
    opening and priority (``MONTHLY_SCHEMA``); ``timers``: one row per ticket
    (``metrics.business_hours.TIMER_SCHEMA`` plus service, closed_at, first_response_at,
    response_hours, response_decided); ``unprioritised``: tickets without a severity (left out);
    ``at``: the evaluation instant (naive UTC); ``response_measured``: some ticket of the period
    records a first response (else the response columns are empty)."""

    at: datetime
    policy: Policy
    summary: pl.DataFrame
    timers: pl.DataFrame
    unprioritised: int
    closed_before_opened: int
    response_measured: bool = True

    @functools.cached_property
    def monthly(self) -> pl.DataFrame:
        """Per month of opening and priority (``MONTHLY_SCHEMA``), computed when first asked
        (the SLAs page shows only the summary)."""
        return monthly(self.timers, self.response_measured)

    @property
    def note(self) -> str | None:
        """``RESPONSE_NOTE`` when no first response is recorded, else None."""
        return None if self.response_measured else RESPONSE_NOTE

    def records(self) -> list[dict]:
        """The summary rows as dicts (the ``report ticket-sla`` list)."""
        return self.summary.to_dicts()


def newest_ticket_instant(engine: Engine) -> datetime | None:
    """The latest ticket opening or closing in the store (default evaluation instant)."""
    from analytics.store.copyscan import newest, scan

    # The read copy's row-group statistics answer without reading a column; a scan of its two
    # columns (0.2 CPU-s at 5.8M tickets) when they cannot; SQL scans every closed_at.
    row = newest(engine, "tickets", ["opened_at", "closed_at"])
    lazy = scan(engine, "tickets") if row is None else None
    if lazy is not None:
        row = lazy.select(pl.col("opened_at").max(), pl.col("closed_at").max()).collect().row(0)
    elif row is None:
        row = read_frame(engine, "SELECT max(opened_at) AS a, max(closed_at) AS b FROM ticket"
                         ).row(0)
    known = [v for v in row if v is not None]
    return max(known) if known else None


def _waits(engine: Engine, filters: Filters) -> pl.DataFrame:
    lo, hi = filters.bounds()
    where, params = ["1=1"], []
    if lo is not None:
        where.append("t.opened_at >= ?")
        params.append(lo)
    if hi is not None:
        where.append("t.opened_at < ?")
        params.append(hi)
    return read_frame(engine, f"""
        SELECT w.ticket_id, w.start, w."end" FROM ticket_wait w JOIN ticket t ON t.id = w.ticket_id
        WHERE {' AND '.join(where)}""", params)


def ticket_sla(engine: Engine, *, filters: Filters = Filters(), at: datetime | None = None,
               policy: Policy | None = None, carry: tuple[str, ...] = (),
               timed: tuple[str, ...] | None = None) -> TicketSla:
    """Response and resolution timers of the tickets opened in the period (``filters``) at
    ``at`` (default: the newest ticket event), summarised per priority and per month.
    ``carry``: more ticket columns (``queries.TICKET_COLS``) to append to the timers;
    ``timed``: only these services' tickets get timers (and summaries), while every ticket of
    the period still counts for ``response_measured``, ``unprioritised`` and the checks."""
    policy = policy or default_policy(filters.timezone)
    _check_names(engine, filters)
    filters, _note = periods.fill(engine, filters)  # no dates: the default period
    wanted = [s for s in timed or () if not filters.services or s in filters.services]
    if wanted:
        # Every ticket of the period counts for the checks (four columns of them); only the
        # timed services' rows are read whole, their filter pushed into the read (a year of
        # 5.8M tickets for one service's timers cost 0.7 CPU-s to read in full).
        checked = queries.tickets(engine, filters, columns=_CHECK_COLUMNS, ordered=False)
        raw = queries.tickets(engine, replace(filters, services=tuple(wanted)),
                              columns=TICKET_COLUMNS + carry)
    else:
        checked = raw = queries.tickets(engine, filters, columns=TICKET_COLUMNS + carry)
    at = at or newest_ticket_instant(engine)
    if checked.height == 0 or at is None:
        raise NoData("No ticket was opened in this period for these filters.")
    unprioritised = checked.filter(pl.col("severity").is_null()).height
    backwards = checked.filter(pl.col("closed_at") < pl.col("opened_at")).height
    tickets = _prepared(raw, at, carry)
    if checked is raw:
        priorities = tickets["priority"].unique()
        measured = tickets["first_response_at"].drop_nulls().len() > 0
    else:  # the same checks over every ticket, without a priority string per row
        every = checked.filter(
            pl.col("severity").is_not_null() & (pl.col("opened_at") <= at)
            & (pl.col("closed_at").is_null() | (pl.col("closed_at") >= pl.col("opened_at"))))
        priorities = "P" + every["severity"].unique().cast(pl.String)
        measured = bool((every["first_response_at"] <= at).any())
    unknown = sorted(set(priorities.to_list()) - set(policy.targets))
    if unknown:
        raise BadRequest(f"ticket SLA: no target for priority {', '.join(unknown)}")
    if timed is not None:
        tickets = tickets.filter(pl.col("service").is_in(list(timed)))
    waits = _waits(engine, filters)
    try:
        timers = ticket_timers(tickets.select("id", "priority", "opened_at", "responded_at",
                                              "resolved_at"),
                               policy.targets, policy.calendar, at,
                               waits=waits if waits.height else None)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    # ticket_timers keeps the tickets' rows in order: their columns line up without a join.
    timers = with_response(timers.hstack(tickets.select("service", "closed_at",
                                                        "first_response_at")), policy
                           ).hstack(tickets.select(carry))
    return TicketSla(at=at, policy=policy, summary=summarise(timers, policy, measured),
                     timers=timers, unprioritised=unprioritised, closed_before_opened=backwards,
                     response_measured=measured)


_CHECK_COLUMNS = ("opened_at", "closed_at", "first_response_at", "severity")


def _prepared(raw: pl.DataFrame, at: datetime, carry: tuple[str, ...]) -> pl.DataFrame:
    """The tickets with a priority, not closed before they opened, opened by ``at``: priority
    Pn, resolved_at, responded_at (a response after ``at`` has not happened yet)."""
    keep = [c for c in ("id", "service") if c in raw.columns]
    return (raw.filter(pl.col("severity").is_not_null()
                       & (pl.col("closed_at").is_null()
                          | (pl.col("closed_at") >= pl.col("opened_at"))))
            .with_columns(first_response_at=pl.when(pl.col("first_response_at") <= at)
                          .then(pl.col("first_response_at")))
            .select(*keep, "opened_at", "closed_at", "first_response_at", *carry,
                    priority=pl.lit("P") + pl.col("severity").cast(pl.String),
                    resolved_at=pl.col("closed_at"),
                    # A response stamped before the opening (bad source data) counts at it.
                    responded_at=pl.when(pl.col("first_response_at").is_not_null()).then(
                        pl.max_horizontal("opened_at", "first_response_at")))
            .filter(pl.col("opened_at") <= at))


def _check_names(engine: Engine, filters: Filters) -> None:
    if filters.services or filters.teams:
        known = queries.services(engine)
        for what, wanted in (("service", filters.services), ("team", filters.teams)):
            missing = sorted(set(wanted) - set(known[what].to_list()))
            if missing:
                raise BadRequest(f"unknown {what} {', '.join(missing)}")


def with_response(timers: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """``timers`` (with closed_at, first_response_at) plus ``response_hours`` (business hours to
    the first response, null while unanswered) and ``response_decided``: answered, or still
    open and past due; a closed ticket without a recorded response is left out."""
    target = pl.col("priority").replace_strict(
        {p: t.response_hours for p, t in policy.targets.items()}, return_dtype=pl.Float64)
    answered = pl.col("first_response_at").is_not_null()
    return timers.with_columns(
        response_hours=pl.when(answered).then(target - pl.col("response_remaining_hours")),
        response_decided=answered | (pl.col("closed_at").is_null()
                                     & pl.col("response_breached")))


def _response_aggs() -> list[pl.Expr]:
    decided, late = pl.col("response_decided"), pl.col("response_breached")
    met = (decided & ~late).sum().cast(pl.Int64)
    return [pl.col("first_response_at").is_not_null().sum().cast(pl.Int64).alias("responded"),
            met.alias("response_met"),
            (decided & late).sum().cast(pl.Int64).alias("response_breached"),
            pl.when(decided.sum() > 0).then(met / decided.sum() * 100).alias("response_met_pct"),
            pl.col("response_hours").median().alias("response_median_hours")]


def monthly(timers: pl.DataFrame, measured: bool = True) -> pl.DataFrame:
    """Per month of opening (UTC) and priority: tickets, response met/breached/met % of decided,
    median business hours to first response, resolution met/breached/met % of resolved."""
    done = pl.col("closed_at").is_not_null()
    res_met = (done & ~pl.col("resolution_breached")).sum().cast(pl.Int64)
    got = (timers.group_by(month=pl.col("opened_at").dt.strftime("%Y-%m"), priority="priority")
           .agg(pl.len().cast(pl.Int64).alias("tickets"), *_response_aggs(),
                res_met.alias("resolution_met"),
                (done & pl.col("resolution_breached")).sum().cast(pl.Int64)
                .alias("resolution_breached"),
                pl.when(done.sum() > 0).then(res_met / done.sum() * 100)
                .alias("resolution_met_pct")))
    if not measured:
        got = got.with_columns(pl.lit(None).alias(c) for c in _RESPONSE_COLS if c in MONTHLY_SCHEMA)
    return got.select(list(MONTHLY_SCHEMA)).cast(MONTHLY_SCHEMA).sort("month", "priority")


def summarise(timers: pl.DataFrame, policy: Policy, measured: bool = True,
              by: str = "priority") -> pl.DataFrame:
    """Per priority: tickets, resolved, resolution met/breached, met % of resolved, open,
    open past due, answered, response met/breached, met % of decided, median business hours
    to first response (``with_response`` timers; response columns empty unless ``measured``),
    and the targets. ``by="severity"``: ``timers`` carry the severity n instead of the
    priority Pn (grouping millions of rows on an integer, not a string)."""
    done = pl.col("closed_at").is_not_null()
    got = (timers.group_by(by).agg(*_response_aggs(),
        pl.len().cast(pl.Int64).alias("tickets"), done.sum().cast(pl.Int64).alias("resolved"),
        (done & ~pl.col("resolution_breached")).sum().cast(pl.Int64).alias("resolution_met"),
        (done & pl.col("resolution_breached")).sum().cast(pl.Int64).alias("resolution_breached"),
        (~done & ~pl.col("resolution_breached")).sum().cast(pl.Int64).alias("open"),
        (~done & pl.col("resolution_breached")).sum().cast(pl.Int64).alias("open_overdue")))
    if by == "severity":
        got = got.select(pl.exclude("severity"),
                         priority=pl.lit("P") + pl.col("severity").cast(pl.String))
    targets = pl.DataFrame({"priority": list(policy.targets),
                            "response_target_hours": [t.response_hours for t in policy.targets.values()],
                            "resolution_target_hours": [t.resolution_hours
                                                        for t in policy.targets.values()]})
    return (targets.join(got, on="priority", how="left")
            .with_columns(pl.col("tickets", "resolved", "resolution_met", "resolution_breached",
                                 "open", "open_overdue", "responded", "response_met",
                                 "response_breached").fill_null(0))
            .with_columns(met_pct=pl.when(pl.col("resolved") > 0)
                          .then(pl.col("resolution_met") / pl.col("resolved") * 100))
            .with_columns(pl.lit(None).alias(c) for c in ([] if measured else _RESPONSE_COLS))
            .select(list(SUMMARY_SCHEMA)).cast(SUMMARY_SCHEMA).sort("priority"))
