"""Time `import changes` of a large canonical CSV into SQLite, read-copy refresh included.

    python bench/import_changes.py --scale 10

Builds the demo organisation ``--scale`` times larger, imports its services and deployments (not
timed), then times ``python -m analytics import changes FILE`` as a new process: the committed
import plus the refresh of the copy files the change table feeds (the others are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import polars as pl  # noqa: E402

from readcopy import run_child  # noqa: E402
from run import END  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scale", type=int, default=10)
    a = p.parse_args()
    from analytics import demo

    frames = demo.generate(seed=7, end=END, scale=a.scale)
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    names = frames["service"].select(service_id="id", service="name")
    frames["service"].select("name", "team", "tier", "criticality").write_csv(tmp / "services.csv")
    dep = frames["deployment"]
    (dep.join(names, on="service_id")
     .select(id="external_id", service="service", environment="environment",
             finished_at=pl.col("finished_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
             status="status", started_at=pl.col("started_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
     .write_csv(tmp / "deployments.csv"))
    (frames["change"].join(dep.select(deployment_id="id", dep="external_id"), on="deployment_id")
     .select(deployment_id="dep", change_id="commit_id",
             committed_at=pl.col("committed_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
     .write_csv(tmp / "changes.csv"))
    rows = frames["change"].height
    frames.clear()
    db = f"sqlite:///{tmp / 'store.db'}"
    cli = [sys.executable, "-m", "analytics", "--db", db]
    run_child([*cli, "init"])
    for kind in ("services", "deployments"):
        t0 = time.perf_counter()
        run_child([*cli, "import", kind, str(tmp / f"{kind}.csv")])
        print(f"import {kind}: {time.perf_counter() - t0:.1f} s", flush=True)
    r = run_child([*cli, "import", "changes", str(tmp / "changes.csv")])
    manifest = json.loads((tmp / "store.db.readcopy" / "manifest.json").read_text())
    print(f"| import changes ({rows:,} rows, SQLite, new process) | {r['wall']:.1f} | "
          f"{r['cpu']:.1f} | {r['mb']:.0f} | {rows / r['wall']:,.0f} | copy files rewritten: "
          f"{', '.join(manifest['rewritten'])} |")
    print(f"store and CSVs left in {tmp}")


if __name__ == "__main__":
    main()
