"""`validate-source`: the quarterly checklist of one data source, and (with --sign-off) the
analyst's sign-off with findings, stored and audited."""

from __future__ import annotations

import argparse

from analytics.cli.common import CliError, add_format_argument, emit, engine_from

HELP = "quarterly data-source checklist (rows, coverage, quality, reconciliation); sign it off"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `validate-source` command."""
    p = sub.add_parser("validate-source", help=HELP,
                       description="Print the checklist of one source for one quarter; with "
                                   "--sign-off --by NAME --findings TEXT, record the sign-off.")
    p.add_argument("--source", required=True, metavar="S",
                   help="the source name imported rows carry (e.g. demo, servicenow)")
    p.add_argument("--quarter", required=True, metavar="YYYYQN", help="e.g. 2026Q3")
    p.add_argument("--sign-off", action="store_true", help="record a sign-off of this checklist")
    p.add_argument("--by", metavar="NAME", help="the analyst signing off")
    p.add_argument("--findings", metavar="TEXT", help="what the analyst found")
    add_format_argument(p, ("table", "json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the checklist; record the sign-off when asked."""
    if args.sign_off and not (args.by and args.findings):
        raise CliError("--sign-off needs --by NAME and --findings TEXT")
    if not args.sign_off and (args.by or args.findings):
        raise CliError("--by and --findings are only used with --sign-off")
    from sqlmodel import Session

    from analytics.reports import ReportError
    from analytics.reports.source_validation import checklist
    from analytics.settings import get_settings
    from analytics.store.validations import sign_off_source

    engine = engine_from(args)
    tz = get_settings().timezone
    try:
        result = checklist(engine, source=args.source, quarter=args.quarter, timezone=tz)
        if args.sign_off:
            with Session(engine) as session:
                sign_off_source(session=session, source=args.source, quarter=args.quarter,
                                by=args.by, findings=args.findings, checklist=result.as_dict())
                session.commit()
            result = checklist(engine, source=args.source, quarter=args.quarter, timezone=tz)
    except (ReportError, ValueError) as exc:
        raise CliError(str(exc)) from None
    data = result.as_dict()
    if args.format == "table":
        emit(data["items"], "table")
        print(f"\n{data['open_items']} item(s) to check; {len(data['sign_offs'])} sign-off(s) stored")
        return 0
    emit(data, args.format)
    return 0
