"""Incoming rows against the rows the store already holds: values read back from either
backend typed like the import's frame, and which rows changed (an upsert rewrites only those)."""

from __future__ import annotations

import polars as pl


def as_dtype(series: pl.Series, dtype: pl.DataType) -> pl.Series:
    """Store values (SQLite text and integers, or PostgreSQL types) as the frame's dtype."""
    if isinstance(dtype, pl.Datetime):
        if series.dtype in (pl.String, pl.Null) and series.null_count() == series.len():
            return series.cast(pl.Datetime("us"))
        if series.dtype == pl.String:
            return series.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
        if isinstance(series.dtype, pl.Datetime) and series.dtype.time_zone:
            return series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return series.cast(pl.Datetime("us"))
    if dtype == pl.Boolean and series.dtype != pl.Boolean:
        return series.cast(pl.Int64, strict=False).cast(pl.Boolean)
    return series.cast(dtype, strict=False)


def differs(seen: pl.DataFrame, values: list[str]) -> pl.Series:
    """Per row of ``seen`` (incoming values beside ``<col>__old`` stored ones): does any of
    ``values`` differ? Nulls compare equal to nulls."""
    if seen.height == 0 or not values:
        return pl.Series([False] * seen.height, dtype=pl.Boolean)
    exprs = [pl.col(c).ne_missing(pl.col(f"{c}__old")) for c in values]
    return seen.select(pl.any_horizontal(exprs)).to_series()
