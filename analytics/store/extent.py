"""Where the bulk of the data lies: per table of :data:`EXTENT_TABLES`, the months that hold most
of its rows (sparse leading and trailing months left out), which set every default period
(:mod:`analytics.reports.periods`). Counted from the read copy's per-month summary when the copy
is current, else by one GROUP BY in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.store.copyscan import months as _copy_months
from analytics.store.db import read_frame


# Tables whose timestamps set default periods, with that timestamp and the row's own key.
EXTENT_TABLES = {"deployments": ("deployment", "finished_at"),
                 "incidents": ("incident", "opened_at"),
                 "tickets": ("ticket", "opened_at")}
# A leading or trailing month is outside the bulk when its rate (rows per day it covers) is
# below this share of the rate of the month holding the table's median row.
BULK_SHARE = 0.2


@dataclass(frozen=True)
class Bulk:
    """Where the bulk of one table's timestamps lies, and what falls outside it."""

    table: str
    lo: datetime | None  # first / last timestamp inside the bulk
    hi: datetime | None
    before: int = 0  # rows before / after the bulk (left out of default periods)
    after: int = 0
    first: datetime | None = None  # the table's very first / last timestamp
    last: datetime | None = None


def bulk_months(months: pl.DataFrame, share: float = BULK_SHARE) -> tuple[int, int]:
    """Indexes of the first and last month in the bulk of a table.

    ``months`` has one row per calendar month with rows, in order: ``n`` (rows) and ``days``
    (days of that month between the table's first and last timestamp, so a partly covered edge
    month is not penalised). The rule: take the rate (``n / days``) of the month holding the
    median row; walking in from each end, drop months whose rate is below ``share`` of it,
    stopping at the first month that reaches it. Robust to a few stray records years away (a
    change "finished" in 2021 in a 2013–2014 log) and to sparse ramp-up/ramp-down months.

    >>> m = pl.DataFrame({"n": [1, 3000, 2900, 4, 1], "days": [31, 31, 30, 31, 21]})
    >>> bulk_months(m)
    (1, 2)
    >>> bulk_months(pl.DataFrame({"n": [5], "days": [0.5]}))
    (0, 0)
    """
    n = months["n"].to_list()
    rate = [c / max(d, 1 / 24) for c, d in zip(n, months["days"].to_list(), strict=True)]
    half, seen, mid = sum(n) / 2, 0, 0
    for mid, c in enumerate(n):
        seen += c
        if seen >= half:
            break
    floor = share * rate[mid]
    lo, hi = 0, len(n) - 1
    while lo < mid and rate[lo] < floor:
        lo += 1
    while hi > mid and rate[hi] < floor:
        hi -= 1
    return lo, hi


def bulk_of(engine: Engine, kind: str) -> Bulk:
    """The bulk of one table of :data:`EXTENT_TABLES` (see :func:`bulk_months` for the rule)."""
    table, ts = EXTENT_TABLES[kind]
    months = _copy_months(engine, kind, ts)
    if months is None:
        months = _months_sql(engine, table, ts)
    if months.height == 0:
        return Bulk(kind, None, None)
    return _bulk(kind, months)


def _months_sql(engine: Engine, table: str, ts: str) -> pl.DataFrame:
    month = (f"substr(CAST({ts} AS TEXT), 1, 7)" if engine.dialect.name == "sqlite"
             else f"to_char({ts}, 'YYYY-MM')")
    return read_frame(engine, f"""
        SELECT {month} AS month, count(*) AS n, min({ts}) AS lo, max({ts}) AS hi
        FROM {table} WHERE {ts} IS NOT NULL GROUP BY {month} ORDER BY {month}""")


def _bulk(kind: str, months: pl.DataFrame) -> Bulk:
    los, his = [_naive(v) for v in months["lo"]], [_naive(v) for v in months["hi"]]
    first, last = los[0], his[-1]
    days = []
    for label in months["month"].to_list():
        y, m = int(label[:4]), int(label[5:7])
        start = datetime(y, m, 1)
        end = datetime(y + m // 12, m % 12 + 1, 1)
        days.append((min(end, last) - max(start, first)).total_seconds() / 86400)
    i, j = bulk_months(months.with_columns(days=pl.Series(days)))
    counts = months["n"].to_list()
    return Bulk(kind, los[i], his[j], before=sum(counts[:i]), after=sum(counts[j + 1:]),
                first=first, last=last)


def _naive(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def bulks(engine: Engine) -> list[Bulk]:
    """The bulk of each table that sets default periods (deployments, incidents, tickets)."""
    return [bulk_of(engine, kind) for kind in EXTENT_TABLES]


def data_extent(engine: Engine) -> tuple[date | None, date | None]:
    """First and last day of the bulk of the deployments, incidents and tickets (the default
    period's bounds): rows outside their table's bulk (:func:`bulk_months`) are left out."""
    found = [b for b in bulks(engine) if b.lo is not None]
    if not found:
        return None, None
    return min(b.lo for b in found).date(), max(b.hi for b in found).date()
