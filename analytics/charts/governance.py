"""Altair builders for the Governance page: the gaming detectors' counts on each side of a
target. Each takes a report's frame; none reads the store."""

from __future__ import annotations

import altair as alt
import polars as pl

SIDES = ["just below", "just above"]
ROW_PX = 40  # height of one severity's pair of bars


def bunching_chart(stats: pl.DataFrame) -> alt.Chart:
    """Incidents resolved just below vs just above each severity's target (δ either side), one
    pair of horizontal bars per severity; ``stats`` is a detector's frame from
    :mod:`analytics.reports.gaming` (severity, target_hours, delta_minutes, just_below,
    just_above). The chart's height is ``ROW_PX`` per severity."""
    long = (stats.rename({"just_below": SIDES[0], "just_above": SIDES[1]})
            .unpivot(index=["severity", "target_hours", "delta_minutes"], on=SIDES,
                     variable_name="side", value_name="incidents")
            .with_columns(target=pl.format("sev {} · {} h", pl.col("severity"),
                                           pl.col("target_hours").round(1)),
                          # Floats: 64-bit integers reach the browser as BigInt.
                          incidents=pl.col("incidents").cast(pl.Float64))
            .sort("severity"))
    order = long["target"].unique(maintain_order=True).to_list()
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("target:N", sort=order, title="severity · target",
                axis=alt.Axis(labelLimit=200)),
        yOffset=alt.YOffset("side:N", sort=SIDES),
        x=alt.X("incidents:Q", title="incidents resolved within δ of the target",
                axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("side:N", sort=SIDES, title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["target:N", "side:N", alt.Tooltip("incidents:Q", format=",.0f"),
                 alt.Tooltip("delta_minutes:Q", title="δ (minutes)", format=".0f")],
    ).properties(height=ROW_PX * len(order))
