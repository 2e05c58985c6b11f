"""ADBC's SQLite, only ever in a child process: Arrow ingest for scratch files and whole-store loads.

ADBC bundles its own SQLite. Two SQLite libraries in one process break SQLite's POSIX locking
(closing a file in one library drops the other's locks): with the stdlib connection open, ADBC
opening and closing the store, then another process committing, gave "database disk image is
malformed" in 4 of 4 runs (issue 17). So the app and CLI processes never load it; they hand the
rows over as an Arrow IPC file to this script, run as its own process (``python <this file>``,
importing only polars and ADBC), which writes them and exits.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import polars as pl


def run(*args: str) -> None:
    """Run this file as a child process with ``args``; raise with its stderr on failure."""
    # -P: the script's folder (analytics/store, with modules named db, version…) is not on path.
    done = subprocess.run([sys.executable, "-P", str(Path(__file__).resolve()), *args],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"SQLite child process failed: {done.stderr.strip()[-800:]}")


def write_scratch(path: Path, frame: pl.DataFrame) -> Path:
    """Write ``frame`` as table ``rows`` of a new SQLite file ``path`` (in a child process)."""
    ipc = path.with_suffix(".arrow")
    frame.write_ipc(ipc)
    try:
        run("scratch", str(ipc), str(path))
    finally:
        ipc.unlink(missing_ok=True)
    return path


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


def _scratch(ipc: str, path: str) -> None:
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    frame = pl.read_ipc(ipc)
    database = adbc_driver_sqlite.connect(path)
    conn = adbc.AdbcConnection(database)
    try:
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


if __name__ == "__main__":
    if sys.argv[1] == "scratch":
        _scratch(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "load":
        _load(sys.argv[2])
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")
