"""Time canonical imports of ready-made CSVs into copies of a prepared store (issue 17.4).

    python bench/import_prepared.py --files DIR --store BASE.db [--services-store SVC.db] \
        [--versus OTHER_CHECKOUT] [--rounds N] changes tickets deployments csat [tickets+again]

``bench/import_changes.py`` builds the files and the store each time; this one reuses them: each
kind is imported (``python -m analytics import KIND FILE``, a new process, copy refresh
included) into a fresh copy of ``--store`` (with its key files and read copy; ``--services-store``,
a store holding only the services, for deployments). ``KIND+again`` also times a second import
of the same file. CPU seconds are user + system of the import process and its children.
``--versus`` times the same imports with another checkout of the code (e.g. ``git worktree add
/tmp/main main``) right after each of this one's, so both meet the same load; the last column is
this code's wall and CPU as a share of the other's.
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
sys.path.insert(0, str(HERE))

import polars as pl  # noqa: E402

from readcopy import ROOT  # noqa: E402


def _clone(base: Path, dst: Path) -> None:
    for suffix in ("", ".audit-key", ".pseudonym-key"):
        shutil.copy2(f"{base}{suffix}", f"{dst}{suffix}")
    shutil.copytree(f"{base}.readcopy", f"{dst}.readcopy")


def run_in(root: Path, args: list[str]) -> dict[str, float]:
    """``python -m analytics ARGS`` with the code of ``root`` (its own folder first on the path)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "analytics", *args], cwd=root,
                            env={**os.environ, "PYTHONPATH": str(root)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args} failed: {proc.stderr.read().decode()[-800:]}")  # type: ignore[union-attr]
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--files", type=Path, required=True, help="folder of KIND.csv files")
    p.add_argument("--store", type=Path, required=True, help="store the kinds refer to")
    p.add_argument("--services-store", type=Path, help="store with only the services")
    p.add_argument("--versus", type=Path, help="another checkout to time alternately")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("kinds", nargs="+")
    a = p.parse_args()
    la = os.getloadavg()
    print(f"load average {la[0]:.2f}, {la[1]:.2f}, {la[2]:.2f}")
    print("| kind | code | rows | wall s | CPU s | rows/s (wall) | rows/s (CPU) | copy files rewritten "
          "| wall, CPU vs other |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|", flush=True)
    codes = [("this", ROOT)] + ([("other", a.versus.resolve())] if a.versus else [])
    with tempfile.TemporaryDirectory(prefix="bench-prepared-") as tmp:
        for _ in range(a.rounds):
            for name in a.kinds:
                kind = name.removesuffix("+again")
                base = a.services_store if kind == "deployments" and a.services_store else a.store
                csv = a.files / f"{kind}.csv"
                rows = pl.scan_csv(csv, infer_schema=False).select(pl.len()).collect().item()
                times: dict[str, dict[str, float]] = {}
                for code, root in codes:
                    dst = Path(tmp) / f"{kind}.db"
                    _clone(base, dst)
                    for label in ("", " again")[:2 if name.endswith("+again") else 1]:
                        r = run_in(root, ["--db", f"sqlite:///{dst}", "import", kind, str(csv)])
                        times[code + label] = r
                        manifest = json.loads((Path(f"{dst}.readcopy") / "manifest.json").read_text())
                        mine = times.get("this" + label)
                        share = (f"{mine['wall'] / r['wall']:.2f}, {mine['cpu'] / r['cpu']:.2f}"
                                 if code == "other" and mine else "")
                        print(f"| {kind}{label} | {code} | {rows:,} | {r['wall']:.1f} | {r['cpu']:.1f} | "
                              f"{rows / r['wall']:,.0f} | {rows / r['cpu']:,.0f} | "
                              f"{', '.join(manifest['rewritten'])} | {share} |", flush=True)
                    for path in Path(tmp).glob(f"{kind}.db*"):
                        shutil.rmtree(path) if path.is_dir() else path.unlink()


if __name__ == "__main__":
    main()
