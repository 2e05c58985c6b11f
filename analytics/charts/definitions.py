"""Altair builder for the Definitions page: a KPI's correlation with customer outcomes period by
period, with its 95% interval. Takes the report's frame; never reads the store."""

from __future__ import annotations

import altair as alt
import polars as pl


def period_label(every: str) -> pl.Expr:
    """The period as a person names it: "2026 Q3" for quarters, "2026-11" for months."""
    if every == "quarter":
        return pl.format("{} Q{}", pl.col("period").dt.year(), pl.col("period").dt.quarter())
    return pl.col("period").dt.strftime("%Y-%m")


def correlation_chart(corr: pl.DataFrame, labels: dict[str, str],
                      every: str = "quarter") -> alt.LayerChart:
    """r per period (points and line) with its Fisher-z interval (rule), one colour per outcome;
    ``corr`` holds one KPI's rows of :func:`analytics.reports.kpi_outcomes.correlations`,
    ``labels`` maps outcome keys to the words shown, ``every`` names the periods."""
    data = corr.sort("period").with_columns(
        pl.col("outcome").replace_strict(labels, default=None),
        period_label(every).alias("label"),
        pl.col("n").cast(pl.Float64)).drop("period")  # 64-bit ints reach JS as BigInt
    order = data["label"].unique(maintain_order=True).to_list()
    base = alt.Chart(data).encode(
        x=alt.X("label:O", title=every, sort=order, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("outcome:N"),
        color=alt.Color("outcome:N", title=None, scale=alt.Scale(range=["#1f77b4", "#e45756"]),
                        legend=alt.Legend(orient="bottom", labelLimit=300)))
    zero = alt.Chart(pl.DataFrame({"r": [0.0]})).mark_rule(strokeDash=[4, 4], color="gray") \
        .encode(y="r:Q")
    bars = base.mark_rule(strokeWidth=2, opacity=0.6).encode(
        y=alt.Y("ci_low:Q", title="correlation r (95% interval)",
                scale=alt.Scale(domain=[-1, 1])), y2="ci_high:Q")
    points = base.mark_line(point=True).encode(
        y="r:Q", tooltip=["outcome:N", alt.Tooltip("label:N", title=every),
                          alt.Tooltip("r:Q", format="+.2f"), alt.Tooltip("ci_low:Q", format="+.2f"),
                          alt.Tooltip("ci_high:Q", format="+.2f"), alt.Tooltip("n:Q", format=".0f")])
    return alt.layer(zero, bars, points).properties(height=260)
