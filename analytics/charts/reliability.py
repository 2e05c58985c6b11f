"""Altair builders for the SLOs and SLAs pages and the reliability notebook (REFERENCE §2, §3).

Each builder takes a report's frame and returns an ``alt.Chart``; none reads the store.
"""

from __future__ import annotations

import altair as alt
import polars as pl

BURN_AXIS = [0, 1, 3, 10, 30, 100, 300, 1000]
# One date format for every time axis of the reliability pages ("Nov 22"); tooltips add the hour.
DATE_AXIS = alt.Axis(format="%b %d", labelAngle=0, title=None)
STATE_COLOURS = {"healthy": "#2e7d32", "at risk": "#ef6c00", "exhausted": "#c62828",
                 "no data": "#9e9e9e"}


def burn_down_chart(down: pl.DataFrame, height: int = 300) -> alt.Chart:
    """Error budget remaining through the current window against the ideal line
    (``reports.slo.series`` → burn-down: ts, remaining, ideal)."""
    long = down.unpivot(index="ts", on=["remaining", "ideal"], variable_name="line")
    return alt.Chart(long).mark_line().encode(
        x=alt.X("ts:T", axis=DATE_AXIS),
        y=alt.Y("value:Q", title="Error budget remaining", axis=alt.Axis(format="%")),
        color=alt.Color("line:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["remaining", "ideal"],
                                        range=["#4c78a8", "#9e9e9e"])),
        strokeDash=alt.StrokeDash("line:N", legend=None, scale=alt.Scale(
            domain=["remaining", "ideal"], range=[[1, 0], [6, 4]])),
        tooltip=[alt.Tooltip("ts:T", title="UTC", format="%Y-%m-%d %H:%M"), "line:N",
                 alt.Tooltip("value:Q", format=".1%")],
    ).properties(height=height)


def peaks(long: pl.DataFrame, by: list[str], max_points: int) -> pl.DataFrame:
    """``long`` (ts, rate and the ``by`` columns) with at most ``max_points`` timestamps per line:
    the maximum ``rate`` of each step of whole hours (a peak, which fires an alert, survives; a
    400-pixel panel cannot show more points, and every point costs the browser).

    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2026, 1, 1)
    >>> f = pl.DataFrame({"ts": [t0 + timedelta(hours=h) for h in range(6)], "k": ["a"] * 6,
    ...                   "rate": [1.0, 5.0, 2.0, None, 3.0, 0.5]})
    >>> peaks(f, ["k"], 3)["rate"].to_list()
    [5.0, 2.0, 3.0]
    """
    hours = long["ts"].n_unique()
    step = -(-hours // max_points)
    if step <= 1:
        return long
    return (long.group_by([*by, pl.col("ts").dt.truncate(f"{step}h")])
            .agg(pl.col("rate").max()).sort([*by, "ts"]))


def burn_rate_chart(rates: pl.DataFrame, height: int = 150, width: int = 400,
                    max_points: int = 400) -> alt.FacetChart:
    """One panel per alert pair: burn rate over its long and its short window (symlog) and the
    pair's factor as a dashed rule; the pair fires when both lines are above the rule
    (``reports.slo.series`` → burn rates: ts, alert, burn, short_burn, factor). Over a long
    period each line keeps at most ``max_points`` points, the maximum of each step
    (:func:`peaks`)."""
    order = list(dict.fromkeys(rates["alert"].to_list()))
    long = peaks(rates.drop("window", strict=False).unpivot(
        index=["ts", "alert", "factor"], on=["burn", "short_burn"],
                         variable_name="window", value_name="rate").with_columns(
        pl.col("window").replace({"burn": "long window", "short_burn": "short window"})),
        ["alert", "factor", "window"], max_points)
    base = alt.Chart().encode(x=alt.X("ts:T", axis=DATE_AXIS))
    lines = base.mark_line(strokeWidth=1).encode(
        y=alt.Y("rate:Q", title="Burn rate (symlog)", scale=alt.Scale(type="symlog"),
                axis=alt.Axis(values=BURN_AXIS)),
        color=alt.Color("window:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["long window", "short window"],
                                        range=["#4c78a8", "#f58518"])),
        opacity=alt.Opacity("window:N", legend=None, scale=alt.Scale(
            domain=["long window", "short window"], range=[1.0, 0.35])),
        tooltip=[alt.Tooltip("ts:T", title="UTC", format="%Y-%m-%d %H:%M"), "window:N",
                 alt.Tooltip("rate:Q", format=".2f"), alt.Tooltip("factor:Q", format=".3g")])
    rules = alt.Chart().mark_rule(strokeDash=[6, 3], color="#c62828").encode(
        y="mean(factor):Q")
    return alt.layer(lines, rules, data=long).properties(height=height, width=width).facet(
        facet=alt.Facet("alert:N", title=None, sort=order,
                        header=alt.Header(labelFontSize=13, labelFontWeight="bold")),
        columns=2)


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


def ticket_sla_chart(summary: pl.DataFrame, height: int = 300,
                     timer: str = "resolution") -> alt.Chart:
    """Share of decided tickets per priority that met or breached the ``timer`` target
    (``reports.ticket_sla`` summary: priority, {timer}_met, {timer}_breached); ``timer`` is
    ``resolution`` (of resolved tickets) or ``response`` (of tickets answered or past due)."""
    long = summary.unpivot(index="priority", on=[f"{timer}_met", f"{timer}_breached"],
                           variable_name="outcome").with_columns(
        pl.col("outcome").str.replace(f"{timer}_", ""))
    title = "Share of resolved" if timer == "resolution" else "Share of decided"
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("priority:N", title="Priority", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("value:Q", title=title, stack="normalize",
                axis=alt.Axis(format="%")),
        color=alt.Color("outcome:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=["met", "breached"],
                                        range=["#4c78a8", "#e45756"])),
        tooltip=["priority:N", "outcome:N", alt.Tooltip("value:Q", format=",")],
    ).properties(height=height)
