"""`report summary`: row counts and date coverage of every table."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import Engine

from analytics.store.queries import table_summary

NAME = "summary"
HELP = "row counts and date coverage of every table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options besides --format."""


def compute(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """{"tables": {name: rows}, "coverage": {name: {"from", "to"}}}."""
    return table_summary(engine)
