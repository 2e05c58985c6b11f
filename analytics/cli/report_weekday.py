"""`report weekday`: the Friday effect — failure by weekday, controlled odds ratio (REFERENCE §4).

Argparse and formatting only: the numbers come from :mod:`analytics.reports.weekday` (imported
when the report runs, so ``--help`` does not load statsmodels).
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from, positive_hours
from analytics.settings import DEFAULT_WINDOW_HOURS

NAME = "weekday"
HELP = "do deployments fail more on Fridays? rates by weekday, controlled odds ratio, verdict"
# The choices of --outcome; analytics.reports.weekday.OUTCOMES says what each means (a test
# keeps the two equal).
OUTCOME_CHOICES = ("status", "incident", "either")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters, --outcome (what counts as a failure) and --window-hours (attribution window)."""
    add_filter_arguments(parser)
    parser.add_argument("--outcome", choices=OUTCOME_CHOICES, default="status",
                        help="failure = status failed/rolled back (default), an attributed "
                             "incident, or either (REFERENCE §1)")
    parser.add_argument("--window-hours", type=positive_hours, default=None, metavar="H",
                        help="observation window for attributing incidents to deployments, hours "
                             f"(default $WORKBENCH_WINDOW_HOURS or {DEFAULT_WINDOW_HOURS:g}; REFERENCE §1.1)")


def compute(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The weekday report; frames become lists of rows."""
    from analytics.reports import ReportError
    from analytics.reports.weekday import weekday

    filters = filters_from(args, engine)
    try:
        out = weekday(engine, filters=filters, outcome=args.outcome, window_hours=args.window_hours)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    out.pop("se_log_or")
    for key in ("by_weekday", "by_hour_band", "incidents_by_weekday"):
        out[key] = out[key].to_dicts()
    return out
