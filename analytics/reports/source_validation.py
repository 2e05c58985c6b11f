"""The quarterly data-source checklist an analyst signs off.

For one ``source`` (the ``source`` column every imported row carries: ``demo``, ``servicenow``,
``github`` …) and one calendar quarter (boundaries in the workbench's time zone):

- **rows**: rows of that source per table with their time column in the quarter;
- **coverage**: share of the quarter's days (UTC dates) with at least one such row, per table
  (:data:`MIN_COVERAGE` or more is ``ok`` for the daily feeds of :data:`DENSE_TABLES`);
- **quality flags**: :func:`analytics.reports.summary.data_quality` (store-wide: the checks do
  not split by source), a flag with rows is ``check``;
- **reconciliation**: the source's deployments in the quarter that disagree with their change
  request (:func:`analytics.reports.reconciliation.reconciliation`).

``status`` is ``ok`` or ``check``; the sign-offs already stored for the source and quarter come
with it. Signing off is :func:`analytics.store.validations.sign_off_source`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.reports import BadRequest
from analytics.reports.reconciliation import reconciliation
from analytics.reports.summary import data_quality
from analytics.store import copyscan
from analytics.store.db import read_frame
from analytics.store.queries import Filters
from analytics.store.validations import parse_quarter, source_sign_offs

# Imported tables and the time column that places a row in a quarter.
SOURCE_TABLES: dict[str, str] = {
    "deployment": "finished_at", "change_request": "opened_at", "incident": "opened_at",
    "ticket": "opened_at", "csat_response": "responded_at", "outage": "start",
    "maintenance_window": "start",
}
# Tables a working feed fills every day; the others hold occasional events (no coverage minimum).
DENSE_TABLES = frozenset({"deployment", "ticket", "csat_response"})
MIN_COVERAGE = 0.9


@dataclass(frozen=True)
class Checklist:
    """One source's checklist for one quarter, and its stored sign-offs."""

    source: str
    quarter: str
    start: date
    end: date
    items: list[dict[str, Any]]
    sign_offs: pl.DataFrame = field(default_factory=pl.DataFrame)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON (and for the stored sign-off)."""
        return {"source": self.source, "quarter": self.quarter, "from": self.start.isoformat(),
                "to": self.end.isoformat(), "items": self.items,
                "open_items": sum(i["status"] == "check" for i in self.items),
                "sign_offs": self.sign_offs.to_dicts()}


def quarter_days(quarter: str) -> tuple[date, date]:
    """First and last day of ``2026Q3``.

    >>> quarter_days("2026Q4")
    (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))
    """
    try:
        year, q = parse_quarter(quarter)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    start = date(year, 3 * q - 2, 1)
    nxt = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, nxt - timedelta(days=1)


# The distinct sources of a table by skipping through its (source, external_id) index: one
# seek per source instead of reading every row (a DISTINCT over 5.8M tickets took 0.5 s).
DISTINCT_SOURCES = ('WITH RECURSIVE s(x) AS (SELECT min(source) FROM "{t}" UNION ALL '
                    'SELECT (SELECT min(source) FROM "{t}" WHERE source > s.x) FROM s '
                    'WHERE s.x IS NOT NULL) SELECT x AS source FROM s WHERE x IS NOT NULL')


def sources_of(engine: Engine, table: str) -> list[str]:
    """The source names ``table`` holds (the column is NOT NULL)."""
    return read_frame(engine, DISTINCT_SOURCES.format(t=table))["source"].to_list()


def known_sources(engine: Engine) -> list[str]:
    """Every source name the imported tables hold."""
    return sorted({s for table in SOURCE_TABLES for s in sources_of(engine, table)})


# Tables the columnar read copy holds (file name): counted there when every row of the table
# comes from the one source asked for (the copy has no source column), instead of SQLite
# walking the source's index row by row (1.5M tickets a quarter: 1.4 CPU-s at scale 30).
COPY_OF = {"deployment": "deployments", "incident": "incidents", "ticket": "tickets",
           "csat_response": "csat"}


def rows_and_days(engine: Engine, table: str, ts: str, source: str, lo: datetime,
                  hi: datetime) -> tuple[int, int]:
    """Rows of ``source`` in ``table`` with ``ts`` in [lo, hi) and the distinct UTC dates
    among them: from the read copy when it is current and the table holds that source only,
    else in SQL."""
    if table in COPY_OF and sources_of(engine, table) == [source]:
        lazy = copyscan.scan(engine, COPY_OF[table])
        if lazy is not None:
            at = pl.col(ts)
            row = lazy.filter((at >= lo) & (at < hi)).select(
                pl.len().alias("n"), at.dt.date().n_unique().alias("d")).collect()
            return int(row["n"][0]), int(row["d"][0])
    # Days are counted by their UTC date (the text prefix works on SQLite and PostgreSQL).
    row = read_frame(engine, f'SELECT count(*) AS n, count(DISTINCT substr(CAST("{ts}" AS TEXT), 1, 10)) '
                             f'AS d FROM "{table}" WHERE source = ? AND "{ts}" >= ? AND "{ts}" < ?',
                     [source, lo, hi]).row(0, named=True)
    return int(row["n"]), int(row["d"])


def _from_source(engine: Engine, source: str, external_ids: list[str]) -> list[str]:
    """Which of ``external_ids`` a deployment of ``source`` has: looked up in the natural-key
    index, not by reading every deployment of the source (1.4M at scale 30)."""
    out: list[str] = []
    for i in range(0, len(external_ids), 500):
        chunk = external_ids[i:i + 500]
        out += read_frame(engine, "SELECT external_id FROM deployment WHERE source = ? AND "
                                  f"external_id IN ({', '.join('?' * len(chunk))})",
                          [source, *chunk])["external_id"].to_list()
    return out


def checklist(engine: Engine, *, source: str, quarter: str, timezone: str = "UTC") -> Checklist:
    """The checklist of ``source`` for ``quarter``; an unknown source or a bad quarter is a
    :class:`BadRequest`."""
    start, end = quarter_days(quarter)
    sources = known_sources(engine)
    if source not in sources:
        raise BadRequest(f"No imported table holds rows from source {source!r}; known sources: "
                         f"{', '.join(sources) or 'none'}.")
    filters = Filters(start=start, end=end, timezone=timezone)
    lo, hi = filters.bounds()
    days = (end - start).days + 1
    items: list[dict[str, Any]] = []
    for table, ts in SOURCE_TABLES.items():
        n, covered = rows_and_days(engine, table, ts, source, lo, hi)
        if n == 0:
            continue
        share = covered / days
        items.append({"item": f"{table} rows", "value": n, "status": "ok",
                      "detail": f"{n} rows from {source} in {quarter}"})
        dense = table in DENSE_TABLES
        items.append({"item": f"{table} coverage", "value": round(share, 4),
                      "status": "ok" if share >= MIN_COVERAGE or not dense else "check",
                      "detail": f"{covered} of {days} days have at least one row"
                                + ("" if dense else " (occasional events: no minimum)")})
    if not items:
        items.append({"item": "rows", "value": 0, "status": "check",
                      "detail": f"no rows from {source} in {quarter}"})
    for q in data_quality(engine).iter_rows(named=True):
        items.append({"item": f"quality: {q['check']}", "value": q["rows"],
                      "status": "check" if q["rows"] else "ok",
                      "detail": f"store-wide; {q['why it matters']}"})
    recon = reconciliation(engine, filters=Filters(start=start, end=end, timezone=timezone))
    differ = recon.disagree.filter(pl.col("external_id").is_in(
        _from_source(engine, source, recon.disagree["external_id"].unique().to_list())))
    items.append({"item": "reconciliation differences", "value": differ.height,
                  "status": "check" if differ.height else "ok",
                  "detail": "deployments whose start, end or status disagree with their "
                            "change request"})
    return Checklist(source=source, quarter=quarter, start=start, end=end, items=items,
                     sign_offs=source_sign_offs(engine, source, quarter))
