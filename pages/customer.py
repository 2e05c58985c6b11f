"""Customer: CSAT and NPS trends with control limits, CSAT against operations, the customers a
failed release touched, and the list of them to survey (REFERENCE §4, CSAT row)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from analytics import ui
from analytics.metrics.control_charts import LANEY_AUTO_N, ewma_chart, p_chart
from analytics.metrics.csat import csat_periods, local_time, overall
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.queries import Filters
from analytics.studies.csat_ops import (
    CohortComparison,
    after_incident_comparison,
    cohort_comparison,
    lagged_correlations,
    survey_targets,
    weekly_operations,
)

DRIVER_LABELS = {"tickets": "tickets opened", "backlog_age_hours": "backlog age (h)",
                 "incidents": "incidents opened", "customer_facing_minutes": "customer-facing minutes"}
BACKLOG_PAD_DAYS = 60
AFTER_INCIDENT_DAYS = 7


def _responses(filters: Filters, tz: str) -> pl.DataFrame:
    """Responses whose local day (``tz``) lies in the period, as `report csat` reads them."""
    pad = timedelta(hours=14) if tz != "UTC" else timedelta(0)  # the widest UTC offset
    frame = queries.csat(ui.engine(), filters, pad_before=pad, pad_after=pad)
    if frame.height == 0:
        return frame
    day = local_time("responded_at", tz).dt.date()
    return frame.filter(day >= filters.start, day <= filters.end)


@st.cache_data(ttl=300, show_spinner="Computing CSAT…")
def trends(filters: Filters, tz: str) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame] | None:
    """Overall CSAT/NPS, the weekly p-chart and the daily EWMA chart (aggregates only)."""
    frame = _responses(filters, tz)
    if frame.height == 0:
        return None
    weekly = p_chart(csat_periods(frame, "week", tz=tz, start=filters.start, end=filters.end))
    daily = ewma_chart(csat_periods(frame, "day", tz=tz, start=filters.start, end=filters.end))
    return overall(frame), weekly, daily


@st.cache_data(ttl=300, show_spinner="Joining CSAT with operations…")
def operations(filters: Filters, tz: str) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Weekly CSAT beside the operational drivers, and their lagged correlations."""
    frame = _responses(filters, tz)
    if frame.height == 0:
        return None
    eng = ui.engine()
    # The backlog at a week's end holds tickets opened before the period too.
    tickets = queries.tickets(eng, filters, pad_before=timedelta(days=BACKLOG_PAD_DAYS))
    incidents = queries.incidents(eng, filters)
    weekly = weekly_operations(frame, tickets, incidents, tz=tz, start=filters.start, end=filters.end)
    if weekly.height < 2:
        return weekly, pl.DataFrame()
    return weekly, lagged_correlations(weekly, max_lag=min(4, weekly.height - 1))


@st.cache_data(ttl=300, show_spinner="Comparing answers after incidents…")
def after_incidents(filters: Filters, tz: str) -> Any:
    """CSAT within 7 days after a customer-facing incident of the same service vs the rest
    (incidents from up to 7 days before the period count), or why it cannot be said."""
    frame = _responses(filters, tz)
    incidents = queries.incidents(ui.engine(), filters, pad_before=timedelta(days=AFTER_INCIDENT_DAYS))
    try:
        return after_incident_comparison(frame, incidents, window=timedelta(days=AFTER_INCIDENT_DAYS))
    except ValueError as exc:
        return str(exc)


@st.cache_data(ttl=300, show_spinner="Comparing cohorts…")
def cohort(release_at: datetime, service: str, window_h: int, follow_up_d: int,
           exclude_days: int) -> tuple[Any, pl.DataFrame]:
    """Affected-vs-baseline CSAT and the survey-targeting list for one release."""
    lo = (release_at - timedelta(days=exclude_days + 1)).date()
    hi = (release_at + timedelta(days=follow_up_d + 1)).date()
    eng = ui.engine()
    window = Filters(start=lo, end=hi)
    csat, tickets = queries.csat(eng, window), queries.tickets(eng, window)
    try:
        comparison = cohort_comparison(csat, tickets, release_at, window=timedelta(hours=window_h),
                                       follow_up=timedelta(days=follow_up_d), service=service)
    except ValueError as exc:
        comparison = str(exc)
    targets = survey_targets(csat, tickets, release_at, window=timedelta(hours=window_h),
                             service=service, exclude_days=exclude_days)
    return comparison, targets


def _runs(frame: pl.DataFrame) -> pl.DataFrame:
    """Observed periods with a run id that changes at every gap, so lines break at gaps."""
    return frame.with_columns(run=pl.col("gap").cast(pl.Int32).cum_sum()).filter(~pl.col("gap"))


def _gap_rules(frame: pl.DataFrame) -> alt.Chart:
    gaps = frame.filter(pl.col("gap")).select("period")
    return alt.Chart(gaps).mark_rule(color="#bbbbbb", strokeDash=[2, 2]).encode(
        x="period:T", tooltip=[alt.Tooltip("period:T", title="no responses")])


def control_chart(frame: pl.DataFrame, value: str, title: str, band: tuple[str, str] | None) -> alt.LayerChart:
    """Rate (with its interval band), centre line, limits, out-of-control points and gap marks."""
    seen = _runs(frame)
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
    return alt.layer(*layers).properties(height=260)


tz = get_settings().timezone
filters = ui.global_filters()
st.title("Customer")
scope = ui.describe(filters) + f" · weeks and days in {tz}; survey answers and tickets have no environment"
st.caption(scope)

result = trends(filters, tz)
if result is None:
    st.info("No survey answers in this period for these filters. Widen the period or clear filters.")
    st.stop()
total, weekly, daily = result
observed = weekly.filter(~pl.col("gap"))
signals = observed.filter(pl.col("signal").is_not_null())
cols = st.columns(4)
ui.tile(cols[0], "CSAT", f"{total['csat']:.1%}",
        f"{total['satisfied']:,} of {total['n']:,} answers scored 4–5 · 95% Wilson "
        f"{total['csat_low']:.1%}–{total['csat_high']:.1%} · {filters.start} – {filters.end}")
ui.tile(cols[1], "NPS", "–" if total["nps"] is None else f"{total['nps']:+.1f}",
        f"{total['promoters']:,} promoters (9–10) − {total['detractors']:,} detractors (0–6) of "
        f"{total['nps_n']:,} NPS answers · 95% adjusted Wald "
        + ("–" if total["nps"] is None else f"{total['nps_low']:+.1f} to {total['nps_high']:+.1f}"))
ui.tile(cols[2], "Out-of-control weeks", f"{signals.height} of {observed.height}",
        f"weeks whose CSAT lies outside the {weekly['chart'][0]} limits (3σ, each week's n) · "
        f"{int(weekly['gap'].sum())} weeks without answers are gaps")
ui.tile(cols[3], "EWMA signal days", f"{int(daily['out_of_control'].fill_null(False).sum())} of "
        f"{int((~daily['gap']).sum())}",
        "days whose EWMA (λ 0.2) of daily CSAT is outside its limits · "
        f"{int(daily['gap'].sum())} days without answers are gaps")

st.subheader("CSAT week by week")
st.altair_chart(control_chart(weekly, "csat", "CSAT (share 4–5)", ("csat_low", "csat_high")))
st.caption(f"Line: weekly CSAT = answers 4–5 ÷ answers, shaded 95% Wilson interval; grey dashed: "
           f"centre p̄; red dashed: {weekly['chart'][0]} control limits from each week's n (Laney p′ "
           f"when the median weekly n ≥ {LANEY_AUTO_N}); red diamonds: out-of-control weeks; dotted "
           "grey rules: weeks without answers (gaps, not zeros). " + scope)
if signals.height:
    st.dataframe(signals.select("period", "n", "satisfied", "csat", "center", "lcl", "ucl", "signal"),
                 hide_index=True, column_config={c: st.column_config.NumberColumn(format="percent")
                                                 for c in ("csat", "center", "lcl", "ucl")})

left, right = st.columns(2)
with left:
    st.subheader("Daily EWMA")
    st.altair_chart(control_chart(daily.rename({"ewma": "ewma_csat"}), "ewma_csat", "EWMA of daily CSAT", None))
    st.caption("EWMA (λ 0.2) of daily CSAT with exact time-varying limits; a day without answers "
               "leaves the EWMA unchanged and is drawn as a gap.")
with right:
    st.subheader("NPS week by week")
    nps = _runs(weekly.with_columns(gap=pl.col("nps_n") == 0))
    st.altair_chart(alt.layer(
        alt.Chart(nps).mark_area(opacity=0.2).encode(x=alt.X("period:T", title=None), y="nps_low:Q",
                                                     y2="nps_high:Q", detail="run:N"),
        alt.Chart(nps).mark_line(point=True).encode(
            x="period:T", y=alt.Y("nps:Q", title="NPS"), detail="run:N",
            tooltip=["period:T", "nps_n:Q", "promoters:Q", "detractors:Q", alt.Tooltip("nps:Q", format="+.1f")]),
    ).properties(height=260))
    st.caption("NPS = % promoters − % detractors of the week's NPS answers, shaded 95% adjusted-Wald "
               "interval; weeks without NPS answers are gaps.")

st.subheader("CSAT against operations")
ops = operations(filters, tz)
if ops is None or ops[1].height == 0:
    st.info("Too few weeks in the period to correlate; widen the period.")
else:
    ops_weekly, corr = ops
    heat = corr.with_columns(driver=pl.col("driver").replace(DRIVER_LABELS),
                             label=pl.col("r").round(2).cast(pl.String).fill_null("–"))
    base = alt.Chart(heat).encode(x=alt.X("lag:O", title="driver leads CSAT by (weeks)",
                                          axis=alt.Axis(labelAngle=0)),
                                  y=alt.Y("driver:N", title=None, axis=alt.Axis(labelLimit=300)))
    st.altair_chart((base.mark_rect().encode(
        color=alt.Color("r:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1]), title="Pearson r"),
        tooltip=["driver:N", "lag:O", "n:Q", alt.Tooltip("r:Q", format=".3f"),
                 alt.Tooltip("p_value:Q", format=".3g")])
        + base.mark_text().encode(text="label:N")).properties(height=200))
    st.caption(f"Pearson r between weekly CSAT in week t and each driver in week t − lag, over the "
               f"{ops_weekly.height} weeks of the period (weeks without answers are left out of "
               "each pair; n per cell in the tooltip). Incidents: the environment filter; backlog "
               f"age counts tickets opened up to {BACKLOG_PAD_DAYS} days before the period. "
               "Correlation is not cause. " + scope)
    st.dataframe(corr.with_columns(driver=pl.col("driver").replace(DRIVER_LABELS)), hide_index=True,
                 column_config={"r": st.column_config.NumberColumn(format="%.3f"),
                                "p_value": st.column_config.NumberColumn(format="%.3g")})

def comparison_tiles(cc: CohortComparison, labels: tuple[str, str, str], who: tuple[str, str],
                     difference: str, extra: str = "") -> None:
    """Three tiles: CSAT of a cohort, of everyone else, and the difference, each saying what was
    counted (numerator of denominator, 95% interval, test)."""
    a, b, d = st.columns(3)
    ui.tile(a, labels[0], f"{cc.affected_csat:.1%}",
            f"{round(cc.affected_csat * cc.affected_n):,} of {cc.affected_n:,} {who[0]} scored 4–5 · "
            f"95% {cc.affected_ci[0]:.1%}–{cc.affected_ci[1]:.1%}")
    ui.tile(b, labels[1], f"{cc.baseline_csat:.1%}",
            f"{round(cc.baseline_csat * cc.baseline_n):,} of {cc.baseline_n:,} {who[1]} scored 4–5 · "
            f"95% {cc.baseline_ci[0]:.1%}–{cc.baseline_ci[1]:.1%}")
    ui.tile(d, labels[2], f"{cc.difference * 100:+.1f} pts",
            f"{difference} · 95% {cc.difference_ci[0] * 100:+.1f} to {cc.difference_ci[1] * 100:+.1f} "
            f"pts · two-proportion z p = {cc.p_value:.3g}{extra}")


st.subheader("CSAT after customer-facing incidents")
drop = after_incidents(filters, tz)
if isinstance(drop, str):
    st.info(f"Cannot compare: {drop}.")
else:
    comparison_tiles(drop, ("CSAT after incidents", "CSAT otherwise", "Incident effect"),
                     (f"answers given within {AFTER_INCIDENT_DAYS} days after a customer-facing "
                      "incident of the same service", "other answers"),
                     "after − otherwise", " · " + scope)

st.subheader("Customers affected by a release")
releases = ui.failed_releases(filters)
if releases.height == 0:
    st.info("No failed production deployment (status failed or rolled_back) in this period.")
    st.stop()
labels = {r["id"]: f"{r['finished_at']:%Y-%m-%d %H:%M} · {r['service']} {r['version'] or ''} · {r['status']}"
          for r in releases.iter_rows(named=True)}
c1, c2, c3 = st.columns(3)
window_h = c1.number_input("Contact window after release (hours)", 1, 336, 48, key="customer_window")
follow_up = c2.number_input("CSAT follow-up (days)", 1, 90, 14, key="customer_follow_up")
exclude = c3.number_input("Skip customers surveyed in the last (days)", 0, 365, 30, key="customer_exclude")
# Default to the newest release whose follow-up ends inside the period: a newer one has few answers yet.
complete = releases["finished_at"] + timedelta(days=int(follow_up)) <= datetime.combine(filters.end, time.max)
pick = st.selectbox(f"Release (the {releases.height} most recent failed production deployments)",
                    list(labels), index=int(complete.arg_true()[0]) if complete.any() else 0,
                    format_func=labels.get, key="customer_release")
release = releases.filter(pl.col("id") == pick).row(0, named=True)
comparison, targets = cohort(release["finished_at"], release["service"], int(window_h), int(follow_up),
                             int(exclude))
when = (f"answers in [{release['finished_at']:%Y-%m-%d %H:%M}, +{follow_up} d) UTC, all services; "
        f"affected = customers with a {release['service']} ticket or answer within {window_h} h of the release")
if isinstance(comparison, str):
    st.info(f"Cannot compare: {comparison}.")
else:
    comparison_tiles(comparison, ("Affected CSAT", "Baseline CSAT", "Difference"),
                     (f"answers from {comparison.affected_customers:,} affected customers",
                      "answers from everyone else"), "affected − baseline")
    st.caption(when)

st.subheader("Survey-targeting list")
as_of = release["finished_at"] + timedelta(hours=int(window_h))
st.write(f"**{targets.height:,}** affected customers to survey, made at {as_of:%Y-%m-%d %H:%M} UTC "
         f"(end of the contact window), leaving out anyone who answered a survey in the {exclude} "
         "days before.")
st.download_button("Download targeting list (CSV)", targets.write_csv(), key="customer_targets",
                   file_name=f"survey-targets-{release['service']}-{release['finished_at']:%Y-%m-%d}.csv",
                   mime="text/csv", disabled=targets.height == 0)
st.caption("Customer ids are pseudonymised, as stored. " + when)
