"""`report uci-sla-timers PATH`: business-hours resolution timers on the UCI incident event log
compared with the log's own ``made_sla`` flag (``analytics.studies.uci_sla_timers``)."""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError

NAME = "uci-sla-timers"
HELP = "UCI incident log: business-hours resolution timers against the log's made_sla"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PATH of the event log CSV."""
    parser.add_argument("path", metavar="PATH",
                        help="the UCI incident event log CSV (incident_event_log.csv)")


def compute(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    """{incidents, dropped, timed, incidents_with_waits, calendar, targets_hours, n, confusion,
    agreement, kappa, timer_breach_share, log_breach_share, by_priority} (the study's dict)."""
    from analytics.studies.uci_sla_timers import study

    try:
        return study(args.path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
