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
    tick (scorecard: component, measured_pct, reported_pct, contracted_pct); the red tick is
    the contracted target."""
    long = (card.unpivot(index=["component", "contracted_pct"], on=["measured_pct", "reported_pct"],
                         variable_name="figure", value_name="uptime_pct").drop_nulls("uptime_pct")
            .with_columns(pl.col("figure").replace({"measured_pct": "measured",
                                                    "reported_pct": "reported by the vendor"})))
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


# Above this many service-months a scatter draws every one as an SVG mark (14,400 at scale 30:
# most of the Service review's browser time) and they overplot: a binned density reads better.
MAX_POINTS = 2000


def csat_chart(pairs: pl.DataFrame, height: int = 280) -> alt.Chart:
    """:func:`csat_scatter`, or :func:`csat_density` above ``MAX_POINTS`` service-months."""
    return csat_scatter(pairs, height) if pairs.height <= MAX_POINTS else csat_density(pairs, height)


def density_cells(pairs: pl.DataFrame, bins: tuple[int, int] = (30, 20)) -> pl.DataFrame:
    """Service-months per cell of a ``bins`` grid spanning the observed uptime and CSAT: x0, x1,
    y0, y1 (cell edges), service_months, answers (Σ n)."""
    cols = {}
    for axis, col, n in (("x", "uptime_pct", bins[0]), ("y", "csat", bins[1])):
        lo, hi = pairs[col].min(), pairs[col].max()
        width = (hi - lo) / n if hi > lo else 1.0
        cols[f"{axis}0"] = lo + ((pl.col(col) - lo) / width).floor().clip(0, n - 1) * width
        cols[f"{axis}w"] = width
    return (pairs.group_by(x0=cols["x0"], y0=cols["y0"])
            .agg(service_months=pl.len(), answers=pl.col("n").sum())
            .with_columns(x1=pl.col("x0") + cols["xw"], y1=pl.col("y0") + cols["yw"])
            .sort("x0", "y0"))


def csat_density(pairs: pl.DataFrame, height: int = 280) -> alt.Chart:
    """CSAT against uptime as a grid of cells coloured by how many service-months fall in each
    (pairs: uptime_pct, csat, n): a few hundred marks whatever the number of services."""
    cells = density_cells(pairs)
    return alt.Chart(cells).mark_rect().encode(
        x=alt.X("x0:Q", title="Uptime %", scale=alt.Scale(zero=False)), x2="x1:Q",
        y=alt.Y("y0:Q", title="CSAT (share 4–5)", axis=alt.Axis(format="%"),
                scale=alt.Scale(zero=False)), y2="y1:Q",
        color=alt.Color("service_months:Q", title="service-months",
                        scale=alt.Scale(type="log", scheme="blues")),
        tooltip=[alt.Tooltip("x0:Q", title="uptime from", format=".3f"),
                 alt.Tooltip("x1:Q", title="uptime to", format=".3f"),
                 alt.Tooltip("y0:Q", title="CSAT from", format=".1%"),
                 alt.Tooltip("y1:Q", title="CSAT to", format=".1%"),
                 "service_months:Q", "answers:Q"]).properties(height=height)
