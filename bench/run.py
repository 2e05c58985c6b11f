"""Time the workbench's whole operations at scale and write bench/RESULTS.md.

    python bench/run.py --scale 30            # ≈1M deployments, ≈6M tickets
    python bench/run.py --scale 2 --db postgresql+psycopg://postgres@127.0.0.1:5432/bench

It builds the demo organisation ``--scale`` times larger (more services; 5-minute SLIs only for
the first 40), writes it into a fresh store, reads every table into polars, and runs every
`report` the CLI has. Later features add their timed steps to STEPS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import polars as pl  # noqa: E402

from analytics import demo  # noqa: E402
from analytics.store.db import get_engine, migrate, read_frame  # noqa: E402

END = date(2026, 11, 22)
READ_TABLES = ("deployment", "change", "incident", "ticket", "csat_response", "sli_sample")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """Collects rows of the results table."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def time(self, name: str, fn: Callable[[], int], note: str = "") -> object:
        t0 = time.perf_counter()
        rows = fn()
        secs = time.perf_counter() - t0
        self.rows.append({"operation": name, "rows": rows, "seconds": round(secs, 2),
                          "rows_per_s": int(rows / secs) if secs and rows else None,
                          "peak_mb": round(_peak_mb()), "note": note})
        print(f"{name:45s} {rows:>12,} rows {secs:8.2f} s", flush=True)
        return rows


def _fresh_engine(url: str | None, scale: int):  # noqa: ANN202
    if url:
        engine = get_engine(url)
    else:
        path = HERE / f"bench-{scale}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = get_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


def _reports(engine) -> list[tuple[str, list[str]]]:  # noqa: ANN001
    """Every registered report, with the arguments a benchmark run gives it."""
    import importlib

    from analytics.cli.report import REPORT_MODULES

    extra = {"sla": ["--month", "2026-10"]}
    return [(importlib.import_module(m).NAME, extra.get(importlib.import_module(m).NAME, []))
            for m in REPORT_MODULES]


def run(scale: int, url: str | None) -> list[dict[str, object]]:
    """Run every timed step; return the result rows."""
    timer = Timer()
    frames: dict[str, pl.DataFrame] = {}

    def generate() -> int:
        frames.update(demo.generate(seed=7, end=END, scale=scale))
        return sum(f.height for f in frames.values())

    timer.time("generate organisation (numpy/polars)", generate)
    engine = _fresh_engine(url, scale)
    dialect = engine.dialect.name
    timer.time(f"write all tables ({dialect}, one transaction)", lambda: sum(demo.load(engine, frames).values()))
    frames.clear()
    for table in READ_TABLES:
        timer.time(f"read {table} into polars", lambda t=table: read_frame(engine, f'SELECT * FROM "{t}"').height)

    from analytics.cli import main

    db = engine.url.render_as_string(hide_password=False)
    for name, args in _reports(engine):
        def report(name: str = name, args: list[str] = args) -> int:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(["--db", db, "report", name, *args, "--format", "json"])
            if code:
                raise RuntimeError(f"report {name} exited {code}")
            return 0
        timer.time(f"report {name} (CLI, JSON)", report)
    return timer.rows


def write_results(rows: list[dict[str, object]], scale: int, url: str | None) -> str:
    """Render the results table (markdown) and write bench/RESULTS.md."""
    machine = (f"{platform.node()} · {platform.machine()} · {os.cpu_count()} cores · "
               f"Python {platform.python_version()} · polars {pl.__version__}")
    lines = [
        "# Benchmark results", "",
        f"`python bench/run.py --scale {scale}`" + (f" against `{url.split('@')[-1]}`" if url else " (SQLite)"),
        f"on {machine}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
        "| operation | rows | seconds | rows/s | peak memory (MB) | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        rps = f"{r['rows_per_s']:,}" if r["rows_per_s"] else ""
        lines.append(f"| {r['operation']} | {r['rows']:,} | {r['seconds']} | {rps} | {r['peak_mb']} | {r['note']} |")
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS.md").write_text(text)
    return text


def main() -> None:
    """Parse arguments, run, write and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=30, help="organisation size multiplier (default 30)")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file in bench/)")
    args = parser.parse_args()
    rows = run(args.scale, args.db)
    print(write_results(rows, args.scale, args.db))


if __name__ == "__main__":
    main()
