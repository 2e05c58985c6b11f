"""`report resolution-sla`: incidents resolved within their priority's target (opened → resolved).

Argparse and formatting only: the numbers come from :mod:`analytics.reports.resolution_sla`,
imported when the report runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from

NAME = "resolution-sla"
HELP = "incident resolution SLA by priority: opened → resolved against a target per priority"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--targets, --clock, --category, --status and the filters."""
    add_filter_arguments(parser)
    parser.add_argument("--targets", required=True, metavar="P1=4h,…",
                        help="resolution target per priority, hours (h) or days (d), e.g. "
                             "P1=4h,P2=8h,P3=24h,P4=48h,P5=96h")
    parser.add_argument("--clock", choices=("wall", "business"), default="wall",
                        help="wall (every hour, default) or business (Monday–Friday 09:00–17:00 "
                             "in $WORKBENCH_TIMEZONE, no holidays)")
    parser.add_argument("--category", metavar="C",
                        help="only incidents of this source category (e.g. incident)")
    parser.add_argument("--status", metavar="S", help="only incidents with this source status "
                                                       "(e.g. Closed)")


def compute(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The resolution SLA report as a dict (``by_priority`` a list of rows)."""
    from analytics.reports import ReportError
    from analytics.reports.resolution_sla import parse_targets, resolution_sla

    filters = filters_from(args, engine)
    try:
        return resolution_sla(engine, filters, parse_targets(args.targets), clock=args.clock,
                              category=args.category, status=args.status)
    except ReportError as exc:
        raise CliError(str(exc)) from None
