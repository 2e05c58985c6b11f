"""Staged SQLite bulk writes (ADBC scratch file + INSERT … SELECT) store exactly what executemany does.

The staged path only runs for large batches; these tests lower the threshold so that a handful of
rows goes through it, and compare against the row-by-row path value for value and storage class.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, text

from analytics.ingest import newrows
from analytics.ingest.importer import import_files
from analytics.ingest.validate import InvalidImport
from analytics.store import bulk, db
from analytics.store.bulk import bulk_insert, staged_writes
from analytics.store.db import get_engine, migrate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "analytics" / "ingest" / "examples"
KINDS = [("services", "services.csv"), ("openslo", "slos.yaml"), ("deployments", "deployments.csv"),
         ("changes", "changes.csv"), ("incidents", "incidents.csv"), ("tickets", "tickets.csv"),
         ("csat", "csat.jsonl"), ("sli", "sli.csv"), ("maintenance", "maintenance.csv"),
         ("outages", "outages.csv")]
DATA_TABLES = ("service", "slo", "deployment", "change", "incident", "ticket", "csat_response",
               "sli_sample", "maintenance_window", "outage")


def _sqlite(path: Path) -> Engine:
    engine = get_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


def _typed_rows(engine: Engine, table: str) -> list[tuple]:
    """Every row with each value's SQLite storage class (batch ids differ by design: left out)."""
    with engine.connect() as conn:
        cols = [r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{table}")') if r[1] != "batch_id"]
        select = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
        return conn.execute(text(f'SELECT {select} FROM "{table}" ORDER BY id')).all()


def _one_service(conn) -> None:  # noqa: ANN001
    bulk_insert(conn, "service", pl.DataFrame({
        "id": [1], "name": ["checkout"], "team": ["payments"], "tier": ["gold"], "criticality": [1],
        "customer_facing": [True], "timezone": ["UTC"], "confirmed": [True], "source": ["t"],
        "external_id": ["checkout"]}))


def _deployments(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "service_id": [1] * n, "environment": ["production", "staging"] * (n // 2),
        "finished_at": [datetime(2026, 3, 29, 0, 59, 59, 123456 + i) for i in range(n)],
        "started_at": [None] * n,  # an all-null column has no Arrow type of its own
        "status": ["success"] * n, "is_rollback": [i % 3 == 0 for i in range(n)],
        "version": ["v1 ✓", None] * (n // 2), "lines_changed": [None, 12] * (n // 2),
        "test_coverage": [85.5, None] * (n // 2), "source": ["t"] * n,
        "external_id": [f"d{i:03d}" for i in range(n)]})


@pytest.fixture
def staged(monkeypatch):
    """Send every bulk batch of two or more rows through the staged path, in two slices."""
    monkeypatch.setattr(bulk, "STAGE_ROWS", 2)
    monkeypatch.setattr(bulk, "STAGE_PARTS", 2)


def test_every_kind_imports_identically_staged_and_row_by_row(tmp_path, monkeypatch):
    plain, fast = _sqlite(tmp_path / "plain.db"), _sqlite(tmp_path / "staged.db")
    for kind, name in KINDS:
        import_files(plain, kind, [EXAMPLES / name], actor="tester")
    monkeypatch.setattr(bulk, "STAGE_ROWS", 2)
    monkeypatch.setattr(bulk, "STAGE_PARTS", 2)
    monkeypatch.setattr(newrows, "REBUILD_ROWS", 2)  # secondary indexes dropped and rebuilt too
    calls = []
    real = bulk._insert_staged
    monkeypatch.setattr(bulk, "_insert_staged", lambda *a: calls.append(a[1]) or real(*a))
    for kind, name in KINDS:
        import_files(fast, kind, [EXAMPLES / name], actor="tester")
    assert {"deployment", "change", "sli_sample"} <= set(calls)  # the examples with 2+ rows
    for table in DATA_TABLES:
        assert _typed_rows(fast, table) == _typed_rows(plain, table), table
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    with fast.connect() as a, plain.connect() as b:
        assert a.exec_driver_sql(indexes).all() == b.exec_driver_sql(indexes).all()
        # The index builds' sorter settings do not outlive them on the pooled connection.
        assert (a.exec_driver_sql("PRAGMA cache_size").scalar_one(),
                a.exec_driver_sql("PRAGMA threads").scalar_one()) == (-65536, 0)


def test_staged_rows_keep_values_order_and_storage_classes(tmp_path, staged):
    engine = _sqlite(tmp_path / "s.db")
    deps = _deployments(10)
    with engine.connect() as conn, staged_writes(conn), conn.begin():
        _one_service(conn)
        bulk_insert(conn, "deployment", deps)
    rows = _typed_rows(engine, "deployment")
    assert [r[2] for r in rows] == deps["external_id"].to_list()  # (source, type, external_id, …) in id order
    got = db.read_frame(engine, "SELECT external_id, finished_at, is_rollback, version, lines_changed, "
                                "test_coverage, started_at FROM deployment ORDER BY id")
    assert got.to_dicts() == deps.select(got.columns).to_dicts()
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT DISTINCT typeof(finished_at), typeof(is_rollback), "
                                  "typeof(started_at) FROM deployment")).all()
    assert kinds == [("text", "integer", "null")]


def test_later_tables_of_a_transaction_stage_in_the_attachments_left(tmp_path, monkeypatch):
    """STAGE_PARTS slices for the first staged table, the attachments left for the second; a
    third is written row by row (SQLite attaches at most 10 databases); every row stored either
    way."""
    monkeypatch.setattr(bulk, "STAGE_ROWS", 2)
    engine = _sqlite(tmp_path / "s.db")
    deps = _deployments(120)  # 40 rows a table: no slice of 1 : 2 : … : STAGE_PARTS is empty
    sliced = []
    real = bulk._graded_slices
    monkeypatch.setattr(bulk, "_graded_slices", lambda f, n: sliced.append(n) or real(f, n))
    with engine.connect() as conn, staged_writes(conn), conn.begin():
        _one_service(conn)
        for part in range(3):
            bulk_insert(conn, "deployment", deps.slice(40 * part, 40))
        assert len(conn.info[bulk._STAGE_KEY]["attached"]) == bulk.MAX_ATTACHED
    assert sliced == [bulk.STAGE_PARTS, bulk.MAX_ATTACHED - bulk.STAGE_PARTS]
    assert [r[2] for r in _typed_rows(engine, "deployment")] == deps["external_id"].to_list()


@pytest.mark.parametrize("ram", [True, False], ids=["scratch-in-ram", "scratch-in-temp"])
def test_a_failed_staged_write_leaves_nothing_behind(tmp_path, staged, monkeypatch, ram):
    if ram and not Path(bulk.SHM).is_dir():
        pytest.skip(f"{bulk.SHM} does not exist on this machine")
    monkeypatch.setattr(bulk, "SHM", bulk.SHM if ram else str(tmp_path / "no-shm"))
    engine = _sqlite(tmp_path / "s.db")
    folders = []
    with pytest.raises(RuntimeError, match="late problem"):
        with engine.connect() as conn, staged_writes(conn), conn.begin():
            _one_service(conn)
            bulk_insert(conn, "deployment", _deployments(6))
            folders.append(Path(conn.info[bulk._STAGE_KEY]["dir"]))
            assert len(list(folders[0].glob("*.db"))) == 2
            assert (folders[0].parent == Path(bulk.SHM)) is ram
            raise RuntimeError("late problem")
    assert not folders[0].exists()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM deployment")).scalar_one() == 0
        # The pooled connection carries no scratch database into its next use.
        assert {r[1] for r in conn.exec_driver_sql("PRAGMA database_list")} <= {"main", "temp"}
        assert bulk._STAGE_KEY not in conn.info


def test_an_invalid_staged_import_changes_nothing(tmp_path, staged):
    engine = _sqlite(tmp_path / "s.db")
    import_files(engine, "deployments", [EXAMPLES / "deployments.csv"], actor="tester")
    with engine.connect() as conn:
        before = {t: conn.execute(text(f'SELECT * FROM "{t}" ORDER BY id')).all()
                  for t in ("deployment", "import_batch", "audit_log")}
    bad = tmp_path / "deployments.csv"
    lines = (EXAMPLES / "deployments.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    # New ids (so they are staged), the last one naming a change request nobody has.
    for i, r in enumerate(rows):
        r["id"] = f"new-{i}"
    rows[-1]["change_request"] = "CHG-404"
    bad.write_text("\n".join([",".join(header)] + [",".join(r[h] for h in header) for r in rows]) + "\n")
    with pytest.raises(InvalidImport, match="CHG-404"):
        import_files(engine, "deployments", [bad], actor="tester")
    with engine.connect() as conn:
        after = {t: conn.execute(text(f'SELECT * FROM "{t}" ORDER BY id')).all()
                 for t in ("deployment", "import_batch", "audit_log")}
    assert after == before


def test_new_sqlite_stores_use_large_pages_and_old_ones_keep_theirs(tmp_path):
    """The page size is set before WAL (afterwards SQLite ignores it); an existing store with
    SQLite's default 4 KiB pages still opens, migrates and writes."""
    with get_engine(f"sqlite:///{tmp_path / 'new.db'}").connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar_one() == db.PAGE_SIZE == 32768
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    import sqlite3

    old_path = tmp_path / "old.db"
    raw = sqlite3.connect(old_path)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.close()
    old = _sqlite(old_path)
    with old.begin() as conn:
        _one_service(conn)
        assert conn.exec_driver_sql("PRAGMA page_size").scalar_one() == 4096
        assert conn.execute(text("SELECT name FROM service")).scalar_one() == "checkout"


def test_graded_slices_cover_every_row_once_in_order():
    frame = pl.DataFrame({"n": range(1_003)})
    parts = bulk._graded_slices(frame, 4)
    assert [p.height for p in parts] == [100, 200, 301, 402]  # ≈ 1 : 2 : 3 : 4 of 1,003
    assert pl.concat(parts).equals(frame)
    assert [p.height for p in bulk._graded_slices(frame.head(3), 4)] == [1, 2]  # no empty slice
    assert bulk._graded_slices(frame.head(0), 4) == []
