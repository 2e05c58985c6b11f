"""Time canonical imports of large CSVs into SQLite, read-copy refresh included (issue 17).

    python bench/import_changes.py --scale 10 [--kind changes --kind tickets ...] [--again]

Builds the demo organisation ``--scale`` times larger and writes one canonical CSV per kind.
Each kind asked for is timed as ``python -m analytics import KIND FILE`` in a new process (the
committed import plus the refresh of the copy files its table feeds); the kinds it refers to
(services, deployments, incidents) are imported first, untimed when not asked for. ``--again``
also times a second import of the same file (every row matched and left unchanged).
CPU seconds are user + system of the import process and its children (``wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import polars as pl  # noqa: E402

from readcopy import run_child  # noqa: E402
from run import END  # noqa: E402

KINDS = ("deployments", "changes", "incidents", "tickets", "csat")
NEEDS = {"changes": ("deployments",), "incidents": ("deployments",),
         "tickets": ("deployments", "incidents"), "csat": ()}
TS = "%Y-%m-%dT%H:%M:%SZ"


def _iso(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).dt.strftime(TS) for c, t in frame.schema.items()
                              if isinstance(t, pl.Datetime))


def write_csvs(frames: dict[str, pl.DataFrame], tmp: Path) -> dict[str, int]:
    """One canonical CSV per kind in ``tmp``; returns rows per kind."""
    svc = frames["service"].select(service_id="id", service="name")
    frames["service"].select("name", "team", "tier", "criticality").write_csv(tmp / "services.csv")
    dep = frames["deployment"]
    deps = dep.select(deployment_id="id", dep="external_id")
    _iso(dep.join(svc, on="service_id", how="left")
         .select(id="external_id", service="service", environment="environment",
                 finished_at="finished_at", status="status", started_at="started_at",
                 version="version", is_rollback="is_rollback", unplanned="unplanned",
                 emergency="emergency", lines_changed="lines_changed",
                 files_changed="files_changed", test_coverage="test_coverage")
         ).write_csv(tmp / "deployments.csv")
    _iso(frames["change"].join(deps, on="deployment_id")
         .select(deployment_id="dep", change_id="commit_id", committed_at="committed_at")
         ).write_csv(tmp / "changes.csv")
    # Incidents of vendors' components name no service: a canonical file requires one.
    inc = frames["incident"].filter(pl.col("service_id").is_not_null())
    _iso(inc.join(svc, on="service_id", how="left")
         .join(deps.rename({"deployment_id": "caused_by_deployment_id"}),
               on="caused_by_deployment_id", how="left")
         .select(id="external_id", service="service", severity="severity",
                 opened_at="opened_at", environment="environment", detected_at="detected_at",
                 resolved_at="resolved_at", customer_facing="customer_facing", outage="outage",
                 caused_by_deployment="dep", problem_id="problem_id", root_cause="root_cause",
                 postmortem_url="postmortem_url", title="title")
         ).write_csv(tmp / "incidents.csv")
    incs = inc.select(related_incident_id="id", related_incident="external_id")
    _iso(frames["ticket"].join(svc, on="service_id", how="left")
         .join(incs, on="related_incident_id", how="left")
         .select(id="external_id", opened_at="opened_at", service="service",
                 closed_at="closed_at", severity="severity",
                 first_response_at="first_response_at", user_role="user_role",
                 transaction_criticality="transaction_criticality", channel="channel",
                 customer_id="customer_id", text="text", related_incident="related_incident")
         ).write_csv(tmp / "tickets.csv")
    _iso(frames["csat_response"].join(svc, on="service_id", how="left")
         .select(id="external_id", responded_at="responded_at", score="score",
                 service="service", nps="nps", segment="segment", customer_id="customer_id",
                 comment="comment")
         ).write_csv(tmp / "csat.csv")
    return {"deployments": dep.height, "changes": frames["change"].height,
            "incidents": inc.height, "tickets": frames["ticket"].height,
            "csat": frames["csat_response"].height}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scale", type=int, default=10)
    p.add_argument("--kind", action="append", choices=KINDS,
                   help="a kind to time (repeatable; default: all five)")
    p.add_argument("--again", action="store_true", help="also time re-importing the same file")
    a = p.parse_args()
    timed = a.kind or list(KINDS)
    from analytics import demo

    frames = demo.generate(seed=7, end=END, scale=a.scale)
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    rows = write_csvs(frames, tmp)
    frames.clear()
    db = f"sqlite:///{tmp / 'store.db'}"
    cli = [sys.executable, "-m", "analytics", "--db", db]
    run_child([*cli, "init"])
    run_child([*cli, "import", "services", str(tmp / "services.csv")])
    done: set[str] = set()
    plan = list(dict.fromkeys(n for k in KINDS if k in timed for n in (*NEEDS.get(k, ()), k)))
    print(f"load average {os.getloadavg()[0]:.2f}, {os.getloadavg()[1]:.2f}, "
          f"{os.getloadavg()[2]:.2f}; scale {a.scale}; files in {tmp}", flush=True)
    print("| kind | rows | wall s | CPU s | peak MB | rows/s (wall) | rows/s (CPU) | copy files rewritten |")
    print("|---|---:|---:|---:|---:|---:|---:|---|", flush=True)
    for kind in plan:
        if kind in done:
            continue
        runs = [("", kind)] + ([(" again", kind)] if a.again and kind in timed else [])
        for label, k in runs:
            r = run_child([*cli, "import", k, str(tmp / f"{k}.csv")])
            if k not in timed:
                break
            manifest = json.loads((tmp / "store.db.readcopy" / "manifest.json").read_text())
            n = rows[k]
            print(f"| {k}{label} | {n:,} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['mb']:.0f} | "
                  f"{n / r['wall']:,.0f} | {n / r['cpu']:,.0f} | "
                  f"{', '.join(manifest['rewritten'])} |", flush=True)
        done.add(kind)
    print(f"store and CSVs left in {tmp}")


if __name__ == "__main__":
    main()
