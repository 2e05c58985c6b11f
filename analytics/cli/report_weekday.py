"""`report weekday`: the Friday effect — failure by weekday, controlled odds ratio (REFERENCE §4)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from analytics.cli.common import CliError, add_filter_arguments, filters_from
from analytics.metrics.attribution import DEFAULT_WINDOW_HOURS, attribute
from analytics.store import queries
from analytics.studies.weekday import OUTCOMES, weekday_study

NAME = "weekday"
HELP = "do deployments fail more on Fridays? rates by weekday, controlled odds ratio, verdict"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--from/--to/--service/--team/--env and --outcome (what counts as a failure)."""
    add_filter_arguments(parser)
    parser.add_argument("--outcome", choices=tuple(OUTCOMES), default="status",
                        help="failure = status failed/rolled back (default), an attributed "
                             "incident, or either (REFERENCE §1)")


def study(engine: Engine, filters: queries.Filters, outcome: str = "status") -> dict[str, Any]:
    """Read the store for ``filters`` and run the study (frames included); pages use it too."""
    deployments = queries.deployments(engine, filters)
    window = timedelta(hours=DEFAULT_WINDOW_HOURS)
    incidents = queries.incidents(engine, filters, pad_after=window)
    envs = (filters.environment,) if filters.environment else None
    attribution = attribute(incidents, queries.deployments(engine, filters, pad_before=window),
                            environments=envs)
    return weekday_study(deployments, incidents, attribution, environments=envs, outcome=outcome)


def compute(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """The weekday report; frames become lists of rows."""
    filters = filters_from(args, engine)
    try:
        out = study(engine, filters, args.outcome)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    out.pop("se_log_or")
    for key in ("by_weekday", "by_hour_band", "incidents_by_weekday"):
        out[key] = out[key].to_dicts()
    out["period"] = {"from": filters.start, "to": filters.end, "services": list(filters.services),
                     "teams": list(filters.teams), "environment": filters.environment}
    return out
