"""Customer: CSAT and NPS trends with control limits, CSAT by segment, CSAT against operations,
the customers a failed release touched, and the list of them to survey (REFERENCE §4, CSAT row)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import polars as pl
import streamlit as st

from analytics import access, catalogue, ui
from analytics.charts import customer as charts
from analytics.exports import csv_text
from analytics.metrics.control_charts import LANEY_AUTO_N
from analytics.metrics.csat import GROUP_COLUMNS
from analytics.reports import NoData, ReportError
from analytics.reports import csat as report
from analytics.reports.releases import failed_releases
from analytics.settings import get_settings
from analytics.store.queries import Filters
from analytics.studies.csat_ops import CohortComparison

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

# Labels and number formats come from the KPI catalogue, like every other page's.
CSAT, NPS = catalogue.get("csat"), catalogue.get("nps")


@ui.cached(show_spinner="Computing CSAT…")
def trends(filters: Filters) -> report.CsatReport | None:
    """Overall CSAT/NPS, the weekly p-chart and the daily EWMA chart (aggregates only)."""
    try:
        return report.csat_report(ui.engine(), filters=filters)
    except NoData:
        return None


@ui.cached(show_spinner="Splitting CSAT…")
def split(filters: Filters, by: str) -> pl.DataFrame:
    """CSAT and NPS per group over the period (aggregates only)."""
    return report.csat_by(ui.engine(), filters=filters, by=by)


@ui.cached(show_spinner="Joining CSAT with operations…")
def operations(filters: Filters) -> report.Operations:
    """Weekly CSAT beside the operational drivers, and their lagged correlations."""
    return report.operations(ui.engine(), filters=filters)


@ui.cached(show_spinner="Comparing answers after incidents…")
def after_incidents(filters: Filters) -> CohortComparison | str:
    """CSAT after customer-facing incidents vs the rest, or why it cannot be said."""
    try:
        return report.after_incidents(ui.engine(), filters=filters)
    except ReportError as exc:
        return str(exc)


@ui.cached(show_spinner="Comparing cohorts…")
def cohort(release_at: datetime, service: str, window_h: int, follow_up_d: int,
           exclude_days: int) -> report.ReleaseCohort:
    """Affected-vs-baseline CSAT and the survey-targeting list for one release."""
    return report.release_cohort(ui.engine(), release_at=release_at, service=service,
                                 window_hours=window_h, follow_up_days=follow_up_d,
                                 exclude_days=exclude_days)


@ui.cached
def releases_of(filters: Filters) -> pl.DataFrame:
    """The newest failed production deployments of the period."""
    return failed_releases(ui.engine(), filters)


def comparison_tiles(cc: CohortComparison, labels: tuple[str, str, str], who: tuple[str, str],
                     difference: str, extra: str = "") -> None:
    """Three tiles: CSAT of a cohort, of everyone else, and the difference, each saying what was
    counted (numerator of denominator, 95% interval, test)."""
    a, b, d = st.columns(3)
    ui.tile(a, labels[0], CSAT.show(cc.affected_csat),
            f"{round(cc.affected_csat * cc.affected_n):,} of {cc.affected_n:,} {who[0]} scored 4–5 · "
            f"95% {cc.affected_ci[0]:.1%}–{cc.affected_ci[1]:.1%}")
    ui.tile(b, labels[1], CSAT.show(cc.baseline_csat),
            f"{round(cc.baseline_csat * cc.baseline_n):,} of {cc.baseline_n:,} {who[1]} scored 4–5 · "
            f"95% {cc.baseline_ci[0]:.1%}–{cc.baseline_ci[1]:.1%}")
    ui.tile(d, labels[2], CSAT.show_change(cc.difference),
            f"{difference} · 95% {cc.difference_ci[0] * 100:+.1f} to {cc.difference_ci[1] * 100:+.1f} "
            f"pts · two-proportion z p = {cc.p_value:.3g}{extra}")


filters = ui.global_filters()
tz = filters.timezone
st.title("Customer")
scope = ui.plain(ui.describe(filters)) + f" · weeks and days in {tz}; survey answers and tickets have no environment"
st.caption(scope)

result = trends(filters)
if result is None:
    st.info("No survey answers in this period for these filters. Widen the period or clear filters.")
    st.stop()
total, weekly, daily = result.total, result.weekly, result.daily
observed = weekly.filter(~pl.col("gap"))
signals = result.signals
cols = st.columns(4)
ui.tile(cols[0], CSAT.short, CSAT.show(total["csat"]),
        f"{total['satisfied']:,} of {total['n']:,} answers scored 4–5 · 95% Wilson "
        f"{total['csat_low']:.1%}–{total['csat_high']:.1%} · {filters.start} – {filters.end}")
ui.tile(cols[1], NPS.short, "–" if total["nps"] is None else NPS.show(total["nps"]),
        f"{total['promoters']:,} promoters (9–10) − {total['detractors']:,} detractors (0–6) of "
        f"{total['nps_n']:,} NPS answers · 95% adjusted Wald "
        + ("–" if total["nps"] is None else f"{total['nps_low']:+.1f} to {total['nps_high']:+.1f}"))
ui.tile(cols[2], "Out-of-control weeks", f"{signals.height} of {observed.height}",
        f"weeks whose CSAT lies outside the {result.chart} limits (3σ, each week's n) · "
        f"{int(weekly['gap'].sum())} weeks without answers are gaps")
ui.tile(cols[3], "EWMA signal days", f"{int(daily['out_of_control'].fill_null(False).sum())} of "
        f"{int((~daily['gap']).sum())}",
        "days whose EWMA (λ 0.2) of daily CSAT is outside its limits · "
        f"{int(daily['gap'].sum())} days without answers are gaps")

st.subheader(f"{CSAT.short} week by week")
st.altair_chart(charts.csat_weekly(weekly))
st.caption(f"Line: weekly CSAT = answers 4–5 ÷ answers, shaded 95% Wilson interval; grey dashed: "
           f"centre p̄; red dashed: {result.chart} control limits from each week's n (Laney p′ "
           f"when the median weekly n ≥ {LANEY_AUTO_N}); red diamonds: out-of-control weeks; dotted "
           "grey rules: weeks without answers (gaps, not zeros). " + scope)
if signals.height:
    st.dataframe(signals.select("period", "n", "satisfied", "csat", "center", "lcl", "ucl", "signal"),
                 placeholder="—",
                 hide_index=True, column_config={c: st.column_config.NumberColumn(format="percent")
                                                 for c in ("csat", "center", "lcl", "ucl")})

left, right = st.columns(2)
with left:
    st.subheader("Daily EWMA")
    st.altair_chart(charts.ewma_daily(daily))
    st.caption("EWMA (λ 0.2) of daily CSAT with exact time-varying limits; a day without answers "
               "leaves the EWMA unchanged and is drawn as a gap.")
with right:
    st.subheader(f"{NPS.short} week by week")
    st.altair_chart(charts.nps_weekly(weekly))
    st.caption("NPS = % promoters − % detractors of the week's NPS answers, shaded 95% adjusted-Wald "
               "interval; weeks without NPS answers are gaps.")

st.subheader(f"{CSAT.short} by segment")
by = st.segmented_control("Split by", GROUP_COLUMNS, default="segment", key="customer_by")
by = by or "segment"  # a click on the selected option clears it: keep a split
groups = split(filters, by)
st.altair_chart(charts.csat_by_group(groups, by))
st.dataframe(groups.select(by, "n", "satisfied", "csat", "csat_low", "csat_high", "nps_n", "nps"),
             placeholder="—",
             hide_index=True,
             column_config={by: st.column_config.TextColumn(by),
                            "n": st.column_config.NumberColumn("answers"),
                            "satisfied": st.column_config.NumberColumn("scored 4–5"),
                            "csat": st.column_config.NumberColumn(CSAT.short, format="percent",
                                                                  help=CSAT.methodology),
                            "csat_low": st.column_config.NumberColumn("95% low", format="percent"),
                            "csat_high": st.column_config.NumberColumn("95% high", format="percent"),
                            "nps_n": st.column_config.NumberColumn("NPS answers"),
                            "nps": st.column_config.NumberColumn(NPS.short, format="%+.1f",
                                                                 help=NPS.methodology)})
st.caption(f"CSAT = answers 4–5 ÷ answers of each {by} over the whole period, 95% Wilson interval; "
           f"NPS as above. The same numbers as `report csat --by {by}`. " + scope)

st.subheader("CSAT against operations")
ops = operations(filters)
if ops.correlations.height == 0:
    st.info("Too few weeks in the period to correlate; widen the period.")
else:
    corr = ops.correlations
    st.altair_chart(charts.driver_correlations(corr))
    st.caption(f"Pearson r between weekly CSAT in week t and each driver in week t − lag, over the "
               f"{ops.weekly.height} weeks of the period (weeks without answers are left out of "
               "each pair; n per cell in the tooltip). Incidents: the environment filter; backlog "
               f"age counts tickets opened up to {report.BACKLOG_PAD_DAYS} days before the period. "
               "Correlation is not cause. " + scope)
    st.dataframe(corr.with_columns(driver=pl.col("driver").replace(charts.DRIVER_LABELS)), placeholder="—",
                 hide_index=True,
                 column_config={"r": st.column_config.NumberColumn(format="%.3f"),
                                "p_value": st.column_config.NumberColumn(format="%.3g")})

st.subheader("CSAT after customer-facing incidents")
drop = after_incidents(filters)
if isinstance(drop, str):
    st.info(f"Cannot compare: {ui.plain(drop)}.")
else:
    comparison_tiles(drop, ("CSAT after incidents", "CSAT otherwise", "Incident effect"),
                     (f"answers given within {report.AFTER_INCIDENT_DAYS} days after a customer-facing "
                      "incident of the same service", "other answers"),
                     "after − otherwise", " · " + scope)

st.subheader("Customers affected by a release")
releases = releases_of(filters)
if releases.height == 0:
    st.info("No failed production deployment (status failed or rolled_back) in this period.")
    st.stop()
# Select-box options are drawn as plain text, so service names need no escaping here.
labels = {r["id"]: f"{r['finished_at']:%Y-%m-%d %H:%M} · {r['service']} {r['version'] or ''} · {r['status']}"
          for r in releases.iter_rows(named=True)}
c1, c2, c3 = st.columns(3)
window_h = c1.number_input("Contact window after release (hours)", 1, 336,
                           int(get_settings().window_hours), key="customer_window")
follow_up = c2.number_input("CSAT follow-up (days)", 1, 90, 14, key="customer_follow_up")
exclude = c3.number_input("Skip customers surveyed in the last (days)", 0, 365, 30, key="customer_exclude")
# Default to the newest release whose follow-up ends inside the period: a newer one has few answers yet.
complete = releases["finished_at"] + timedelta(days=int(follow_up)) <= datetime.combine(filters.end, time.max)
pick = st.selectbox(f"Release (the {releases.height} most recent failed production deployments)",
                    list(labels), index=int(complete.arg_true()[0]) if complete.any() else 0,
                    format_func=labels.get, key="customer_release")
release = releases.filter(pl.col("id") == pick).row(0, named=True)
chosen = cohort(release["finished_at"], release["service"], int(window_h), int(follow_up), int(exclude))
comparison, targets = chosen.comparison, chosen.targets
when = (f"answers in [{release['finished_at']:%Y-%m-%d %H:%M}, +{follow_up} d) UTC, all services; "
        f"affected = customers with a {release['service']} ticket or answer within {window_h} h of the release")
if comparison is None:
    st.info(f"Cannot compare: {ui.plain(str(chosen.why))}.")
else:
    comparison_tiles(comparison, ("Affected CSAT", "Baseline CSAT", "Difference"),
                     (f"answers from {comparison.affected_customers:,} affected customers",
                      "answers from everyone else"), "affected − baseline")
    st.caption(ui.plain(when))

st.subheader("Survey-targeting list")
if not access.person_level("The survey-targeting list (customer ids)"):
    st.stop()  # the rest of the page is the list and its download
as_of = release["finished_at"] + timedelta(hours=int(window_h))
st.write(f"**{targets.height:,}** affected customers to survey, made at {as_of:%Y-%m-%d %H:%M} UTC "
         f"(end of the contact window), leaving out anyone who answered a survey in the {exclude} "
         "days before.")
# The file name is a download attribute, not Markdown; csv_text neutralises formula cells.
st.download_button("Download targeting list (CSV)", csv_text(targets), key="customer_targets",
                   file_name=f"survey-targets-{release['service']}-{release['finished_at']:%Y-%m-%d}.csv",
                   mime="text/csv", disabled=targets.height == 0)
st.caption("Customer ids are pseudonymised, as stored. " + ui.plain(when))

ui.definitions_caption(group="customer")  # which definition versions the numbers above used
