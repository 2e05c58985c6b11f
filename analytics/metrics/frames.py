"""Input contracts of the delivery metrics: which columns a frame must have, typed how.

The metrics take frames exactly as :mod:`analytics.store.queries` returns them; this module checks
and narrows them once, so every function downstream can rely on the dtypes and a wrong input
fails with a message that names the frame and the column.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import polars as pl

Frame = pl.DataFrame | pl.LazyFrame

# Kinds, not exact dtypes: SQLite and PostgreSQL hand back different widths and all-NULL columns.
DATETIME, INT, FLOAT, BOOL, STR = "datetime", "integer", "number", "boolean", "text"
_TARGET = {DATETIME: pl.Datetime("us"), INT: pl.Int64, FLOAT: pl.Float64, BOOL: pl.Boolean,
           STR: pl.String}

DEPLOYMENT_COLUMNS: dict[str, str] = {
    "id": INT, "service_id": INT, "service": STR, "team": STR, "tier": STR, "criticality": INT,
    "environment": STR, "finished_at": DATETIME, "status": STR, "is_rollback": BOOL,
    "unplanned": BOOL,
}
# Change features the store carries for every deployment: kept on the delivery facts when the
# frame has them, so a catalogue KPI that computes itself (catalogue.aggregations) can use them.
DEPLOYMENT_FEATURES: dict[str, str] = {
    "emergency": BOOL, "lines_changed": INT, "files_changed": INT, "test_coverage": FLOAT,
}
CHANGE_COLUMNS: dict[str, str] = {"committed_at": DATETIME, "deployment_id": INT}
INCIDENT_COLUMNS: dict[str, str] = {
    "id": INT, "service_id": INT, "service": STR, "team": STR, "tier": STR, "criticality": INT,
    "environment": STR, "severity": INT, "opened_at": DATETIME, "detected_at": DATETIME,
    "resolved_at": DATETIME, "customer_facing": BOOL, "caused_by_deployment_id": INT,
    "problem_id": STR, "root_cause": STR,
}
SLICE_COLUMNS = ("service", "team", "environment", "tier", "criticality")


def _accepts(kind: str, dtype: pl.DataType) -> bool:
    if dtype == pl.Null:
        return True
    if kind == DATETIME:
        return isinstance(dtype, pl.Datetime)
    if kind == INT:
        return dtype.is_integer()
    if kind == FLOAT:
        return dtype.is_numeric()
    if kind == BOOL:
        return dtype == pl.Boolean or dtype.is_integer()
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)


def _all_null(frame: Frame, col: str) -> bool:
    if isinstance(frame, pl.DataFrame):
        return frame[col].null_count() == frame.height
    return bool(frame.select(pl.col(col).is_null().all()).collect().item())


def conform(frame: Frame, name: str, columns: Mapping[str, str],
            optional: Mapping[str, str] | None = None) -> pl.LazyFrame:
    """Check ``frame`` has ``columns`` of the right kind; return them (and ``optional`` ones
    when present) as a lazy frame with canonical dtypes (naive UTC ``Datetime("us")``).

    >>> conform(pl.DataFrame({"x": [1]}), "demo", {"x": INT}).collect()["x"].dtype
    Int64
    """
    if not isinstance(frame, pl.DataFrame | pl.LazyFrame):
        raise TypeError(f"{name}: expected a polars DataFrame or LazyFrame, "
                        f"got {type(frame).__name__}")
    schema = frame.collect_schema()
    missing = [c for c in columns if c not in schema]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")
    wanted = dict(columns) | {c: k for c, k in (optional or {}).items() if c in schema}
    exprs = []
    for col, kind in wanted.items():
        dtype = schema[col]
        if not _accepts(kind, dtype):
            # Drivers type an all-NULL column by guesswork (ADBC-SQLite says Int64 for an
            # empty text column): a column without a value is fine as any kind.
            if not _all_null(frame, col):
                raise ValueError(f"{name}: column {col!r} must be {kind}, got {dtype}")
            exprs.append(pl.lit(None, dtype=_TARGET[kind]).alias(col))
            continue
        expr = pl.col(col)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        exprs.append(expr.cast(_TARGET[kind]).alias(col))
    return frame.lazy().select(exprs)


def empty(columns: Mapping[str, str]) -> pl.DataFrame:
    """An empty frame with ``columns`` in their canonical dtypes (an empty period's input).

    >>> empty(CHANGE_COLUMNS).schema["committed_at"]
    Datetime(time_unit='us', time_zone=None)
    """
    return pl.DataFrame(schema={c: _TARGET[k] for c, k in columns.items()})


def in_period(col: str, lo: datetime | None, hi: datetime | None) -> pl.Expr:
    """``lo <= col < hi`` with open ends when a bound is None."""
    expr = pl.lit(True)
    if lo is not None:
        expr = expr & (pl.col(col) >= lo)
    if hi is not None:
        expr = expr & (pl.col(col) < hi)
    return expr


def check_keys(by: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate slice keys (service, team, environment, tier, criticality, period)."""
    bad = [k for k in by if k not in (*SLICE_COLUMNS, "period")]
    if bad:
        raise ValueError(f"by: unknown slice key(s) {', '.join(bad)}; "
                         f"use {', '.join(SLICE_COLUMNS)} or period")
    return tuple(by)


def hours(expr: pl.Expr) -> pl.Expr:
    """A duration expression in (fractional) hours."""
    return expr.dt.total_microseconds() / 3_600_000_000
