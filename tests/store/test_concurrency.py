"""Concurrent imports, readers during an import, scratch files of killed imports, Int64 reads.

Imports run as separate processes (``python -m analytics --db URL import …``), as people run
them. Every store test here runs on SQLite and, in CI (.ci/run), again on PostgreSQL; expected
numbers are the rows the test generated, checked with plain SQL.
"""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from analytics.cli import main
from analytics.ingest import importer
from analytics.store import audit, bulk
from analytics.store.db import import_lock, read_frame

ROOT = Path(__file__).resolve().parents[2]


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _deployments(path: Path, n: int, prefix: str, services: list[str]) -> Path:
    """``n`` canonical deployment rows with ids ``prefix-0…``, spread over ``services``."""
    base = datetime(2025, 1, 1)
    pl.DataFrame({
        "id": [f"{prefix}-{i}" for i in range(n)],
        "service": [services[i % len(services)] for i in range(n)],
        "environment": ["production"] * n,
        "finished_at": [(base + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(n)],
        "status": ["success"] * n,
    }).write_csv(path)
    return path


def _start_import(engine: Engine, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "analytics", "--db", _url(engine), "import",
                             "deployments", str(path)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_three_concurrent_imports_all_land_exactly_once(engine, tmp_path):
    # Shared services (two imports race to create them) plus one service of each import's own.
    n = 60_000  # above bulk.STAGE_ROWS: SQLite stages through scratch files
    files = [_deployments(tmp_path / f"{p}.csv", n, p, ["checkout", "search", f"only-{p}"])
             for p in ("a", "b", "c")]
    procs = [_start_import(engine, f) for f in files]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-600:] for _, err in outs]
    assert _scalar(engine, "SELECT count(*) FROM deployment") == 3 * n
    assert _scalar(engine, "SELECT count(DISTINCT external_id) FROM deployment") == 3 * n
    assert _scalar(engine, "SELECT count(*) FROM service") == 5
    assert _scalar(engine, "SELECT count(*) FROM import_batch WHERE status = 'done'") == 3
    # Every row names its own import's batch, and the audit chain did not fork.
    assert _scalar(engine, "SELECT count(DISTINCT batch_id) FROM deployment") == 3
    assert audit.verify_chain(engine) == (True, None)


def test_an_import_waits_for_the_import_lock_and_says_so(engine, tmp_path):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL imports run side by side; the lock is SQLite's")
    path = _deployments(tmp_path / "w.csv", 10, "w", ["checkout"])
    with import_lock(engine):
        proc = _start_import(engine, path)
        # Held until the child says it queues (it would otherwise fail with "database is locked").
        ready, _, _ = select.select([proc.stderr], [], [], 120)
        first = proc.stderr.readline() if ready else ""
        assert proc.poll() is None, first
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert first == "waiting for another import into this store to finish…\n"
    assert _scalar(engine, "SELECT count(*) FROM deployment") == 10


def _reader(engine: Engine):  # noqa: ANN202
    """A plain client of the store (not the app's engine) and its ``select count(*)``."""
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(engine.url.database, timeout=30, isolation_level=None)
        return conn, lambda: conn.execute("SELECT count(*) FROM deployment").fetchone()[0]
    import psycopg

    conn = psycopg.connect(_url(engine).replace("postgresql+psycopg", "postgresql"), autocommit=True)
    # A reader blocked by a lock for longer than 1 s errors out instead of waiting.
    conn.execute("SET lock_timeout = '1s'")
    return conn, lambda: conn.execute("SELECT count(*) FROM deployment").fetchone()[0]


def test_a_reader_is_never_blocked_for_a_second_by_a_large_import(engine, tmp_path):
    seed = _deployments(tmp_path / "seed.csv", 1_000, "seed", ["checkout", "search"])
    assert main(["--db", _url(engine), "import", "deployments", str(seed)]) == 0
    big = _deployments(tmp_path / "big.csv", 200_000, "big", ["checkout", "search"])
    conn, count = _reader(engine)
    waits: list[float] = []
    seen: set[int] = set()
    try:
        proc = _start_import(engine, big)
        while proc.poll() is None:
            t0 = time.perf_counter()
            seen.add(count())
            waits.append(time.perf_counter() - t0)
            time.sleep(0.05)
        assert proc.returncode == 0, proc.communicate()[1][-600:]
        final = count()
    finally:
        conn.close()
    assert final == 201_000
    assert 1_000 in seen  # the reader ran while the import's transaction was open
    # No wall-clock assertion (a loaded machine is slow, not blocked): a count that waited on a
    # lock for more than 1 s would have raised LockNotAvailable through lock_timeout above.
    assert len(waits) >= 10


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_scratch_folders_are_removed_only_when_their_owner_is_dead(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "SHM", str(tmp_path))
    dead = tmp_path / f"{bulk.SCRATCH_PREFIX}{_dead_pid()}-abc"
    mine = tmp_path / f"{bulk.SCRATCH_PREFIX}{os.getpid()}-def"
    legacy = tmp_path / f"{bulk.SCRATCH_PREFIX}xyz123"  # no pid: cannot tell, left alone
    for folder in (dead, mine, legacy):
        folder.mkdir()
        (folder / "stage0.db").write_bytes(b"x" * 1000)
    assert bulk.remove_stale_scratch() == 1000
    assert (dead.exists(), mine.exists(), legacy.exists()) == (False, True, True)


def _scratch_of(pid: int) -> list[Path]:
    found = []
    for folder in {Path(bulk.SHM), Path(tempfile.gettempdir())}:
        if folder.is_dir():
            found += [p for p in folder.glob(f"{bulk.SCRATCH_PREFIX}{pid}-*")
                      if any(f.stat().st_size > 0 for f in p.glob("*.db"))]
    return found


def _bytes(folders: list[Path]) -> int:
    return sum(f.stat().st_size for d in folders for f in d.rglob("*") if f.is_file())


def test_scratch_files_of_an_import_killed_with_sigkill_go_at_the_next_import(engine, tmp_path):
    if engine.dialect.name != "sqlite":
        pytest.skip("scratch files are SQLite's staging; PostgreSQL stages in a temporary table")
    big = _deployments(tmp_path / "big.csv", 300_000, "big", ["checkout"])
    proc = _start_import(engine, big)
    deadline = time.monotonic() + 120
    left: list[Path] = []
    while not left and proc.poll() is None and time.monotonic() < deadline:
        left = _scratch_of(proc.pid)
        time.sleep(0.01)
    assert left, "the import finished before its scratch files could be seen"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _bytes(left) > 0  # what kill -9 leaves: no cleanup ran
    small = _deployments(tmp_path / "small.csv", 5, "small", ["checkout"])
    assert main(["--db", _url(engine), "import", "deployments", str(small)]) == 0
    assert _scratch_of(proc.pid) == [] and not any(d.exists() for d in left)
    # The killed import wrote nothing; the next one all its rows.
    assert _scalar(engine, "SELECT count(*) FROM deployment") == 5


class _Deadlock(Exception):
    sqlstate = "40P01"  # what psycopg reports for deadlock_detected


def test_a_deadlocked_import_is_retried_then_exits_2_with_a_plain_message(engine, monkeypatch,
                                                                          capsys, tmp_path):
    monkeypatch.setattr(importer, "RETRY_PAUSE_S", 0)
    real, calls = importer.write, []

    def flaky(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) < importer.ATTEMPTS:
            raise OperationalError("INSERT …", {}, _Deadlock("deadlock detected"))
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "write", flaky)
    path = _deployments(tmp_path / "d.csv", 7, "d", ["checkout"])
    assert main(["--db", _url(engine), "import", "deployments", str(path)]) == 0
    assert len(calls) == importer.ATTEMPTS
    assert _scalar(engine, "SELECT count(*) FROM deployment") == 7

    def always(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise OperationalError("INSERT …", {}, _Deadlock("deadlock detected"))

    monkeypatch.setattr(importer, "write", always)
    capsys.readouterr()
    assert main(["--db", _url(engine), "import", "deployments", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"busy with other writers on all {importer.ATTEMPTS} attempts (deadlock detected)" in err
    assert "Traceback" not in err


def test_a_non_retryable_error_is_not_retried(engine, monkeypatch, tmp_path):
    calls = []

    def broken(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        raise OperationalError("INSERT …", {}, Exception("disk I/O error"))

    monkeypatch.setattr(importer, "write", broken)
    with pytest.raises(OperationalError):
        importer.import_files(engine, "deployments", [_deployments(tmp_path / "e.csv", 1, "e", ["x"])])
    assert calls == [1]


def test_integer_columns_read_as_int64_and_sum_past_2_to_the_31(engine):
    big = 2_000_000_000  # fits INTEGER; three of them do not fit 32 bits
    with engine.begin() as conn:
        bulk.bulk_insert(conn, "service", pl.DataFrame({
            "name": ["a", "b", "c"], "team": ["t"] * 3, "criticality": [big] * 3,
            "source": ["test"] * 3, "external_id": ["a", "b", "c"]}))
    frame = read_frame(engine, "SELECT id, criticality, confirmed FROM service")
    assert frame.schema["id"] == pl.Int64 and frame.schema["criticality"] == pl.Int64
    assert frame.schema["confirmed"] == pl.Boolean
    by_sql = _scalar(engine, "SELECT sum(criticality) FROM service")
    assert frame["criticality"].sum() == by_sql == 3 * big == 6_000_000_000
    assert frame.select(pl.col("criticality").sum()).item() == 6_000_000_000
