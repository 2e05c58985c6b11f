"""`report release-impact`: ticket and incident rate ratios after production releases (REFERENCE §4).

Argparse and formatting only: the numbers come from :mod:`analytics.reports.release_impact`
(imported when the report runs, so ``--help`` stays fast), printed without its frames.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from, positive_hours
from analytics.settings import DEFAULT_WINDOW_HOURS

NAME = "release-impact"
HELP = "do releases raise ticket and incident rates? rate ratios, by outcome, worst releases"



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters, --window-hours (default $WORKBENCH_WINDOW_HOURS) and --top (ranking rows)."""
    add_filter_arguments(parser)
    parser.add_argument("--window-hours", type=positive_hours, default=None, metavar="H",
                        help=f"post-release window, hours (default $WORKBENCH_WINDOW_HOURS or {DEFAULT_WINDOW_HOURS:g})")
    parser.add_argument("--top", type=int, default=20, metavar="N",
                        help="releases listed, largest excess first (default 20)")


def compute(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The release-impact report for the filtered period."""
    from analytics.reports import ReportError
    from analytics.reports.release_impact import release_impact

    if args.top < 0:
        raise CliError(f"--top must be 0 or more, got {args.top}")
    filters = filters_from(args, engine)
    try:
        out = release_impact(engine, filters=filters, window_hours=args.window_hours, top=args.top)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    out.pop("per_release")
    out.pop("event_study")
    return out
