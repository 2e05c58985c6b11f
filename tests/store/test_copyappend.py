"""A read-copy file grown by an import's inserted rows equals the one a full refresh reads back:
values, dtypes, row order and month summaries, after first imports, imports of further rows,
a re-import of the same file and an import that updates rows (which refreshes in full), on the
demo organisation and on a randomized one (issue 17.4)."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from analytics.ingest.importer import import_files
from analytics.store import readcopy
from analytics.store.db import get_engine, migrate

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("deployments", "changes", "incidents", "tickets", "csat")


def _bench() -> object:
    """bench/import_changes.py, whose write_csvs turns demo frames into canonical files."""
    sys.path.insert(0, str(ROOT / "bench"))
    path = ROOT / "bench" / "import_changes.py"
    spec = importlib.util.spec_from_file_location("import_changes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(folder: Path) -> dict[str, pl.DataFrame]:
    return {p.name: pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


class _Reads:
    """Records the files a refresh reads back from the store in full."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        real = readcopy._write_tables

        def spy(engine: Engine, folder: Path, names: list[str]) -> dict[str, int]:
            self.names += names
            return real(engine, folder, names)
        monkeypatch.setattr(readcopy, "_write_tables", spy)


def _check(engine: Engine, folder: Path) -> None:
    """The copy the import left equals a full refresh of every file."""
    grown = _files(folder)
    readcopy.refresh(engine)
    full = _files(folder)
    assert grown.keys() == full.keys()
    for name, frame in full.items():
        assert grown[name].schema == frame.schema, name
        assert grown[name].equals(frame), name


def _split(path: Path, rng: random.Random | None) -> tuple[Path, Path]:
    """The file cut in two (at random rows when ``rng`` is given, else in halves)."""
    frame = pl.read_csv(path, infer_schema=False)
    pick = (pl.Series([rng.random() < 0.5 for _ in range(frame.height)]) if rng
            else pl.int_range(frame.height, eager=True) < frame.height // 2)
    one, two = path.with_suffix(".1.csv"), path.with_suffix(".2.csv")
    frame.filter(pick).write_csv(one)
    frame.filter(~pick).write_csv(two)
    return one, two


@pytest.mark.parametrize("child_rows", [0, readcopy.CHILD_ROWS], ids=["child", "in-process"])
@pytest.mark.parametrize("seed", [None, 11, 23], ids=["demo", "random-11", "random-23"])
def test_grown_copy_equals_a_full_refresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          seed: int | None, child_rows: int) -> None:
    import os

    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("the copy grows on SQLite stores (ids known); PostgreSQL refreshes in full")
    from analytics import demo

    bench = _bench()
    monkeypatch.setattr(readcopy, "CHILD_ROWS", child_rows)
    rng = random.Random(seed) if seed is not None else None
    end = bench.END  # type: ignore[attr-defined]
    frames = demo.generate(seed=7 if seed is None else seed, end=end, scale=1)
    share = {"deployment": 0.1, "ticket": 0.05, "csat_response": 0.1, "incident": 0.3}
    for table, part in share.items():
        cut = rng.uniform(part / 2, part) if rng else part
        rows = int(frames[table].height * cut)
        frames[table] = frames[table].filter(pl.int_range(pl.len()) < rows)
    bench.write_csvs(frames, tmp_path)  # type: ignore[attr-defined]
    engine = get_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    folder = tmp_path / "store.db.readcopy"
    import_files(engine, "services", [tmp_path / "services.csv"])
    reads = _Reads(monkeypatch)
    for kind in KINDS:
        for part in _split(tmp_path / f"{kind}.csv", rng):
            reads.names.clear()
            result = import_files(engine, kind, [part])
            assert result.inserted > 0 and result.updated == 0
            assert readcopy.TABLES.keys() & set(reads.names) == set(), (kind, reads.names)
            _check(engine, folder)
        # The same file again: every row unchanged, no file read back.
        reads.names.clear()
        assert import_files(engine, kind, [part]).inserted == 0
        assert reads.names == []
        _check(engine, folder)
    # Rows updated in place: the files they feed are read back in full.
    tickets = pl.read_csv(tmp_path / "tickets.csv", infer_schema=False)
    edited = tmp_path / "edited.csv"
    tickets.head(7).with_columns(severity=(pl.col("severity").cast(pl.Int64) % 4 + 1)
                                 .cast(pl.String)).write_csv(edited)
    reads.names.clear()
    assert import_files(engine, "tickets", [edited]).updated > 0
    assert "tickets" in reads.names
    _check(engine, folder)
