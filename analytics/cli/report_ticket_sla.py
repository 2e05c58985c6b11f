"""`report ticket-sla`: business-hours resolution timers per ticket priority (REFERENCE §3).

Calendar and targets are the defaults in ``analytics/reports/ticket_sla.toml``.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from, parse_timestamp

NAME = "ticket-sla"
HELP = ("ticket SLA: resolution met or breached per priority under the default business-hours "
        "calendar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--from/--to (tickets opened in those days), --service/--team (repeatable), --at."""
    add_filter_arguments(parser, environment=False)
    parser.add_argument("--at", type=parse_timestamp, metavar="TIMESTAMP",
                        help="evaluate open tickets at this instant (naive = UTC; default: the "
                             "newest ticket opening or closing)")


def compute(engine: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per priority {priority, tickets, resolved, resolution_met, resolution_breached, met_pct,
    open, open_overdue, response_target_hours, resolution_target_hours}
    (``analytics.reports.ticket_sla.TicketSla.records``)."""
    from analytics.reports import ReportError
    from analytics.reports.ticket_sla import ticket_sla

    try:
        return ticket_sla(engine, filters=filters_from(args), at=args.at).records()
    except ReportError as exc:
        raise CliError(str(exc)) from None
