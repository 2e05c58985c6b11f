"""Altair builders for the Improvements page: the validation panel (weekly KPI, fitted
segments, the counterfactual) and the failed-deployment root-cause trend."""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

LINES = {"observed": "#8c8c8c", "fitted segments": "#2166ac",
         "without the change (pre-trend carried on)": "#d6604d"}


def validation_chart(series: pl.DataFrame, *, intervention: date, label: str,
                     percent: bool = True) -> alt.LayerChart:
    """The weekly KPI (points), the segmented regression's fitted lines (one per segment) and,
    dashed, the pre-change line carried on; a rule at the first week after the change.

    >>> s = pl.DataFrame({"week": [date(2026, 1, 5), date(2026, 1, 12)], "value": [0.1, 0.2],
    ...                   "post": [False, True], "fitted": [0.1, 0.2], "counterfactual": [0.1, 0.1]})
    >>> len(validation_chart(s, intervention=date(2026, 1, 12), label="CFR").layer)
    4
    """
    fmt = ".0%" if percent else ",.2f"
    names = list(LINES)
    scale = alt.Scale(domain=names, range=list(LINES.values()))
    legend = alt.Legend(orient="top", title=None, labelLimit=400, symbolType="stroke")
    x = alt.X("week:T", title="week")
    y_title = f"{label} (weekly)"
    points = alt.Chart(series.with_columns(line=pl.lit(names[0]))).mark_circle(size=36).encode(
        x=x, y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=fmt)),
        color=alt.Color("line:N", scale=scale, legend=legend),
        tooltip=[alt.Tooltip("week:T"), alt.Tooltip("value:Q", format=fmt)])
    has_fit = "fitted" in series.columns
    fit = series.select("week", "post", value="fitted") if has_fit else series.clear()
    fitted = alt.Chart(fit.with_columns(line=pl.lit(names[1]))).mark_line(strokeWidth=2).encode(
        x=x, y="value:Q", detail="post:N", color=alt.Color("line:N", scale=scale, legend=legend))
    cf = (series.filter(pl.col("post")).select("week", value="counterfactual") if has_fit
          else series.clear().select("week", "value"))
    counter = alt.Chart(cf.with_columns(line=pl.lit(names[2]))).mark_line(
        strokeDash=[6, 4], strokeWidth=2).encode(
        x=x, y="value:Q", color=alt.Color("line:N", scale=scale, legend=legend))
    rule = alt.Chart(pl.DataFrame({"week": [intervention]})).mark_rule(
        color="black", strokeDash=[2, 2]).encode(x="week:T")
    return alt.layer(points, fitted, counter, rule).properties(height=320)


def root_cause_chart(monthly: pl.DataFrame) -> alt.Chart:
    """Failed deployments per month, stacked by root-cause category (whole months only)."""
    return alt.Chart(monthly).mark_bar().encode(
        x=alt.X("month:T", title="month", timeUnit="yearmonth"),
        y=alt.Y("failed_deployments:Q", title="failed deployments"),
        color=alt.Color("category:N", title="root cause",
                        legend=alt.Legend(orient="top", labelLimit=300)),
        tooltip=["month:T", "category:N", "failed_deployments:Q"]).properties(height=280)
