"""Experiments: analyse a stored A/B/n or 2×2 test, or an uploaded CSV — lifts with intervals,
the sample-ratio check on top, and main effects with an interaction plot (REFERENCE §4)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.charts import customer as charts
from analytics.reports import ReportError
from analytics.reports import experiments as report
from analytics.settings import get_settings
from analytics.studies.experiments import METRIC_TYPES, SRM_ALARM_P, ExperimentResult, FactorialResult

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

SOURCES = ("Stored experiment", "Upload a CSV")


@ui.cached
def stored() -> pl.DataFrame:
    """The experiments in the store (definitions only)."""
    return report.stored_experiments(ui.engine())


@ui.cached(show_spinner="Analysing…")
def stored_result(exp_id: int) -> report.StoredResult:
    """Per-variant results (and the 2×2 fit for factorial designs) of one stored experiment."""
    return report.stored_result(ui.engine(), experiment_id=exp_id)


def _win(x: float | None) -> str:
    """Chance to win as text, never rounded up to a certainty it is not.

    >>> _win(0.99999), _win(0.4567)
    ('> 99.9%', '45.7%')
    """
    if x is None:
        return "–"
    return "> 99.9%" if x > 0.999 else "< 0.1%" if x < 0.001 else f"{x:.1%}"


def results_table(result: ExperimentResult, metric: str) -> None:
    """The plain-words conclusion, then each variant against the control: lifts with 95%
    intervals, p-value, chance to win (the control, whose lifts are empty, is in the caption)."""
    # Variant and metric names are user data: escaped, since st.success renders Markdown.
    st.success(ui.plain(report.conclusion(result, metric)), icon=":material/lightbulb:")
    v = result.variants
    ctrl = v.filter(pl.col("variant") == result.control).row(0, named=True)
    rows = v.filter(pl.col("variant") != result.control).with_columns(
        chance_to_win=pl.col("chance_to_win").map_elements(_win, return_dtype=pl.String))
    st.dataframe(rows.select("variant", "n", "mean", "abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift",
                             "rel_ci_low", "rel_ci_high", "p_value", "chance_to_win"), placeholder="—",
                 hide_index=True,
                 # Short headings and 3 decimals so all eleven columns fit at 1400 px (a cut
                 # variant name is unreadable); each heading's help says the rest.
                 column_config={
                     "variant": st.column_config.TextColumn("variant", width=120, pinned=True),
                     "mean": st.column_config.NumberColumn(format="%.3f"),
                     "abs_lift": st.column_config.NumberColumn("abs lift", format="%+.3f"),
                     "abs_ci_low": st.column_config.NumberColumn(
                         "abs low", format="%+.3f", help="absolute lift, 95% Welch interval low"),
                     "abs_ci_high": st.column_config.NumberColumn(
                         "abs high", format="%+.3f", help="absolute lift, 95% Welch interval high"),
                     "rel_lift": st.column_config.NumberColumn("rel lift", format="percent"),
                     "rel_ci_low": st.column_config.NumberColumn(
                         "rel low", format="percent", help="relative lift, 95% delta-method interval low"),
                     "rel_ci_high": st.column_config.NumberColumn(
                         "rel high", format="percent", help="relative lift, 95% delta-method interval high"),
                     "p_value": st.column_config.NumberColumn("p", format="%.2g", help="two-sided Welch t test"),
                     "chance_to_win": st.column_config.TextColumn(
                         "P(win)", help="chance to win (flat-prior Gaussian posterior)")})
    st.caption(ui.plain(f"Control {result.control!r}: n = {ctrl['n']:,}, mean = {ctrl['mean']:.4g}."))
    st.altair_chart(charts.relative_lifts(result.variants, result.control))
    st.caption(f"Each variant against the control {ui.plain(repr(result.control))} ({result.metric_type} metric): "
               "absolute lift = mean − control mean with the Welch t 95% interval; relative lift = "
               "lift ÷ control mean with a delta-method 95% interval (not the absolute interval ÷ the "
               "control mean); two-sided Welch p; chance to win from a flat-prior Gaussian posterior. "
               "n = units per arm; mean = sum ÷ n (a rate for proportions).")


def factorial_section(fit: FactorialResult, factors: list[str], metric: str) -> None:
    """Main effects and interaction table, and the interaction plot of the four cell means."""
    st.subheader("Main effects and interaction")
    st.dataframe(fit.effects, placeholder="—", hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.4f") for c in ("estimate", "std_error", "ci_low", "ci_high")}
        | {"p_value": st.column_config.NumberColumn(format="%.4g")})
    st.caption(ui.plain(f"OLS {metric} ~ {factors[0]} + {factors[1]} + {factors[0]}:{factors[1]}") + " with each factor "
               "coded −½/+½: a main effect is that factor's effect averaged over the other factor's "
               "levels; the interaction is the difference of differences. 95% intervals.")
    st.altair_chart(charts.interaction_plot(fit.cells, factors, metric))


st.title("Experiments")
top = st.container()
source = st.radio("Source", SOURCES, horizontal=True, key="exp_source", bind="query-params")
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
    pick = st.selectbox("Experiment", list(names), format_func=names.get, key="exp_pick",
                        bind="query-params")
    exp = exps.filter(pl.col("id") == pick).row(0, named=True)
    # Description, metric and split are stored text: escaped, since a caption is Markdown.
    st.caption(ui.plain(f"{exp['description'] or ''} · design {exp['design']} · metric {exp['metric']} "
                            f"({exp['metric_type']}) · {exp['started_at']:%Y-%m-%d} – "
                            f"{exp['ended_at']:%Y-%m-%d} UTC · planned split {exp['planned_split']}"))
    try:
        analysed = stored_result(pick)
    except ReportError as exc:
        st.info(ui.plain(str(exc)))
        st.stop()
    result, fit, factors, metric = analysed.result, analysed.fit, analysed.factors, exp["metric"]
else:
    limit = get_settings().upload_limit_mb
    c1, c2 = st.columns([3, 1])
    upload = c1.file_uploader(f"CSV of per-arm summaries (variant,n,sum,sum_squares) or per-unit rows "
                              f"(variant,value), at most {limit} MB", type="csv", key="exp_upload",
                              max_upload_size=limit)
    metric_type = c2.selectbox("Metric type", METRIC_TYPES, key="exp_metric_type")
    metric = "the metric"
    control = c2.text_input("Control variant", key="exp_control",
                            help="Default: the variant named 'control', else the first") or None
    if upload is None:
        st.info("Upload a CSV to analyse it. Nothing uploaded is stored.")
        st.stop()
    try:
        result = report.analyse_upload(upload.getvalue(), name=upload.name, metric_type=metric_type,
                                       control=control)
    except ReportError as exc:
        # The message quotes the file's name and cells: shown as text, not Markdown.
        st.error("Not analysed: the file has the problem below. Nothing was changed; fix the file "
                 "and upload it again.")
        st.text(str(exc))
        st.stop()

with top:
    if result.srm.alarm:
        st.error(f"Sample ratio mismatch: the arm sizes differ from the planned split (chi-square "
                 f"p = {result.srm.p_value:.3g} < {SRM_ALARM_P}). Assignment or logging is broken; "
                 "do not trust these results until it is explained.", icon=":material/warning:")
st.subheader("Results")
results_table(result, metric)
arms = ", ".join(f"{v}={n:,}" for v, n in result.variants.select("variant", "n").iter_rows())
st.caption(f"Sample-ratio check: chi-square of arm sizes {ui.plain(arms)} against the planned "
           f"split, p = {result.srm.p_value:.4g} (alarm below {SRM_ALARM_P}).")
if fit is not None:
    factorial_section(fit, factors, metric)

st.subheader("Power")
lift = st.number_input("Relative lift to detect (%)", min_value=0.5, max_value=200.0, value=5.0,
                       step=0.5, key="exp_lift", bind="query-params",
                       help="For planning the next test: the relative change of the control's rate "
                            "you want to be able to see.")
planned = report.power(result, relative_lift=lift / 100)
if planned is None:
    st.caption("Power needs each unit's spread, which a means summary does not keep: not shown.")
else:
    st.markdown(f"With **{planned['n']:,}** units in the control arm (rate "
                f"{planned['baseline']:.2%}), this test can detect an absolute change of "
                f"**{planned['mde']:.2%}** or more with 80% power (α 0.05, two-sided). To detect "
                f"a relative lift of {lift:g}% you need **{planned['needed']:,}** units per arm.")
