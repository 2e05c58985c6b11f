"""Work an import does on another core while it parses (issue 17.4): the sha256 of a large file
is computed in a thread, the "all keys distinct" pass beside the column conversions. Results
must equal the sequential computation."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from analytics.ingest import files
from analytics.ingest.columns import SPECS, Options, typed
from analytics.ingest.validate import FILE, ROW, Checker

EXAMPLES = Path(__file__).resolve().parents[2] / "analytics" / "ingest" / "examples"


@pytest.mark.parametrize("name", ["deployments.csv", "deployments.csv.gz"])
def test_digest_computed_ahead_equals_hashlib(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    raw = (EXAMPLES / "deployments.csv").read_bytes()
    if name.endswith(".gz"):
        raw = gzip.compress(raw)
    monkeypatch.setattr(files, "HASH_AHEAD_BYTES", 1)  # every file hashed in the thread
    f = files.from_bytes(name, raw)
    assert not isinstance(f.digest, str)
    assert f.sha256 == hashlib.sha256(raw).hexdigest()
    assert json.loads(json.dumps(f.record()))["sha256"] == hashlib.sha256(raw).hexdigest()
    monkeypatch.setattr(files, "HASH_AHEAD_BYTES", len(raw) + 1)  # below it: hashed at once
    f = files.from_bytes(name, raw)
    assert f.digest == hashlib.sha256(raw).hexdigest()


def _frame(ids: list[str | None]) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame({"id": ids, "service": ["svc"] * n,
                         "opened_at": ["2026-01-01T00:00:00Z"] * n, FILE: ["t.csv"] * n,
                         ROW: list(range(2, n + 2))}, schema_overrides={"id": pl.String})


@pytest.mark.parametrize("ids", [["a", "b", "c"], ["a", "b", "a"], ["a", None, None, "b"],
                                 ["a", None, "a", None], [" a", "a ", "a"], ["x"] * 5])
def test_duplicate_keys_flagged_as_a_plain_loop_finds_them(ids: list[str | None]) -> None:
    frame = _frame(ids)
    ck = Checker(frame)
    typed(SPECS["tickets"], frame, ck, Options())
    found = [p.row for p in ck.problems if "duplicate id" in p.message]
    seen: set[str] = set()
    expected = []
    for row, value in enumerate(ids, start=2):
        v = value.strip() if value is not None else None
        if v and v in seen:
            expected.append(row)
        if v:
            seen.add(v)
    assert found == expected
    assert Checker.all_distinct(ck.raw("id")) == (not expected)


# ------------------------------------------------------------------ read ahead, staging child ahead


def test_reading_loads_no_store_module() -> None:
    """The CLI parses on a thread while the store's modules load: the parsing side (every kind's
    source included) must not import them itself, or there would be nothing to overlap."""
    import subprocess
    import sys

    from analytics.ingest.reading import SOURCES

    code = ("import importlib, sys; import analytics.ingest.reading\n"
            f"for m in {sorted(SOURCES.values())!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel')"
            " or m.startswith(('analytics.store.models', 'analytics.ingest.batch'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_read_ahead_gives_what_reading_in_place_gives(tmp_path: Path) -> None:
    from analytics.ingest.reading import read_ahead, read_and_parse
    from analytics.ingest.validate import InvalidImport

    path = EXAMPLES / "deployments.csv"
    files_now, parsed_now = read_and_parse("deployments", [path])
    files_ahead, parsed_ahead = read_ahead("deployments", [path]).result()
    assert [f.record() for f in files_ahead] == [f.record() for f in files_now]
    assert parsed_ahead.tables["deployments"].equals(parsed_now.tables["deployments"])
    bad = read_ahead("deployments", [tmp_path / "missing.csv"])
    with pytest.raises(InvalidImport, match="no such file"):
        bad.result()


def test_cli_import_reads_ahead_and_stages_with_the_child_started_ahead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Every row staged (tiny thresholds), the child started before the parse: one child in
    all, and the store holds what a plain import stores."""
    from sqlalchemy import text

    from analytics.cli import main
    from analytics.ingest import importer, newrows
    from analytics.store import bulk, sqlite_child
    from analytics.store.db import get_engine, migrate

    plain = get_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    migrate(plain)
    importer.import_files(plain, "deployments", [EXAMPLES / "deployments.csv"], actor="t")
    monkeypatch.setattr(bulk, "STAGE_ROWS", 2)
    monkeypatch.setattr(newrows, "REBUILD_ROWS", 2)
    monkeypatch.setattr(sqlite_child, "SPARE_BYTES", 1)
    started = []
    real = sqlite_child._scratch_child
    monkeypatch.setattr(sqlite_child, "_scratch_child", lambda: started.append(1) or real())
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["--db", url, "import", "deployments", str(EXAMPLES / "deployments.csv")]) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 3
    assert started == [1] and not sqlite_child._SPARE
    sql = text("SELECT * FROM deployment ORDER BY id")
    with plain.connect() as a, get_engine(url).connect() as b:
        left = a.execute(sql).all()
        assert left == b.execute(sql).all() and len(left) == 3


def test_a_child_started_ahead_and_not_needed_is_stopped(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.ingest import importer
    from analytics.store import sqlite_child
    from analytics.store.db import get_engine, migrate

    engine = get_engine(f"sqlite:///{tmp_path / 's.db'}")
    migrate(engine)
    monkeypatch.setattr(sqlite_child, "SPARE_BYTES", 1)  # started, but 3 rows are not staged
    started = []
    real = sqlite_child._scratch_child
    monkeypatch.setattr(sqlite_child, "_scratch_child", lambda: started.append(real()) or started[-1])
    result = importer.import_files(engine, "deployments", [EXAMPLES / "deployments.csv"], actor="t")
    assert result.inserted == 3
    assert len(started) == 1 and started[0].poll() == 0 and not sqlite_child._SPARE


def test_an_import_process_ends_at_once_with_its_output_and_the_store_closed(tmp_path: Path) -> None:
    """`python -m analytics import` skips the interpreter's teardown (os._exit): the summary is
    all there, the exit status is the command's, and the store was closed as by a normal exit
    (SQLite removes the WAL and its index on the last close)."""
    import subprocess
    import sys

    db = tmp_path / "s.db"
    cli = [sys.executable, "-m", "analytics", "--db", f"sqlite:///{db}", "import"]
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([*cli, "deployments", str(EXAMPLES / "deployments.csv")], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["inserted"] == 3
    assert db.exists() and not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()
    bad = subprocess.run([*cli, "deployments", str(tmp_path / "missing.csv")], cwd=root,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "no such file" in bad.stderr and bad.stdout == ""
