"""`report delivery`: DORA delivery and stability KPIs for a period (REFERENCE §1).

Argparse and output only: the numbers come from :func:`analytics.reports.delivery.delivery`,
imported when the command runs so ``report --help`` stays light.
"""

from __future__ import annotations

import argparse
from typing import Any

from analytics.cli.common import CliError, add_filter_arguments, filters_from, positive_hours

NAME = "delivery"
HELP = "DORA delivery and stability KPIs with attribution counts and bands"



def band_year(value: str) -> int:
    """argparse type for --band-year: a report year that has bands."""
    from analytics.metrics.bands import years  # reads bands.toml: only when the option is used

    try:
        year = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid year {value!r}") from None
    if year not in years():
        raise argparse.ArgumentTypeError(
            f"invalid choice: {year} (choose from {', '.join(map(str, years()))})")
    return year


def add_period_arguments(parser: argparse.ArgumentParser) -> None:
    """Filters plus --window-hours and --band-year (shared with `report scorecard`)."""
    add_filter_arguments(parser)
    parser.add_argument("--window-hours", type=positive_hours, metavar="H",
                        help="observation window for attribution, hours "
                             "(default $WORKBENCH_WINDOW_HOURS)")
    parser.add_argument("--band-year", type=band_year, metavar="YEAR",
                        help="DORA report year of the bands (default: the newest, 2024)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--from/--to/--service/--team/--env, --window-hours, --band-year."""
    add_period_arguments(parser)


def band_year_of(args: argparse.Namespace) -> int:
    """--band-year, else the bands' default year."""
    from analytics.metrics.bands import DEFAULT_YEAR

    return args.band_year if args.band_year is not None else DEFAULT_YEAR


def compute(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The delivery report; period dates are the inclusive days asked for (or the data's)."""
    from analytics.reports import ReportError
    from analytics.reports.delivery import delivery

    filters = filters_from(args, engine)
    try:
        return delivery(engine, filters, window_hours=args.window_hours,
                        band_year=band_year_of(args))
    except ReportError as exc:
        raise CliError(str(exc)) from exc


def table(report: dict[str, Any]) -> str:
    """The report for people (``--format table``): each KPI under its catalogue label, in its
    unit, with what it counted; JSON and CSV keep the machine keys."""
    from analytics import catalogue

    period = report["period"]
    envs = ", ".join(period.get("environments") or ["every environment"])
    lines = [f"Delivery {period['from']} – {period['to']} ({period['days']:g} days) · {envs} · "
             f"observation window {period['window_hours']:g} h · bands {period['band_year']}"]
    if period.get("note"):
        lines.append(period["note"])
    rows = [("Deployments", f"{report['deployments']:,}", ""),
            ("Incidents", f"{report['incidents']:,}", "")]
    for kpi in catalogue.kpis().values():
        if kpi.group != "delivery" or kpi.figure not in report:
            continue
        figure = report[kpi.figure]
        value = figure.get("median", figure.get("value")) if isinstance(figure, dict) else figure
        detail = [f"{k} {_number(v)}" for k, v in figure.items()
                  if k not in ("median", "value", "ci_low", "ci_high")] \
            if isinstance(figure, dict) else []
        if isinstance(figure, dict) and "ci_low" in figure:
            detail.append(f"95% CI {kpi.show(figure['ci_low'])}–{kpi.show(figure['ci_high'])}")
        if kpi.band:
            detail.append(f"band {report['bands'].get(kpi.band) or '—'}")
        if kpi.key == "incident_recurrence":
            detail.append(f"matched by {report.get('incident_recurrence_basis', 'problem_id')}")
        rows.append((kpi.label, kpi.show(value), " · ".join(detail)))
    attribution = report["attribution"]
    rows.append(("Attribution", "", " · ".join(f"{k} {v:,}" for k, v in attribution.items())))
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    lines += [f"{label.ljust(width)}  {value.ljust(value_width)}  {detail}".rstrip()
              for label, value, detail in rows]
    if report.get("small_sample"):
        lines.append("Small sample: read the rates with care.")
    return "\n".join(lines) + "\n"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    return f"{value:,}" if isinstance(value, int) else str(value)
