"""Typing frames read from the store, with polars alone (no SQLAlchemy, no database library).

Shared by :func:`analytics.store.db.read_frame` and the read copy's child process
(:mod:`analytics.store.sqlite_child`), which must start quickly and so imports nothing else:
both hand over the schema's datetime and boolean column names and get the same frame back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path

import polars as pl

# The copy's column types as the parent names them to the child process.
DTYPES: dict[str, pl.DataType] = {"int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean,
                                  "str": pl.String, "datetime": pl.Datetime("us")}
# Rows per Parquet row group: small enough that a one-month filter on a multi-year table skips
# most groups by their min/max, large enough that a full scan is not dominated by group overhead.
ROW_GROUP_ROWS = 65_536


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _dates_only(values: pl.Series) -> bool:
    """True when every non-null text value is a bare ISO date.

    >>> _dates_only(pl.Series(["2025-11-23", None])), _dates_only(pl.Series(["2025-11-23 10:00:00"]))
    (True, False)
    """
    present = values.drop_nulls()
    if present.len() == 0 or not _DATE.fullmatch(present[0]):
        return False  # the usual case, a timestamp column, settled without a regex over every row
    return bool(present.str.contains(_DATE.pattern).all())


_NARROW_INTS = (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32)


def typed_frame(frame: pl.DataFrame, dts: Collection[str], bools: Collection[str]) -> pl.DataFrame:
    """``frame`` as read from either backend, with the schema's types: ``dts`` and ``bools`` name
    the datetime and boolean columns (SQLite hands back text and integers for them).

    >>> typed_frame(pl.DataFrame({"at": ["2025-01-02 03:04:05.000000"], "ok": [1]}), {"at"}, {"ok"}).row(0)
    (datetime.datetime(2025, 1, 2, 3, 4, 5), True)
    """
    fixes = []
    for name, dtype in frame.schema.items():
        if name in bools and dtype != pl.Boolean:
            fixes.append(pl.col(name).cast(pl.Boolean))
        elif dtype in _NARROW_INTS or dtype == pl.UInt64:
            # PostgreSQL INTEGER arrives as Int32 and polars sums wrap at 2**31 silently (a
            # checksum of ids came out mod 2**32): counts, ids and sums are Int64 everywhere.
            fixes.append(pl.col(name).cast(pl.Int64))
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            # PostgreSQL timestamptz (also of max()/min() under any alias): naive UTC, as stored.
            fixes.append(pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                         .dt.cast_time_unit("us"))
        elif dtype == pl.String and name not in dts and _looks_like_timestamp(frame[name]):
            # SQLite returns min()/max() and other expressions over timestamps as text.
            fixes.append(_parse_ts(name))
        elif name in dts or name.endswith("_at"):
            if dtype == pl.String and _dates_only(frame[name]):
                # A DATE column sharing its name with a DATETIME one elsewhere (effective_from):
                # a date, as PostgreSQL returns it, not a timestamp parse that yields nulls.
                fixes.append(pl.col(name).str.to_date("%Y-%m-%d", strict=False))
            elif dtype == pl.String:
                fixes.append(_parse_ts(name))
            elif dtype == pl.Null or (frame.height == 0 and not isinstance(dtype, pl.Datetime)):
                # No rows (or only NULLs) carry no type information from SQLite.
                fixes.append(pl.col(name).cast(pl.Datetime("us")))
            elif isinstance(dtype, pl.Datetime):
                col = pl.col(name)
                if dtype.time_zone is not None:
                    col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                fixes.append(col.dt.cast_time_unit("us"))
    return frame.with_columns(fixes) if fixes else frame


def _parse_ts(name: str) -> pl.Expr:
    # An explicit format is 2-3x faster than inference; SQLite text is always in this shape.
    return pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)


def _looks_like_timestamp(column: pl.Series) -> bool:
    # Look at a prefix only: copying a million-row string column to find one value is not free.
    first = column.head(64).drop_nulls().head(1)
    return first.len() == 1 and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", first[0]) is not None


# The service columns the read copy's files carry, in their order, and where they come from.
SERVICE_COLUMNS = ("service", "team", "tier", "criticality")
SERVICE_SQL = "SELECT id, name AS service, team, tier, criticality FROM service"


def join_service(frame: pl.DataFrame, services: pl.DataFrame, how: str) -> pl.DataFrame:
    """``frame`` with the service columns of its ``service_id`` placed right after it, as SQL's
    ``[LEFT] JOIN service s ON s.id = service_id`` gives them (``how``: "inner" or "left"),
    rows in ``frame``'s order.

    ADBC converts every value it returns (~0.2 µs each): the four service columns repeated on
    each of 2.5M tickets cost 2-3 CPU-s that a join of the tiny service table here does not.

    >>> f = pl.DataFrame({"id": [1, 2, 3], "service_id": [7, None, 8]})
    >>> s = pl.DataFrame({"id": [7], "service": ["a"], "team": ["t"], "tier": ["gold"], "criticality": [1]})
    >>> join_service(f, s, "left").rows()
    [(1, 7, 'a', 't', 'gold', 1), (2, None, None, None, None, None), (3, 8, None, None, None, None)]
    >>> join_service(f, s, "inner")["id"].to_list()
    [1]
    """
    key = "__service_key"
    services = services.select(pl.col("id").cast(pl.Int64).alias(key), *SERVICE_COLUMNS)
    cols = frame.columns
    at = cols.index("service_id") + 1
    joined = frame.with_columns(pl.col("service_id").cast(pl.Int64).alias(key)).join(
        services, on=key, how=how, maintain_order="left")  # type: ignore[arg-type]
    return joined.select(*cols[:at], *SERVICE_COLUMNS, *cols[at:])


def cast_to_types(frame: pl.DataFrame, types: dict[str, pl.DataType]) -> pl.DataFrame:
    """Columns named in ``types`` cast to it where they differ (ADBC infers a type per column
    from its values: an empty table's text column comes back as int64; the model is the truth)."""
    fixes = [pl.col(c).cast(types[c]) for c, t in frame.schema.items() if c in types and t != types[c]]
    return frame.with_columns(fixes) if fixes else frame


def write_copy_file(folder: Path, name: str, frame: pl.DataFrame, ts: str,
                    types: dict[str, pl.DataType], *, ties_in_id_order: bool = False) -> int:
    """Write one file of the read copy, sorted by its time column ``ts`` (then id), to a
    temporary name, then renamed; returns its rows. A column SQLite left untyped (all NULL:
    ``pl.Null``) gets its model's type from ``types``, so that a filtered scan has one schema
    whatever it keeps.
    ``ties_in_id_order``: rows of equal time already follow each other in id order."""
    rows, files = write_copy_parts(folder, name, frame, ts, types, f"{os.getpid()}.tmp",
                                   ties_in_id_order=ties_in_id_order)
    for tmp, path in files:
        os.replace(tmp, path)
    return rows


def write_copy_parts(folder: Path, name: str, frame: pl.DataFrame, ts: str,
                     types: dict[str, pl.DataType], tag: str, *,
                     ties_in_id_order: bool = False) -> tuple[int, list[tuple[Path, Path]]]:
    """:func:`write_copy_file` up to the rename: the file and its month summary written to
    temporary names ending in ``tag``; returns the rows and (temporary, final) path pairs."""
    fixes = [pl.col(c).cast(types.get(c, pl.String)) for c, t in frame.schema.items() if t == pl.Null]
    frame = frame.with_columns(fixes) if fixes else frame
    # Ties in id order: the order must not depend on SQL's join plan, and a file grown from its
    # previous version (analytics.store.copyappend) must equal one read in full. A stable sort
    # of rows in id order costs a quarter of a sort by (time, id).
    by_id = "id" in frame.columns and ts != "id" and not ties_in_id_order
    if by_id and not frame["id"].is_sorted():
        frame = frame.sort("id", multithreaded=False)
    # A stable sort, so the order is the same; one thread spends ~40% less CPU for the same wall.
    frame = frame.sort(ts, nulls_last=True, maintain_order=True, multithreaded=False)
    tmp = folder / f".{name}.parquet.{tag}"
    frame.write_parquet(tmp, row_group_size=ROW_GROUP_ROWS, statistics=True)
    # The per-month counts that set default periods, written once with the file instead of
    # grouping millions of rows in every report and page session (copyscan.months reads them).
    side = folder / f".{name}.months.{tag}"
    month_rows(frame.lazy(), ts).collect().write_parquet(side)
    return frame.height, [(tmp, folder / f"{name}.parquet"), (side, folder / f"{name}.months.parquet")]


def month_rows(lazy: pl.LazyFrame, ts: str) -> pl.LazyFrame:
    """month ("YYYY-MM"), n, lo, hi of the non-null values of ``ts``, in month order.

    >>> from datetime import datetime
    >>> f = pl.DataFrame({"at": [datetime(2026, 1, 5), datetime(2026, 1, 9), None]})
    >>> month_rows(f.lazy(), "at").collect()["n"].to_list()
    [2]
    """
    return (lazy.select(ts).drop_nulls()
            .group_by(month=pl.col(ts).dt.strftime("%Y-%m"))
            .agg(n=pl.len().cast(pl.Int64), lo=pl.col(ts).min(), hi=pl.col(ts).max())
            .sort("month"))
