"""Altair builders for the customer area: CSAT/NPS control charts, CSAT by segment, CSAT against
operations, voice-of-customer themes and experiment lifts. Used by pages/customer.py,
pages/voice_of_customer.py, pages/experiments.py and notebooks/customer.py."""

from __future__ import annotations

import re

import altair as alt
import polars as pl

DRIVER_LABELS = {"tickets": "tickets opened", "backlog_age_hours": "backlog age (h)",
                 "incidents": "incidents opened", "customer_facing_minutes": "customer-facing minutes"}
HEIGHT = 260
LABEL_LIMIT = 300  # px: theme names and variant names are long; never cut them at the default 200


def runs(frame: pl.DataFrame) -> pl.DataFrame:
    """Observed periods with a ``run`` id that changes at every gap, so lines break at gaps.

    >>> f = pl.DataFrame({"gap": [False, True, False]})
    >>> runs(f)["run"].to_list()
    [0, 1]
    """
    return frame.with_columns(run=pl.col("gap").cast(pl.Int32).cum_sum()).filter(~pl.col("gap"))


def _gap_rules(frame: pl.DataFrame) -> alt.Chart:
    gaps = frame.filter(pl.col("gap")).select("period")
    return alt.Chart(gaps).mark_rule(color="#bbbbbb", strokeDash=[2, 2]).encode(
        x="period:T", tooltip=[alt.Tooltip("period:T", title="no responses")])


def control_chart(frame: pl.DataFrame, value: str, title: str,
                  band: tuple[str, str] | None = None) -> alt.LayerChart:
    """Rate (with its interval band), centre line, limits, out-of-control points and gap marks,
    from a p-chart or EWMA frame (period, n, ``value``, center, lcl, ucl, signal, gap)."""
    seen = runs(frame)
    base = alt.Chart(seen).encode(x=alt.X("period:T", title=None, axis=alt.Axis(format="%b %d")),
                                  detail="run:N")
    layers = []
    if band:
        layers.append(base.mark_area(opacity=0.2).encode(y=alt.Y(f"{band[0]}:Q"), y2=f"{band[1]}:Q"))
    layers += [
        base.mark_line(point=True).encode(
            y=alt.Y(f"{value}:Q", title=title, scale=alt.Scale(zero=False), axis=alt.Axis(format="%")),
            tooltip=["period:T", "n:Q", alt.Tooltip(f"{value}:Q", format=".1%"),
                     alt.Tooltip("lcl:Q", format=".1%"), alt.Tooltip("ucl:Q", format=".1%")]),
        base.mark_line(color="gray", strokeDash=[6, 3]).encode(y="center:Q"),
        base.mark_line(color="firebrick", strokeDash=[3, 3], interpolate="step-after").encode(y="lcl:Q"),
        base.mark_line(color="firebrick", strokeDash=[3, 3], interpolate="step-after").encode(y="ucl:Q"),
        alt.Chart(seen.filter(pl.col("signal").is_not_null())).mark_point(
            color="red", size=120, filled=True, shape="diamond").encode(
            x="period:T", y=f"{value}:Q", tooltip=["period:T", "signal:N", "n:Q"]),
    ]
    if frame["gap"].any():
        layers.append(_gap_rules(frame))
    return alt.layer(*layers).properties(height=HEIGHT)


def csat_weekly(weekly: pl.DataFrame) -> alt.LayerChart:
    """Weekly CSAT p-chart with its Wilson band."""
    return control_chart(weekly, "csat", "CSAT (share 4–5)", ("csat_low", "csat_high"))


def ewma_daily(daily: pl.DataFrame) -> alt.LayerChart:
    """Daily EWMA of CSAT with its time-varying limits."""
    return control_chart(daily.rename({"ewma": "ewma_csat"}), "ewma_csat", "EWMA of daily CSAT")


def nps_weekly(weekly: pl.DataFrame) -> alt.LayerChart:
    """Weekly NPS with its adjusted-Wald band; weeks without NPS answers are gaps."""
    nps = runs(weekly.with_columns(gap=pl.col("nps_n") == 0))
    return alt.layer(
        alt.Chart(nps).mark_area(opacity=0.2).encode(x=alt.X("period:T", title=None), y="nps_low:Q",
                                                     y2="nps_high:Q", detail="run:N"),
        alt.Chart(nps).mark_line(point=True).encode(
            x="period:T", y=alt.Y("nps:Q", title="NPS"), detail="run:N",
            tooltip=["period:T", "nps_n:Q", "promoters:Q", "detractors:Q", alt.Tooltip("nps:Q", format="+.1f")]),
    ).properties(height=HEIGHT)


def csat_by_group(groups: pl.DataFrame, by: str) -> alt.LayerChart:
    """CSAT per group (a point with its Wilson 95% interval), most answers on top."""
    frame = groups.with_columns(pl.col(by).fill_null("(none)"))
    order = frame[by].to_list()
    base = alt.Chart(frame).encode(y=alt.Y(f"{by}:N", sort=order, title=None,
                                           axis=alt.Axis(labelLimit=LABEL_LIMIT)))
    return (base.mark_rule(strokeWidth=3).encode(
        x=alt.X("csat_low:Q", title="CSAT (share 4–5), 95% Wilson", axis=alt.Axis(format="%"),
                scale=alt.Scale(zero=False)), x2="csat_high:Q")
        + base.mark_point(filled=True, size=80).encode(x="csat:Q", tooltip=[
            f"{by}:N", "n:Q", "satisfied:Q", alt.Tooltip("csat:Q", format=".1%"),
            alt.Tooltip("csat_low:Q", format=".1%"), alt.Tooltip("csat_high:Q", format=".1%"),
            alt.Tooltip("nps:Q", format="+.1f")])
    ).properties(height=alt.Step(32))  # a row per group: a fixed height would hide labels


def driver_correlations(corr: pl.DataFrame) -> alt.LayerChart:
    """Heat map of Pearson r between weekly CSAT and each driver leading by 0…k weeks."""
    heat = corr.with_columns(driver=pl.col("driver").replace(DRIVER_LABELS),
                             label=pl.col("r").round(2).cast(pl.String).fill_null("–"))
    base = alt.Chart(heat).encode(x=alt.X("lag:O", title="driver leads CSAT by (weeks)",
                                          axis=alt.Axis(labelAngle=0)),
                                  y=alt.Y("driver:N", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)))
    return (base.mark_rect().encode(
        color=alt.Color("r:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1]), title="Pearson r"),
        tooltip=["driver:N", "lag:O", "n:Q", alt.Tooltip("r:Q", format=".3f"),
                 alt.Tooltip("p_value:Q", format=".3g")])
        + base.mark_text().encode(text="label:N")).properties(height=200)


def theme_bars(themes: pl.DataFrame) -> alt.Chart:
    """Tickets per theme (dominant theme), largest first."""
    return alt.Chart(themes).mark_bar().encode(
        x=alt.X("documents:Q", title="tickets (dominant theme)"),
        y=alt.Y("name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
        tooltip=["name:N", "documents:Q", alt.Tooltip("share:Q", format=".1%"), "top_terms:N"],
    ).properties(height=30 * themes.height)


def theme_trends(weekly: pl.DataFrame, tz: str) -> alt.Chart:
    """Each theme's share of the week's tickets, week by week (gap weeks left out)."""
    trend = weekly.filter(pl.col("share").is_not_null())
    return alt.Chart(trend).mark_line(point=True).encode(
        x=alt.X("period:T", title=f"ISO week ({tz})", axis=alt.Axis(format="%b %d")),
        y=alt.Y("share:Q", title="share of the week's tickets", axis=alt.Axis(format="%")),
        color=alt.Color("name:N", title="theme", legend=alt.Legend(labelLimit=LABEL_LIMIT)),
        tooltip=["period:T", "name:N", "documents:Q", alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=300)


def relative_lifts(variants: pl.DataFrame, control: str) -> alt.LayerChart:
    """Each variant's relative lift vs the control with its delta-method 95% interval."""
    lifts = variants.filter(pl.col("variant") != control)
    base = alt.Chart(lifts).encode(y=alt.Y("variant:N", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT)))
    return (base.mark_rule(strokeWidth=3).encode(
        x=alt.X("rel_ci_low:Q", title="relative lift vs control (95% CI)", axis=alt.Axis(format="%")),
        x2="rel_ci_high:Q")
        + base.mark_point(filled=True, size=80).encode(x="rel_lift:Q", tooltip=[
            "variant:N", alt.Tooltip("rel_lift:Q", format=".2%"), alt.Tooltip("rel_ci_low:Q", format=".2%"),
            alt.Tooltip("rel_ci_high:Q", format=".2%"), alt.Tooltip("p_value:Q", format=".4g")])
        + alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(x="x:Q")
    ).properties(height=60 + 40 * lifts.height)


def interaction_plot(cells: pl.DataFrame, factors: list[str], metric: str) -> alt.Chart:
    """Mean of the four cells of a 2×2 design: non-parallel lines mean the factors interact."""
    a, b = factors
    return alt.Chart(cells).mark_line(point=True).encode(
        x=alt.X(f"{a}:N", title=a, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("mean:Q", title=f"mean {metric}", scale=alt.Scale(zero=False)),
        color=alt.Color(f"{b}:N", title=b),
        tooltip=[f"{a}:N", f"{b}:N", "n:Q", alt.Tooltip("mean:Q", format=".4f")],
    ).properties(height=280, width=420, title="Interaction plot: non-parallel lines mean the factors interact")
