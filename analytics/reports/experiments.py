"""Experiments (REFERENCE §4, A/B row): one read and one analysis of an A/B/n test, from a CSV
(the ``experiment`` command and the Experiments page's upload) or from the store (the page).

Every problem with a file is a :class:`BadRequest` naming the file, row and column.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

from analytics.reports import BadRequest, NoData
from analytics.settings import get_settings
from analytics.store.db import read_frame
from analytics.studies.experiments import (
    SUMMARY_COLUMNS,
    UNIT_COLUMNS,
    ExperimentResult,
    FactorialResult,
    analyse,
    factorial_2x2,
)

OUTPUT_FIELDS = ("variant", "n", "mean", "abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift",
                 "rel_ci_low", "rel_ci_high", "p_value", "rel_p_value", "chance_to_win")


def read_experiment_csv(source: Path | bytes, metric_type: str, *, name: str | None = None) -> pl.DataFrame:
    """Read and validate a CSV (a path, or the bytes of an upload called ``name``).

    Per-arm summaries (variant,n,sum,sum_squares; for proportions sum_squares may be left out)
    or per-unit rows (variant,value). Every problem names the file, row and column.
    """
    where_file = name or str(source)
    try:
        raw = pl.read_csv(io.BytesIO(source) if isinstance(source, bytes) else source, infer_schema=False)
    except FileNotFoundError:
        raise BadRequest(f"{where_file}: no such file") from None
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise BadRequest(f"{where_file}: not a readable CSV ({str(exc).splitlines()[0]})") from None
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
        raise BadRequest(f"{where_file}: missing column(s): need {','.join(SUMMARY_COLUMNS)} (per-arm "
                         f"summaries) or {','.join(UNIT_COLUMNS)} (per-unit rows); "
                         f"found {','.join(raw.columns) or 'none'}")
    if raw.height == 0:
        raise BadRequest(f"{where_file}: no data rows")
    columns: dict[str, list[Any]] = {"variant": [], **{c: [] for c in numeric}}
    for i, row in enumerate(raw.iter_rows(named=True), start=1):
        where = f"{where_file}, row {i} (line {i + 1})"
        variant = (row["variant"] or "").strip()
        if not variant:
            raise BadRequest(f"{where}, column 'variant': empty variant name")
        columns["variant"].append(variant)
        for col in numeric:
            columns[col].append(_number(row[col], col, where, metric_type))
    return pl.DataFrame(columns)


def _number(text: str | None, col: str, where: str, metric_type: str) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise BadRequest(f"{where}, column {col!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise BadRequest(f"{where}, column {col!r}: {text!r} is not a finite number")
    if col == "n" and (value < 2 or value != int(value)):
        raise BadRequest(f"{where}, column 'n': {text!r} must be a whole number of at least 2")
    if col == "value" and metric_type == "proportion" and value not in (0.0, 1.0):
        raise BadRequest(f"{where}, column 'value': {text!r} must be 0 or 1 for a proportion metric")
    if col == "sum_squares" and value < 0:
        raise BadRequest(f"{where}, column 'sum_squares': {text!r} cannot be negative")
    return value


def analyse_csv(source: Path | bytes, *, metric_type: str, control: str | None,
                name: str | None = None) -> ExperimentResult:
    """Welch t per variant against the control, delta-method relative lift, chance to win and the
    sample-ratio check (equal split) of a CSV; :class:`BadRequest` names what is wrong."""
    where = name or str(source)
    frame = read_experiment_csv(source, metric_type, name=name)
    names = frame["variant"].unique(maintain_order=True).to_list()
    if len(names) < 2:
        raise BadRequest(f"{where}, column 'variant': need at least two variants, found {names}")
    if control is not None and control not in names:
        raise BadRequest(f"{where}, column 'variant': control {control!r} not found "
                         f"(variants: {', '.join(names)}) (--control)")
    if "n" in frame.columns:
        frame = frame.with_columns(pl.col("n").cast(pl.Int64))
        if frame["variant"].is_duplicated().any():
            dup = frame.filter(pl.col("variant").is_duplicated())["variant"][0]
            raise BadRequest(f"{where}, column 'variant': {dup!r} appears on more than one row")
    try:
        return analyse(frame, metric_type, control)
    except ValueError as exc:
        raise BadRequest(f"{where}: {exc}") from None


def analyse_upload(data: bytes, *, name: str, metric_type: str, control: str | None) -> ExperimentResult:
    """:func:`analyse_csv` of an uploaded file, refused above the configured upload limit.
    Nothing is written to the store."""
    limit = get_settings().upload_limit_mb
    if len(data) > limit * 1024 * 1024:
        raise BadRequest(f"{name}: {len(data) / 1024 / 1024:.1f} MB is over the upload limit of {limit} MB")
    return analyse_csv(data, metric_type=metric_type, control=control, name=name)


def result_rows(result: ExperimentResult) -> list[dict[str, Any]]:
    """The per-variant rows (OUTPUT_FIELDS) the CLI prints."""
    return result.variants.select(OUTPUT_FIELDS).to_dicts()


def stored_experiments(engine: Engine) -> pl.DataFrame:
    """The experiments in the store (definitions only), by id."""
    return read_frame(engine, "SELECT id, name, design, metric, metric_type, control, factors, "
                              "planned_split, started_at, ended_at, description FROM experiment ORDER BY id")


@dataclass(frozen=True)
class StoredResult:
    """A stored experiment's definition row, its per-variant result and, for a 2×2 factorial
    design, the main effects and interaction (``fit``; ``factors`` names the two factors)."""

    experiment: dict[str, Any]
    result: ExperimentResult
    fit: FactorialResult | None
    factors: list[str]


def stored_result(engine: Engine, *, experiment_id: int) -> StoredResult:
    """Analyse one stored experiment against its planned split.

    Raises :class:`BadRequest` for an unknown id and :class:`NoData` without observations.
    """
    exps = stored_experiments(engine).filter(pl.col("id") == experiment_id)
    if exps.height == 0:
        raise BadRequest(f"there is no experiment with id {experiment_id}")
    exp = exps.row(0, named=True)
    obs = read_frame(engine, "SELECT variant, levels, value FROM experiment_observation "
                             "WHERE experiment_id = ? ORDER BY id", [experiment_id])
    if obs.height == 0:
        raise NoData(f"experiment {exp['name']!r} has no observations")
    split = json.loads(exp["planned_split"] or "{}") or None
    try:
        result = analyse(obs.select("variant", "value"), exp["metric_type"], exp["control"], split)
    except ValueError as exc:
        raise BadRequest(f"experiment {exp['name']!r}: {exc}") from None
    factors = json.loads(exp["factors"] or "[]")
    fit = None
    if exp["design"] == "factorial" and len(factors) == 2:
        levels = pl.DataFrame([json.loads(s) for s in obs["levels"]]).select(
            pl.col(f).cast(pl.String) for f in factors)
        fit = factorial_2x2(levels.with_columns(value=obs["value"]), factors[0], factors[1], "value")
    return StoredResult(exp, result, fit, factors)


def conclusion(result: ExperimentResult, metric: str = "the metric", alpha: float = 0.05) -> str:
    """The sentence a product manager reads: each variant's relative lift against the control
    with its 95% interval (absolute lift beside it), raises/lowers when the Welch test on the
    absolute lift is significant at ``alpha``, and whether the sample ratio is OK.

    Reference values (REFERENCE §4): proportions A 14/28, B 16/30 (relative lift 0.06667, CI
    −0.47767 to 0.61101, p 0.80707); means A/B (absolute lift 0.29, CI 0.04538 to 0.53462,
    p 0.02016).

    >>> from analytics.studies.experiments import analyse
    >>> p = pl.DataFrame({"variant": ["A", "B"], "n": [28, 30], "sum": [14, 16], "sum_squares": [14, 16]})
    >>> print(conclusion(analyse(p, "proportion"), "conversion"))
    B shows no clear difference in conversion from A: +6.67% (95% CI −47.8% to +61.1%; absolute +0.0333, 95% CI −0.23 to +0.296; Welch p = 0.8). Sample ratio OK (p = 0.79).
    >>> m = pl.DataFrame({"variant": ["A", "B"], "n": [3407, 3461], "sum": [1396.87, 2422.7],
    ...                   "sum_squares": [52377.9767, 134698.29]})
    >>> print(conclusion(analyse(m, "mean"), "revenue"))
    B raises revenue by 70.7% against A (95% CI −3.53% to +145%; absolute +0.29, 95% CI +0.0454 to +0.535; Welch p = 0.02). Sample ratio OK (p = 0.51).
    """
    sentences = []
    rows = result.variants.filter(pl.col("variant") != result.control).iter_rows(named=True)
    for v in rows:
        # The verdict is the Welch t test's on the absolute lift (REFERENCE §4); the relative
        # lift leads the sentence because that is how a lift is quoted, with its own interval.
        interval = (f"95% CI {_pct(v['rel_ci_low'])} to {_pct(v['rel_ci_high'])}; absolute "
                    f"{_signed(v['abs_lift'])}, 95% CI {_signed(v['abs_ci_low'])} to "
                    f"{_signed(v['abs_ci_high'])}; Welch p = {v['p_value']:.2g}")
        clear = v["p_value"] < alpha and (v["abs_ci_low"] > 0 or v["abs_ci_high"] < 0)
        if clear:
            verb = "raises" if v["abs_lift"] > 0 else "lowers"
            sentences.append(f"{v['variant']} {verb} {metric} by {abs(v['rel_lift']):.1%} against "
                             f"{result.control} ({interval}).")
        else:
            sentences.append(f"{v['variant']} shows no clear difference in {metric} from "
                             f"{result.control}: {_pct(v['rel_lift'])} ({interval}).")
    srm = result.srm
    sentences.append(f"Sample ratio mismatch (p = {srm.p_value:.2g}): do not trust these results."
                     if srm.alarm else f"Sample ratio OK (p = {srm.p_value:.2g}).")
    return " ".join(sentences)


def _signed(x: float) -> str:
    """A signed number with three significant digits and a real minus sign.

    >>> _signed(-0.04538), _signed(0.29)
    ('−0.0454', '+0.29')
    """
    return f"{x:+.3g}".replace("-", "−")


def _pct(x: float) -> str:
    """A signed percentage with three significant digits and a real minus sign.

    >>> _pct(-0.47767), _pct(1.3)
    ('−47.8%', '+130%')
    """
    return _signed(x * 100) + "%"


def power(result: ExperimentResult, *, relative_lift: float = 0.05) -> dict[str, Any] | None:
    """For a proportion test: the smallest absolute lift its control arm can detect (80% power,
    α 0.05, two-sided) and the control-arm units needed to detect ``relative_lift``; None for a
    means test (the per-unit sd behind its summary is not kept).

    >>> from analytics.studies.experiments import analyse
    >>> f = pl.DataFrame({"variant": ["A", "B"], "n": [681, 681], "sum": [68, 70], "sum_squares": [68, 70]})
    >>> p = power(analyse(f, "proportion"), relative_lift=0.5)
    >>> (p["n"], round(p["mde"], 3), p["needed"])
    (681, 0.05, 682)
    """
    from analytics.studies.experiments import minimum_detectable_effect, sample_size

    if result.metric_type != "proportion":
        return None
    ctrl = result.variants.filter(pl.col("variant") == result.control).row(0, named=True)
    n, base = int(ctrl["n"]), float(ctrl["mean"])
    return {"n": n, "baseline": base, "mde": minimum_detectable_effect(n, base),
            "relative_lift": relative_lift,
            "needed": sample_size(base, relative_lift, relative=True)}
