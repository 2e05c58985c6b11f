"""`demo`: load the seeded demo organisation, or show its ground truth."""

from __future__ import annotations

import argparse
import time

from analytics.cli.common import CliError, add_format_argument, emit, engine_from, parse_day


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `demo` command."""
    p = sub.add_parser("demo", help="load the demo organisation (or --show-truth)",
                       description="Load a deterministic synthetic organisation (about 40 services, "
                                   "365 days ending yesterday) with planted effects of known size.")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--end", type=parse_day, metavar="DATE", help="last day (default yesterday, UTC)")
    p.add_argument("--if-empty", action="store_true",
                   help="do nothing (exit 0) when the store already holds data")
    p.add_argument("--show-truth", action="store_true",
                   help="print the planted effects stored with the demo instead of loading")
    p.add_argument("--show-hash", action="store_true",
                   help="print the sha256 content hash of the demo tables instead of loading "
                        "(same seed and end day → same hash)")
    add_format_argument(p, ("table", "json"))
    p.set_defaults(func=run)


def production_deployments(frames: dict) -> int:
    """Production deployments of the generated demo as the KPIs and Overview count them:
    rollback actions are remediations, not deployments (REFERENCE §1)."""
    d = frames["deployment"]
    return int(((d["environment"] == "production") & ~d["is_rollback"]).sum())


def run(args: argparse.Namespace) -> int:
    """Load the demo into an empty store, or print its truth."""
    from sqlmodel import Session

    from analytics import demo
    from analytics.settings import get_settings
    from analytics.governance.events import DemoLoadEvent
    from analytics.store import audit
    from analytics.store.db import is_empty
    from analytics.store.definitions import seed_kpi_definitions
    from analytics.store.readcopy import refresh_quietly

    engine = engine_from(args)
    if args.show_truth:
        truth = demo.read_truth(engine)
        if not truth:
            raise CliError("this store holds no demo organisation (run: python -m analytics demo)")
        if args.format == "json":
            emit({k: v["value"] for k, v in truth.items()}, "json")
        else:
            emit([{"effect": k, "value": v["value"], "description": v["description"]}
                  for k, v in truth.items()], "table")
        return 0
    if args.show_hash:
        if is_empty(engine):
            raise CliError("this store is empty; there is no content to hash")
        digest = demo.content_hash(engine)
        if args.format == "json":
            emit({"content_hash": digest}, "json")
        else:
            print(digest)
        return 0
    if not is_empty(engine):
        if args.if_empty:
            print("the store already holds data; demo not loaded")
            return 0
        raise CliError("the store is not empty; the demo loads only into an empty store "
                       "(use a fresh --db, or --if-empty)")
    t0 = time.perf_counter()
    frames = demo.generate(seed=args.seed, end=args.end)
    written = demo.load(engine, frames)
    with Session(engine) as session:
        seed_kpi_definitions(session=session)
        audit.record(session, DemoLoadEvent(actor=get_settings().user,
                                            detail={"seed": args.seed, "rows": written}))
        session.commit()
    refresh_quietly(engine)
    written_total = sum(written.values())
    # rows.deployment counts every environment; the README quotes both numbers.
    summary = {"seed": args.seed, "rows": written, "total_rows": written_total,
               "production_deployments": production_deployments(frames),
               "seconds": round(time.perf_counter() - t0, 1)}
    emit(summary, args.format)
    return 0
