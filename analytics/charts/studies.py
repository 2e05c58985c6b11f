"""Altair builders for the studies: release impact, the weekday effect and the threshold
workshop. Each takes a report's result (``analytics.reports.release_impact`` / ``weekday`` /
``thresholds``) and returns a chart; pages and notebooks draw the same thing.
"""

from __future__ import annotations

import altair as alt
import polars as pl


# Colour by meaning, the same on every study chart: a failed release is warm, a successful one
# cool, all releases together neutral grey.
OUTCOME_COLOURS = {"failed": "#d6604d", "success": "#4393c3", "all": "#8c8c8c"}


def outcome_scale(outcomes: list[str]) -> alt.Scale:
    """The colour scale of release outcomes (failed warm, success cool, all grey).

    >>> outcome_scale(["failed", "all"]).to_dict()["range"]
    ['#d6604d', '#8c8c8c']
    """
    return alt.Scale(domain=outcomes, range=[OUTCOME_COLOURS.get(o, "#8c8c8c") for o in outcomes])


def rate_ratio_chart(rates: pl.DataFrame) -> alt.FacetChart:
    """Rate ratios with 95% CIs by release outcome, one panel per kind (tickets, incidents);
    ``rates`` is :func:`analytics.reports.release_impact.rate_ratios`. One legend, coloured by
    meaning (:data:`OUTCOME_COLOURS`)."""
    order = [o for o in ("failed", "success", "all") if o in set(rates["releases"].to_list())]
    colour = alt.Color("releases:N", scale=outcome_scale(order), sort=order, title="releases")
    base = alt.Chart(rates).encode(y=alt.Y("releases:N", title=None, sort=order), color=colour)
    one = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(x="x:Q")
    return (base.mark_rule(strokeWidth=2).encode(
                x=alt.X("ci_low:Q", title="rate ratio (95% CI; 1 = no change)",
                        scale=alt.Scale(type="log")), x2="ci_high:Q")
            + base.mark_point(filled=True, size=80).encode(x="rate_ratio:Q", tooltip=rates.columns)
            + one).properties(height=120).facet(column=alt.Column("kind:N", title=None))


def event_study_chart(event_study: pl.DataFrame) -> alt.LayerChart:
    """Mean tickets per service-hour around releases (band ±1.96 SE) and, dashed, what the
    hour of week alone predicts; ``event_study`` is the report's frame of that name. One legend
    names all four lines: colour = outcome (failed warm, success cool), dash = observed/expected."""
    es = event_study.drop_nulls("mean")
    outcomes = [o for o in ("failed", "success") if o in set(es["outcome"].to_list())]
    names = [f"{o}: {k}" for o in outcomes for k in ("observed", "expected (hour of week)")]
    long = pl.concat([
        es.select("rel_hour", "outcome", value="mean", low="low", high="high",
                  line=pl.col("outcome") + ": observed"),
        es.select("rel_hour", "outcome", value="expected", low=pl.lit(None, pl.Float64),
                  high=pl.lit(None, pl.Float64), line=pl.col("outcome") + ": expected (hour of week)"),
    ])
    # One legend: the colour legend names all four lines (its labels say which are expected), the
    # dash follows the same field without a legend of its own.
    legend = alt.Legend(orient="top", columns=2, labelLimit=300, symbolType="stroke", symbolStrokeWidth=2)
    line_enc = alt.Color("line:N", title=None, sort=names, legend=legend, scale=alt.Scale(
        domain=names, range=[OUTCOME_COLOURS[n.split(":")[0]] for n in names]))
    dash = alt.StrokeDash("line:N", title=None, sort=names, legend=None, scale=alt.Scale(
        domain=names, range=[[1, 0] if n.endswith("observed") else [5, 3] for n in names]))
    band = alt.Chart(es).mark_area(opacity=0.2).encode(
        x=alt.X("rel_hour:Q", title="hours from release"), y=alt.Y("low:Q", title="tickets per hour"),
        y2="high:Q", color=alt.Color("outcome:N", scale=outcome_scale(outcomes), legend=None))
    lines = alt.Chart(long).mark_line().encode(
        x="rel_hour:Q", y="value:Q", color=line_enc, strokeDash=dash,
        tooltip=["line:N", "rel_hour:Q", alt.Tooltip("value:Q", format=".3f")])
    return (band + lines).resolve_scale(color="independent").properties(height=280)


def weekday_rate_chart(by_weekday: pl.DataFrame) -> alt.LayerChart:
    """Failure rate by weekday with Wilson 95% intervals, Monday first."""
    order = by_weekday["weekday"].to_list()
    base = alt.Chart(by_weekday).encode(x=alt.X("weekday:N", sort=order, title=None,
                                                axis=alt.Axis(labelAngle=0)))
    return (base.mark_rule().encode(y=alt.Y("ci_low:Q", title="failure rate (Wilson 95% CI)",
                                            axis=alt.Axis(format="%")), y2="ci_high:Q")
            + base.mark_point(filled=True, size=80).encode(y="rate:Q", tooltip=by_weekday.columns)
            ).properties(height=260)


DEPLOYMENT_COLOURS = {"failed": "#d6604d", "rolled_back": "#b2182b", "success": "#9e9e9e"}


# Channels are built as objects, not "field:T" strings or alt.value dicts: Altair turns each
# of those into a channel through SchemaBase.from_dict, which re-hashes its whole schema (a few
# ms apiece), and this chart is rebuilt on every move of the workshop's slider.
def replay_chart(view: dict, *, metric: str, threshold: float, height: int = 300) -> alt.LayerChart:
    """The workshop's timeline over the replayed span only (``view["span"]``): incidents (orange
    bands), alerts of the proposed rule (shaded by true/false), the windowed value (hourly
    maxima) and the labelled threshold; below the plot, on a strip of its own, deployments as
    rules (failed ones warm). ``view`` is :func:`analytics.reports.thresholds.workshop`.

    One layered view fitted to the container's width (``fit-x``), not a vconcat: Streamlit
    cannot fit a vconcat holding a layer, which drew wider than its column.
    """
    lo, hi = view["span"]
    span = alt.Scale(domain=[lo.isoformat(), hi.isoformat()])
    # The strip sits below the plot (pixels from its top), so it never reads as a level.
    strip_y = height + 14
    # Marks outside the span are clipped (deployments filtered): unclipped, a line or band past
    # the domain drew beyond the plot.
    x = alt.X("ts:T", title=None, scale=span, axis=alt.Axis(labelAngle=0, offset=30))
    line = alt.Chart(view["line"]).mark_line(strokeWidth=1, clip=True).encode(
        x=x, y=alt.Y("value:Q", title=metric, axis=alt.Axis(minExtent=50, maxExtent=50)))
    rule = pl.DataFrame({"y": [threshold], "label": [f"threshold {threshold:g}"]})
    deployments = view["deployments"].filter(pl.col("finished_at").is_between(lo, hi)).with_columns(
        status=pl.col("status").cast(pl.String))
    statuses = [s for s in DEPLOYMENT_COLOURS if s in set(deployments["status"].to_list())] or ["success"]
    layers = [
        alt.Chart(view["incidents"]).mark_rect(opacity=0.25, color="orange", clip=True)
        .encode(x=alt.X("start:T", scale=span), x2=alt.X2("end:T"),
                tooltip=[alt.Tooltip("id"), alt.Tooltip("caught")]),
        alt.Chart(view["alerts"]).mark_rect(opacity=0.35, clip=True).encode(
            x=alt.X("start:T", scale=span), x2=alt.X2("end:T"),
            color=alt.Color("kind:N", title="alert", scale=alt.Scale(
                domain=["true alert", "false alarm"], range=["#1a9850", "#d6604d"]),
                legend=alt.Legend(orient="top"))),
        line,
        alt.Chart(rule).mark_rule(color="red", strokeDash=[4, 4]).encode(y=alt.Y("y:Q")),
        alt.Chart(rule).mark_text(align="left", dx=4, dy=-7, color="red", fontWeight="bold")
        .encode(y=alt.Y("y:Q"), text=alt.Text("label:N"), x=alt.XValue(0)),
        alt.Chart(deployments).mark_tick(thickness=1.5, size=18, orient="vertical").encode(
            x=alt.X("finished_at:T", scale=span), y=alt.YValue(strip_y),
            color=alt.Color("status:N", title="deployment", scale=alt.Scale(
                domain=statuses, range=[DEPLOYMENT_COLOURS[s] for s in statuses]),
                legend=alt.Legend(orient="bottom")),
            tooltip=[alt.Tooltip("status"), alt.Tooltip("version"), alt.Tooltip("finished_at")]),
        alt.Chart(pl.DataFrame({"t": ["deployments"]})).mark_text(
            align="right", baseline="middle", dx=-6, fontSize=11, color="#555").encode(
            x=alt.XValue(0), y=alt.YValue(strip_y), text=alt.Text("t:N")),
    ]
    return (alt.layer(*layers).properties(
        height=height, autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
        .resolve_scale(color="independent"))


def pr_curve_chart(sweep: pl.DataFrame, marks: pl.DataFrame) -> alt.LayerChart:
    """Precision against recall over a threshold sweep, with the current and proposed rules."""
    return (alt.Chart(sweep).mark_line(point=True).encode(
                x=alt.X("recall:Q", scale=alt.Scale(domain=[0, 1])),
                y=alt.Y("precision:Q", scale=alt.Scale(domain=[0, 1])),
                tooltip=[alt.Tooltip("threshold"), alt.Tooltip("alerts_per_week")])
            + alt.Chart(marks).mark_point(size=150, filled=True).encode(
                x=alt.X("recall:Q"), y=alt.Y("precision:Q"),
                color=alt.Color("rule:N", title="rule")))


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
