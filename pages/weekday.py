"""Weekday effect: do deployments fail more often on Fridays, after accounting for size?"""


import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.charts import studies as charts
from analytics.reports import weekday as report
from analytics.settings import get_settings
from analytics.store.queries import Filters
from analytics.studies import weekday as method

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

# Rates as percentages (0.1014 reads as 10.1%), p-values in two significant digits.
RATE_COLUMNS = {c: st.column_config.NumberColumn(label, format="percent")
                for c, label in (("rate", "failure rate"), ("ci_low", "95% low"), ("ci_high", "95% high"))}
P_COLUMNS = {c: st.column_config.NumberColumn(c.replace("_", " "), format="%.2g")
             for c in ("p_value", "p_holm")}

filters = ui.global_filters()


@ui.cached(show_spinner="Fitting the weekday model…")
def result(filters: Filters, outcome: str) -> dict:
    """The weekday study for these filters (aggregated frames only), with the incidents'
    attribution of the shared delivery facts (the same one Overview and Delivery count)."""
    window = get_settings().window_hours
    attribution = ui.delivery_facts(filters, window).attribution
    return report.weekday(ui.engine(), filters=filters, outcome=outcome, window_hours=window,
                          attribution=attribution)


st.title("Weekday effect")
# Service and team names are user data: escaped, since a caption renders Markdown.
st.caption(ui.plain(ui.describe(filters)))
outcome = st.radio("A deployment failed when it has…", tuple(report.OUTCOMES), horizontal=True,
                   format_func=lambda o: report.OUTCOMES[o], key="wd_outcome")
res = ui.result_or_stop(lambda: result(filters, outcome), "Nothing to compare here")
st.subheader(res["verdict"])
f, naive = res["friday_vs_rest"], res["naive_friday_vs_rest"]
if f["odds_ratio"] is None:
    st.dataframe(res["by_weekday"].select("weekday", "deployments", "failed"), placeholder="—",
                 hide_index=True)
    st.stop()
c1, c2, c3 = st.columns(3)
ui.tile(c1, "Friday vs Mon–Thu (controlled)", f"{f['odds_ratio']:.2f}×",
        f"odds ratio, 95% CI {f['ci_low']:.2f}–{f['ci_high']:.2f}, p = {f['p_value']:.2g}")
ui.tile(c2, "Naive (no controls)", f"{naive['odds_ratio']:.2f}×",
        f"{naive['test']} p = {naive['p_value']:.2g}; size confounds this one")
ui.tile(c3, "Smallest detectable", f"{res['min_detectable_odds_ratio']:.2f}×",
        "odds ratio found with 80% power at α 0.05 with this sample")

by_day = res["by_weekday"]
st.altair_chart(charts.weekday_rate_chart(by_day))
st.dataframe(by_day, placeholder="—",
             hide_index=True, width="stretch", column_config=RATE_COLUMNS | P_COLUMNS)
st.caption("p: each weekday against all other days (chi-square, Fisher when sparse); p_holm: "
           "Holm-adjusted across the days. Independence of weekday and failure: "
           f"chi-square p = {res['independence']['p_value']:.2g}.")

st.subheader("Odds ratios against Monday, with controls")
# Monday is the reference: its ratio is 1 by definition and it has no interval (no "None" row).
st.dataframe(pl.DataFrame(res["odds_ratios_vs_monday"]).filter(pl.col("ci_low").is_not_null()),
             placeholder="—",
             hide_index=True,
             column_config={c: st.column_config.NumberColumn(c.replace("_", " "), format="%.2f")
                            for c in ("odds_ratio", "ci_low", "ci_high")})
st.caption("Each weekday's failure odds ÷ Monday's, from the logistic model with controls; Monday "
           "is the reference (odds ratio 1 by definition), so it has no row.")
st.subheader("By hour band (UTC)")
st.dataframe(res["by_hour_band"], placeholder="—", hide_index=True, column_config=RATE_COLUMNS)
if "incidents_by_weekday" in res:
    st.subheader("Incidents and MTTR by weekday of the release that caused them")
    st.dataframe(res["incidents_by_weekday"], placeholder="—", hide_index=True, column_config={
        c: st.column_config.NumberColumn(c.replace("_", " "), format="%.1f")
        for c in ("mttr_median_hours", "mttr_mean_hours", "incidents_per_100_releases")})
    st.caption(f"Incidents attributed to a release opened within {res['window_hours']:g} h of it "
               "(observation window, WORKBENCH_WINDOW_HOURS; REFERENCE §1.1).")

with st.expander("Method"):
    st.markdown(ui.method_text(method.__doc__))
    st.markdown(ui.method_text(method.weekday_study.__doc__))
    st.caption(f"Model on {res['n_model']:,} deployments in {res['services_in_model']} services; "
               f"errors {res['cov_type']}.")

ui.definitions_caption(["change_failure_rate"])  # the failure definition the weekday study counts
