"""`report scorecard`: release health scorecard rows per service and per team (issue 4).

Argparse and output only: rows come from :func:`analytics.reports.scorecard.scorecard_rows`.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, filters_from
from analytics.cli.report_delivery import add_period_arguments, band_year_of

NAME = "scorecard"
HELP = "release health scorecard: KPIs, customer impact, bands and escalations"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The delivery report's options plus --every (escalation periods)."""
    add_period_arguments(parser)
    parser.add_argument("--every", choices=("week", "month"), default="month",
                        help="period length for the three-periods escalation rule "
                             "(default month)")


def compute(engine: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Service rows, then team rows (per team and criticality)."""
    from analytics.reports import ReportError
    from analytics.reports.scorecard import scorecard_rows

    filters = filters_from(args, engine)
    try:
        return scorecard_rows(engine, filters, window_hours=args.window_hours,
                              band_year=band_year_of(args), every=args.every)
    except ReportError as exc:
        raise CliError(str(exc)) from exc
