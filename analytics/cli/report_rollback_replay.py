"""`report rollback-replay`: replay a rollback trigger — "error rate above X within N minutes of
a deployment" — over a service's production deployments and say which it would have rolled
back, which failures it would have caught or missed, and the customer-impact minutes saved
(semantics in ``analytics.studies.threshold_policies``).

Argparse and formatting only: the numbers come from
:func:`analytics.reports.thresholds.rollback_replay`, imported when the report runs.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from analytics.cli.common import CliError
from analytics.cli.report_threshold_replay import add_period_arguments, check_period, parse_duration

NAME = "rollback-replay"
HELP = "replay a rollback trigger (error rate above X within N of a deployment) over deployments"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The trigger (threshold, within, window), the service and an optional period."""
    parser.add_argument("--service", required=True, metavar="S")
    parser.add_argument("--threshold", type=float, required=True, metavar="X",
                        help="roll back when the error rate (a ratio, e.g. 0.05) is above X")
    parser.add_argument("--within", type=parse_duration, default=timedelta(minutes=15), metavar="D",
                        help="watch this long after each deployment finishes (default 15m)")
    parser.add_argument("--window", type=parse_duration, default=timedelta(minutes=5), metavar="D",
                        help="error rate measured over this window (default 5m, one SLI sample)")
    add_period_arguments(parser)


def compute(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    """{service, threshold, within_minutes, window_minutes, deployments, caught, false rollback,
    missed, quiet, precision, recall, impact_minutes_saved, rows}."""
    from analytics.reports import ReportError
    from analytics.reports.thresholds import rollback_replay

    check_period(args)
    try:
        return rollback_replay(engine, service=args.service, threshold=args.threshold,
                               within=args.within, window=args.window, start=args.start, end=args.end)
    except ReportError as exc:
        raise CliError(str(exc)) from None
