"""Altair builders for the delivery area: KPI trends and the Overview's weekly activity.

Each builder takes a report result (summary/trend frames from :mod:`analytics.reports.delivery`,
activity counts from :mod:`analytics.reports.scorecard`) and returns a chart; KPI titles and
formats come from the KPI catalogue, so page and notebook draw the same thing.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from analytics import catalogue

# Trend charts of the Delivery page, by catalogue key.
TREND_KPIS = ("deployment_frequency", "change_failure_rate", "lead_time", "recovery_time", "mttr")
# d3 format of a value by catalogue format (axis and tooltip).
D3_FORMAT = {"pct": ".1%", "hours": ",.1f", "per_day": ".2f", "number": ",.2f"}


def trend_title(key: str) -> str:
    """Chart title of a KPI trend: the catalogue label, with its unit for hours.

    >>> trend_title("mttr")
    'Mean time to restore, median (h)'
    """
    kpi = catalogue.get(key)
    if kpi.format == "hours":
        return f"{kpi.label}, median (h)"
    if kpi.format == "per_day":
        return f"{kpi.label} (per day)"
    return kpi.label


def kpi_trend(series: pl.DataFrame, key: str, *, every: str, previous: float | None = None,
              tz: str = "UTC", height: int = 220) -> alt.LayerChart:
    """One KPI per ``every`` period as a line; for CFR the Wilson 95% band of each period; a
    dashed rule at the previous period's value when given. ``series`` is a trend frame
    (``period``, the KPI's column, ``cfr_ci_low``/``cfr_ci_high``, ``small_sample``)."""
    kpi = catalogue.get(key)
    col, fmt = kpi.column, D3_FORMAT[kpi.format]
    data = series.select("period", col, "cfr_ci_low", "cfr_ci_high", "small_sample")
    base = alt.Chart(data).encode(x=alt.X("period:T", title=f"{every} starting ({tz})"))
    layers = []
    if key == "change_failure_rate":  # the Wilson interval of each period as a band
        layers.append(base.mark_area(opacity=0.2).encode(y=alt.Y("cfr_ci_low:Q", title=None),
                                                         y2="cfr_ci_high:Q"))
    layers.append(base.mark_line(point=True).encode(
        # The chart's title names the KPI; a long vertical axis title pushes it out of view.
        y=alt.Y(f"{col}:Q", title=None, axis=alt.Axis(format=fmt)),
        tooltip=[alt.Tooltip("period:T"), alt.Tooltip(f"{col}:Q", title=kpi.short, format=fmt),
                 "small_sample:N"]))
    if previous is not None:
        rule = pl.DataFrame({"y": [previous], "what": ["previous period"]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[4, 4], color="gray").encode(
            y=alt.Y("y:Q", title=None), tooltip=["what:N", alt.Tooltip("y:Q", format=fmt)]))
    return alt.layer(*layers).properties(height=height, title=trend_title(key))


def weekly_activity(weekly: pl.DataFrame, labels: dict[str, str], *,
                    tz: str = "UTC") -> alt.FacetChart:
    """Events per ISO week, one small multiple per kind (independent y scales); weeks without
    events are gaps, not zeros. ``weekly`` has ``week``, ``kind``, ``count``."""
    return (
        alt.Chart(weekly.with_columns(kind=pl.col("kind").replace(labels)))
        .mark_line(point=True)
        .encode(x=alt.X("week:T", title=f"ISO week (Monday, {tz})"),
                y=alt.Y("count:Q", title="Count per week"),
                color=alt.Color("kind:N", title=None, legend=None),
                tooltip=["week:T", "kind:N", "count:Q"])
        .properties(height=170, width=380)
        .facet(facet=alt.Facet("kind:N", title=None), columns=2)
        .resolve_scale(y="independent")
    )


def mttr_baselines(rows: pl.DataFrame) -> alt.LayerChart:
    """Per service: p50–p80 restore time as a bar, the tier's commitment as a tick."""
    data = rows.select("service", "tier", "n", "p50_hours", "p80_hours", "commitment_hours",
                       "within_commitment")
    base = alt.Chart(data).encode(y=alt.Y("service:N", title=None, sort=None))
    span = base.mark_bar(height=10).encode(
        x=alt.X("p50_hours:Q", title="restore time, hours (p50 to p80)"), x2="p80_hours:Q",
        color=alt.Color("within_commitment:N", title="p80 within commitment",
                        scale=alt.Scale(domain=[True, False], range=["#4c9a5b", "#c0504d"])),
        tooltip=["service:N", "tier:N", "n:Q", alt.Tooltip("p50_hours:Q", format=",.1f"),
                 alt.Tooltip("p80_hours:Q", format=",.1f"),
                 alt.Tooltip("commitment_hours:Q", format=",.1f")])
    tick = base.mark_tick(color="black", thickness=2, size=16).encode(x="commitment_hours:Q")
    return alt.layer(span, tick).properties(height=max(120, 22 * data.height))
