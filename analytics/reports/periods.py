"""The default period: the bulk of the data, never a stray record's date.

A report asked for no dates covers the days from the first to the last day of the bulk of the
deployments, incidents and tickets (:func:`analytics.store.queries.bulk_months` states the rule:
per table, sparse leading and trailing calendar months are left out). The CLI and the pages
(through ``queries.data_extent``) draw the same period; :func:`fill` also says what it left out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from analytics.store import queries
from analytics.store.queries import Bulk, Filters


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
    """``filters`` with a missing first/last day taken from the bulk of the data, and a note
    (``{"default_period": bool, "left_out": [...], "note": str}``) saying what was left out."""
    if filters.start and filters.end:
        return filters, {"default_period": False, "left_out": [], "note": ""}
    bulks = queries.bulks(engine)
    found = [b for b in bulks if b.lo is not None]
    if not found:
        return filters, {"default_period": False, "left_out": [], "note": ""}
    lo, hi = min(b.lo for b in found).date(), max(b.hi for b in found).date()
    filled = replace(filters, start=filters.start or lo, end=filters.end or hi)
    outside = left_out(bulks)
    return filled, {"default_period": True, "left_out": outside, "note": describe(outside)}
