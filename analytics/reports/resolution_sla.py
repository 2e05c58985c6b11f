"""Resolution SLA of incidents by priority: opened → resolved against a target per priority.

Counts incidents opened in the period (inclusive days in ``filters.timezone``; no dates: the
bulk of the data, see :mod:`analytics.reports.periods`), optionally of one ``category`` and
``status`` as the source gives them. Each incident's resolution time is ``resolved_at −
opened_at``; when the source has no resolved time for it, ``closed_at`` is used instead and the
result counts how often (``closed_fallback``). An incident with neither is still open: breached
when the time elapsed to the end of the period already exceeds its target, else left out as
pending. Priorities are the source's own (``priority`` as given, ``P1``…``P5``), else the
workbench severity. The wall clock counts every hour; the business clock
(:data:`DEFAULT_CALENDAR`) counts only working hours of :func:`calendar_for`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine

from analytics.metrics.business_hours import BusinessCalendar
from analytics.reports import BadRequest, NoData, periods
from analytics.store import queries
from analytics.store.queries import Filters

CLOCKS = ("wall", "business")
DEFAULT_CALENDAR = "Monday–Friday 09:00–17:00 in the workbench time zone, no holidays"
_TARGET = re.compile(r"^\s*P?([1-9])\s*=\s*([0-9]+(?:\.[0-9]+)?)\s*([hd]?)\s*$", re.IGNORECASE)


def parse_targets(text: str) -> dict[int, float]:
    """``"P1=4h,P2=8h,P5=4d"`` → hours per priority; BadRequest naming the bad part.

    >>> parse_targets("P1=4h,P2=8h,P3=1.5d")
    {1: 4.0, 2: 8.0, 3: 36.0}
    """
    out: dict[int, float] = {}
    for part in (p for p in text.split(",") if p.strip()):
        m = _TARGET.match(part)
        if not m or float(m.group(2)) <= 0:
            raise BadRequest(f"Target {part.strip()!r} is not PRIORITY=HOURS (e.g. P1=4h, "
                             "P3=2d) with a positive number.")
        out[int(m.group(1))] = float(m.group(2)) * (24 if m.group(3).lower() == "d" else 1)
    if not out:
        raise BadRequest("Give at least one target, e.g. P1=4h,P2=8h.")
    return out


def calendar_for(timezone: str) -> BusinessCalendar:
    """The default business calendar (:data:`DEFAULT_CALENDAR`)."""
    return BusinessCalendar.office(timezone)


def business_hours(opened: pl.Series, ended: pl.Series, calendar: BusinessCalendar) -> np.ndarray:
    """Working hours of ``calendar`` between each pair of naive UTC instants.

    >>> from datetime import datetime as dt
    >>> business_hours(pl.Series([dt(2026, 1, 2, 16)]), pl.Series([dt(2026, 1, 5, 10)]),
    ...                calendar_for("UTC")).tolist()  # Fri 16:00 → Mon 10:00
    [2.0]
    """
    from analytics.metrics.business_hours import _Clock  # the cumulative-spans clock

    a = opened.cast(pl.Datetime("us")).to_numpy().astype("datetime64[us]").astype(np.int64)
    b = ended.cast(pl.Datetime("us")).to_numpy().astype("datetime64[us]").astype(np.int64)
    if a.size == 0:
        return np.zeros(0)
    first = (opened.min() - timedelta(days=2)).date()
    last = (ended.max() + timedelta(days=2)).date()
    clock = _Clock(calendar.spans(first, last))
    return (clock.worked(b) - clock.worked(a)) / 3_600_000_000


def resolution_sla(engine: Engine, filters: Filters, targets: dict[int, float], *,
                   clock: str = "wall", category: str | None = None,
                   status: str | None = None) -> dict[str, Any]:
    """``incidents``, ``breached``, ``breach_rate`` overall and ``by_priority``, with the
    period, the clock (and calendar), the filters and how many used the close time."""
    if clock not in CLOCKS:
        raise BadRequest(f"The clock must be one of {', '.join(CLOCKS)}, not {clock!r}.")
    filters, default = periods.fill(engine, filters)
    if filters.start and filters.end and filters.start > filters.end:
        raise BadRequest(f"The period starts ({filters.start}) after it ends ({filters.end}).")
    inc = queries.incidents(engine, filters)
    if filters.environment:
        inc = inc.filter(pl.col("environment") == filters.environment)
    for column, value in (("category", category), ("status", status)):
        if value is not None:
            inc = inc.filter(pl.col(column) == value)
    if inc.height == 0:
        raise NoData("No incident was opened in this period with these filters.")
    _lo, hi = filters.bounds()
    end_of_period = hi or datetime.now()
    inc = inc.with_columns(
        pl.coalesce("priority", "severity").alias("p"),
        pl.coalesce("resolved_at", "closed_at").alias("ended"),
        (pl.col("resolved_at").is_null() & pl.col("closed_at").is_not_null()).alias("fallback"))
    inc = inc.filter(pl.col("p").is_in(list(targets)))
    if inc.height == 0:
        raise NoData(f"No incident in this period has a priority with a target "
                     f"({', '.join(f'P{p}' for p in sorted(targets))}).")
    until = inc["ended"].fill_null(end_of_period)
    took = (business_hours(inc["opened_at"], until, calendar_for(filters.timezone))
            if clock == "business"
            else ((until - inc["opened_at"]).dt.total_microseconds() / 3.6e9).to_numpy())
    inc = inc.with_columns(hours=pl.Series(took, dtype=pl.Float64),
                           target=pl.col("p").replace_strict(targets, return_dtype=pl.Float64))
    inc = inc.with_columns(
        breached=pl.col("hours") > pl.col("target"),
        counted=pl.col("ended").is_not_null() | (pl.col("hours") > pl.col("target")))
    counted = inc.filter(pl.col("counted"))
    rows = []
    for p in sorted(targets):
        part = counted.filter(pl.col("p") == p)
        rows.append(_figures(part, {"priority": f"P{p}", "target_hours": targets[p]}))
    out = _figures(counted, {})
    out.update(
        period={"from": str(filters.start), "to": str(filters.end),
                "timezone": filters.timezone, **default},
        clock=clock, calendar=DEFAULT_CALENDAR if clock == "business" else None,
        category=category, status=status, environment=filters.environment,
        pending=int(inc.height - counted.height),
        closed_fallback=int(counted["fallback"].sum()),
        basis=("opened → resolved; closed when the source has no resolved time "
               f"({int(counted['fallback'].sum()):,} incidents)"),
        by_priority=rows)
    return out


def _figures(part: pl.DataFrame, head: dict[str, Any]) -> dict[str, Any]:
    n, breached = part.height, int(part["breached"].sum()) if part.height else 0
    return {**head, "incidents": n, "breached": breached,
            "breach_rate": breached / n if n else None,
            "median_hours": part["hours"].median() if n else None}

