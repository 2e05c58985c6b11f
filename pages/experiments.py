"""Experiments: analyse a stored A/B/n or 2×2 test, or an uploaded CSV — lifts with intervals,
the sample-ratio check on top, and main effects with an interaction plot (REFERENCE §4)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import altair as alt
import polars as pl
import streamlit as st

from analytics import ui
from analytics.cli.common import CliError
from analytics.cli.experiment import read_experiment_csv
from analytics.settings import get_settings
from analytics.store.db import read_frame
from analytics.studies.experiments import (
    METRIC_TYPES,
    SRM_ALARM_P,
    ExperimentResult,
    FactorialResult,
    analyse,
    factorial_2x2,
)

SOURCES = ("Stored experiment", "Upload a CSV")


@st.cache_data(ttl=300)
def stored() -> pl.DataFrame:
    """The experiments in the store (definitions only)."""
    return read_frame(ui.engine(), "SELECT id, name, design, metric, metric_type, control, factors, "
                                   "planned_split, started_at, ended_at, description FROM experiment ORDER BY id")


@st.cache_data(ttl=300, show_spinner="Analysing…")
def stored_result(exp_id: int) -> tuple[ExperimentResult, FactorialResult | None]:
    """Per-variant results (and the 2×2 fit for factorial designs) of one stored experiment."""
    exp = stored().filter(pl.col("id") == exp_id).row(0, named=True)
    obs = read_frame(ui.engine(), "SELECT variant, levels, value FROM experiment_observation "
                                  "WHERE experiment_id = ? ORDER BY id", [exp_id])
    if obs.height == 0:
        raise ValueError(f"experiment {exp['name']!r} has no observations")
    split = json.loads(exp["planned_split"] or "{}") or None
    result = analyse(obs.select("variant", "value"), exp["metric_type"], exp["control"], split)
    factors = json.loads(exp["factors"] or "[]")
    fit = None
    if exp["design"] == "factorial" and len(factors) == 2:
        levels = pl.DataFrame([json.loads(s) for s in obs["levels"]]).select(
            pl.col(f).cast(pl.String) for f in factors)
        fit = factorial_2x2(levels.with_columns(value=obs["value"]), factors[0], factors[1], "value")
    return result, fit


def uploaded_result(upload, metric_type: str, control: str | None) -> ExperimentResult:  # noqa: ANN001
    """Validate and analyse an uploaded CSV with the CLI's reader; raise CliError naming the
    row and column. Nothing is written to the store."""
    limit = get_settings().upload_limit_mb
    if upload.size > limit * 1024 * 1024:
        raise CliError(f"{upload.name}: {upload.size / 1024 / 1024:.1f} MB is over the upload limit of {limit} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            frame = read_experiment_csv(path, metric_type)
            return analyse(frame, metric_type, control)
        except CliError as exc:
            raise CliError(str(exc).replace(str(path), upload.name)) from None
        except ValueError as exc:
            raise CliError(f"{upload.name}: {exc}") from None


def results_table(result: ExperimentResult) -> None:
    """Each variant against the control: lifts with 95% intervals, p-value, chance to win."""
    v = result.variants
    st.dataframe(v.select("variant", "n", "mean", "abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift",
                          "rel_ci_low", "rel_ci_high", "p_value", "chance_to_win"), hide_index=True,
                 column_config={
                     "variant": st.column_config.TextColumn(width="medium"),
                     "mean": st.column_config.NumberColumn(format="%.4f"),
                     "abs_lift": st.column_config.NumberColumn("abs lift", format="%.4f"),
                     "abs_ci_low": st.column_config.NumberColumn("abs 95% low", format="%.4f"),
                     "abs_ci_high": st.column_config.NumberColumn("abs 95% high", format="%.4f"),
                     "rel_lift": st.column_config.NumberColumn("rel lift", format="percent"),
                     "rel_ci_low": st.column_config.NumberColumn("rel 95% low", format="percent"),
                     "rel_ci_high": st.column_config.NumberColumn("rel 95% high", format="percent"),
                     "p_value": st.column_config.NumberColumn("p (Welch)", format="%.4g"),
                     "chance_to_win": st.column_config.NumberColumn("chance to win", format="percent")})
    lifts = v.filter(pl.col("variant") != result.control)
    base = alt.Chart(lifts).encode(y=alt.Y("variant:N", title=None, axis=alt.Axis(labelLimit=300)))
    st.altair_chart((base.mark_rule(strokeWidth=3).encode(
        x=alt.X("rel_ci_low:Q", title="relative lift vs control (95% CI)", axis=alt.Axis(format="%")),
        x2="rel_ci_high:Q")
        + base.mark_point(filled=True, size=80).encode(x="rel_lift:Q", tooltip=[
            "variant:N", alt.Tooltip("rel_lift:Q", format=".2%"), alt.Tooltip("rel_ci_low:Q", format=".2%"),
            alt.Tooltip("rel_ci_high:Q", format=".2%"), alt.Tooltip("p_value:Q", format=".4g")])
        + alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(x="x:Q")
        ).properties(height=60 + 40 * lifts.height))
    st.caption(f"Each variant against the control {result.control!r} ({result.metric_type} metric): "
               "absolute lift = mean − control mean with the Welch t 95% interval; relative lift = "
               "lift ÷ control mean with a delta-method 95% interval (not the absolute interval ÷ the "
               "control mean); two-sided Welch p; chance to win from a flat-prior Gaussian posterior. "
               "n = units per arm; mean = sum ÷ n (a rate for proportions).")


def factorial_section(fit: FactorialResult, factors: list[str], metric: str) -> None:
    """Main effects and interaction table, and the interaction plot of the four cell means."""
    st.subheader("Main effects and interaction")
    st.dataframe(fit.effects, hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.4f") for c in ("estimate", "std_error", "ci_low", "ci_high")}
        | {"p_value": st.column_config.NumberColumn(format="%.4g")})
    st.caption(f"OLS {metric} ~ {factors[0]} + {factors[1]} + {factors[0]}:{factors[1]} with each factor "
               "coded −½/+½: a main effect is that factor's effect averaged over the other factor's "
               "levels; the interaction is the difference of differences. 95% intervals.")
    a, b = factors
    st.altair_chart((alt.Chart(fit.cells).mark_line(point=True).encode(
        x=alt.X(f"{a}:N", title=a, axis=alt.Axis(labelAngle=0)), y=alt.Y("mean:Q", title=f"mean {metric}", scale=alt.Scale(zero=False)),
        color=alt.Color(f"{b}:N", title=b), tooltip=[f"{a}:N", f"{b}:N", "n:Q", alt.Tooltip("mean:Q", format=".4f")])
    ).properties(height=280, width=420, title="Interaction plot: non-parallel lines mean the factors interact"))


st.title("Experiments")
top = st.container()
source = st.radio("Source", SOURCES, horizontal=True, key="exp_source")
result: ExperimentResult | None = None
fit: FactorialResult | None = None
factors: list[str] = []
metric = "value"
if source == SOURCES[0]:
    exps = stored()
    if exps.height == 0:
        st.info("No experiment in the store; upload a CSV instead.")
        st.stop()
    names = dict(zip(exps["id"].to_list(), exps["name"].to_list(), strict=True))
    pick = st.selectbox("Experiment", list(names), format_func=names.get, key="exp_pick")
    exp = exps.filter(pl.col("id") == pick).row(0, named=True)
    st.caption(f"{exp['description'] or ''} · design {exp['design']} · metric {exp['metric']} "
               f"({exp['metric_type']}) · {exp['started_at']:%Y-%m-%d} – {exp['ended_at']:%Y-%m-%d} UTC · "
               f"planned split {exp['planned_split']}")
    try:
        result, fit = stored_result(pick)
    except ValueError as exc:
        st.error(f"{exp['name']}: {exc}")
        st.stop()
    factors, metric = json.loads(exp["factors"] or "[]"), exp["metric"]
else:
    limit = get_settings().upload_limit_mb
    c1, c2 = st.columns([3, 1])
    upload = c1.file_uploader(f"CSV of per-arm summaries (variant,n,sum,sum_squares) or per-unit rows "
                              f"(variant,value), at most {limit} MB", type="csv", key="exp_upload",
                              max_upload_size=limit)
    metric_type = c2.selectbox("Metric type", METRIC_TYPES, key="exp_metric_type")
    control = c2.text_input("Control variant", key="exp_control",
                            help="Default: the variant named 'control', else the first") or None
    if upload is None:
        st.info("Upload a CSV to analyse it. Nothing uploaded is stored.")
        st.stop()
    try:
        result = uploaded_result(upload, metric_type, control)
    except CliError as exc:
        st.error(f"Not analysed: {exc}. Nothing was changed; fix the file and upload it again.")
        st.stop()

with top:
    if result.srm.alarm:
        st.error(f"Sample ratio mismatch: the arm sizes differ from the planned split (chi-square "
                 f"p = {result.srm.p_value:.3g} < {SRM_ALARM_P}). Assignment or logging is broken; "
                 "do not trust these results until it is explained.", icon=":material/warning:")
st.subheader("Results")
results_table(result)
st.caption(f"Sample-ratio check: chi-square of arm sizes {', '.join(f'{v}={n:,}' for v, n in result.variants.select('variant', 'n').iter_rows())} "
           f"against the planned split, p = {result.srm.p_value:.4g} (alarm below {SRM_ALARM_P}).")
if fit is not None:
    factorial_section(fit, factors, metric)
