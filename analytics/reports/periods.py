"""The default period, one rule for every report, command and page (issue 15 point 12).

No dates given → the bulk of the deployments, incidents and tickets
(:func:`analytics.store.queries.bulk_months` states the rule: per table, sparse leading and
trailing calendar months are left out), at most its last ``DEFAULT_PERIOD_DAYS`` days, ending at
the newest day of the bulk. :func:`span` is the rule itself; :func:`fill` applies it to a
report's filters and says what it left out; ``analytics.ui.global_filters`` draws the pages'
default from :func:`span` too. ``analytics.cli.common.PERIOD_HELP`` states it in ``--help``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine

from analytics.settings import DEFAULT_PERIOD_DAYS
from analytics.store import queries
from analytics.store.queries import Bulk, Filters


def span(lo: date | None, hi: date | None, start: date | None = None, end: date | None = None,
         days: int = DEFAULT_PERIOD_DAYS) -> tuple[date | None, date | None]:
    """The period for the days asked for (``start``/``end``, either may be None) when the bulk
    of the data runs from ``lo`` to ``hi``: a missing last day is ``hi``; a missing first day is
    ``days`` days before the last one, but never before ``lo``. Without data (``hi`` None) the
    days asked for are returned unchanged.

    >>> d = date.fromisoformat
    >>> span(d("2013-10-01"), d("2014-03-31"))      # a bulk of 182 days: all of it
    (datetime.date(2013, 10, 1), datetime.date(2014, 3, 31))
    >>> span(d("2024-01-01"), d("2026-11-22"))      # longer: its last 365 days
    (datetime.date(2025, 11, 23), datetime.date(2026, 11, 22))
    >>> span(d("2024-01-01"), d("2026-11-22"), end=d("2024-03-01"))  # only a last day
    (datetime.date(2024, 1, 1), datetime.date(2024, 3, 1))
    >>> span(d("2024-01-01"), d("2026-11-22"), start=d("2026-11-01"))  # only a first day
    (datetime.date(2026, 11, 1), datetime.date(2026, 11, 22))
    """
    if (start and end) or hi is None:
        return start, end
    if end is None:
        end = max(hi, start) if start else hi
    if start is None:
        start = end - timedelta(days=days - 1)
        if lo is not None and lo <= end:
            start = max(start, lo)
    return start, end


def days(engine: Engine, start: date | None = None, end: date | None = None,
         ) -> tuple[date | None, date | None]:
    """:func:`span` for the bulk of the store's data: the default period for a report that
    takes its first and last day as dates rather than as :class:`Filters`."""
    return span(*queries.data_extent(engine), start, end)


def left_out(bulks: list[Bulk]) -> list[dict[str, Any]]:
    """Per table with rows outside its bulk: how many before / after, and the full range.

    >>> from datetime import datetime as dt
    >>> b = Bulk("deployments", dt(2013, 10, 1), dt(2014, 3, 31), 318, 11,
    ...          dt(2012, 10, 26), dt(2021, 3, 21))
    >>> left_out([b])[0]["after"], left_out([Bulk("tickets", None, None)])
    (11, [])
    """
    return [{"table": b.table, "before": b.before, "after": b.after,
             "bulk_from": str(b.lo)[:19], "bulk_to": str(b.hi)[:19],
             "first": str(b.first)[:19], "last": str(b.last)[:19]}
            for b in bulks if b.before or b.after]


def describe(outside: list[dict[str, Any]]) -> str:
    """One sentence naming what the default period left out ("" when nothing).

    >>> describe([{"table": "deployments", "before": 318, "after": 11, "first": "2012-10-26",
    ...            "last": "2021-03-21"}])
    'Default period drawn from the bulk of the data; left out: 318 deployments before it (from 2012-10-26) and 11 after it (to 2021-03-21).'
    """
    if not outside:
        return ""
    parts = []
    for o in outside:
        sides = ([f"{o['before']:,} {o['table']} before it (from {o['first'][:10]})"]
                 if o["before"] else [])
        if o["after"]:
            sides.append(f"{o['after']:,} {'' if sides else o['table'] + ' '}after it "
                         f"(to {o['last'][:10]})")
        parts.append(" and ".join(sides))
    return "Default period drawn from the bulk of the data; left out: " + "; ".join(parts) + "."


def fill(engine: Engine, filters: Filters) -> tuple[Filters, dict[str, Any]]:
    """``filters`` with a missing first/last day filled by :func:`span` from the bulk of the
    data, and a note (``{"default_period": bool, "left_out": [...], "note": str}``) saying what
    was left out."""
    if filters.start and filters.end:
        return filters, {"default_period": False, "left_out": [], "note": ""}
    bulks = queries.bulks(engine)
    found = [b for b in bulks if b.lo is not None]
    if not found:
        return filters, {"default_period": False, "left_out": [], "note": ""}
    lo, hi = min(b.lo for b in found).date(), max(b.hi for b in found).date()
    start, end = span(lo, hi, filters.start, filters.end)
    filled = replace(filters, start=start, end=end)
    outside = left_out(bulks)
    note = describe(outside)
    if filters.start is None and start is not None and start > lo:
        note = (note + " " if note else "") + (
            f"Default period: at most the last {DEFAULT_PERIOD_DAYS} days of the bulk "
            f"({lo} – {hi}).")
    return filled, {"default_period": True, "left_out": outside, "note": note}
