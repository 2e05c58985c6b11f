"""Delivery: the DORA five and the release KPIs (REFERENCE §1), with trends, bands, slices and
the records behind every number."""

from dataclasses import replace

import altair as alt
import polars as pl
import streamlit as st

from analytics import ui
from analytics.cli.report_delivery import environments_of, read_inputs
from analytics.metrics.bands import (
    DEFAULT_YEAR,
    GAP_RULE,
    band,
    band_table,
    source,
    years,
)
from analytics.metrics.bands import metrics as band_metrics
from analytics.metrics.delivery_report import (
    DEFINITIONS,
    SMALL_DEPLOYMENTS,
    SMALL_INCIDENTS,
    Facts,
    build_facts,
    figures,
    summarize,
)
from analytics.metrics.drilldown import KINDS, records
from analytics.metrics.trends import (
    DEFAULT_BOOT,
    compare,
    kpi_median_intervals,
    mttr_by_severity,
    previous_period,
    trend,
)
from analytics.settings import get_settings
from analytics.store.queries import Filters

GROUPS = {"nothing": None, "service": "service", "team": "team",
          "environment (all environments)": "environment", "tier": "tier",
          "criticality": "criticality"}
DRILL_ROWS = 500
BANDED = {"lead_time": "lead_time_median", "deployment_frequency": "deploys_per_day",
          "change_failure_rate": "cfr", "recovery_time": "recovery_median"}


@st.cache_data(ttl=300, show_spinner="Computing delivery facts…")
def facts_for(filters: Filters, window: float) -> Facts:
    """Per-record facts (kept on the server; the browser only gets aggregates and bounded
    drill-down rows). Same reads and function as `report delivery`."""
    deployments, changes, incidents = read_inputs(ui.engine(), filters, window)
    return build_facts(deployments, changes, incidents, start=filters.start, end=filters.end,
                       window_hours=window, environments=environments_of(filters))


@st.cache_data(ttl=300)
def summary(filters: Filters, window: float, by: tuple[str, ...] = (),
            every: str | None = None) -> pl.DataFrame:
    """The delivery summary rows for a slicing (aggregates only)."""
    facts = facts_for(filters, window)
    return trend(facts, every, by=by) if every else summarize(facts, by=by)


@st.cache_data(ttl=300, show_spinner="Bootstrapping the medians…")
def medians(filters: Filters, window: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bootstrap 95% intervals of the median KPIs, and MTTR by severity (aggregates only)."""
    facts = facts_for(filters, window)
    return kpi_median_intervals(facts), mttr_by_severity(facts)


def pct(v: float | None) -> str:
    """A rate as a percentage, or a dash."""
    return "—" if v is None else f"{v:.1%}"


def hrs(v: float | None) -> str:
    """Hours with one decimal, or a dash."""
    return "—" if v is None else f"{v:,.1f} h"


DELTA = {pct: lambda v: f"{v * 100:+.1f} pp", hrs: lambda v: f"{v:+,.1f} h"}


filters = ui.global_filters()
st.title("Delivery")
c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
window = float(c1.slider("Observation window for attribution (hours)", 1, 168,
                         int(get_settings().window_hours), key="delivery_window",
                         help="An incident without an explicit link is attributed to the latest "
                              "production deployment of its service that finished at most this "
                              "long before it opened (REFERENCE §1.1)."))
band_year = c2.selectbox("DORA report year", years(), index=years().index(DEFAULT_YEAR),
                         key="delivery_band_year")
group = GROUPS[c3.selectbox("Group by", list(GROUPS), key="delivery_group")]
every = c4.radio("Trend", ["week", "month"], horizontal=True, key="delivery_every")
scope = ui.describe(filters)
st.caption(f"{scope} · observation window {window:g} h")

row = summary(filters, window).row(0, named=True)
fig = figures(row, band_year)
prev_start, prev_end = previous_period(filters.start, filters.end)
prev_filters = replace(filters, start=prev_start, end=prev_end)
prev = summary(prev_filters, window).row(0, named=True)
verdicts = {r["metric"]: r for r in compare(row, prev).iter_rows(named=True)}
if row["small_sample"]:
    st.warning(f"Small sample: {row['deployments']} deployments and {row['incidents']} incidents "
               f"(fewer than {SMALL_DEPLOYMENTS} or {SMALL_INCIDENTS}). Read the rates with care.")


def kpi(column, label: str, value: str, metric: str | None, counts: str, definition: str,
        banded: str | None = None, fmt=pct) -> None:
    """A tile: value, change against the previous period, numerator ÷ denominator, band,
    window and filters; the definition is the tile's help."""
    delta = None
    if metric and verdicts.get(metric, {}).get("change") is not None:
        v = verdicts[metric]
        delta = f"{DELTA.get(fmt, fmt)(v['change'])} vs previous ({v['verdict']})"
    better = verdicts.get(metric, {}).get("direction") == "higher"
    with column:
        st.metric(label, value, delta=delta, help=DEFINITIONS[definition],
                  delta_color=("normal" if better else "inverse") if delta else "off")
        line = counts
        if banded:
            line += f" · band {band_year}: **{fig['bands'][banded] or '—'}**"
        st.caption(f"{line}  \nWindow: {filters.start} – {filters.end}, attribution "
                   f"{window:g} h; "
                   f"{'; '.join(scope.split(' · ')[1:])}")


cfr = fig["change_failure_rate"]
att = fig["attribution"]
lead, rec = fig["lead_time_hours"], fig["recovery_time_hours"]
st.subheader("DORA five")
cols = st.columns(5)
kpi(cols[0], "Deployment frequency", f"{fig['deploys_per_day']:.2f}/day", "deploys_per_day",
    f"{row['deployments']:,} deployments ÷ {row['days'] or 0:g} days; "
    f"deploy-days/week median {fig['deploy_days_per_week_median'] or 0:g}",
    "deploys_per_day", "deployment_frequency", fmt=lambda v: f"{v:+.2f}/day")
kpi(cols[1], "Lead time for changes", hrs(lead["median"]), "lead_time_median",
    f"median of {lead['n']:,} (deployment, change) pairs; p75 {hrs(lead['p75'])}, "
    f"p90 {hrs(lead['p90'])}", "lead_time_hours", "lead_time", fmt=hrs)
kpi(cols[2], "Change failure rate", pct(cfr["value"]), "cfr",
    f"{cfr['failed']:,} failed ÷ {cfr['deployments']:,} deployments; Wilson 95% "
    f"{pct(cfr['ci_low'])}–{pct(cfr['ci_high'])}; attribution: explicit {att['explicit']:,} · "
    f"window {att['window']:,} · unattributed {att['unattributed']:,}",
    "change_failure_rate", "change_failure_rate")
kpi(cols[3], "Failed deployment recovery time", hrs(rec["median"]), "recovery_median",
    f"median of {rec['n']:,} failed deployments; p90 {hrs(rec['p90'])}",
    "recovery_time_hours", "recovery_time", fmt=hrs)
kpi(cols[4], "Rework rate", pct(fig["rework_rate"]), "rework_rate",
    f"{records(facts_for(filters, window), 'unplanned deployments')[1]:,} unplanned ÷ "
    f"{row['deployments']:,} deployments", "rework_rate")

st.subheader("Stability")
mttr, ttd = fig["mttr_hours"], fig["time_to_detect_hours"]
cols = st.columns(4)
kpi(cols[0], "MTTR", hrs(mttr["median"]), "mttr_median",
    f"median of {mttr['n']:,} restored incidents of {row['incidents']:,}; mean "
    f"{hrs(mttr['mean'])}", "mttr_hours", fmt=hrs)
kpi(cols[1], "Time to detect", hrs(ttd["median"]), "ttd_median",
    f"median over {ttd['n']:,} attributed incidents", "time_to_detect_hours", fmt=hrs)
kpi(cols[2], "Rollback rate", pct(fig["rollback_rate"]), "rollback_rate",
    f"{records(facts_for(filters, window), 'rolled-back deployments')[1]:,} rolled back ÷ "
    f"{row['deployments']:,} deployments", "rollback_rate")
kpi(cols[3], "Incident recurrence", pct(fig["incident_recurrence_rate"]), "recurrence_rate",
    f"{records(facts_for(filters, window), 'recurring incidents')[1]:,} recurring ÷ "
    f"{row['incidents']:,} incidents (30 days)", "incident_recurrence_rate")

intervals, by_severity = medians(filters, window)
st.markdown("**Medians with bootstrap 95% intervals · MTTR by severity**")
m1, m2 = st.columns(2)
KPI_NAMES = {"lead_time": "Lead time for changes", "recovery_time": "Failed deployment recovery",
             "mttr": "MTTR"}
HOURS = st.column_config.NumberColumn(format="%.1f h")
m1.dataframe(intervals.with_columns(pl.col("kpi").replace(KPI_NAMES)), hide_index=True,
             width="stretch", key="delivery_median_ci", column_config={
                 "kpi": "KPI", "n": st.column_config.NumberColumn("n", format="%d"),
                 "median": HOURS, "ci_low": st.column_config.NumberColumn(
                     "95% low", format="%.1f h"),
                 "ci_high": st.column_config.NumberColumn("95% high", format="%.1f h")})
m2.dataframe(by_severity, hide_index=True, width="stretch", key="delivery_mttr_severity",
             column_config={"severity": st.column_config.NumberColumn("severity", format="%d"),
                            "incidents": st.column_config.NumberColumn(format="%d"),
                            "n": st.column_config.NumberColumn("n restored", format="%d"),
                            "median": HOURS, "mean": HOURS,
                            "ci_low": st.column_config.NumberColumn("95% low", format="%.1f h"),
                            "ci_high": st.column_config.NumberColumn("95% high",
                                                                     format="%.1f h")})
st.caption(f"Percentile bootstrap of the median ({DEFAULT_BOOT:,} resamples, fixed seed: the "
           "same data gives the same interval). n = lead-time pairs, failed deployments with a "
           "known recovery, restored incidents. MTTR by severity: incidents opened in the "
           "period, resolved_at − opened_at (open ones not restored).")
st.caption(f"Deltas compare with the previous period of the same length, {prev_start} – "
           f"{prev_end} (same filters and window). Hover a tile's (?) for its definition.")

st.subheader(f"Trends by {every}")
series = summary(filters, window, every=every)
CHARTS = [("deploys_per_day", "Deployments per day", ".2f"), ("cfr", "Change failure rate", ".1%"),
          ("lead_time_median", "Lead time, median (h)", ".1f"),
          ("recovery_median", "Recovery time, median (h)", ".1f"),
          ("mttr_median", "MTTR, median (h)", ".1f")]
chart_cols = st.columns(2)
for i, (col, title, fmt) in enumerate(CHARTS):
    data = series.select("period", col, "cfr_ci_low", "cfr_ci_high", "small_sample")
    with chart_cols[i % 2]:
        if data[col].drop_nulls().len() == 0:
            st.info(f"{title}: no value in this period.")
            continue
        base = alt.Chart(data).encode(x=alt.X("period:T", title=f"{every} starting (UTC)"))
        layers = []
        if col == "cfr":  # the Wilson interval of each period as a band
            layers.append(base.mark_area(opacity=0.2).encode(y=alt.Y("cfr_ci_low:Q", title=None),
                                                             y2="cfr_ci_high:Q"))
        layers.append(base.mark_line(point=True).encode(
            # The chart's title names the KPI; a long vertical axis title pushes it out of view.
            y=alt.Y(f"{col}:Q", title=None, axis=alt.Axis(format=fmt)),
            tooltip=[alt.Tooltip("period:T"), alt.Tooltip(f"{col}:Q", format=fmt),
                     "small_sample:N"]))
        if prev.get(col) is not None:
            rule = pl.DataFrame({"y": [prev[col]], "what": ["previous period"]})
            layers.append(alt.Chart(rule).mark_rule(strokeDash=[4, 4], color="gray").encode(
                y=alt.Y("y:Q", title=None), tooltip=["what:N", alt.Tooltip("y:Q", format=fmt)]))
        st.altair_chart(alt.layer(*layers).properties(height=220, title=title), width="stretch")
st.caption("Dashed line: the previous period's value. The shaded band on CFR is each period's "
           "Wilson 95% interval. The first and last bucket may be partial (per-day rates use the "
           "days actually covered).")
st.dataframe(compare(row, prev).with_columns(pl.col("change_pct").round(1)), hide_index=True,
             width="stretch")

st.subheader(f"DORA bands ({band_year})")
band_rows = [{"KPI": info["kpi"], "value": row[c], "unit": info["unit"],
              "band": band(m, row[c], band_year)}
             for m, c in BANDED.items() for info in [band_metrics()[m]]]
st.dataframe(pl.DataFrame(band_rows), hide_index=True, width="stretch")
st.caption(f"Gap-filling rule: {GAP_RULE} Source: {source(band_year)}.")
with st.expander(f"Band limits, {band_year}"):
    st.dataframe(band_table(band_year), hide_index=True, width="stretch")

slice_filters = replace(filters, environment=None) if group == "environment" else filters
if group:
    st.subheader(f"By {group}")
    if group == "environment":
        st.caption("Every environment is shown here (REFERENCE §1: the environment view is the "
                   "one place non-production is shown by default); the tiles stay production.")
    sliced = summary(slice_filters, window, by=(group,))
    small = sliced.filter(pl.col("small_sample")).height
    if small:
        st.warning(f"{small} of {sliced.height} slices have a small sample (fewer than "
                   f"{SMALL_DEPLOYMENTS} deployments or {SMALL_INCIDENTS} incidents).")
    shown = sliced.select(
        group, "deployments", "deploys_per_day", "lead_time_median", "cfr", "cfr_failed",
        "cfr_ci_low", "cfr_ci_high", "recovery_median", "mttr_median", "ttd_median",
        "rework_rate", "rollback_rate", "recurrence_rate", "explicit", "window",
        "unattributed", "small_sample")
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(format="percent")
        for c in ("cfr", "cfr_ci_low", "cfr_ci_high", "rework_rate", "rollback_rate",
                  "recurrence_rate")})

st.subheader("Records behind a number")
d1, d2 = st.columns([2, 2])
kind = d1.selectbox("Show the records of", list(KINDS), index=1, key="delivery_drill")
where = {}
if group:
    values = summary(slice_filters, window, by=(group,))[group].to_list()
    pick = d2.selectbox(f"Only this {group}", ["all", *values], key="delivery_drill_slice")
    if pick != "all":
        where = {group: pick}
rows, total = records(facts_for(slice_filters if where else filters, window), kind,
                      where=where, limit=DRILL_ROWS)
st.caption(f"{total:,} rows ({kind}, {scope}"
           f"{'' if not where else ', ' + group + ' ' + str(where[group])}); "
           f"showing the newest {min(total, DRILL_ROWS):,}.")
st.dataframe(rows, hide_index=True, width="stretch")
