"""`report threshold-replay`: replay an alert rule over a service's history and score it against
its incidents as whole intervals (REFERENCE §4; semantics in ``analytics.studies.thresholds``)."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.cli.common import CliError, parse_day
from analytics.store.queries import Filters, incidents, services, sli_samples, slos, tickets
from analytics.studies import thresholds as th

NAME = "threshold-replay"
HELP = "replay an alert rule (threshold, window, for, cooldown) and score it against incidents"
METRICS = ("error_rate", "burn_rate", "ticket_rate")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> timedelta:
    """argparse type: ``30s``, ``15m``, ``1h``, ``2d`` (``0`` allowed).

    >>> parse_duration("15m")
    datetime.timedelta(seconds=900)
    """
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", value.strip()) if value.strip() != "0" else None
    if value.strip() == "0":
        return timedelta(0)
    if m is None:
        raise argparse.ArgumentTypeError(f"invalid duration {value!r}, expected e.g. 5m, 1h, 2d")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


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
    parser.add_argument("--incidents", choices=("all", "outage", "customer_facing"), default="all",
                        help="which production incidents count as real problems (default all)")
    parser.add_argument("--from", dest="start", type=parse_day, metavar="DATE")
    parser.add_argument("--to", dest="end", type=parse_day, metavar="DATE")


def compute(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """{alerts, alert_intervals, precision, recall, detection_delay_minutes {median, p90},
    alerts_per_week, off_hours_alerts, missed_incidents, false_alerts}."""
    if args.service not in set(services(engine)["service"].to_list()):
        raise CliError(f"unknown service {args.service} (--service)")
    if args.start and args.end and args.start > args.end:
        raise CliError(f"--from {args.start} is after --to {args.end}")
    filters = Filters(start=args.start, end=args.end, services=(args.service,))
    try:
        series = _series(engine, args, filters)
        inc = incidents(engine, Filters(services=(args.service,), environment="production"))
        if args.incidents != "all":
            inc = inc.filter(pl.col(args.incidents))
        rule = th.Rule(args.threshold, args.window, args.for_, args.cooldown)
        result = th.replay(series, rule, inc)
    except ValueError as exc:
        raise CliError(f"{exc} (--service {args.service}, --metric {args.metric})") from None
    alerts = [{**a, "true_alert": bool(t)} for a, t in
              zip(result["alert_intervals"], result["true_alert"], strict=True)]
    scored = result["incidents_scored"]
    missed = [{"id": r["id"], "severity": r["severity"], "title": r["title"], "opened_at": r["opened_at"],
               "resolved_at": r["resolved_at"]}
              for r, caught in zip(scored.rows(named=True), result["caught"], strict=True) if not caught]
    return {"metric": args.metric, "service": args.service, "threshold": args.threshold,
            "window_minutes": args.window / timedelta(minutes=1),
            "for_minutes": args.for_ / timedelta(minutes=1),
            "cooldown_minutes": args.cooldown / timedelta(minutes=1),
            "alerts": result["alerts"], "incidents": result["incidents"],
            "alert_intervals": alerts, "precision": result["precision"], "recall": result["recall"],
            "detection_delay_minutes": {"median": result["median_delay"], "p90": result["p90_delay"]},
            "alerts_per_week": result["alerts_per_week"], "off_hours_alerts": result["off_hours_alerts"],
            "missed_incidents": missed, "false_alerts": [a for a in alerts if not a["true_alert"]]}


def _series(engine: Engine, args: argparse.Namespace, filters: Filters) -> th.Series:
    if args.metric == "ticket_rate":
        t = tickets(engine, filters)
        if t.height == 0:
            raise ValueError("no tickets in the period")
        lo, hi = filters.bounds()
        lo = lo or t["opened_at"].min().replace(minute=0, second=0, microsecond=0)
        hi = hi or t["opened_at"].max().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return th.ticket_rate_series(t, lo, hi)
    samples = sli_samples(engine, filters)
    if samples.height == 0:
        raise ValueError("no SLI samples in the period")
    if args.metric == "burn_rate":
        return th.burn_rate_series(samples, slos(engine))
    return th.error_rate_series(samples)
