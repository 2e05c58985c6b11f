"""Business-hours resolution timers on the UCI ServiceNow incident log, compared with its own
``made_sla`` flag (issue 6; dataset: ../shared/data/uci-incident-event-log, README beside it).

The log is an event log: one row per update of an incident, ``?`` for missing values, day-first
``d/m/yyyy HH:MM`` times. One incident is its LAST event (the closing one carries the final
``priority`` and ``made_sla``). The log does not say which SLA definitions produced
``made_sla``, so this study states its own assumptions and measures how far they agree:

* calendar: Monday–Friday 08:00–18:00, no holidays; the log's times are anonymised local
  wall-clock times of an unknown zone, so they are read as wall-clock in a zone without DST
  (``UTC``), which keeps every working day exactly ten hours long;
* resolution targets (ITIL-style, business hours): P1 4 h, P2 8 h, P3 24 h, P4 40 h;
* the timer pauses while the incident is in state ``Awaiting User Info`` (waiting on the
  customer, REFERENCE §3): from that event's ``sys_updated_at`` to the next event's;
* resolution time = ``resolved_at``, else the first ``Resolved`` event's ``sys_updated_at``;
  incidents with neither, or resolved before they were opened, are left out and counted.

The log records no first-response time, so only resolution timers are compared.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from analytics.metrics.business_hours import BusinessCalendar, Target, ticket_timers

DATE_FORMAT = "%d/%m/%Y %H:%M"
# Resolution targets in business hours per priority (ITIL-style assumption, see module text).
RESOLUTION_HOURS = {"P1": 4.0, "P2": 8.0, "P3": 24.0, "P4": 40.0}
WAIT_STATE = "Awaiting User Info"
CALENDAR = BusinessCalendar.office("UTC", start="08:00", end="18:00")


def targets(hours: dict[str, float] = RESOLUTION_HOURS) -> dict[str, Target]:
    """Timer targets per priority; the response target mirrors the resolution one because the
    log has no response time to measure it against."""
    return {p: Target(response_hours=h, resolution_hours=h) for p, h in hours.items()}


def read_events(path: str | Path) -> pl.DataFrame:
    """The event log with typed times, ``made_sla`` as boolean and the file order as ``seq``."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"path: {path} does not exist")
    raw = pl.read_csv(path, null_values="?", infer_schema=False)
    need = ["number", "incident_state", "made_sla", "opened_at", "sys_updated_at", "priority",
            "resolved_at"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}")
    return raw.select(
        pl.int_range(pl.len()).alias("seq"), "number", "incident_state", "priority",
        pl.col("made_sla").str.to_lowercase().replace_strict({"true": True, "false": False},
                                                               return_dtype=pl.Boolean),
        *[pl.col(c).str.strptime(pl.Datetime("us"), DATE_FORMAT, strict=True)
          for c in ("opened_at", "sys_updated_at", "resolved_at")])


def incidents_and_waits(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """(incidents, waits, dropped): one row per incident (its last event) with ``id``,
    ``number``, ``priority`` (P1–P4), ``opened_at``, ``resolved_at``, ``made_sla``; the
    customer waits as (ticket_id, start, end); and how many incidents were left out, by reason.
    """
    events = events.sort("seq").with_columns(
        id=pl.col("number").str.extract(r"(\d+)$").cast(pl.Int64))
    first_resolved = (events.filter(pl.col("incident_state") == "Resolved")
                      .group_by("number").agg(pl.col("sys_updated_at").min().alias("resolved_event")))
    last = (events.group_by("number", maintain_order=True).last()
            .join(first_resolved, on="number", how="left")
            .with_columns(resolved_at=pl.coalesce("resolved_at", "resolved_event"),
                          priority=pl.concat_str(pl.lit("P"), pl.col("priority").str.slice(0, 1))))
    no_time = last.filter(pl.col("resolved_at").is_null() | pl.col("priority").is_null())
    backwards = last.filter(pl.col("resolved_at") < pl.col("opened_at"))
    kept = last.filter(pl.col("resolved_at").is_not_null() & pl.col("priority").is_not_null()
                       & (pl.col("resolved_at") >= pl.col("opened_at")))
    waits = (events.with_columns(nxt=pl.col("sys_updated_at").shift(-1).over("number"))
             .filter((pl.col("incident_state") == WAIT_STATE) & pl.col("nxt").is_not_null()
                     & (pl.col("nxt") > pl.col("sys_updated_at")))
             .select(ticket_id="id", start="sys_updated_at", end="nxt")
             .filter(pl.col("ticket_id").is_in(kept["id"].implode())))
    dropped = {"no resolution time or priority": no_time.height,
               "resolved before opened": backwards.height}
    return (kept.select("id", "number", "priority", "opened_at", "resolved_at", "made_sla"),
            waits, dropped)


def compare(incidents: pl.DataFrame, timers: pl.DataFrame) -> dict:
    """Timer breach (``resolution_breached``) against the log's breach (not ``made_sla``):
    confusion counts, agreement rate, Cohen's kappa, both breach shares, and per priority.

    >>> inc = pl.DataFrame({"id": [1, 2, 3, 4], "priority": ["P1"] * 4,
    ...                     "made_sla": [True, False, False, True]})
    >>> tim = pl.DataFrame({"id": [1, 2, 3, 4], "resolution_breached": [False, True, False, True]})
    >>> compare(inc, tim)["agreement"]
    0.5
    """
    both = incidents.join(timers.select("id", "resolution_breached"), on="id", how="inner").select(
        "priority", timer=pl.col("resolution_breached"), log=~pl.col("made_sla"))
    return {**_scores(both), "by_priority": {
        p: _scores(g) for (p,), g in sorted(both.group_by("priority"), key=lambda kv: kv[0])}}


def _scores(both: pl.DataFrame) -> dict:
    n = both.height
    tt = both.filter(pl.col("timer") & pl.col("log")).height
    tf = both.filter(pl.col("timer") & ~pl.col("log")).height
    ft = both.filter(~pl.col("timer") & pl.col("log")).height
    ff = n - tt - tf - ft
    agree = (tt + ff) / n if n else None
    p_timer, p_log = ((tt + tf) / n, (tt + ft) / n) if n else (None, None)
    # Cohen's kappa: agreement beyond what two independent raters with these shares reach.
    chance = None if n == 0 else p_timer * p_log + (1 - p_timer) * (1 - p_log)
    kappa = None if chance is None or chance == 1 else (agree - chance) / (1 - chance)
    return {"n": n, "confusion": {"timer_breach_log_breach": tt, "timer_breach_log_met": tf,
                                  "timer_met_log_breach": ft, "timer_met_log_met": ff},
            "agreement": agree, "kappa": kappa, "timer_breach_share": p_timer,
            "log_breach_share": p_log}


def study(path: str | Path, calendar: BusinessCalendar = CALENDAR,
          hours: dict[str, float] = RESOLUTION_HOURS) -> dict:
    """Run the timers on the log and compare them with ``made_sla`` (figures for the note)."""
    events = read_events(path)
    incidents, waits, dropped = incidents_and_waits(events)
    now = events["sys_updated_at"].max() + timedelta(minutes=1)
    timers = ticket_timers(incidents, targets(hours), calendar, now, waits=waits)
    return {"incidents": events["number"].n_unique(), "dropped": dropped,
            "timed": timers.height, "incidents_with_waits": waits["ticket_id"].n_unique(),
            "calendar": f"{calendar.tz}, {calendar.weekly_hours():g} h/week", "targets_hours": hours,
            **compare(incidents, timers)}


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else str(value)


if __name__ == "__main__":
    print(json.dumps(study(sys.argv[1]), indent=2, default=_json))
