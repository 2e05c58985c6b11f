"""`report gaming`: metric-gaming detectors with a sentence each and the rows behind them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from analytics.cli.common import add_filter_arguments, filters_from

if TYPE_CHECKING:
    from sqlalchemy import Engine

NAME = "gaming"
HELP = ("metric gaming: resolution times bunched under targets, closes just before a breach, "
        "incidents with no service")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The global filters."""
    add_filter_arguments(parser)


def compute(engine: Engine, args: argparse.Namespace) -> dict[str, Any]:
    """Every detector: key, title, sentence, flagged, stats rows and the rows behind it."""
    from analytics.reports.gaming import gaming

    result = gaming(engine, filters_from(args, engine))
    return {"incidents": result.incidents,
            "findings": [{"key": f.key, "title": f.title, "sentence": f.sentence,
                          "flagged": f.flagged, "stats": f.stats.to_dicts(),
                          "rows": f.rows.to_dicts()} for f in result.findings]}
