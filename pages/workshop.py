"""Threshold workshop: tune an alert rule against history, compare it with the current one, save
it as a new version of the rule's KPI definition, and replay a rollback trigger over the
service's deployments (REFERENCE §4; semantics in studies.thresholds / threshold_policies)."""

from datetime import timedelta

import polars as pl
import streamlit as st
from sqlmodel import Session

from analytics import access, ui
from analytics.charts import studies as charts
from analytics.reports import ReportError
from analytics.reports import thresholds as report
from analytics.store.definitions import save_definition

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

STEPS = [0, 5, 10, 15, 30, 60, 120]
METRICS = ["error_rate", "burn_rate"]
# Threshold slider per metric: (key, low, high, step, format). One key per metric, since the
# ranges differ and a bound key is the URL parameter's name.
THRESHOLD_SLIDERS = {"error_rate": ("ws_threshold", 0.001, 0.5, 0.001, "%.3f"),
                     "burn_rate": ("ws_burn_threshold", 0.1, 50.0, 0.1, "%.1f")}


# Keyed by the store's data version, not a clock: a workshop idle for an hour still reuses the
# series on its next slider move, and an import makes the next run read afresh.
@st.cache_resource(max_entries=16, show_spinner="Reading SLI samples…")
def inputs(service: str, metric: str, scope: str, version: str) -> report.ReplayInputs:  # noqa: ARG001
    """One service's series, incidents and deployments, read once per data version (slider
    changes reuse it; the arrays stay on the server)."""
    return report.replay_inputs(ui.engine(), service=service, metric=metric, scope=scope)


@st.cache_data(max_entries=64, show_spinner="Replaying the rollback trigger…")
def rollback(service: str, threshold: float, within_minutes: int, version: str) -> dict:  # noqa: ARG001
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
data_ver = ui.version()  # read once per run; keys the caches below
# Every choice is bound to the URL, so a copied link reopens the same rule on the same service.
c1, c2, c3 = st.columns(3)
service = c1.selectbox("Service", names, key="ws_service", bind="query-params")
metric = c2.selectbox("Metric", METRICS, key="ws_metric", bind="query-params")
scope = c3.radio("Score against", ["all incidents", "outages only"], key="ws_scope", horizontal=True,
                 bind="query-params")
try:
    data = inputs(service, metric, "outage" if scope == "outages only" else "all", data_ver)
except ReportError as exc:
    st.info(ui.plain(str(exc)))  # messages quote the service name
    st.stop()
current, version = report.current_rule(ui.engine(), metric=metric, service=service)


# The rule's controls and everything they change rerun as a fragment: a slider move redraws this
# section only, not the sidebar or the rollback replay below (keeps a move well under a second).
@st.fragment
def proposed_rule(data: report.ReplayInputs, current: dict, version: int, metric: str,
                  service: str) -> None:
    """The proposed rule's controls, its scorecard against the current rule, the timeline, the
    precision–recall curve and Save."""
    if "ws_saved" in st.session_state:
        st.success(ui.plain(st.session_state.pop("ws_saved")))
    st.subheader("Proposed rule")
    p1, p2, p3, p4 = st.columns([2, 1, 1, 1])
    t_key, t_lo, t_hi, t_step, t_fmt = THRESHOLD_SLIDERS[metric]
    t_default = min(max(round(float(current["threshold"]) / t_step) * t_step, t_lo), t_hi)
    proposed = {"threshold": p1.slider("Threshold", t_lo, t_hi, round(t_default, 6), t_step, format=t_fmt,
                                       key=t_key, bind="query-params"),
                "window_minutes": p2.select_slider("Window (min)", STEPS[1:], int(current["window_minutes"]),
                                                   key="ws_window", bind="query-params"),
                "for_minutes": p3.select_slider("For (min)", STEPS, int(current["for_minutes"]), key="ws_for",
                                                bind="query-params"),
                "cooldown_minutes": p4.select_slider("Cooldown (min)", STEPS, int(current["cooldown_minutes"]),
                                                     key="ws_cooldown", bind="query-params")}
    st.caption(f"Proposed rule: above {proposed['threshold']:g} over {proposed['window_minutes']}m for "
               f"{proposed['for_minutes']}m, cooldown {proposed['cooldown_minutes']}m. Current rule "
               f"(version {version}): above {current['threshold']:g} over {current['window_minutes']}m "
               f"for {current['for_minutes']}m, cooldown {current['cooldown_minutes']}m.")
    try:
        view = report.workshop(data, current=current, proposed=proposed)
    except ReportError as exc:
        st.info(ui.plain(str(exc)))  # messages quote the service name
        return
    res = view["result"]
    k1, k2, k3, k4 = st.columns(4)
    ui.tile(k1, "Incidents caught", f"{view['caught']} of {view['caught'] + view['missed_count']}",
            "incidents overlapped by an alert of the proposed rule")
    ui.tile(k2, "Incidents missed", f"{view['missed_count']}", "incidents no alert overlapped")
    ui.tile(k3, "False alarms", f"{view['false_alarms'].height}", "alerts overlapping no incident")
    ui.tile(k4, "Alerts per week", f"{res['alerts_per_week']:.2f}",
            f"{res['alerts']} alerts, {res['off_hours_alerts']} off hours")
    st.dataframe(view["card"], placeholder="—",
                 hide_index=True, width="stretch", column_config=ui.headings(view["card"]))

    suggested = report.suggestions(data, window_minutes=proposed["window_minutes"])
    if suggested.height:
        st.markdown("**Suggested thresholds** for this window")
        st.dataframe(suggested, placeholder="—", hide_index=True, column_config=ui.headings(suggested))
        st.caption("History: percentiles of the windowed value over the whole history (rare values "
                   "are worth a page). SLO: warn at 80% of the error-budget rate (1 − target; a burn "
                   "rate of 1), critical at it.")

    st.altair_chart(charts.replay_chart(view, metric=metric, threshold=proposed["threshold"]),
                    width="stretch")
    lo, hi = view["span"]
    st.caption(f"The replayed span, {lo:%Y-%m-%d} – {hi:%Y-%m-%d} UTC (the service's SLI history). Line: "
               "hourly maximum of the windowed value. Orange bands: incidents. Shaded: alerts of the "
               "proposed rule (green true, red false). Red dashes: the proposed threshold. Strip "
               "below: production deployments (failed warm, successful grey).")

    st.subheader("Precision–recall over thresholds")
    st.altair_chart(charts.pr_curve_chart(view["sweep"], view["marks"]), width="stretch")

    st.markdown("**False alarms**")
    st.dataframe(view["false_alarms"], placeholder="—",
                 hide_index=True, column_config=ui.headings(view["false_alarms"]))
    st.markdown("**Missed incidents**")
    st.dataframe(view["missed"], placeholder="—",
                 hide_index=True, width="stretch", column_config=ui.headings(view["missed"]))

    st.subheader("Save the proposed rule")
    who = access.actor()  # the signed-in user, not a name typed in
    st.text(f"Saved as {who} (the audit log records the signed-in user).")
    reason = st.text_input("Reason", key="ws_reason")
    if st.button("Save", key="ws_save", disabled=proposed == current):
        if not reason.strip():
            st.error("Say why: the reason goes into the audit log.")
        else:
            # The store function writes the version and its audit row; the page only commits.
            with Session(ui.engine()) as session:
                row = save_definition(session=session, **report.rule_definition(metric, service, proposed),
                                      actor=who, reason=reason.strip())
                saved = (row.key, row.version)
                session.commit()
            # A full rerun, so the "current rule" everywhere is the one just saved.
            st.session_state["ws_saved"] = f"Saved {saved[0]} version {saved[1]}."
            st.rerun(scope="app")


proposed_rule(data, current, version, metric, service)

st.subheader("Rollback trigger")
st.caption("Would an automatic rollback on \"error rate above X within N minutes of a "
           "deployment\" have caught the failed production deployments? Replayed over every "
           "deployment inside the SLI history; minutes saved assume an instant rollback.")
r1, r2 = st.columns(2)
rb_threshold = r1.number_input("Error rate above", 0.0001, 1.0, report.DEFAULT_RULE["threshold"],
                               format="%.4f", key="ws_rb_threshold", bind="query-params")
rb_within = r2.select_slider("Within (min) of a deployment", STEPS[1:], 15, key="ws_rb_within",
                             bind="query-params")
try:
    rb = rollback(service, rb_threshold, rb_within, data_ver)
except ReportError as exc:
    st.info(ui.plain(str(exc)))  # messages quote the service name
else:
    k1, k2, k3, k4 = st.columns(4)
    k1.metric("Failures caught", f"{rb['caught']} of {rb['caught'] + rb['missed']}")
    k2.metric("False rollbacks", f"{rb['false rollback']}")
    k3.metric("Precision", "–" if rb["precision"] is None else f"{rb['precision']:.0%}")
    k4.metric("Impact minutes saved", f"{rb['impact_minutes_saved']:,.0f}")
    rows = pl.DataFrame(rb["rows"])
    st.altair_chart(charts.rollback_chart(rows), width="stretch")
    # A deployment the trigger never fired on has no trigger time: a dash, not "None".
    fired = rows.filter(pl.col("outcome") != "quiet").with_columns(
        trigger_at=pl.col("trigger_at").dt.strftime("%Y-%m-%d %H:%M").fill_null("–"))
    st.dataframe(fired, placeholder="—", hide_index=True, width="stretch",
                 column_config=ui.headings(fired))
