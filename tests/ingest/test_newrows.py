"""The ids an import's new rows are given, checked against what SQLite stored (analytics.ingest.newrows).

SQLite files on purpose: the ids are only claimed on SQLite (PostgreSQL refreshes the copy in full)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from analytics.ingest import newrows
from analytics.store import bulk
from analytics.store.bulk import bulk_insert, staged_writes
from analytics.store.db import get_engine, migrate


def _store(path: Path) -> Engine:
    engine = get_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.begin() as conn:
        bulk_insert(conn, "service", pl.DataFrame({
            "id": [1], "name": ["checkout"], "team": ["payments"], "tier": ["gold"],
            "criticality": [1], "customer_facing": [True], "timezone": ["UTC"],
            "confirmed": [True], "source": ["t"], "external_id": ["checkout"]}))
    return engine


def _deployments(names: list[str]) -> pl.DataFrame:
    n = len(names)
    return pl.DataFrame({"service_id": [1] * n, "environment": ["production"] * n,
                         "finished_at": [datetime(2026, 3, 1, 12, i) for i in range(n)],
                         "status": ["success"] * n, "is_rollback": [False] * n,
                         "source": ["t"] * n, "external_id": names})


def _stored_ids(conn, names: list[str]) -> list[int]:  # noqa: ANN001
    found = dict(conn.exec_driver_sql("SELECT external_id, id FROM deployment").all())
    return [found[n] for n in names]


@pytest.mark.parametrize("staged", [False, True], ids=["executemany", "staged"])
def test_new_rows_carry_the_ids_sqlite_gave_them(tmp_path, monkeypatch, staged):
    if staged:
        monkeypatch.setattr(bulk, "STAGE_ROWS", 2)
        monkeypatch.setattr(bulk, "STAGE_PARTS", 2)
    monkeypatch.setattr(newrows, "REBUILD_ROWS", 2)
    engine = _store(tmp_path / "s.db")
    first, second = ["a1", "a2", "a3"], ["b1", "b2", "b3", "b4"]
    with engine.connect() as conn, staged_writes(conn), conn.begin():
        for names in (first, second):  # into an empty table, then after rows already there
            written, stored = newrows.insert_rows(conn, "deployment", _deployments(names))
            assert written == len(names) and stored is not None
            assert stored["external_id"].to_list() == names
            assert stored["id"].to_list() == _stored_ids(conn, names)


def test_ids_are_unknown_once_sqlite_numbers_rows_at_random(tmp_path):
    """After the largest possible id SQLite picks unused ids at random: the rows are written,
    their ids are not claimed (the read copy then reads the table in full)."""
    engine = _store(tmp_path / "s.db")
    top = 2**63 - 1
    with engine.connect() as conn, staged_writes(conn), conn.begin():
        bulk_insert(conn, "deployment", _deployments(["top"]).with_columns(id=pl.lit(top)))
        written, stored = newrows.insert_rows(conn, "deployment", _deployments(["c1", "c2"]))
        assert written == 2 and stored is None
        ids = _stored_ids(conn, ["c1", "c2"])
        assert len(set(ids)) == 2 and top not in ids
