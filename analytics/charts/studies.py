"""Altair builders for the studies: release impact, the weekday effect and the threshold
workshop. Each takes a report's result (``analytics.reports.release_impact`` / ``weekday`` /
``thresholds``) and returns a chart; pages and notebooks draw the same thing.
"""

from __future__ import annotations

import altair as alt
import polars as pl


def rate_ratio_chart(rates: pl.DataFrame) -> alt.FacetChart:
    """Rate ratios with 95% CIs by release outcome, one panel per kind (tickets, incidents);
    ``rates`` is :func:`analytics.reports.release_impact.rate_ratios`."""
    base = alt.Chart(rates).encode(y=alt.Y("releases:N", title=None), color="releases:N")
    return (base.mark_rule().encode(x=alt.X("ci_low:Q", title="rate ratio (95% CI)",
                                            scale=alt.Scale(type="log")), x2="ci_high:Q")
            + base.mark_point(filled=True, size=80).encode(x="rate_ratio:Q", tooltip=rates.columns)
            ).properties(height=120).facet(column=alt.Column("kind:N", title=None))


def event_study_chart(event_study: pl.DataFrame) -> alt.LayerChart:
    """Mean tickets per service-hour around releases (band ±1.96 SE) and, dashed, what the
    hour of week alone predicts; ``event_study`` is the report's frame of that name."""
    es = event_study.drop_nulls("mean")
    band = alt.Chart(es).mark_area(opacity=0.25).encode(
        x=alt.X("rel_hour:Q", title="hours from release"), y=alt.Y("low:Q", title="tickets per hour"),
        y2="high:Q", color="outcome:N")
    line = alt.Chart(es).mark_line().encode(x="rel_hour:Q", y="mean:Q", color="outcome:N")
    expected = alt.Chart(es).mark_line(strokeDash=[4, 3]).encode(x="rel_hour:Q", y="expected:Q",
                                                                 color="outcome:N")
    return (band + line + expected).properties(height=280)


def weekday_rate_chart(by_weekday: pl.DataFrame) -> alt.LayerChart:
    """Failure rate by weekday with Wilson 95% intervals, Monday first."""
    order = by_weekday["weekday"].to_list()
    base = alt.Chart(by_weekday).encode(x=alt.X("weekday:N", sort=order, title=None,
                                                axis=alt.Axis(labelAngle=0)))
    return (base.mark_rule().encode(y=alt.Y("ci_low:Q", title="failure rate (Wilson 95% CI)",
                                            axis=alt.Axis(format="%")), y2="ci_high:Q")
            + base.mark_point(filled=True, size=80).encode(y="rate:Q", tooltip=by_weekday.columns)
            ).properties(height=260)


def replay_chart(view: dict, *, metric: str, threshold: float) -> alt.LayerChart:
    """The workshop's timeline: incidents (orange bands), alerts of the proposed rule (shaded by
    true/false), the windowed value (hourly maxima), the threshold (red dashes) and deployments
    (grey ticks); ``view`` is :func:`analytics.reports.thresholds.workshop`."""
    deployments = view["deployments"]
    return (alt.Chart(view["incidents"]).mark_rect(opacity=0.25, color="orange")
            .encode(x="start:T", x2="end:T", tooltip=["id", "caught"])
            + alt.Chart(view["alerts"]).mark_rect(opacity=0.35).encode(
                x="start:T", x2="end:T", color=alt.Color("kind:N", title="alert"))
            + alt.Chart(view["line"]).mark_line().encode(x=alt.X("ts:T", title=None),
                                                         y=alt.Y("value:Q", title=metric))
            + alt.Chart(pl.DataFrame({"y": [threshold]})).mark_rule(color="red", strokeDash=[4, 4])
            .encode(y="y:Q")
            + alt.Chart(deployments).mark_tick(color="gray", thickness=1)
            .encode(x="finished_at:T", tooltip=["status", "version", "finished_at"])
            ).properties(height=320)


def pr_curve_chart(sweep: pl.DataFrame, marks: pl.DataFrame) -> alt.LayerChart:
    """Precision against recall over a threshold sweep, with the current and proposed rules."""
    return (alt.Chart(sweep).mark_line(point=True).encode(
                x=alt.X("recall:Q", scale=alt.Scale(domain=[0, 1])),
                y=alt.Y("precision:Q", scale=alt.Scale(domain=[0, 1])),
                tooltip=["threshold", "alerts_per_week"])
            + alt.Chart(marks).mark_point(size=150, filled=True).encode(
                x="recall:Q", y="precision:Q", color=alt.Color("rule:N", title="rule")))


ROLLBACK_OUTCOMES = ("caught", "false rollback", "missed", "quiet")


def rollback_chart(rows: pl.DataFrame) -> alt.Chart:
    """Each production deployment on a time line, one row per trigger outcome (caught, false
    rollback, missed, quiet); ``rows`` is the ``rows`` of
    :func:`analytics.reports.thresholds.rollback_replay` as a frame."""
    return alt.Chart(rows).mark_tick(thickness=2).encode(
        x=alt.X("finished_at:T", title=None),
        y=alt.Y("outcome:N", sort=list(ROLLBACK_OUTCOMES), title=None),
        color=alt.Color("outcome:N", sort=list(ROLLBACK_OUTCOMES), legend=None),
        tooltip=["id", "finished_at", "status", "outcome", "impact_minutes_saved"],
    ).properties(height=140)
