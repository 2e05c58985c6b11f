"""`report slo`: SLI, error budget, time to exhaustion and burn-rate alerts per SLO (REFERENCE §2)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from analytics.cli.common import CliError, parse_timestamp

NAME = "slo"
HELP = "SLO status: SLI, error budget, time to exhaustion and burn-rate alerts"



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--at TIMESTAMP and --service (repeatable)."""
    parser.add_argument("--at", type=parse_timestamp, metavar="TIMESTAMP",
                        help="evaluate at this instant (exclusive window end; naive = UTC; "
                             "default: the end of the newest sample)")
    parser.add_argument("--service", action="append", default=[], metavar="S",
                        help="only SLOs of this service (repeatable)")


def compute(engine: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per SLO {slo, service, target, window, sli, budget_consumed, budget_remaining,
    exhaustion_hours, alerts: [{name, long_window, short_window, factor, long_burn,
    short_burn, firing}], warnings, at} (``analytics.reports.slo.SloStatus.rows``)."""
    from analytics.reports import ReportError
    from analytics.reports.slo import slo_report
    from analytics.store.queries import Filters

    try:
        return slo_report(engine, filters=Filters(services=tuple(args.service)), at=args.at).rows()
    except ReportError as exc:
        raise CliError(str(exc)) from None
