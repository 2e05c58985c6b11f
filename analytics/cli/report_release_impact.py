"""`report release-impact`: ticket and incident rate ratios after production releases (REFERENCE §4).

Reads releases from one window before the period to one window after it (their windows reach
into the period), tickets and incidents of the period, and prints
:func:`analytics.studies.release_impact.release_impact` without its frames.
"""

from __future__ import annotations

import argparse
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine

from analytics.cli.common import CliError, add_filter_arguments, filters_from
from analytics.cli.report_delivery import positive_hours
from analytics.store import queries
from analytics.studies.release_impact import DEFAULT_WINDOW_HOURS, release_impact

NAME = "release-impact"
HELP = "do releases raise ticket and incident rates? rate ratios, by outcome, worst releases"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters, --window-hours (default 48) and --top (rows of the release ranking)."""
    add_filter_arguments(parser)
    parser.add_argument("--window-hours", type=positive_hours, default=DEFAULT_WINDOW_HOURS,
                        metavar="H", help=f"post-release window, hours (default {DEFAULT_WINDOW_HOURS})")
    parser.add_argument("--top", type=int, default=20, metavar="N",
                        help="releases listed, largest excess first (default 20)")


def period_of(engine: Engine, filters: queries.Filters) -> tuple[datetime, datetime]:
    """The period as half-open datetimes: the filters' days, else the data's extent."""
    lo, hi = queries.data_extent(engine)
    start, end = filters.start or lo, filters.end or hi
    if start is None or end is None:
        raise CliError("the store holds no deployments, incidents or tickets (run `demo` or `import`)")
    return datetime.combine(start, time()), datetime.combine(end, time()) + timedelta(days=1)


def study(engine: Engine, filters: queries.Filters, window_hours: float = DEFAULT_WINDOW_HOURS,
          top: int = 20) -> dict[str, Any]:
    """Read the store for ``filters`` and run the study (frames included); pages use it too."""
    start, end = period_of(engine, filters)
    window = timedelta(hours=window_hours)
    deployments = queries.deployments(engine, filters, pad_before=window, pad_after=window)
    tickets = queries.tickets(engine, filters)
    incidents = queries.incidents(engine, filters)
    envs = (filters.environment,) if filters.environment else None
    return release_impact(deployments, tickets, incidents, window_hours=window_hours,
                          start=start, end=end, environments=envs, top=top)


def compute(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """The release-impact report for the filtered period."""
    if args.top < 0:
        raise CliError(f"--top must be 0 or more, got {args.top}")
    filters = filters_from(args, engine)
    start, end = period_of(engine, filters)
    try:
        out = study(engine, filters, args.window_hours, args.top)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    out.pop("per_release")
    out.pop("event_study")
    out["period"] = {"from": start.date(), "to": (end - timedelta(days=1)).date(),
                     "services": list(filters.services), "teams": list(filters.teams),
                     "environment": filters.environment}
    return out
