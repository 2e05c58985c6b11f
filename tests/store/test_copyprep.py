"""Copy files built ahead of an import's commit (analytics.store.copyprep, issue 17.4): published
only after the commit and only when built from the files of now; a failed import leaves the store
and the copy as they were, with no file of its own left behind."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, text

from analytics.ingest import batch_record
from analytics.ingest.importer import import_files
from analytics.store import copyappend, readcopy
from analytics.store.db import get_engine, migrate
from tests.store.test_copyappend import _bench, _check

pytestmark = pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                                reason="files are built ahead on SQLite stores (ids known)")


@pytest.fixture()
def store(tmp_path: Path) -> tuple[Engine, Path]:
    """A store with the services and the demo's first deployments; CSVs of every kind."""
    from analytics import demo

    bench = _bench()
    frames = demo.generate(seed=7, end=bench.END, scale=1)  # type: ignore[attr-defined]
    for table, rows in {"deployment": 800, "ticket": 3000, "csat_response": 900,
                        "incident": 200}.items():
        frames[table] = frames[table].head(rows)
    bench.write_csvs(frames, tmp_path)  # type: ignore[attr-defined]
    engine = get_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    import_files(engine, "services", [tmp_path / "services.csv"])
    return engine, tmp_path


def _grown_where(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(file, thread) of every file grown from an import's rows."""
    seen: list[tuple[str, str]] = []
    real = copyappend.new_rows

    def spy(name: str, *args: object) -> pl.DataFrame | None:
        seen.append((name, threading.current_thread().name))
        return real(name, *args)  # type: ignore[arg-type]
    monkeypatch.setattr(copyappend, "new_rows", spy)
    return seen


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".ahead"))


def test_files_built_ahead_equal_a_full_refresh(store: tuple[Engine, Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    engine, tmp = store
    folder = tmp / "store.db.readcopy"
    seen = _grown_where(monkeypatch)
    for kind, name in (("deployments", "deployments"), ("changes", "changes"),
                       ("incidents", "incidents"), ("tickets", "tickets"), ("csat", "csat")):
        seen.clear()
        assert import_files(engine, kind, [tmp / f"{kind}.csv"]).inserted > 0
        # Built once, in the import's thread, not again by the refresh.
        assert seen == [(name, f"copy-{name}")], kind
        assert _leftovers(folder) == []
        _check(engine, folder)  # equals the files read back from SQL
    seen.clear()
    assert import_files(engine, "tickets", [tmp / "tickets.csv"]).inserted == 0
    assert seen == []


def test_a_failure_after_the_file_is_built_leaves_the_old_copy(
        store: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, tmp = store
    folder = tmp / "store.db.readcopy"
    for kind in ("deployments", "incidents"):
        import_files(engine, kind, [tmp / f"{kind}.csv"])
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    with engine.connect() as conn:
        counts = conn.execute(text("SELECT (SELECT count(*) FROM ticket), "
                                   "(SELECT count(*) FROM import_batch)")).one()
    built: list[str] = []
    real = batch_record.finish

    def fail(conn: object, result: object, *args: object) -> None:
        for prep in result.prepared.values():  # type: ignore[attr-defined]
            prep._thread.join()  # the grown file is written…
        built.extend(_leftovers(folder))
        real(conn, result, *args)  # type: ignore[arg-type]
        raise RuntimeError("injected before commit")  # …and the import fails before commit
    monkeypatch.setattr(batch_record, "finish", fail)
    with pytest.raises(RuntimeError, match="injected"):
        import_files(engine, "tickets", [tmp / "tickets.csv"])
    assert built and all(n.startswith((".tickets.parquet.", ".tickets.months.")) for n in built)
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before  # manifest and every file byte for byte; nothing left behind
    with engine.connect() as conn:
        assert conn.execute(text("SELECT (SELECT count(*) FROM ticket), "
                                 "(SELECT count(*) FROM import_batch)")).one() == counts
    assert readcopy.manifest(engine) is not None
    monkeypatch.setattr(batch_record, "finish", real)
    assert import_files(engine, "tickets", [tmp / "tickets.csv"]).inserted > 0
    _check(engine, folder)


def test_a_file_built_from_a_replaced_file_is_not_published(
        store: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, tmp = store
    folder = tmp / "store.db.readcopy"
    rows = pl.read_csv(tmp / "deployments.csv", infer_schema=False)
    rows.head(300).write_csv(tmp / "one.csv")
    rows.slice(300).write_csv(tmp / "two.csv")
    import_files(engine, "deployments", [tmp / "one.csv"])
    seen = _grown_where(monkeypatch)
    real = batch_record.finish

    def rewrite(conn: object, result: object, *args: object) -> None:
        for prep in result.prepared.values():  # type: ignore[attr-defined]
            prep._thread.join()
        # Another writer's refresh replaces the file meanwhile (same rows, a new file).
        path = folder / "deployments.parquet"
        pl.read_parquet(path).write_parquet(folder / "replaced.tmp")
        os.replace(folder / "replaced.tmp", path)
        real(conn, result, *args)  # type: ignore[arg-type]
    monkeypatch.setattr(batch_record, "finish", rewrite)
    assert import_files(engine, "deployments", [tmp / "two.csv"]).inserted == rows.height - 300
    # Built ahead, found stale, built again by the refresh from the file of now.
    assert seen == [("deployments", "copy-deployments"), ("deployments", "MainThread")]
    assert _leftovers(folder) == []
    _check(engine, folder)


def test_files_left_by_a_killed_import_are_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    from analytics.store import copyprep

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    names = [f".tickets.parquet.{dead}.tickets.ahead", f".tickets.months.{dead}.tickets.ahead",
             f".tickets.parquet.{os.getpid()}.tickets.ahead", ".tickets.parquet.123.tmp",
             "tickets.parquet"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert copyprep.remove_stale(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
