"""`report sla --month YYYY-MM`: uptime, breaches and service credits per contract and service
(REFERENCE §3). Contract months are calendar months in each contract's time zone."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.cli.common import CliError
from analytics.metrics.sla import Contract, sla_report
from analytics.store import queries
from analytics.store.queries import Filters

NAME = "sla"
HELP = "SLA compliance for a month: uptime, exclusions, breaches and service credits"
# Zones are at most 14 h from UTC: a UTC day on each side covers every contract's month.
ZONE_PAD = timedelta(days=1)
# An outage incident opened this long before the month may still run into it.
INCIDENT_LOOKBACK = timedelta(days=92)


def parse_month(value: str) -> tuple[int, int]:
    """argparse type for YYYY-MM."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"invalid month {value!r}, expected YYYY-MM")
    return int(m.group(1)), int(m.group(2))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--month (required), --contract and --service (repeatable)."""
    parser.add_argument("--month", type=parse_month, required=True, metavar="YYYY-MM",
                        help="contract month (a calendar month in each contract's zone)")
    parser.add_argument("--contract", action="append", default=[], metavar="NAME",
                        help="only this contract (repeatable)")
    parser.add_argument("--service", action="append", default=[], metavar="S",
                        help="only this service (repeatable)")


def _contracts(engine: Engine) -> list[Contract]:
    return [Contract.from_record(r) for r in queries.sla_contracts(engine).iter_rows(named=True)]


def compute(engine: Engine, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per contract and service {contract, service, period_minutes, excluded_minutes,
    downtime_minutes, uptime_pct, target_pct, breached, credit_pct, credit_amount} plus
    customer, tier, currency, escalation, exclusion_mode, period_start, period_end (UTC)."""
    year, month = args.month
    contracts = _contracts(engine)
    for flag, wanted, known in (("--contract", args.contract, {c.name for c in contracts}),
                                ("--service", args.service,
                                 {s for c in contracts for s in c.services})):
        missing = sorted(set(wanted) - known)
        if missing:
            raise CliError(f"unknown {flag[2:]} {', '.join(missing)} ({flag}): no contract names it")
    if args.contract:
        contracts = [c for c in contracts if c.name in args.contract]
    lo = datetime(year, month, 1) - ZONE_PAD
    hi = datetime(year + month // 12, month % 12 + 1, 1) + ZONE_PAD
    outages = queries.outages(engine, Filters(start=lo.date(), end=(hi - timedelta(days=1)).date()))
    windows = queries.maintenance_windows(engine)
    flagged = queries.incidents(engine, Filters(start=lo.date(), end=(hi - timedelta(days=1)).date(),
                                        environment="production"),
                        pad_before=INCIDENT_LOOKBACK)
    flagged = flagged.filter(pl.col("outage") & (pl.col("resolved_at").is_null()
                                                 | (pl.col("resolved_at") > lo)))
    try:
        report = sla_report(contracts, outages, windows, year, month, incidents=flagged)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.service:
        report = report.filter(pl.col("service").is_in(args.service))
    return [{k: r[k] for k in ("contract", "service", "period_minutes", "excluded_minutes",
                                "downtime_minutes", "uptime_pct", "target_pct", "breached",
                                "credit_pct", "credit_amount", "currency", "customer", "tier",
                                "escalation", "exclusion_mode", "period_start", "period_end")}
            for r in report.rows(named=True)]
