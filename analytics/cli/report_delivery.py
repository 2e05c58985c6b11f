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
