"""Threshold workshop: tune an alert rule against history, compare it with the current one, save
it as a new version of the rule's KPI definition, and replay a rollback trigger over the
service's deployments (REFERENCE §4; semantics in studies.thresholds / threshold_policies)."""

from datetime import timedelta

import polars as pl
import streamlit as st
from sqlmodel import Session

from analytics import ui
from analytics.charts import studies as charts
from analytics.reports import ReportError
from analytics.reports import thresholds as report
from analytics.store.definitions import save_definition

STEPS = [0, 5, 10, 15, 30, 60, 120]
METRICS = ["error_rate", "burn_rate"]


@st.cache_resource(ttl=300, show_spinner="Reading SLI samples…")
def inputs(service: str, metric: str, scope: str) -> report.ReplayInputs:
    """One service's series, incidents and deployments, read once per server (slider changes
    reuse it; the arrays stay on the server)."""
    return report.replay_inputs(ui.engine(), service=service, metric=metric, scope=scope)


@st.cache_data(ttl=300, show_spinner="Replaying the rollback trigger…")
def rollback(service: str, threshold: float, within_minutes: int) -> dict:
    """The rollback-trigger replay (`report rollback-replay`)."""
    return report.rollback_replay(ui.engine(), service=service, threshold=threshold,
                                  within=timedelta(minutes=within_minutes))


st.title("Threshold workshop")
st.caption("Replay an alert rule over the service's SLI history and score whole alerts against "
           "incidents: precision = alerts overlapping an incident ÷ alerts; recall = incidents "
           "caught ÷ incidents.")
names = ui.services()["service"].to_list()
if not names:
    st.info("No services yet: load the demo or import data on the Data page.")
    st.stop()
c1, c2, c3 = st.columns(3)
service = c1.selectbox("Service", names, key="ws_service")
metric = c2.selectbox("Metric", METRICS, key="ws_metric")
scope = c3.radio("Score against", ["all incidents", "outages only"], key="ws_scope", horizontal=True)
try:
    data = inputs(service, metric, "outage" if scope == "outages only" else "all")
except ReportError as exc:
    st.info(str(exc))
    st.stop()
current, version = report.current_rule(ui.engine(), metric=metric, service=service)

st.subheader("Proposed rule")
p1, p2, p3, p4 = st.columns(4)
proposed = {"threshold": p1.number_input("Threshold", 0.0001, 100.0, float(current["threshold"]),
                                         format="%.4f", key="ws_threshold"),
            "window_minutes": p2.select_slider("Window (min)", STEPS[1:], int(current["window_minutes"]),
                                               key="ws_window"),
            "for_minutes": p3.select_slider("For (min)", STEPS, int(current["for_minutes"]), key="ws_for"),
            "cooldown_minutes": p4.select_slider("Cooldown (min)", STEPS, int(current["cooldown_minutes"]),
                                                 key="ws_cooldown")}
st.caption(f"Current rule (version {version}): above {current['threshold']:g} over "
           f"{current['window_minutes']}m for {current['for_minutes']}m, cooldown "
           f"{current['cooldown_minutes']}m.")
try:
    view = report.workshop(data, current=current, proposed=proposed)
except ReportError as exc:
    st.info(str(exc))
    st.stop()
st.dataframe(view["card"], hide_index=True, width="stretch")

suggested = report.suggestions(data, window_minutes=proposed["window_minutes"])
if suggested.height:
    st.markdown("**Suggested thresholds** for this window")
    st.dataframe(suggested, hide_index=True)
    st.caption("History: percentiles of the windowed value over the whole history (rare values "
               "are worth a page). SLO: warn at 80% of the error-budget rate (1 − target; a burn "
               "rate of 1), critical at it.")

st.altair_chart(charts.replay_chart(view, metric=metric, threshold=proposed["threshold"]),
                width="stretch")
st.caption("Orange bands: incidents. Shaded: alerts of the proposed rule. Red dashes: threshold. "
           "Grey ticks: deployments.")

st.subheader("Precision–recall over thresholds")
st.altair_chart(charts.pr_curve_chart(view["sweep"], view["marks"]), width="stretch")

st.markdown("**False alarms**")
st.dataframe(view["false_alarms"], hide_index=True)
st.markdown("**Missed incidents**")
st.dataframe(view["missed"], hide_index=True, width="stretch")

st.subheader("Save the proposed rule")
who = st.text_input("Who", key="ws_who")
reason = st.text_input("Reason", key="ws_reason")
if st.button("Save", key="ws_save", disabled=proposed == current):
    if not who.strip() or not reason.strip():
        st.error("Say who is saving and why: both go into the audit log.")
    else:
        # The store function writes the version and its audit row; the page only commits.
        with Session(ui.engine()) as session:
            row = save_definition(session=session, **report.rule_definition(metric, service, proposed),
                                  actor=who.strip(), reason=reason.strip())
            saved = (row.key, row.version)
            session.commit()
        st.success(f"Saved {saved[0]} version {saved[1]}.")

st.subheader("Rollback trigger")
st.caption("Would an automatic rollback on \"error rate above X within N minutes of a "
           "deployment\" have caught the failed production deployments? Replayed over every "
           "deployment inside the SLI history; minutes saved assume an instant rollback.")
r1, r2 = st.columns(2)
rb_threshold = r1.number_input("Error rate above", 0.0001, 1.0, report.DEFAULT_RULE["threshold"],
                               format="%.4f", key="ws_rb_threshold")
rb_within = r2.select_slider("Within (min) of a deployment", STEPS[1:], 15, key="ws_rb_within")
try:
    rb = rollback(service, rb_threshold, rb_within)
except ReportError as exc:
    st.info(str(exc))
else:
    k1, k2, k3, k4 = st.columns(4)
    k1.metric("Failures caught", f"{rb['caught']} of {rb['caught'] + rb['missed']}")
    k2.metric("False rollbacks", f"{rb['false rollback']}")
    k3.metric("Precision", "–" if rb["precision"] is None else f"{rb['precision']:.0%}")
    k4.metric("Impact minutes saved", f"{rb['impact_minutes_saved']:,.0f}")
    rows = pl.DataFrame(rb["rows"])
    st.altair_chart(charts.rollback_chart(rows), width="stretch")
    st.dataframe(rows.filter(pl.col("outcome") != "quiet"), hide_index=True, width="stretch")
