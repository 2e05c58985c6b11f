"""`report slo`: SLI, error budget, time to exhaustion and burn-rate alerts per SLO (REFERENCE §2)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.cli.common import CliError
from analytics.metrics.slo import CURRENT_BURN_WINDOW, Window, slo_status
from analytics.metrics.slo_alerts import DEFAULT_ALERTS, alert_status, alert_warnings, span
from analytics.store.queries import Filters, newest_sample_ts, sli_samples, slos

NAME = "slo"
HELP = "SLO status: SLI, error budget, time to exhaustion and burn-rate alerts"


def parse_timestamp(value: str) -> datetime:
    """argparse type: ISO 8601; a naive value is UTC, an offset is converted to UTC."""
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid timestamp {value!r}, expected ISO 8601 (e.g. 2026-03-01T12:00)") from None
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--at TIMESTAMP and --service (repeatable)."""
    parser.add_argument("--at", type=parse_timestamp, metavar="TIMESTAMP",
                        help="evaluate at this instant (exclusive window end; naive = UTC; "
                             "default: the end of the newest sample)")
    parser.add_argument("--service", action="append", default=[], metavar="S",
                        help="only SLOs of this service (repeatable)")


def compute(engine: Engine, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per SLO {slo, service, target, window, sli, budget_consumed, budget_remaining,
    exhaustion_hours, alerts: [{name, long_window, short_window, factor, long_burn,
    short_burn, firing}], warnings, at}; windows as durations like "1h", "5m"."""
    defs = slos(engine)
    unknown = sorted(set(args.service) - set(defs["service"].drop_nulls().to_list()))
    if unknown:
        raise CliError(f"unknown service {', '.join(unknown)} (--service): no SLO names it")
    if args.service:
        defs = defs.filter(pl.col("service").is_in(args.service))
    at = args.at or newest_sample_ts(engine)
    if defs.height == 0 or at is None:
        return []
    try:
        longest = max(DEFAULT_ALERTS[-1].long_window, CURRENT_BURN_WINDOW)
        starts = [min(Window.of(r).bounds(at)[0], at - longest) for r in defs.iter_rows(named=True)]
        filters = Filters(start=min(starts).date(), end=at.date())
        samples = sli_samples(engine, filters, slo_ids=defs["slo_id"].to_list())
        status = slo_status(samples, defs, at)
        alerts = alert_status(samples, defs, at)
        warnings = alert_warnings(defs, at, samples)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    out = []
    for row in status.rows(named=True):
        mine = alerts.filter(pl.col("slo_id") == row["slo_id"])
        out.append({
            "slo": row["slo"], "service": row["service"], "target": row["target"],
            "window": row["window"], "sli": row["sli"], "budget_consumed": row["budget_consumed"],
            "budget_remaining": row["budget_remaining"], "exhaustion_hours": row["exhaustion_hours"],
            "alerts": [{"name": a["name"],
                        "long_window": span(timedelta(minutes=a["long_window"])),
                        "short_window": span(timedelta(minutes=a["short_window"])),
                        "factor": a["factor"], "long_burn": a["long_burn"],
                        "short_burn": a["short_burn"], "firing": a["firing"]}
                       for a in mine.rows(named=True)],
            "warnings": [f"{w['alert']}: {w['warning']}" for w in
                         warnings.filter(pl.col("slo") == row["slo"]).rows(named=True)],
            "at": at})
    return out
