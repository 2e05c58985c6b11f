"""`purge`: apply the retention policy (redact old ticket text and survey comments)."""

from __future__ import annotations

import argparse

from analytics.cli.common import add_format_argument, emit, engine_from


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `purge` command."""
    p = sub.add_parser("purge", help="redact personal text past its retention (--dry-run/--apply)",
                       description="Redact ticket text older than "
                                   "$WORKBENCH_RETAIN_TICKET_TEXT_DAYS and survey comments older "
                                   "than $WORKBENCH_RETAIN_SURVEY_COMMENT_DAYS, printing counts "
                                   "per table. --apply writes and records a purge audit entry.")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="count only, change nothing")
    mode.add_argument("--apply", action="store_true", help="redact and audit")
    add_format_argument(p, ("table", "json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Count (or redact) and print per table."""
    from analytics.governance import purge
    from analytics.settings import get_settings

    engine = engine_from(args)
    if args.apply:
        rows = purge.apply(engine, actor=get_settings().user)
    else:
        rows = purge.plan(engine)
    emit(rows, args.format)
    if args.format != "json":
        verb = "redacted" if args.apply else "would redact (dry run, nothing written)"
        print(f"{verb}: {sum(int(r['rows']) for r in rows)} rows")
    return 0
