"""`report scorecard`: release health scorecard rows per service and per team (issue 4)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from analytics.cli.common import filters_from
from analytics.cli.report_delivery import (
    add_period_arguments,
    environments_of,
    read_inputs,
    window_of,
)
from analytics.metrics.delivery_report import build_facts
from analytics.metrics.scorecard import scorecard_rows
from analytics.metrics.trends import TREND_BUCKETS
from analytics.store import queries

NAME = "scorecard"
HELP = "release health scorecard: KPIs, customer impact, bands and escalations"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The delivery report's options plus --every (escalation periods)."""
    add_period_arguments(parser)
    parser.add_argument("--every", choices=tuple(TREND_BUCKETS), default="month",
                        help="period length for the three-periods escalation rule "
                             "(default month)")


def compute(engine: Engine, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Service rows, then team rows (per team and criticality)."""
    filters = filters_from(args, engine)
    window = window_of(args)
    deployments, changes, incidents = read_inputs(engine, filters, window)
    pad = timedelta(hours=window)
    facts = build_facts(deployments, changes, incidents, start=filters.start, end=filters.end,
                        window_hours=window, environments=environments_of(filters))
    return scorecard_rows(facts, queries.tickets(engine, filters, pad_after=pad),
                          queries.csat(engine, filters, pad_after=pad),
                          band_year=args.band_year, every=args.every)
