"""`report csat`: CSAT and NPS with intervals, the weekly series and its p-chart signals (issue 8),
or with ``--by`` one row per service, segment, tier or team.

Formatting only: the numbers come from :mod:`analytics.reports.csat` (imported when the report
runs, so ``report --help`` stays fast).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from

NAME = "csat"
HELP = "CSAT and NPS with intervals, the weekly series and out-of-control weeks"
if TYPE_CHECKING:
    from sqlalchemy import Engine

# Kept beside analytics.metrics.csat.GROUP_COLUMNS (a test checks they agree): importing it here
# would load polars and scipy for every `--help`.
BY_CHOICES = ("service", "segment", "tier", "team")
WEEK_FIELDS = ("period", "n", "csat", "csat_low", "csat_high", "nps_n", "nps", "nps_low", "nps_high",
               "gap", "center", "lcl", "ucl", "signal")
GROUP_FIELDS = ("n", "satisfied", "csat", "csat_low", "csat_high", "nps_n", "promoters", "detractors",
                "nps", "nps_low", "nps_high")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--from/--to/--service/--team (responses have no environment), --by."""
    add_filter_arguments(parser, environment=False)
    parser.add_argument("--by", choices=BY_CHOICES, metavar="GROUP",
                        help=f"one row per group over the whole period ({', '.join(BY_CHOICES)})")


def compute(engine: Engine, args: argparse.Namespace) -> dict[str, Any] | list[dict[str, Any]]:
    """{"csat", "nps", "n", …, "weekly": [...], "out_of_control": [...]}; with --by a list of
    rows {GROUP, "n", "satisfied", "csat", …}."""
    from analytics.reports import ReportError
    from analytics.reports import csat as report

    filters = filters_from(args, engine)
    try:
        if getattr(args, "by", None):
            groups = report.csat_by(engine, filters=filters, by=args.by)
            return groups.select(args.by, *GROUP_FIELDS).to_dicts()
        result = report.csat_report(engine, filters=filters)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    total, weekly = result.total, result.weekly
    rows = weekly.select(WEEK_FIELDS).to_dicts()
    return {
        "definition": report.DEFINITION,
        "timezone": filters.timezone,
        "n": total["n"], "csat": total["csat"], "csat_low": total["csat_low"], "csat_high": total["csat_high"],
        "nps_n": total["nps_n"], "nps": total["nps"], "nps_low": total["nps_low"], "nps_high": total["nps_high"],
        "chart": result.chart,
        "gap_weeks": int(weekly["gap"].sum()),
        "weekly": rows,
        "out_of_control": [{k: r[k] for k in ("period", "n", "csat", "center", "lcl", "ucl", "signal")}
                           for r in rows if r["signal"] is not None],
    }
