"""`experiment FILE`: analyse an A/B/n test from a CSV of per-arm summaries or per-unit rows."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import polars as pl

from analytics.cli.common import CliError, add_format_argument, emit
from analytics.studies.experiments import METRIC_TYPES, SUMMARY_COLUMNS, UNIT_COLUMNS, analyse

OUTPUT_FIELDS = ("variant", "n", "mean", "abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift",
                 "rel_ci_low", "rel_ci_high", "p_value", "rel_p_value", "chance_to_win")


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


def read_experiment_csv(path: Path, metric_type: str) -> pl.DataFrame:
    """Read and validate the CSV; every problem names the file, row and column."""
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    raw = raw.rename({c: c.strip() for c in raw.columns})
    if metric_type == "proportion" and {"variant", "n", "sum"} <= set(raw.columns) \
            and "sum_squares" not in raw.columns:
        # For 0/1 outcomes the sum of squares equals the number of successes.
        raw = raw.with_columns(sum_squares=pl.col("sum"))
    if set(SUMMARY_COLUMNS) <= set(raw.columns):
        numeric = SUMMARY_COLUMNS[1:]
    elif set(UNIT_COLUMNS) <= set(raw.columns):
        numeric = UNIT_COLUMNS[1:]
    else:
        raise CliError(f"{path}: missing column(s): need {','.join(SUMMARY_COLUMNS)} (per-arm "
                       f"summaries) or {','.join(UNIT_COLUMNS)} (per-unit rows); "
                       f"found {','.join(raw.columns) or 'none'}")
    if raw.height == 0:
        raise CliError(f"{path}: no data rows")
    columns: dict[str, list[Any]] = {"variant": [], **{c: [] for c in numeric}}
    for i, row in enumerate(raw.iter_rows(named=True), start=1):
        where = f"{path}, row {i} (line {i + 1})"
        variant = (row["variant"] or "").strip()
        if not variant:
            raise CliError(f"{where}, column 'variant': empty variant name")
        columns["variant"].append(variant)
        for col in numeric:
            columns[col].append(_number(row[col], col, where, metric_type))
    return pl.DataFrame(columns)


def _number(text: str | None, col: str, where: str, metric_type: str) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise CliError(f"{where}, column {col!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CliError(f"{where}, column {col!r}: {text!r} is not a finite number")
    if col == "n" and (value < 2 or value != int(value)):
        raise CliError(f"{where}, column 'n': {text!r} must be a whole number of at least 2")
    if col == "value" and metric_type == "proportion" and value not in (0.0, 1.0):
        raise CliError(f"{where}, column 'value': {text!r} must be 0 or 1 for a proportion metric")
    if col == "sum_squares" and value < 0:
        raise CliError(f"{where}, column 'sum_squares': {text!r} cannot be negative")
    return value


def compute(path: Path, metric_type: str, control: str | None) -> dict[str, Any]:
    """The `experiment` result: {"control", "metric_type", "variants": [...], "srm_p_value", "srm_alarm"}."""
    frame = read_experiment_csv(path, metric_type)
    names = frame["variant"].unique(maintain_order=True).to_list()
    if len(names) < 2:
        raise CliError(f"{path}, column 'variant': need at least two variants, found {names}")
    if control is not None and control not in names:
        raise CliError(f"{path}, column 'variant': control {control!r} not found "
                       f"(variants: {', '.join(names)}) (--control)")
    if "n" in frame.columns:
        frame = frame.with_columns(pl.col("n").cast(pl.Int64))
        if frame["variant"].is_duplicated().any():
            dup = frame.filter(pl.col("variant").is_duplicated())["variant"][0]
            raise CliError(f"{path}, column 'variant': {dup!r} appears on more than one row")
    try:
        result = analyse(frame, metric_type, control)
    except ValueError as exc:
        raise CliError(f"{path}: {exc}") from None
    return {
        "control": result.control,
        "metric_type": metric_type,
        "variants": result.variants.select(OUTPUT_FIELDS).to_dicts(),
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
