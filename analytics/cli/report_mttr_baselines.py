"""`report mttr-baselines`: per service, p50/p80 restore time over the last N months against
its tier's commitment (issue 4 item 5).

Argparse and output only: rows come from :func:`analytics.reports.delivery.mttr_baselines`.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from

NAME = "mttr-baselines"
HELP = "MTTR baselines: per service p50/p80 restore time of the last N months vs its tier"
DEFAULT_MONTHS = 6  # the same as analytics.metrics.baselines.DEFAULT_MONTHS (a test checks)


def positive_months(value: str) -> int:
    """argparse type for --months."""
    try:
        months = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid months {value!r}, expected a whole number") from None
    if months < 1:
        raise argparse.ArgumentTypeError(f"--months must be at least 1, got {value}")
    return months


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters (--to ends the look-back) plus --months."""
    add_filter_arguments(parser, default_period=False)  # its period: --months ending --to
    parser.add_argument("--months", type=positive_months, default=DEFAULT_MONTHS, metavar="N",
                        help=f"calendar months of history before --to, or before the day after "
                             f"the last incident (default {DEFAULT_MONTHS})")


def compute(engine: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per service: n, p50/p80 hours, commitment, within_commitment, headroom."""
    from analytics.reports import ReportError
    from analytics.reports.delivery import mttr_baselines

    filters = filters_from(args, engine)
    try:
        rows = mttr_baselines(engine, filters, months=args.months)
    except ReportError as exc:
        raise CliError(str(exc)) from exc
    return rows.select("service", "team", "tier", "n", "p50_hours", "p80_hours",
                       "commitment_hours", "within_commitment", "headroom_hours",
                       "small_sample", "since", "as_of").to_dicts()
