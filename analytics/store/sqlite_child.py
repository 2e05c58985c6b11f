"""ADBC's SQLite, only ever in a child process: Arrow ingest for scratch files and whole-store loads.

ADBC bundles its own SQLite. Two SQLite libraries in one process break SQLite's POSIX locking
(closing a file in one library drops the other's locks): with the stdlib connection open, ADBC
opening and closing the store, then another process committing, gave "database disk image is
malformed" in 4 of 4 runs (issue 17). So the app and CLI processes never load it; they hand the
rows over as an Arrow IPC file to this script, run as its own process (``python <this file>``,
importing only polars, ADBC's low-level module and :mod:`analytics.store.frametypes`: it starts
in a quarter of the CPU time the app's modules take), which writes them and exits. The read
copy's large SQLite reads run here too (:func:`copy_tables`).
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

SCRATCH_PAGE_SIZE = 32768
# From this much input an import's new rows are likely to be staged (bulk.STAGE_ROWS rows of any
# canonical CSV take less), so it starts the staging child before parsing (start_spare).
SPARE_BYTES = 8 << 20


def run(*args: str) -> str:
    """Run this file as a child process with ``args``; its stdout (raise with its stderr on failure)."""
    # -P: the script's folder (analytics/store, with modules named db, version…) is not on path.
    done = subprocess.run([sys.executable, "-P", str(Path(__file__).resolve()), *args],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"SQLite child process failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def copy_tables(database: str, folder: Path, plan: list[tuple[str, str, str, str | None]], dts: list[str],
                bools: list[str], types: dict[str, pl.DataType]) -> dict[str, int]:
    """Write read-copy files from the SQLite store ``database`` in a child process; rows per file.

    ``plan`` holds (file name, SELECT, time column, service join) per file: when the join is
    "inner" or "left", the SELECT leaves out the service columns and they are joined here
    (:func:`analytics.store.frametypes.join_service`). ``dts``, ``bools`` and ``types`` type the
    columns as :mod:`analytics.store.frametypes` does in the parent's own reads.
    """
    from analytics.store.frametypes import DTYPES

    names = {v: k for k, v in DTYPES.items()}
    spec = {"database": database, "folder": str(folder), "plan": plan, "dts": dts,
            "bools": bools, "types": {c: names[t] for c, t in types.items()}}
    with tempfile.TemporaryDirectory(prefix="slw-copy-") as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(spec))
        out = run("copy", str(path))
    return json.loads(out.strip().splitlines()[-1])


def write_scratches(parts: list[tuple[Path, pl.DataFrame]],
                    prepare: Callable[[pl.DataFrame], pl.DataFrame] | None = None) -> Iterator[Path]:
    """Write each frame (``prepare``-d first, when given) as table ``rows`` of a new SQLite
    file, all in ONE child process, and yield each path as soon as it is written (the caller
    copies slice i while the child writes slice i+1). Use it under ``contextlib.closing``:
    closing it early stops the child.

    One child for every slice: a child's start (Python, polars, ADBC) costs ~0.3 CPU-s. It starts
    first (or was started ahead, :func:`start_spare`) and is handed each slice (an Arrow IPC
    file, then its path on stdin) as soon as a thread has written it: the child's start and the
    first slice overlap the writing of the other slices (2.5M tickets: ~1 s of wall before the
    first copy could begin).
    """
    ipcs = [path.with_suffix(".arrow") for path, _ in parts]
    proc = _take_spare() or _scratch_child()
    failed: list[BaseException] = []

    def feed() -> None:
        assert proc.stdin is not None
        try:
            for ipc, (path, frame) in zip(ipcs, parts, strict=True):
                (prepare(frame) if prepare else frame).write_ipc(ipc)
                proc.stdin.write(json.dumps([str(ipc), str(path)]) + "\n")  # any path
                proc.stdin.flush()
        except BaseException as exc:  # the child stops at the closed stdin; raised below
            failed.append(exc)
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    writer = threading.Thread(target=feed, name="scratch-ipc", daemon=True)
    writer.start()
    try:
        assert proc.stdout is not None and proc.stderr is not None
        for path, _ in parts:
            if proc.stdout.readline().strip() != str(path):
                proc.wait()
                writer.join()
                if failed:
                    raise failed[0]
                raise RuntimeError(f"SQLite child process failed: {proc.stderr.read().strip()[-800:]}")
            yield path
        if proc.wait() != 0:
            raise RuntimeError(f"SQLite child process failed: {proc.stderr.read().strip()[-800:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        writer.join()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        for ipc in ipcs:
            ipc.unlink(missing_ok=True)


def _scratch_child() -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-P", str(Path(__file__).resolve()), "scratch"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


_SPARE: list[subprocess.Popen[str]] = []


def start_spare() -> None:
    """Start the staging child of :func:`write_scratches` now, for the next call to take.

    An import that will stage its rows calls this before it parses them: the child's start
    (Python, polars, ADBC: ~0.2 s) then overlaps the parse instead of delaying the first slice.
    A child no call took is told to stop (its stdin closed) when this process exits.
    """
    if not _SPARE:
        _SPARE.append(_scratch_child())
        atexit.register(drop_spare)


def _take_spare() -> subprocess.Popen[str] | None:
    while _SPARE:
        proc = _SPARE.pop()
        if proc.poll() is None:
            return proc
        _close(proc)
    return None


def drop_spare() -> None:
    """Stop the spare child, if one was started and not taken (it exits at the end of its stdin)."""
    while _SPARE:
        proc = _SPARE.pop()
        try:
            proc.communicate(timeout=10)  # closes stdin, drains its output
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _close(proc)


def _close(proc: subprocess.Popen[str]) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()


def load(database: str, frames: dict[str, pl.DataFrame], drop: list[str],
         create: list[str]) -> None:
    """In one child transaction: drop the indexes ``drop``, append ``frames`` (table → rows, in
    foreign-key order), run the ``create`` statements, commit. The caller's own connections to
    ``database`` must be closed (``engine.dispose()``)."""
    with tempfile.TemporaryDirectory(prefix="slw-load-") as folder:
        tables = []
        for i, (table, frame) in enumerate(frames.items()):
            path = Path(folder) / f"{i}.arrow"
            frame.write_ipc(path)
            tables.append([table, str(path)])
        plan = Path(folder) / "plan.json"
        plan.write_text(json.dumps({"database": database, "tables": tables, "drop": drop,
                                    "create": create}))
        run("load", str(plan))


def _scratches() -> None:
    for line in sys.stdin:  # [Arrow IPC file, SQLite file] per slice, as each is ready
        ipc, path = json.loads(line)
        _scratch(ipc, path)
        print(path, flush=True)  # the parent attaches this file while the next one is written


def _scratch(ipc: str, path: str) -> None:
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    frame = pl.read_ipc(ipc)
    database = adbc_driver_sqlite.connect(path)
    conn = adbc.AdbcConnection(database)
    try:
        # 32 KiB pages, as the store's: 2.5M tickets stage in 15% less CPU (fewer pages to
        # fill and link) and the parent reads fewer pages back. Only while the file is empty.
        pragma = adbc.AdbcStatement(conn)
        try:
            pragma.set_sql_query(f"PRAGMA page_size={SCRATCH_PAGE_SIZE}")
            pragma.execute_update()
        finally:
            pragma.close()
        conn.set_autocommit(False)  # one transaction, not one per row
        stmt = adbc.AdbcStatement(conn)
        try:
            stmt.set_options(**{adbc.INGEST_OPTION_TARGET_TABLE: "rows",
                                adbc.INGEST_OPTION_MODE: adbc.INGEST_OPTION_MODE_CREATE})
            stmt.bind_stream(frame)
            stmt.execute_update()
        finally:
            stmt.close()
        conn.commit()
    finally:
        conn.close()
        database.close()


def _load(plan_file: str) -> None:
    import adbc_driver_sqlite.dbapi as dbapi

    plan: dict[str, Any] = json.loads(Path(plan_file).read_text())
    conn = dbapi.connect(plan["database"])
    try:
        cur = conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        for name in plan["drop"]:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        for table, path in plan["tables"]:
            cur.adbc_ingest(table, pl.read_ipc(path).to_arrow(), mode="append")
        for sql in plan["create"]:
            cur.execute(sql)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def _copy(plan_file: str) -> None:
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # -P left the repository out
    from analytics.store.frametypes import (DTYPES, SERVICE_SQL, cast_to_types, join_service,
                                            typed_frame, write_copy_file)

    spec: dict[str, Any] = json.loads(Path(plan_file).read_text())
    types = {c: DTYPES[t] for c, t in spec["types"].items()}
    dts, bools = frozenset(spec["dts"]), frozenset(spec["bools"])
    database = adbc_driver_sqlite.connect(spec["database"])
    conn = adbc.AdbcConnection(database)
    out = {}
    try:
        conn.set_autocommit(False)  # one read transaction: every file of the same snapshot
        def query(sql: str) -> pl.DataFrame:
            stmt = adbc.AdbcStatement(conn)
            try:
                stmt.set_sql_query(sql)
                stream, _ = stmt.execute_query()
                return pl.DataFrame(stream)
            finally:
                stmt.close()

        for name, sql, ts, how in spec["plan"]:
            frame = query(sql)
            if how is not None:
                frame = join_service(frame, query(SERVICE_SQL), how)
            frame = cast_to_types(typed_frame(frame, dts, bools), types)
            out[name] = write_copy_file(Path(spec["folder"]), name, frame, ts, types)
        conn.rollback()
    finally:
        conn.close()
        database.close()
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "scratch":
        _scratches()
    elif sys.argv[1] == "copy":
        _copy(sys.argv[2])
    elif sys.argv[1] == "load":
        _load(sys.argv[2])
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")
