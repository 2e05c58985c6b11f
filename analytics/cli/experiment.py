"""`experiment FILE`: analyse an A/B/n test from a CSV of per-arm summaries or per-unit rows.

Formatting only: reading, validation and the analysis are :mod:`analytics.reports.experiments`
(imported when the command runs, so every other command's start-up stays fast).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from analytics.cli.common import CliError, add_format_argument, emit

# The same tuple as analytics.studies.experiments.METRIC_TYPES (a test checks they agree);
# importing it would load scipy for every command.
METRIC_TYPES = ("mean", "proportion")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `experiment` command."""
    p = sub.add_parser(
        "experiment", help="analyse an A/B/n test from a CSV file",
        description="Welch t test per variant against the control (absolute and delta-method "
                    "relative lift, 95% intervals), Bayesian chance to win, and a sample-ratio-"
                    "mismatch check against an equal split. FILE holds per-arm summaries "
                    "(variant,n,sum,sum_squares) or per-unit rows (variant,value).")
    p.add_argument("file", metavar="FILE", type=Path, help="CSV file")
    p.add_argument("--metric-type", choices=METRIC_TYPES, default="mean",
                   help="mean (default) or proportion (values 0/1, or sum = successes)")
    p.add_argument("--control", metavar="NAME",
                   help="control variant (default: the one named 'control', else the first)")
    add_format_argument(p, choices=("table", "json"))
    p.set_defaults(func=run)


def compute(path: Path, metric_type: str, control: str | None) -> dict[str, Any]:
    """The `experiment` result: {"control", "metric_type", "variants": [...], "srm_p_value", "srm_alarm"}."""
    from analytics.reports import ReportError
    from analytics.reports import experiments as report

    try:
        result = report.analyse_csv(path, metric_type=metric_type, control=control)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    return {
        "control": result.control,
        "metric_type": metric_type,
        "variants": report.result_rows(result),
        "srm_p_value": result.srm.p_value,
        "srm_alarm": result.srm.alarm,
    }


def run(args: argparse.Namespace) -> int:
    """Print the result as JSON, or a table with the SRM verdict under it."""
    data = compute(args.file, args.metric_type, args.control)
    if args.format == "json":
        emit(data, "json")
        return 0
    emit(data["variants"], "table")
    verdict = "MISMATCH (p < 0.001): do not trust these results" if data["srm_alarm"] else "ok"
    sys.stdout.write(f"\ncontrol {data['control']} · sample ratio p = {data['srm_p_value']:.6g} · {verdict}\n")
    return 0
