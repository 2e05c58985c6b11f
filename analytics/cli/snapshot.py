"""`snapshot take | verify | list`: month snapshots of the reports, checked against the store."""

from __future__ import annotations

import argparse

from analytics.cli.common import CliError, add_format_argument, emit, engine_from


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `snapshot` command."""
    p = sub.add_parser("snapshot", help="archive a month's reports; verify or list snapshots",
                       description="Snapshots archive the delivery, SLA, SLO and CSAT reports "
                                   "of a month with the definitions, import batches and a hash "
                                   "of the input rows they were computed from.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    t = verbs.add_parser("take", help="archive the reports of --month YYYY-MM")
    t.add_argument("--month", required=True, metavar="YYYY-MM")
    add_format_argument(t, ("table", "json"))
    t.set_defaults(func=run)
    v = verbs.add_parser("verify", help="recompute a snapshot: unchanged or what changed (exit 0/1)")
    v.add_argument("id", type=int, metavar="ID")
    add_format_argument(v, ("table", "json"))
    v.set_defaults(func=run)
    ls = verbs.add_parser("list", help="every snapshot")
    add_format_argument(ls, ("table", "json"))
    ls.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Take, verify or list."""
    from analytics.governance import snapshots
    from analytics.reports import ReportError
    from analytics.settings import get_settings

    engine = engine_from(args)
    try:
        if args.verb == "take":
            snap = snapshots.take(engine, args.month, actor=get_settings().user)
            emit({"id": snap.id, "month": snap.month, "input_hash": snap.input_hash}, args.format)
            return 0
        if args.verb == "list":
            emit(snapshots.listing(engine), args.format)
            return 0
        check = snapshots.verify(engine, args.id)
    except ReportError as exc:
        raise CliError(str(exc)) from exc
    if args.format == "json":
        emit({"id": check.snapshot_id, "month": check.month, "unchanged": check.unchanged,
              "changed_inputs": check.changed_inputs, "changed_reports": check.changed_reports},
             "json")
    elif check.unchanged:
        print(f"snapshot {check.snapshot_id} ({check.month}): unchanged")
    else:
        print(f"snapshot {check.snapshot_id} ({check.month}): changed — inputs: "
              f"{', '.join(check.changed_inputs) or 'none'}; reports: "
              f"{', '.join(check.changed_reports) or 'none'}")
    return 0 if check.unchanged else 1
