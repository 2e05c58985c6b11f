"""The summary report and the data-quality flags against plain SQL."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from sqlalchemy import text

from analytics.reports.summary import SUMMARY_TABLES, data_quality, table_summary
from analytics.store.bulk import bulk_insert


def _text(value) -> str | None:
    """A timestamp from the driver as ``YYYY-MM-DD HH:MM:SS`` UTC (SQLite hands back text,
    PostgreSQL an aware datetime)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)[:19]


def _one(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def test_counts_and_coverage_match_plain_sql(demo_engine):
    got = table_summary(demo_engine)
    assert list(got["tables"]) == list(SUMMARY_TABLES)
    for name, (model, ts) in SUMMARY_TABLES.items():
        table = model.__tablename__
        assert got["tables"][name] == _one(demo_engine, f'SELECT count(*) FROM "{table}"'), name
        if ts:
            lo = _one(demo_engine, f'SELECT min("{ts}") FROM "{table}"')
            hi = _one(demo_engine, f'SELECT max("{ts}") FROM "{table}"')
            assert got["coverage"][name] == {"from": _text(lo), "to": _text(hi)}, name
        else:
            assert name not in got["coverage"]
    assert got["tables"]["deployments"] > 0 and got["coverage"]["deployments"]["from"] is not None


def test_empty_store_has_zero_rows_and_no_coverage(engine):
    got = table_summary(engine)
    assert set(got["tables"].values()) == {0}
    assert all(c == {"from": None, "to": None} for c in got["coverage"].values())


@pytest.mark.parametrize(("check", "expected"), [
    ("incidents with no service", 1),
    ("incidents not yet resolved", 1),
    ("incidents resolved before opened", 1),
    ("deployments with no finish time", 0),
    ("services created by an import, unconfirmed", 1),
    ("tickets with no service", 0),
])
def test_quality_flags_count_planted_rows(engine, check, expected):
    """Two services (one unconfirmed) and three incidents: one with no service and unresolved,
    one resolved an hour before it opened, one fine: the counts are read off by hand."""
    t = datetime(2026, 3, 1, 12)
    with engine.begin() as conn:
        bulk_insert(conn, "service", pl.DataFrame({
            "id": [1, 2], "name": ["api", "web"], "source": ["t", "t"], "external_id": ["a", "w"],
            "confirmed": [True, False]}))
        bulk_insert(conn, "incident", pl.DataFrame({
            "source": ["t"] * 3, "external_id": ["i1", "i2", "i3"], "service_id": [None, 1, 1],
            "opened_at": [t, t, t],
            "resolved_at": [None, datetime(2026, 3, 1, 11), datetime(2026, 3, 1, 13)]},
            schema_overrides={"service_id": pl.Int64, "resolved_at": pl.Datetime("us")}))
    flags = {r["check"]: r["rows"] for r in data_quality(engine).iter_rows(named=True)}
    assert flags[check] == expected
