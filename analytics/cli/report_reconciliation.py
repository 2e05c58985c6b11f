"""`report reconciliation`: deployments whose times or status disagree with their change request."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from

if TYPE_CHECKING:
    from sqlalchemy import Engine

NAME = "reconciliation"
HELP = "deployments whose start, end or status disagree with their change request"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters plus --tolerance-minutes."""
    add_filter_arguments(parser)
    parser.add_argument("--tolerance-minutes", type=float, default=0.0, metavar="M",
                        help="differences up to M minutes are not reported (default 0)")


def compute(engine: Engine, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per disagreeing deployment, largest discrepancy first."""
    from analytics.reports import ReportError
    from analytics.reports.reconciliation import reconciliation

    if args.tolerance_minutes < 0:
        raise CliError(f"--tolerance-minutes must not be negative, got {args.tolerance_minutes}")
    try:
        result = reconciliation(engine, filters=filters_from(args, engine),
                                tolerance_minutes=args.tolerance_minutes)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    return result.disagree.to_dicts()
