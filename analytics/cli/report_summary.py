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
