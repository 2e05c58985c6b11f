"""`report sla --month YYYY-MM`: uptime, breaches and service credits per contract and service
(REFERENCE §3). Contract months are calendar months in each contract's time zone."""

from __future__ import annotations

import argparse
import re
from typing import Any

from analytics.cli.common import CliError

NAME = "sla"
HELP = "SLA compliance for a month: uptime, exclusions, breaches and service credits"


def parse_month(value: str) -> tuple[int, int]:
    """argparse type for YYYY-MM."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"invalid month {value!r}, expected YYYY-MM")
    return int(m.group(1)), int(m.group(2))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--month (required), --contract and --service (repeatable), --totals."""
    parser.add_argument("--month", type=parse_month, required=True, metavar="YYYY-MM",
                        help="contract month (a calendar month in each contract's zone)")
    parser.add_argument("--contract", action="append", default=[], metavar="NAME",
                        help="only this contract (repeatable)")
    parser.add_argument("--service", action="append", default=[], metavar="S",
                        help="only this service (repeatable)")
    parser.add_argument("--totals", action="store_true",
                        help="print the month's totals per currency (contracts, service-months, "
                             "breaches, credits owed) instead of one row per contract and service")


def compute(engine: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per contract and service {contract, service, period_minutes, excluded_minutes,
    downtime_minutes, uptime_pct, target_pct, breached, credit_pct, credit_amount} plus
    currency, customer, tier, escalation, exclusion_mode, period_start, period_end (UTC);
    with ``--totals`` per currency {currency, contracts, service_months, breaches,
    credit_amount} (``analytics.reports.sla.SlaReport``)."""
    from analytics.reports import ReportError
    from analytics.reports.sla import sla_compliance
    from analytics.store.queries import Filters

    year, month = args.month
    try:
        report = sla_compliance(engine, year=year, month=month, contract_names=args.contract,
                                filters=Filters(services=tuple(args.service)))
    except ReportError as exc:
        raise CliError(str(exc)) from None
    if getattr(args, "totals", False):
        return report.totals.to_dicts()
    return report.records()
