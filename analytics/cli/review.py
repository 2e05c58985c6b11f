"""`review`: the monthly service review pack as one self-contained HTML file (issue 19)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from analytics.cli.common import CliError, add_format_argument, emit, engine_from

HELP = "monthly service review pack (trends, breaches, credits, vendors, CSAT) as HTML"


def _month(value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"month must be YYYY-MM, got {value!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `review` command."""
    p = sub.add_parser("review", help=HELP,
                       description="Write the monthly service review pack: SLA and SLO trends over "
                                   "the last 12 months first, then the month's breaches with their "
                                   "incidents, credits, vendor performance, CSAT beside SLA "
                                   "performance, the improvement register, finance differences, "
                                   "coverage gaps and the reviews due. Prints a summary.")
    p.add_argument("--month", type=_month, metavar="YYYY-MM",
                   help="the month reviewed (default: the last whole month)")
    p.add_argument("--out", metavar="FILE", required=True, help="HTML file to write")
    add_format_argument(p, ("table", "json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the pack, write the HTML, print what is in it."""
    from analytics.contracts.review_html import SECTIONS, render
    from analytics.reports import ReportError
    from analytics.reports.review import default_month, review_pack

    engine = engine_from(args)
    month = args.month or default_month()
    try:
        pack = review_pack(engine, month=month)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    try:
        Path(args.out).write_text(render(pack), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    c = pack.csat_corr
    emit({"month": month, "out": args.out, "sections": [t for _, t in SECTIONS],
          "contracts": pack.sla_stats.height, "breaches": pack.breaches.height,
          "credits": {r["currency"]: r["credit_amount"] for r in
                      pack.credits.filter(pack.credits["month"] == month).iter_rows(named=True)},
          "vendor_disputes": int(pack.vendors["disputed"].sum()) if pack.vendors.height else 0,
          "csat_uptime_r": c.r, "csat_uptime_r_95": [c.lo, c.hi], "csat_pairs": c.n,
          "gaps": pack.gaps.height, "reviews_due": pack.due.height}, args.format)
    return 0
