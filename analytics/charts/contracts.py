"""Altair builders for the Contracts & vendors and Service review pages (issue 19).

Each builder takes a report's frame and returns an ``alt.Chart``; none reads the store.
"""

from __future__ import annotations

import altair as alt
import polars as pl


def uptime_trend_chart(trend: pl.DataFrame, height: int = 280) -> alt.LayerChart:
    """Monthly uptime % per contract with dashed target rules (review pack ``sla_trend``:
    contract, month, uptime_pct, target_pct)."""
    base = alt.Chart(trend).encode(color=alt.Color("contract:N", title=None,
                                                    legend=alt.Legend(orient="bottom")))
    line = base.mark_line(point=True).encode(
        x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("uptime_pct:Q", title="Uptime %", scale=alt.Scale(zero=False)),
        tooltip=["contract:N", "month:O", alt.Tooltip("uptime_pct:Q", format=".3f"),
                 alt.Tooltip("target_pct:Q", format=".3f")])
    rule = base.mark_rule(strokeDash=[4, 3], opacity=0.6).encode(y="mean(target_pct):Q")
    return (line + rule).properties(height=height)


def vendor_chart(card: pl.DataFrame, height: int = 260) -> alt.LayerChart:
    """Measured vs vendor-reported uptime per vendor component with the contracted target as a
    tick (scorecard: component, measured_pct, reported_pct, contracted_pct)."""
    long = card.unpivot(index=["component", "contracted_pct"], on=["measured_pct", "reported_pct"],
                        variable_name="figure", value_name="uptime_pct").drop_nulls("uptime_pct")
    bars = alt.Chart(long).mark_point(filled=True, size=70).encode(
        y=alt.Y("component:N", title=None, sort=None, axis=alt.Axis(labelLimit=220, labelOverlap=False)),
        x=alt.X("uptime_pct:Q", title="Uptime %", scale=alt.Scale(zero=False)),
        color=alt.Color("figure:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["component:N", "figure:N", alt.Tooltip("uptime_pct:Q", format=".4f")])
    tick = alt.Chart(card).mark_tick(color="#c62828", thickness=2).encode(
        y=alt.Y("component:N", sort=None), x="contracted_pct:Q",
        tooltip=["component:N", alt.Tooltip("contracted_pct:Q", title="contracted")])
    return (bars + tick).properties(height=max(height, 30 * card["component"].n_unique()))


def csat_scatter(pairs: pl.DataFrame, height: int = 280) -> alt.Chart:
    """CSAT against uptime, one point per service-month (pairs: service, month, uptime_pct, csat, n)."""
    return alt.Chart(pairs).mark_circle(opacity=0.5).encode(
        x=alt.X("uptime_pct:Q", title="Uptime %", scale=alt.Scale(zero=False)),
        y=alt.Y("csat:Q", title="CSAT (share 4–5)", axis=alt.Axis(format="%")),
        tooltip=["service:N", "month:O", alt.Tooltip("uptime_pct:Q", format=".3f"),
                 alt.Tooltip("csat:Q", format=".1%"), "n:Q"]).properties(height=height)
