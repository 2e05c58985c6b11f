"""Delivery: the DORA five and the release KPIs (REFERENCE §1), with trends, bands, slices, MTTR
baselines and the records behind every number. Numbers come from ``analytics.reports.delivery``
(the same functions as ``report delivery`` and the notebook), KPI identity from the catalogue."""

from dataclasses import replace

import polars as pl
import streamlit as st

from analytics import access, catalogue, ui
from analytics.charts import delivery as charts
from analytics.metrics.bands import DEFAULT_YEAR, GAP_RULE, band, band_table, source, years
from analytics.metrics.delivery_report import DEFINITIONS, SMALL_DEPLOYMENTS, SMALL_INCIDENTS
from analytics.metrics.drilldown import KINDS
from analytics.metrics.trends import BOOT_MAX_N, DEFAULT_BOOT
from analytics.reports import ReportError
from analytics.reports import delivery as report
from analytics.reports.delivery import BASELINE_MONTHS
from analytics.settings import get_settings
from analytics.store.queries import Filters

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

GROUPS = {"nothing": None, "service": "service", "team": "team",
          "environment (all environments)": "environment", "tier": "tier",
          "criticality": "criticality"}
DRILL_ROWS = 500
CHART_SERVICES = 40  # services drawn in the MTTR baselines chart (the table has them all)


# Per-record facts, kept on the server (the browser only gets aggregates and bounded drill-down
# rows): one resource shared with the Overview and Improvements pages, not a pickled copy.
facts_for = ui.delivery_facts


@ui.cached
def summary(filters: Filters, window: float, by: tuple[str, ...] = (),
            every: str | None = None) -> pl.DataFrame:
    """The delivery summary rows for a slicing (aggregates only)."""
    return report.summary(facts_for(filters, window), by=by, every=every)


@ui.cached(show_spinner="Bootstrapping the medians…")
def medians(filters: Filters, window: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bootstrap 95% intervals of the median KPIs, and MTTR by severity (aggregates only)."""
    return report.medians(facts_for(filters, window))


@ui.cached
def baselines(filters: Filters, months: int) -> pl.DataFrame:
    """MTTR baselines per service (aggregates only)."""
    return report.mttr_baselines(ui.engine(), filters, months=months)


def count(filters: Filters, window: float, kind: str) -> int:
    """How many records are behind ``kind`` (a numerator shown under a tile)."""
    return report.records(facts_for(filters, window), kind, limit=1)[1]


filters = ui.global_filters()
st.title("Delivery")
c1, c2, c3, c4 = st.columns([3, 2, 3, 2])
window = float(c1.slider("Observation window for attribution (hours)", 1, 168,
                         int(get_settings().window_hours), key="delivery_window",
                         bind="query-params",
                         help="An incident without an explicit link is attributed to the latest "
                              "production deployment of its service that finished at most this "
                              "long before it opened (REFERENCE §1.1)."))
band_year = c2.selectbox("DORA report year", years(), index=years().index(DEFAULT_YEAR),
                         key="delivery_band_year", bind="query-params")
group = GROUPS[c3.selectbox("Group by", list(GROUPS), key="delivery_group",
                            bind="query-params")]
every = c4.radio("Trend", ["week", "month"], horizontal=True, key="delivery_every",
                 bind="query-params")
scope = ui.plain(ui.describe(filters))  # names the user typed: shown as text
# The window and filters once, above the tiles; each tile says only what it counted.
head = st.empty()  # filled once it is known whether an earlier period has data

try:
    row = summary(filters, window).row(0, named=True)
    prev_filters = report.previous(filters)
    prev = summary(prev_filters, window).row(0, named=True)
except ReportError as exc:
    st.info(str(exc))
    st.stop()
fig = report.headline(row, band_year)
# A previous period with no deployment and no incident is before the data began: nothing to
# compare with (0 deployments a day then would read as "improved" now).
no_earlier = not prev["deployments"] and not prev["incidents"]
verdicts = {} if no_earlier else {
    r["metric"]: r for r in report.comparison(row, prev).iter_rows(named=True)}
head.caption(f"Every tile: {scope} · incidents attributed within {window:g} h (REFERENCE §1.1)"
             + ("" if no_earlier else
                " · the coloured change is against the previous period of the same length"))
if row["small_sample"]:
    st.warning(f"Small sample: {row['deployments']} deployments and {row['incidents']} incidents "
               f"(fewer than {SMALL_DEPLOYMENTS} or {SMALL_INCIDENTS}). Read the rates with care.")


def kpi(column, key: str, value: float | None, counts: str) -> None:
    """A tile for catalogue KPI ``key``: value, change against the previous period (coloured by
    the KPI's better direction), numerator ÷ denominator, band, window and filters; the KPI's
    methodology is the tile's help (with its full label; the tile shows the short one)."""
    k = catalogue.get(key)
    v = verdicts.get(k.column, {})
    delta = (f"{k.show_change(v['change'])} ({v['verdict']})"
             if v.get("change") is not None else None)
    with column:
        st.metric(k.short, k.show(value), delta=delta,
                  help=f"**{k.label}** ({k.unit}). {DEFINITIONS[k.figure]}",
                  delta_color=("normal" if k.better == "higher" else "inverse") if delta else "off")
        line = counts
        if k.band:
            line += f" · band {band_year}: **{fig['bands'][k.band] or '—'}**"
        st.caption(line)


cfr = fig["change_failure_rate"]
att = fig["attribution"]
lead, rec = fig["lead_time_hours"], fig["recovery_time_hours"]
hrs = catalogue.get("lead_time").show
pct = catalogue.get("change_failure_rate").show
st.subheader("DORA five")
cols = st.columns(5)
kpi(cols[0], "deployment_frequency", fig["deploys_per_day"],
    f"{row['deployments']:,} deployments ÷ {row['days'] or 0:g} days; "
    f"deploy-days/week median {fig['deploy_days_per_week_median'] or 0:g}")
kpi(cols[1], "lead_time", lead["median"],
    f"median of {lead['n']:,} (deployment, change) pairs; p75 {hrs(lead['p75'])}, "
    f"p90 {hrs(lead['p90'])}")
kpi(cols[2], "change_failure_rate", cfr["value"],
    f"{cfr['failed']:,} failed ÷ {cfr['deployments']:,} deployments; Wilson 95% "
    f"{pct(cfr['ci_low'])}–{pct(cfr['ci_high'])}; attribution: explicit {att['explicit']:,} · "
    f"window {att['window']:,} · unattributed {att['unattributed']:,}")
kpi(cols[3], "recovery_time", rec["median"],
    f"median of {rec['n']:,} failed deployments; p90 {hrs(rec['p90'])}")
kpi(cols[4], "rework_rate", fig["rework_rate"],
    f"{count(filters, window, 'unplanned deployments'):,} unplanned ÷ "
    f"{row['deployments']:,} deployments")

st.subheader("Stability")
mttr, ttd = fig["mttr_hours"], fig["time_to_detect_hours"]
cols = st.columns(4)
kpi(cols[0], "mttr", mttr["median"],
    f"median of {mttr['n']:,} restored incidents of {row['incidents']:,}; mean "
    f"{hrs(mttr['mean'])}")
kpi(cols[1], "time_to_detect", ttd["median"], f"median over {ttd['n']:,} attributed incidents")
kpi(cols[2], "rollback_rate", fig["rollback_rate"],
    f"{count(filters, window, 'rolled-back deployments'):,} rolled back ÷ "
    f"{row['deployments']:,} deployments")
kpi(cols[3], "incident_recurrence", fig["incident_recurrence_rate"],
    f"{count(filters, window, 'recurring incidents'):,} recurring ÷ "
    f"{row['incidents']:,} incidents (30 days; matched by "
    f"{fig.get('incident_recurrence_basis', 'problem_id').replace('+', ' + ')})")

intervals, by_severity = medians(filters, window)
st.markdown("**Medians with 95% intervals · MTTR by severity**")
m1, m2 = st.columns(2)
HOURS = st.column_config.NumberColumn(format="%.1f h")
KPI_LABELS = {k: catalogue.get(k).label for k in ("lead_time", "recovery_time", "mttr")}
m1.dataframe(intervals.with_columns(pl.col("kpi").replace(KPI_LABELS)), placeholder="—", hide_index=True,
             width="stretch", key="delivery_median_ci", column_config={
                 "kpi": "KPI", "n": st.column_config.NumberColumn("n", format="%d"),
                 "median": HOURS, "ci_low": st.column_config.NumberColumn(
                     "95% low", format="%.1f h"),
                 "ci_high": st.column_config.NumberColumn("95% high", format="%.1f h")})
m2.dataframe(by_severity, placeholder="—", hide_index=True, width="stretch", key="delivery_mttr_severity",
             column_config={"severity": st.column_config.NumberColumn("severity", format="%d"),
                            "incidents": st.column_config.NumberColumn(format="%d"),
                            "n": st.column_config.NumberColumn("n restored", format="%d"),
                            "median": HOURS, "mean": HOURS,
                            "ci_low": st.column_config.NumberColumn("95% low", format="%.1f h"),
                            "ci_high": st.column_config.NumberColumn("95% high",
                                                                     format="%.1f h")})
st.caption(f"Percentile bootstrap of the median ({DEFAULT_BOOT:,} resamples, fixed seed: the "
           f"same data gives the same interval); above {BOOT_MAX_N:,} values the distribution-free "
           "order-statistic interval (binomial ranks), which the bootstrap converges to. "
           "n = lead-time pairs, failed deployments with a "
           "known recovery, restored incidents. MTTR by severity: incidents opened in the "
           "period, resolved_at − opened_at (open ones not restored).")
st.caption(f"The previous period of the same length, {prev_filters.start} – {prev_filters.end}, "
           "holds no deployment or incident: no comparison. Hover a tile's (?) for its definition."
           if no_earlier else
           f"Deltas compare with the previous period of the same length, {prev_filters.start} – "
           f"{prev_filters.end} (same filters and window). Hover a tile's (?) for its definition.")

st.subheader(f"Trends by {every}")
series = summary(filters, window, every=every)
chart_cols = st.columns(2)
for i, key in enumerate(charts.TREND_KPIS):
    col = catalogue.get(key).column
    with chart_cols[i % 2]:
        if series[col].drop_nulls().len() == 0:
            st.info(f"{charts.trend_title(key)}: no value in this period.")
            continue
        st.altair_chart(charts.kpi_trend(series, key, every=every,
                                         previous=None if no_earlier else prev.get(col),
                                         tz=filters.timezone), width="stretch")
st.caption(f"Periods start at local midnight in {filters.timezone}. Dashed line: the previous "
           "period's value. The shaded band on CFR is each period's Wilson 95% interval. The "
           "first and last bucket may be partial (per-day rates use the days actually covered).")


def comparison_table(current: dict, before: dict, gone: bool) -> pl.DataFrame:
    """The period-over-period table as a person reads it: catalogue labels, units, formats;
    ``gone``: the earlier period is before the data began (no previous value, no verdict)."""
    out = []
    for r in report.comparison(current, before).iter_rows(named=True):
        k = catalogue.by_column(r["metric"])
        out.append({"KPI": k.label, "unit": k.unit, "better": k.better,
                    "current": k.show(r["current"]),
                    "previous": "—" if gone else k.show(r["previous"]),
                    "change": "—" if gone else k.show_change(r["change"]),
                    "change %": "—" if gone or r["change_pct"] is None
                    else f"{r['change_pct']:+.1f}%",
                    "verdict": "no earlier data" if gone else (r["verdict"] or "—")})
    return pl.DataFrame(out, schema={"KPI": pl.String, "unit": pl.String, "better": pl.String,
                                     "current": pl.String, "previous": pl.String,
                                     "change": pl.String, "change %": pl.String,
                                     "verdict": pl.String})


st.dataframe(comparison_table(row, prev, no_earlier), placeholder="—", hide_index=True, width="stretch",
             key="delivery_comparison")

SLICE_KPIS = ("deploys_per_day", "lead_time_median", "cfr", "recovery_median", "mttr_median",
              "ttd_median", "rework_rate", "rollback_rate", "recurrence_rate")


def sliced_table(sliced: pl.DataFrame, group: str) -> tuple[pl.DataFrame, dict]:
    """A slicing as a person reads it: the catalogue's short headings (label and unit as the
    tooltip) and formats, the CFR interval as one range, the attribution counts in words."""
    pct = catalogue.get("change_failure_rate").show
    out, config = [], {group: st.column_config.TextColumn(group.capitalize(), pinned=True)}
    for r in sliced.iter_rows(named=True):
        line = {group: "(none)" if r[group] is None else str(r[group]),
                "Deployments": r["deployments"]}
        for col in SLICE_KPIS:
            line[col] = catalogue.by_column(col).show(r[col])
        line["CFR 95%"] = ("—" if r["cfr_ci_low"] is None
                           else f"{pct(r['cfr_ci_low'])}–{pct(r['cfr_ci_high'])}")
        line |= {"Failed": r["cfr_failed"], "Explicit": r["explicit"],
                 "Window": r["window"], "Unattributed": r["unattributed"],
                 "Small sample": "yes" if r["small_sample"] else ""}
        out.append(line)
    for col in SLICE_KPIS:
        k = catalogue.by_column(col)
        config[col] = st.column_config.TextColumn(k.short, help=f"{k.label} ({k.unit})")
    config["CFR 95%"] = st.column_config.TextColumn(help="Wilson 95% interval of the change "
                                                         "failure rate")
    config["Explicit"] = st.column_config.NumberColumn(
        help="incidents attributed by an explicit link (REFERENCE §1.1)")
    config["Window"] = st.column_config.NumberColumn(
        help="incidents attributed by the observation window")
    return pl.DataFrame(out, infer_schema_length=None), config


st.subheader(f"DORA bands ({band_year})")
band_rows = [{"KPI": k.label, "value": row[col], "shown": k.show(row[col]), "unit": k.unit,
              "band": band(name, row[col], band_year)}
             for name, col in catalogue.banded().items() for k in [catalogue.by_column(col)]]
st.dataframe(pl.DataFrame(band_rows), placeholder="—", hide_index=True, width="stretch",
             column_config={"value": None})  # raw value kept for the record, shown formatted
st.caption(f"Gap-filling rule: {GAP_RULE} Source: {source(band_year)}.")
with st.expander(f"Band limits, {band_year}"):
    st.dataframe(band_table(band_year), placeholder="—", hide_index=True, width="stretch")

st.subheader("MTTR baselines")
months = st.number_input("Months of history", 1, 24, BASELINE_MONTHS, key="delivery_baseline_months",
                         help="Incidents opened in this many calendar months before the end of "
                              "the period.")
try:
    base = baselines(filters, int(months))
except ReportError as exc:
    st.info(str(exc))
else:
    shown = base
    if base.height > CHART_SERVICES:  # a bar per service: 1,200 of them drew a 26,000 px chart
        least = base.sort("headroom_hours", nulls_last=True).head(CHART_SERVICES)["service"]
        shown = base.filter(pl.col("service").is_in(least.implode()))
        st.caption(f"The chart shows the {CHART_SERVICES} of {base.height:,} services with the "
                   "least headroom; the table below lists every service.")
    st.altair_chart(charts.mttr_baselines(shown), width="stretch")
    st.dataframe(base.select("service", "team", "tier", "n", "p50_hours", "p80_hours",
                             "commitment_hours", "within_commitment", "headroom_hours",
                             "small_sample"), placeholder="—",
                 hide_index=True, width="stretch", key="delivery_baselines", column_config={
                     "n": st.column_config.NumberColumn("incidents", format="%d"),
                     "p50_hours": st.column_config.NumberColumn("p50", format="%.1f h"),
                     "p80_hours": st.column_config.NumberColumn("p80 (proposed)", format="%.1f h"),
                     "commitment_hours": st.column_config.NumberColumn("tier commitment",
                                                                       format="%.1f h"),
                     "headroom_hours": st.column_config.NumberColumn("headroom", format="%.1f h")})
    st.caption(f"Per service: restore time (resolved_at − opened_at) of production incidents "
               f"opened from {base['since'][0]:%Y-%m-%d} to {base['as_of'][0]:%Y-%m-%d} "
               "(UTC); p80 is the proposed threshold, set against the tier's restore-time "
               "commitment (an assumption where a contract states none). Small sample: "
               "fewer than 5 incidents.")

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
    table, config = sliced_table(sliced, group)
    st.dataframe(table, placeholder="—", hide_index=True, width="stretch", column_config=config,
                 key="delivery_slices")

st.subheader("Records behind a number")
if not access.person_level("The records behind a number"):
    st.stop()  # the rest of the page is the drill-down
d1, d2 = st.columns([2, 2])
kind = d1.selectbox("Show the records of", list(KINDS), index=1, key="delivery_drill")
where = {}
if group:
    values = summary(slice_filters, window, by=(group,))[group].to_list()
    pick = d2.selectbox(f"Only this {group}", ["all", *values], key="delivery_drill_slice")
    if pick != "all":
        where = {group: pick}
rows, total = report.records(facts_for(slice_filters if where else filters, window), kind,
                             where=where, limit=DRILL_ROWS)
st.caption(f"{total:,} rows ({kind}, {scope}"
           f"{'' if not where else ', ' + group + ' ' + ui.plain(where[group])}); "
           f"showing the newest {min(total, DRILL_ROWS):,}.")
st.dataframe(rows, placeholder="—", hide_index=True, width="stretch", column_config=ui.headings(rows))

ui.definitions_caption(group="delivery")  # which definition versions the numbers above used
