"""`report reconciliation`: deployments whose times or status disagree with their change request."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import Engine

from analytics.cli.common import CliError, add_filter_arguments, filters_from
from analytics.ingest.reconciliation import change_requests, reconcile
from analytics.store import queries

NAME = "reconciliation"
HELP = "deployments whose start, end or status disagree with their change request"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters plus --tolerance-minutes."""
    add_filter_arguments(parser)
    parser.add_argument("--tolerance-minutes", type=float, default=0.0, metavar="M",
                        help="differences up to M minutes are not reported (default 0)")


def compute(engine: Engine, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per disagreeing deployment, largest discrepancy first."""
    if args.tolerance_minutes < 0:
        raise CliError(f"--tolerance-minutes must not be negative, got {args.tolerance_minutes}")
    deps = queries.deployments(engine, filters_from(args, engine), linked=True)
    return reconcile(deps, change_requests(engine), args.tolerance_minutes).to_dicts()
