"""`evidence`: build the evidence pack (a zip: self-contained HTML report, the JSON/CSV behind
each section, a manifest of SHA-256 hashes) for a period; writing it is an audited export."""

from __future__ import annotations

import argparse
from pathlib import Path

from analytics.cli.common import CliError, add_format_argument, emit, engine_from, parse_day


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `evidence` command."""
    p = sub.add_parser("evidence", help="build the evidence pack for auditors (zip with HTML report)",
                       description="Write a zip with index.html (methodology, KPIs and release "
                                   "success by criticality, a seeded release sample, compliance "
                                   "lists, source sign-off, snapshots, gaming findings, audit "
                                   "verification), the JSON/CSV behind each section and "
                                   "manifest.json. Recorded in the audit log as an export.")
    p.add_argument("--from", dest="start", type=parse_day, required=True, metavar="DATE",
                   help="first day, inclusive (YYYY-MM-DD, in $WORKBENCH_TIMEZONE)")
    p.add_argument("--to", dest="end", type=parse_day, required=True, metavar="DATE",
                   help="last day, inclusive")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="zip file to write")
    p.add_argument("--seed", type=int, default=7, metavar="N",
                   help="seed of the release sample (default 7)")
    add_format_argument(p, ("table", "json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build, write and describe the pack."""
    from analytics.governance import evidence
    from analytics.reports import ReportError
    from analytics.settings import get_settings

    if args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}")
    if not args.out.parent.is_dir():
        raise CliError(f"the folder of --out does not exist: {args.out.parent}")
    settings = get_settings()
    engine = engine_from(args)
    try:
        pack = evidence.build(engine, args.start, args.end, actor=settings.user, seed=args.seed,
                              timezone=settings.timezone, name=args.out.name)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    args.out.write_bytes(pack.content)
    files = pack.manifest["files"]
    if args.format == "json":
        emit({"out": str(args.out), "bytes": len(pack.content), "sha256": pack.sha256,
              "actor": settings.user, "files": files}, "json")
        return 0
    print(f"evidence pack written to {args.out}: {len(pack.content):,} bytes, sha256 {pack.sha256}")
    print(f"recorded in the audit log as an export by {settings.user}")
    width = max(len(p) for p in files)
    for path, info in files.items():
        print(f"  {path:<{width}}  {info['bytes']:>9,} B")
    return 0
