"""`report kpi-outcomes`: do our KPIs still track customers? Each delivery KPI's correlation with
CSAT and tickets after releases, per month or quarter, with Fisher-z intervals and a verdict.

Argparse and formatting only: the numbers come from :mod:`analytics.reports.kpi_outcomes`.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from, positive_hours

NAME = "kpi-outcomes"
HELP = ("do KPIs still track customers? correlation with CSAT and tickets after releases per "
        "period, faded ones flagged")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters, --every, --method, --min-services, --window-hours."""
    add_filter_arguments(parser)
    parser.add_argument("--every", choices=("month", "quarter"), default="quarter",
                        help="period of each correlation (default quarter)")
    parser.add_argument("--method", choices=("spearman", "pearson"), default="spearman",
                        help="correlation (default spearman: ranks, robust to outliers)")
    parser.add_argument("--min-services", type=int, default=8, metavar="N",
                        help="leave out a period with fewer services having both values "
                             "(default 8, at least 4)")
    parser.add_argument("--window-hours", type=positive_hours, default=None, metavar="H",
                        help="hours after a release in which a ticket counts as after it "
                             "(default $WORKBENCH_WINDOW_HOURS)")


def compute(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The report as JSON-ready data."""
    from analytics.reports import ReportError
    from analytics.reports.kpi_outcomes import kpi_outcomes

    try:
        result = kpi_outcomes(engine, filters_from(args, engine), every=args.every,
                              method=args.method, min_units=args.min_services,
                              window_hours=args.window_hours)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    return result.to_dict()


def table(result: dict[str, Any]) -> str:
    """One line per KPI and outcome: first → latest r and the verdict; then the faded ones."""
    from analytics import catalogue
    from analytics.reports.kpi_outcomes import OUTCOMES

    def r(v: float | None) -> str:
        return "—" if v is None else f"{v:+.2f}"

    lines = [f"{'KPI':<32} {'outcome':<22} {'periods':>7} {'first r':>8} {'earlier r':>10} {'latest r':>9}  verdict"]
    for v in result["verdicts"]:
        lines.append(f"{catalogue.get(v['kpi_key']).label:<32} {OUTCOMES[v['outcome']]:<22} "
                     f"{v['periods']:>7} {r(v['first_r']):>8} {r(v['earlier_r']):>10} {r(v['latest_r']):>9}  "
                     f"{v['verdict']}")
    faded = ", ".join(result["faded"]) or "none"
    lines.append(f"\n{result['method']} r per {result['every']} over {result['units']} "
                 f"service-periods; 95% intervals by Fisher's z. Faded: {faded}")
    return "\n".join(lines) + "\n"
