"""`contracts`: the agreement hierarchy and its vendors (issue 19) — tree, coverage gaps,
effective targets, review calendar, vendor scorecard, SLA history with trend and at-risk
projection, finance reconciliation; `attribute` stores outage → vendor links and
`decommission` retires an agreement and its monitoring rules (both audited)."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime

from analytics.cli.common import CliError, add_format_argument, emit, engine_from, parse_day

HELP = "agreements and vendors: tree, gaps, targets, reviews due, vendor scorecards, finance"
VIEWS = ("tree", "gaps", "targets", "due", "scorecard", "history", "at-risk", "finance",
         "attribute", "decommission")


def _month(value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"month must be YYYY-MM, got {value!r}")
    return value


def _count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if not 1 <= n <= 120:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 120, got {value!r}")
    return n


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `contracts` command."""
    p = sub.add_parser("contracts", help=HELP,
                       description="VIEW is one of: " + ", ".join(VIEWS) + ". Import agreements "
                                   "first: `import contracts FILE` (vendor reports: `import "
                                   "vendor-data`, billed credits: `import billed-credits`).")
    p.add_argument("view", metavar="VIEW", choices=VIEWS, help=", ".join(VIEWS))
    p.add_argument("name", metavar="NAME", nargs="?", help="the agreement to decommission")
    p.add_argument("--month", type=_month, metavar="YYYY-MM",
                   help="month (default: the last whole month; at-risk: the current month)")
    p.add_argument("--months", type=_count, default=1, metavar="N",
                   help="months ending --month (scorecard, history, finance; default 1, history 12)")
    p.add_argument("--days", type=_count, default=30, metavar="N", help="due: look-ahead days (30)")
    p.add_argument("--today", type=parse_day, metavar="YYYY-MM-DD",
                   help="due/targets/decommission: the day to use (default today, UTC)")
    p.add_argument("--tolerance", type=float, default=0.05, metavar="PP",
                   help="scorecard: dispute when vendor and measured uptime differ by more (0.05)")
    p.add_argument("--sli", choices=("availability", "outages", "response", "resolution"),
                   default="availability",
                   help="history: which agreements — availability (trend per SLA contract, the "
                        "default) or the agreements on outages / ticket response / resolution "
                        "(one row per agreement, service and month)")
    add_format_argument(p, ("table", "json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the view asked for."""
    import polars as pl

    from analytics.contracts.store import decommission
    from analytics.reports import ReportError
    from analytics.reports import contracts as rc
    from analytics.reports import vendors as rv
    from analytics.reports.review import default_month
    from analytics.settings import get_settings

    engine = engine_from(args)
    today = args.today or datetime.now(UTC).date()
    month = args.month or (f"{today:%Y-%m}" if args.view == "at-risk" else default_month(today))
    try:
        if args.view == "decommission":
            from sqlmodel import Session

            if not args.name:
                raise CliError("decommission needs the agreement's NAME")
            with Session(engine) as s, s.begin():
                try:
                    n = decommission(session=s, name=args.name, actor=get_settings().user, on=today)
                except KeyError:
                    raise CliError(f"unknown agreement {args.name!r}") from None
            emit({"agreement": args.name, "status": "decommissioned", "end_on": today,
                  "rules_retired": n}, args.format)
            return 0
        months = rc.months_back(month, args.months)
        if args.view == "tree":
            frame = rc.tree_frame(rc.agreements(engine))
        elif args.view == "gaps":
            frame = rc.gaps_frame(rc.agreements(engine))
        elif args.view == "targets":
            frame = rc.effective_targets(rc.agreements(engine), today, rc.contract_services(engine))
        elif args.view == "due":
            frame = rc.review_calendar(engine, today=today, days=args.days)
        elif args.view == "scorecard":
            frame, _ = rv.vendor_scorecard(engine, month=month, months=args.months,
                                           tolerance_pp=args.tolerance)
        elif args.view == "history" and args.sli != "availability":
            frame = rc.sli_history(engine, month=month, months=args.months
                                   if args.months > 1 else rc.HISTORY_MONTHS)
            frame = frame.filter(pl.col("sli") == args.sli).with_columns(
                pl.col("measured", "outage_minutes").round(3))
        elif args.view == "history":
            from analytics.contracts.lifecycle import trend

            frame = trend(rc.sla_history(engine, month=month, months=max(args.months, 2)
                                         if args.months > 1 else rc.HISTORY_MONTHS))
        elif args.view == "at-risk":
            frame = rc.at_risk(rc.sla_history(engine, month=month, months=1), month=month,
                               now=datetime.now(UTC))
        elif args.view == "finance":
            frame = rc.finance_reconciliation(engine, months=months)
        else:
            n = rv.store_vendor_links(engine, months=months, actor=get_settings().user)
            emit({"months": months, "new_links": n}, args.format)
            return 0
    except ReportError as exc:
        raise CliError(str(exc)) from None
    emit(frame.to_dicts(), args.format)
    return 0
