"""`report rollbacks`: rollback frequency per service or per environment (REFERENCE §1).

Argparse and output only: rows come from :func:`analytics.reports.rollbacks.rollbacks`.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from, lay_out

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


def table(rows: list[dict[str, Any]]) -> str:
    """Rollback frequency for people (``--format table``): the catalogue's label and unit."""
    from analytics import catalogue

    rate = catalogue.get("rollback_rate")
    first = "Environment" if rows and "environment" in rows[0] else "Service"
    cells = [[str(r.get(first.lower())), f"{r['rolled_back']:,}", f"{r['deployments']:,}",
              rate.show(r["rollback_rate"])] for r in rows]
    return lay_out([first, "Rolled back", "Deployments", rate.label], cells)

