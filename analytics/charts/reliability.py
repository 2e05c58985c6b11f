"""Altair builders for the SLOs and SLAs pages and the reliability notebook (REFERENCE §2, §3).

Each builder takes a report's frame and returns an ``alt.Chart``; none reads the store.
"""

from __future__ import annotations

import altair as alt
import polars as pl

BURN_AXIS = [0, 1, 3, 10, 30, 100, 300, 1000]


def burn_down_chart(down: pl.DataFrame, height: int = 300) -> alt.Chart:
    """Error budget remaining through the current window against the ideal line
    (``reports.slo.series`` → burn-down: ts, remaining, ideal)."""
    long = down.unpivot(index="ts", on=["remaining", "ideal"], variable_name="line")
    return alt.Chart(long).mark_line().encode(
        x=alt.X("ts:T", title="UTC"),
        y=alt.Y("value:Q", title="Error budget remaining", axis=alt.Axis(format="%")),
        color=alt.Color("line:N", title=None, legend=alt.Legend(orient="bottom")),
        strokeDash=alt.StrokeDash("line:N", legend=None, scale=alt.Scale(
            domain=["remaining", "ideal"], range=[[1, 0], [6, 4]])),
        tooltip=["ts:T", "line:N", alt.Tooltip("value:Q", format=".1%")],
    ).properties(height=height)


def burn_rate_chart(rates: pl.DataFrame, height: int = 300) -> alt.LayerChart:
    """Burn rate per alert long window (symlog) with each alert's factor as a dashed rule
    (``reports.slo.series`` → burn rates: ts, alert, burn, factor)."""
    base = alt.Chart(rates).encode(color=alt.Color(
        "alert:N", title=None, legend=alt.Legend(orient="bottom", columns=2)))
    lines = base.mark_line(strokeWidth=1).encode(
        x=alt.X("ts:T", title="UTC"),
        y=alt.Y("burn:Q", title="Burn rate (symlog scale)", scale=alt.Scale(type="symlog"),
                axis=alt.Axis(values=BURN_AXIS)),
        tooltip=["ts:T", "alert:N", alt.Tooltip("burn:Q", format=".2f"),
                 alt.Tooltip("factor:Q", format=".3f")])
    rules = base.mark_rule(strokeDash=[6, 3]).encode(y="mean(factor):Q")
    return (lines + rules).properties(height=height)


def composite_chart(components: pl.DataFrame, height: int | None = None) -> alt.LayerChart:
    """Component SLIs against their targets (``reports.slo.composite`` → components: slo,
    weight, target, sli); bar length is the SLI, the tick the target."""
    data = components.filter(pl.col("sli").is_not_null())
    lo = min([*data["sli"].to_list(), *data["target"].drop_nulls().to_list(), 1.0])
    scale = alt.Scale(domain=[max(0.0, lo - (1 - lo) * 0.5), 1.0], clamp=True)
    base = alt.Chart(data).encode(y=alt.Y("slo:N", title=None, axis=alt.Axis(labelLimit=320)))
    bars = base.mark_bar().encode(
        x=alt.X("sli:Q", title="SLI", scale=scale, axis=alt.Axis(format=".2%")),
        tooltip=["slo:N", alt.Tooltip("sli:Q", format=".4%"),
                 alt.Tooltip("target:Q", format=".3%"), alt.Tooltip("weight:Q", format=".3g")])
    ticks = base.mark_tick(color="black", thickness=2).encode(x="target:Q")
    # Streamlit sizes the whole chart (axes included): keep room for the axis below the bars.
    return (bars + ticks).properties(height=height or 40 * data.height + 100)


def ticket_sla_chart(summary: pl.DataFrame, height: int = 300) -> alt.Chart:
    """Share of resolved tickets per priority that met or breached the resolution target
    (``reports.ticket_sla`` summary: priority, resolution_met, resolution_breached)."""
    long = summary.unpivot(index="priority", on=["resolution_met", "resolution_breached"],
                           variable_name="outcome").with_columns(
        pl.col("outcome").str.replace("resolution_", ""))
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("priority:N", title="Priority", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title="Share of resolved", stack="normalize",
                axis=alt.Axis(format="%")),
        color=alt.Color("outcome:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["met", "breached"],
                                        range=["#4c78a8", "#e45756"])),
        tooltip=["priority:N", "outcome:N", alt.Tooltip("value:Q", format=",")],
    ).properties(height=height)
