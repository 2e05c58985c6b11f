"""`report scorecard`: release health scorecard rows per service and per team (issue 4).

Argparse and output only: rows come from :func:`analytics.reports.scorecard.scorecard_rows`.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, filters_from, lay_out
from analytics.cli.report_delivery import add_period_arguments, band_year_of

NAME = "scorecard"
HELP = "release health scorecard: KPIs, customer impact, bands and escalations"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The delivery report's options plus --every (escalation periods); the period defaults
    as for every report (analytics.reports.periods), as on the Overview page."""
    add_period_arguments(parser)
    parser.add_argument("--every", choices=("week", "month"), default="month",
                        help="period length for the three-periods escalation rule "
                             "(default month)")


def compute(engine: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Service rows, then team rows (per team and criticality)."""
    from analytics.reports import ReportError
    from analytics.reports.scorecard import scorecard_rows

    filters = filters_from(args, engine)  # no dates: scorecard_rows fills the default period
    try:
        return scorecard_rows(engine, filters, window_hours=args.window_hours,
                              band_year=band_year_of(args), every=args.every)
    except ReportError as exc:
        raise CliError(str(exc)) from exc


def table(rows: list[dict[str, Any]]) -> str:
    """The scorecard for people (``--format table``): one line per service or team, the KPIs
    under the catalogue's short headings and in their units, bands beside them; JSON and CSV
    keep every column."""
    from analytics import catalogue

    kpis = [k for k in catalogue.kpis().values() if k.group == "delivery" and k.escalate]
    headings = ["Level", "Service / team", "Deploys", *[k.short for k in kpis], "Incidents",
                "Tickets after releases", "CSAT after releases", "Escalate"]
    csat = catalogue.get("csat")
    cells = []
    for r in rows:
        name = r.get("service") or (f"{r['team']} (criticality {r.get('criticality')})"
                                     if r.get("team") else "(no service)")
        kpi_cells = []
        for k in kpis:
            band = r.get(f"{k.band}_band") if k.band else None
            kpi_cells.append(k.show(r.get(k.column)) + (f" · {band}" if band else ""))
        cells.append([r["level"], str(name), _count(r.get("deployments")), *kpi_cells,
                      _count(r.get("incidents")), _count(r.get("tickets_after_releases")),
                      csat.show(r.get("csat_after_releases")),
                      ", ".join(catalogue.by_column(c).short for c in r["escalated_kpis"])
                      or "no"])
    return lay_out(headings, cells)


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"
