"""`report threshold-replay`: replay an alert rule over a service's history and score it against
its incidents as whole intervals (REFERENCE §4; semantics in ``analytics.studies.thresholds``).

Argparse and formatting only: the numbers come from
:func:`analytics.reports.thresholds.threshold_replay`, imported when the report runs.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import Any

from analytics.cli.common import CliError, parse_day, state_default_period

NAME = "threshold-replay"
HELP = "replay an alert rule (threshold, window, for, cooldown) and score it against incidents"
# Mirrors analytics.reports.thresholds.METRICS / INCIDENT_SCOPES (a test keeps them equal).
METRICS = ("error_rate", "burn_rate", "ticket_rate")
INCIDENT_SCOPES = ("all", "outage", "customer_facing")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> timedelta:
    """argparse type: ``30s``, ``15m``, ``1h``, ``2d`` (``0`` allowed).

    >>> parse_duration("15m")
    datetime.timedelta(seconds=900)
    """
    if value.strip() == "0":
        return timedelta(0)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", value.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"invalid duration {value!r}, expected e.g. 5m, 1h, 2d")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def add_period_arguments(parser: argparse.ArgumentParser) -> None:
    """--from/--to: the part of the history to replay (default: the default period)."""
    state_default_period(parser)
    parser.add_argument("--from", dest="start", type=parse_day, metavar="DATE",
                        help="first day to replay, inclusive (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", type=parse_day, metavar="DATE",
                        help="last day to replay, inclusive (YYYY-MM-DD)")


def check_period(args: argparse.Namespace) -> None:
    """--from after --to is a user error."""
    if args.start and args.end and args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The rule, the service, the incidents to score against and an optional period."""
    parser.add_argument("--metric", choices=METRICS, default="error_rate")
    parser.add_argument("--service", required=True, metavar="S")
    parser.add_argument("--threshold", type=float, required=True, metavar="X",
                        help="fire when the windowed value is above X (error rate as a ratio, "
                             "burn rate as a multiple, tickets per hour)")
    parser.add_argument("--window", type=parse_duration, default=timedelta(minutes=5), metavar="D")
    parser.add_argument("--for", dest="for_", type=parse_duration, default=timedelta(0), metavar="D",
                        help="the condition must hold continuously this long before firing")
    parser.add_argument("--cooldown", type=parse_duration, default=timedelta(0), metavar="D",
                        help="no new alert may start within this long after one ends")
    parser.add_argument("--incidents", choices=INCIDENT_SCOPES, default="all",
                        help="which production incidents count as real problems (default all)")
    add_period_arguments(parser)


def compute(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    """{alerts, alert_intervals, precision, recall, detection_delay_minutes {median, p90},
    alerts_per_week, off_hours_alerts, missed_incidents, false_alerts}."""
    from analytics.reports import ReportError
    from analytics.reports.thresholds import threshold_replay
    from analytics.studies.thresholds import Rule

    check_period(args)
    try:
        return threshold_replay(engine, service=args.service, metric=args.metric,
                                rule=Rule(args.threshold, args.window, args.for_, args.cooldown),
                                incidents=args.incidents, start=args.start, end=args.end)
    except ReportError as exc:
        raise CliError(str(exc)) from None
