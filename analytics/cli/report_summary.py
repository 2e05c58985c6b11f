"""`report summary`: row counts and date coverage of every table."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

NAME = "summary"
HELP = "row counts and date coverage of every table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options besides --format."""


def compute(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """{"tables": {name: rows}, "coverage": {name: {"from", "to"}}}."""
    from analytics.reports.summary import table_summary

    return table_summary(engine)


def table(result: dict[str, Any]) -> str:
    """Rows and date coverage per table for people (``--format table``), then what default
    periods leave out."""
    from analytics.cli.common import lay_out

    cover = result.get("coverage", {})
    cells = [[name.replace("_", " "), f"{rows:,}", (cover.get(name) or {}).get("from") or "",
              (cover.get(name) or {}).get("to") or ""]
             for name, rows in result["tables"].items()]
    text = lay_out(["Table", "Rows", "First (UTC)", "Last (UTC)"], cells)
    for flag in result.get("outside_bulk", []):
        text += (f"\n{flag['table']}: {flag['before']:,} before {str(flag['bulk_from'])[:10]} and "
                 f"{flag['after']:,} after {str(flag['bulk_to'])[:10]} are outside the bulk of the "
                 "data and left out of default periods.\n")
    return text

