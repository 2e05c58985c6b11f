"""`report mttr-baselines`: per service, p50/p80 restore time over the last N months against
its tier's commitment (issue 4 item 5).

Argparse and output only: rows come from :func:`analytics.reports.delivery.mttr_baselines`.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from, lay_out

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


def table(rows: list[dict[str, Any]]) -> str:
    """MTTR baselines for people (``--format table``): hours to one decimal, the commitment
    verdict in words, the look-back as days."""
    def hours(v: float | None) -> str:
        return "—" if v is None else f"{v:,.1f}"

    cells = [[str(r["service"]), str(r["team"] or ""), str(r["tier"] or ""), f"{r['n']:,}",
              hours(r["p50_hours"]), hours(r["p80_hours"]), hours(r["commitment_hours"]),
              "—" if r["within_commitment"] is None else
              ("within" if r["within_commitment"] else "over"),
              hours(r["headroom_hours"]), "yes" if r["small_sample"] else "",
              f"{r['since']:%Y-%m-%d} – {r['as_of']:%Y-%m-%d}"]
             for r in rows]
    return lay_out(["Service", "Team", "Tier", "Incidents", "p50 restore (h)",
                    "p80 restore (h)", "Commitment (h)", "p80 vs commitment", "Headroom (h)",
                    "Small sample", "Incidents opened"], cells)

