"""Time the columnar read copy on a scaled store (issue 17); prints a Markdown section.

    python bench/make_store.py --scale 10 --db /tmp/bench-10.db
    python bench/readcopy.py --db /tmp/bench-10.db [--duckdb]

Each report runs end to end as a new process (``python -m analytics report NAME --format json``)
with the copy off (every read from SQL: before) and on (after); wall time, CPU (user + system of
that process alone, from ``wait4``) and peak memory (its max RSS) are recorded. DuckDB, when
asked, runs in its own subprocess on CSVs of the same rows: never in the app or CLI process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from run import REPORT_ARGUMENTS  # noqa: E402  (the bench's arguments for reports that need them)

REPORTS = ("delivery", "scorecard", "release-impact")
# Reports that read a dataset are left out of --all.
NOT_TIMED = {"uci-sla-timers"}


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``args`` as a new process; its wall seconds, CPU seconds and peak RSS (MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed: {proc.stderr.read().decode()[-800:]}")  # type: ignore[union-attr]
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "mb": usage.ru_maxrss / 1024}


def every_report() -> list[str]:
    """Every report of the CLI's registry (``report NAME``) the bench can run with defaults."""
    from analytics.cli.report import REPORTS as REGISTRY

    return [name for name in REGISTRY if name not in NOT_TIMED]


def report(db: str, name: str, copy: str) -> dict[str, float]:
    """One CLI report in a new process with the copy on or off."""
    return run_child([sys.executable, "-m", "analytics", "--db", f"sqlite:///{db}", "report",
                      name, *REPORT_ARGUMENTS.get(name, []), "--format", "json"],
                     {"WORKBENCH_READ_COPY": copy})


def refresh(db: str) -> dict[str, float]:
    """A full refresh of the copy in a new process."""
    code = ("import sys; from analytics.store.db import get_engine; "
            "from analytics.store.readcopy import refresh; refresh(get_engine(sys.argv[1]))")
    return run_child([sys.executable, "-c", code, f"sqlite:///{db}"])


def read_deployments(db: str, copy: str) -> dict[str, float]:
    """``queries.deployments`` of the whole store in a new process (import time excluded)."""
    code = ("import sys, time, resource; from analytics.store.db import get_engine; "
            "from analytics.store import queries; e = get_engine(sys.argv[1]); "
            "t = time.process_time(); w = time.perf_counter(); n = queries.deployments(e).height; "
            "print(n, time.perf_counter() - w, time.process_time() - t)")
    out = subprocess.run([sys.executable, "-c", code, f"sqlite:///{db}"], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT),
                                         "WORKBENCH_READ_COPY": copy}, check=True, cwd=ROOT)
    n, wall, cpu = out.stdout.split()
    return {"rows": int(n), "wall": float(wall), "cpu": float(cpu)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--db", required=True)
    p.add_argument("--duckdb", action="store_true", help="also time DuckDB on CSVs")
    p.add_argument("--all", action="store_true", help="every report, not only the three heavy ones")
    p.add_argument("--keep", action="store_true", help="keep the current copy (no full refresh)")
    p.add_argument("--copy-only", action="store_true",
                   help="time each report from the copy only (the SQL path takes minutes at scale 30)")
    p.add_argument("--report", action="append", metavar="NAME", help="only this report (repeatable)")
    a = p.parse_args()
    db = str(Path(a.db).resolve())
    folder = Path(db + ".readcopy")
    if not a.keep:
        shutil.rmtree(folder, ignore_errors=True)
    lines = [f"`python bench/readcopy.py --db {Path(db).name}` on {os.cpu_count()} cores "
             f"(shared), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. New process per "
             "row; CPU = user + system of that process.", ""]
    r = refresh(db) if not a.keep else {"wall": 0.0, "cpu": 0.0, "mb": 0.0}
    size = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 2**20
    manifest = json.loads((folder / "manifest.json").read_text())
    lines += [f"Copy: {manifest['rows']:,} rows in {size:.0f} MB of Parquet (store file "
              f"{Path(db).stat().st_size / 2**20:.0f} MB); full refresh {r['wall']:.1f} s wall, "
              f"{r['cpu']:.1f} s CPU, peak {r['mb']:.0f} MB.", "",
              "| step | SQL: wall s | CPU s | peak MB | copy: wall s | CPU s | peak MB "
              "| CPU ratio |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    skipped = {"wall": float("nan"), "cpu": float("nan"), "mb": float("nan")}
    for name in a.report or (every_report() if a.all else REPORTS):
        try:
            before = skipped if a.copy_only else report(db, name, "off")
            after = report(db, name, "on")
        except RuntimeError as exc:  # a report with nothing to say on this store
            lines.append(f"| report {name} | n/a: {str(exc).splitlines()[-1][-90:]} |||||||")
            print(lines[-1], flush=True)
            continue
        lines.append(f"| report {name} | {before['wall']:.1f} | {before['cpu']:.1f} | "
                     f"{before['mb']:.0f} | {after['wall']:.1f} | {after['cpu']:.1f} | "
                     f"{after['mb']:.0f} | {before['cpu'] / after['cpu']:.1f}× |".replace("nan×", "–").replace("nan", "–"))
        print(lines[-1], flush=True)
    after = read_deployments(db, "on")
    before = {**after, "wall": float("nan"), "cpu": float("nan")} if a.copy_only else \
        read_deployments(db, "off")
    lines.append(f"| read {before['rows']:,} deployments (queries.deployments) | "
                 f"{before['wall']:.2f} | {before['cpu']:.2f} | | {after['wall']:.2f} | "
                 f"{after['cpu']:.2f} | | {before['cpu'] / after['cpu']:.1f}× |".replace("nan×", "–").replace("nan", "–"))
    print(lines[-1], flush=True)
    if a.duckdb:
        lines += ["", *duckdb_lines(db, folder)]
    print("\n".join(lines))


def duckdb_lines(db: str, folder: Path) -> list[str]:
    """`report delivery` (copy on) vs DuckDB computing the delivery KPIs from CSVs."""
    import polars as pl

    tmp = Path(tempfile.mkdtemp(prefix="bench-csv-"))
    try:
        for name in ("deployments", "changes", "incidents"):
            pl.read_parquet(folder / f"{name}.parquet").drop("text", strict=False) \
                .write_csv(tmp / f"{name}.csv")
        duck = run_child([sys.executable, str(HERE / "delivery_duckdb.py"), str(tmp)])
        ours = report(db, "delivery", "on")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ["| delivery KPIs | wall s | CPU s | peak MB |", "|---|---:|---:|---:|",
            f"| `report delivery` (CLI, copy on) | {ours['wall']:.1f} | {ours['cpu']:.1f} | "
            f"{ours['mb']:.0f} |",
            f"| DuckDB from CSVs (bench/delivery_duckdb.py) | {duck['wall']:.1f} | "
            f"{duck['cpu']:.1f} | {duck['mb']:.0f} |",
            "", f"CLI ÷ DuckDB CPU: {ours['cpu'] / duck['cpu']:.1f}×."]


if __name__ == "__main__":
    main()
