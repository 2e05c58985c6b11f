"""`report rollbacks`: rollback frequency per service or per environment (REFERENCE §1).

Argparse and output only: rows come from :func:`analytics.reports.rollbacks.rollbacks`.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from

NAME = "rollbacks"
HELP = ("rollback frequency: share of deployments rolled back, per service or per "
        "environment")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--by service|environment plus --from/--to and --service/--team (repeatable)."""
    add_filter_arguments(parser, environment=False)
    parser.add_argument("--by", choices=("service", "environment"), default="service",
                        help="one row per service (production) or per environment (every "
                             "environment, non-production included); default service")


def compute(engine: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per service or environment: rolled_back, deployments, rollback_rate."""
    from analytics.reports import ReportError
    from analytics.reports.rollbacks import rollbacks

    try:
        return rollbacks(engine, filters_from(args, engine), by=args.by).to_dicts()
    except ReportError as exc:
        raise CliError(str(exc)) from None
