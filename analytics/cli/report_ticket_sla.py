"""`report ticket-sla`: business-hours response and resolution timers per ticket priority
(REFERENCE §3).

Calendar and targets are the defaults in ``analytics/reports/ticket_sla.toml``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from, parse_timestamp

NAME = "ticket-sla"
HELP = ("ticket SLA: first response and resolution met or breached per priority under the "
        "default business-hours calendar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--from/--to (tickets opened in those days), --service/--team (repeatable), --at."""
    add_filter_arguments(parser, environment=False)
    parser.add_argument("--at", type=parse_timestamp, metavar="TIMESTAMP",
                        help="evaluate open tickets at this instant (naive = UTC; default: the "
                             "newest ticket opening or closing)")
    parser.add_argument("--holidays", type=Path, metavar="FILE.ics",
                        help="an ICS calendar whose (all-day, recurring) events are holidays, "
                             "added to the default calendar's")
    parser.add_argument("--by", choices=("priority", "month"), default="priority",
                        help="one row per priority (default) or per month of opening and priority")


def compute(engine: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per priority {priority, tickets, resolved, resolution_met, resolution_breached, met_pct,
    open, open_overdue, responded, response_met, response_breached, response_met_pct,
    response_median_hours, response_target_hours, resolution_target_hours}
    (``analytics.reports.ticket_sla.TicketSla.records``); with ``--by month`` the rows of
    ``TicketSla.monthly`` (``MONTHLY_SCHEMA``)."""
    from analytics.metrics.business_hours import holidays_from_ics
    from analytics.reports import ReportError
    from analytics.reports.ticket_sla import default_policy, ticket_sla
    from analytics.reports.ticket_sla_summary import ticket_sla_summary

    filters = filters_from(args)
    holidays: frozenset = frozenset()
    if args.holidays is not None:
        try:
            holidays = holidays_from_ics(args.holidays)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise CliError(f"--holidays {args.holidays}: {exc}") from None
    monthly = getattr(args, "by", "priority") == "month"
    # Per priority needs no row per ticket: the summary path (a third of the CPU at millions).
    run = ticket_sla if monthly else ticket_sla_summary
    try:
        result = run(engine, filters=filters, at=args.at,
                     policy=default_policy(filters.timezone, holidays))
    except ReportError as exc:
        raise CliError(str(exc)) from None
    return result.monthly.to_dicts() if monthly else result.summary.to_dicts()
