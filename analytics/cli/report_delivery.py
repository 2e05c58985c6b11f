"""`report delivery`: DORA delivery and stability KPIs for a period (REFERENCE §1).

Reads the store with the margins the definitions need (deployments from one observation window
before the period, for attribution, to RECOVERY_HORIZON after it, for the next successful
deployment; incidents from RECURRENCE_DAYS before to one window after) and prints
:func:`analytics.metrics.delivery_report.delivery_report`.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.cli.common import add_filter_arguments, filters_from
from analytics.metrics.bands import DEFAULT_YEAR, years
from analytics.metrics.delivery_report import delivery_report
from analytics.metrics.stability import RECURRENCE_DAYS
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.queries import Filters

NAME = "delivery"
HELP = "DORA delivery and stability KPIs with attribution counts and bands"
# How far past the period to look for the deployment that ends a recovery: six months, the
# slowest DORA recovery band (REFERENCE §1.2).
RECOVERY_HORIZON = timedelta(days=183)


def positive_hours(value: str) -> float:
    """argparse type for --window-hours."""
    try:
        hours = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid hours {value!r}, expected a number") from None
    if not hours > 0:
        raise argparse.ArgumentTypeError(f"--window-hours must be positive, got {value}")
    return hours


def add_period_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters plus --window-hours and --band-year (shared with `report scorecard`)."""
    add_filter_arguments(parser)
    parser.add_argument("--window-hours", type=positive_hours, metavar="H",
                        help="observation window for attribution, hours "
                             "(default $WORKBENCH_WINDOW_HOURS or 48)")
    parser.add_argument("--band-year", type=int, choices=years(), default=DEFAULT_YEAR,
                        help=f"DORA report year of the bands (default {DEFAULT_YEAR})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--from/--to/--service/--team/--env, --window-hours, --band-year."""
    add_period_arguments(parser)


def window_of(args: argparse.Namespace) -> float:
    """--window-hours, else the configured observation window."""
    return args.window_hours if args.window_hours is not None else get_settings().window_hours


def read_inputs(engine: Engine, filters: Filters, window_hours: float,
                ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Deployments, changes and incidents with the margins the definitions need."""
    window = timedelta(hours=window_hours)
    deployments = queries.deployments(engine, filters, pad_before=window,
                                      pad_after=RECOVERY_HORIZON)
    changes = queries.changes(engine, filters)
    incidents = queries.incidents(engine, filters, pad_before=timedelta(days=RECURRENCE_DAYS),
                                  pad_after=window)
    return deployments, changes, incidents


def environments_of(filters: Filters) -> tuple[str, ...] | None:
    """The environment filter as the metrics' scope (None = every environment)."""
    return (filters.environment,) if filters.environment else None


def compute(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """The delivery report; period dates are the inclusive days asked for (or the data's)."""
    filters = filters_from(args, engine)
    window = window_of(args)
    deployments, changes, incidents = read_inputs(engine, filters, window)
    report = delivery_report(deployments, changes, incidents, start=filters.start,
                             end=filters.end, window_hours=window,
                             environments=environments_of(filters), band_year=args.band_year)
    report["period"].update(services=list(filters.services), teams=list(filters.teams))
    return report
