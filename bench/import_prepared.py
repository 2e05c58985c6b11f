"""Time canonical imports of ready-made CSVs into copies of a prepared store (issue 17.4).

    python bench/import_prepared.py --files DIR --store BASE.db [--services-store SVC.db] \
        changes tickets deployments csat [tickets+again]

``bench/import_changes.py`` builds the files and the store each time; this one reuses them: each
kind is imported (``python -m analytics import KIND FILE``, a new process, copy refresh
included) into a fresh copy of ``--store`` (with its key files and read copy; ``--services-store``,
a store holding only the services, for deployments). ``KIND+again`` also times a second import
of the same file. CPU seconds are user + system of the import process and its children.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import polars as pl  # noqa: E402

from readcopy import run_child  # noqa: E402


def _clone(base: Path, dst: Path) -> None:
    for suffix in ("", ".audit-key", ".pseudonym-key"):
        shutil.copy2(f"{base}{suffix}", f"{dst}{suffix}")
    shutil.copytree(f"{base}.readcopy", f"{dst}.readcopy")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--files", type=Path, required=True, help="folder of KIND.csv files")
    p.add_argument("--store", type=Path, required=True, help="store the kinds refer to")
    p.add_argument("--services-store", type=Path, help="store with only the services")
    p.add_argument("kinds", nargs="+")
    a = p.parse_args()
    la = os.getloadavg()
    print(f"load average {la[0]:.2f}, {la[1]:.2f}, {la[2]:.2f}")
    print("| kind | rows | wall s | CPU s | rows/s (wall) | rows/s (CPU) | copy files rewritten |")
    print("|---|---:|---:|---:|---:|---:|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-prepared-") as tmp:
        for name in a.kinds:
            kind = name.removesuffix("+again")
            base = a.services_store if kind == "deployments" and a.services_store else a.store
            dst = Path(tmp) / f"{kind}.db"
            _clone(base, dst)
            csv = a.files / f"{kind}.csv"
            rows = pl.scan_csv(csv, infer_schema=False).select(pl.len()).collect().item()
            for label in ("", " again")[:2 if name.endswith("+again") else 1]:
                r = run_child([sys.executable, "-m", "analytics", "--db", f"sqlite:///{dst}",
                               "import", kind, str(csv)])
                manifest = json.loads((Path(f"{dst}.readcopy") / "manifest.json").read_text())
                print(f"| {kind}{label} | {rows:,} | {r['wall']:.1f} | {r['cpu']:.1f} | "
                      f"{rows / r['wall']:,.0f} | {rows / r['cpu']:,.0f} | "
                      f"{', '.join(manifest['rewritten'])} |", flush=True)
            for path in Path(tmp).glob(f"{kind}.db*"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()


if __name__ == "__main__":
    main()
