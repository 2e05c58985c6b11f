"""Threshold workshop: tune an alert rule against history, compare it with the current one, save
it as a new version of the rule's KPI definition (REFERENCE §4; semantics in studies.thresholds)."""

import json
from datetime import UTC, datetime, timedelta

import altair as alt
import numpy as np
import polars as pl
import streamlit as st
from sqlmodel import Session, select

from analytics import ui
from analytics.store import queries
from analytics.store.audit import record
from analytics.store.models import KpiDefinition
from analytics.store.queries import Filters
from analytics.studies import thresholds as th

DEFAULT_RULE = {"threshold": 0.05, "window_minutes": 15, "for_minutes": 5, "cooldown_minutes": 30}
STEPS = [0, 5, 10, 15, 30, 60, 120]
SWEEP = np.geomspace(0.001, 0.5, 30)


@st.cache_resource(ttl=300, show_spinner="Reading SLI samples…")
def series(metric: str) -> th.Series:
    """Every service's metric on the 5-minute grid, read once per server (slider changes reuse it)."""
    samples = queries.sli_samples(ui.engine())
    if metric == "burn_rate":
        return th.burn_rate_series(samples, queries.slos(ui.engine()))
    return th.error_rate_series(samples)


@st.cache_data(ttl=300)
def events(service: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Production incidents and deployments of ``service``."""
    f = Filters(services=(service,), environment="production")
    return queries.incidents(ui.engine(), f), queries.deployments(ui.engine(), f)


def key_for(metric: str, service: str) -> str:
    """The KPI-definition key that versions this service's alert rule."""
    return f"alert_rule.{metric}.{service}"


def current_rule(key: str) -> tuple[dict, int]:
    """The latest saved rule for ``key`` and its version (the default, version 0, if none)."""
    with Session(ui.engine()) as s:
        row = s.exec(select(KpiDefinition).where(KpiDefinition.key == key)
                     .order_by(KpiDefinition.version.desc())).first()  # type: ignore[union-attr]
        return (json.loads(row.thresholds), row.version) if row else (dict(DEFAULT_RULE), 0)


def save_rule(key: str, old: dict, new: dict, version: int, who: str, reason: str) -> int:
    """Store ``new`` as the next version of ``key`` and write the change to the audit log."""
    with Session(ui.engine()) as s:
        row = KpiDefinition(key=key, version=version + 1, name=f"Alert rule {key}", unit="rule",
                            direction="lower_is_better", thresholds=json.dumps(new), changed_by=who,
                            changed_at=datetime.now(UTC).replace(microsecond=0), reason=reason,
                            methodology="Alert when the windowed value is above the threshold for the "
                                        "for-duration; cooldown after each alert (REFERENCE §4).")
        s.add(row)
        record(s, actor=who, action="kpi_threshold_changed", entity="kpi_definition", entity_id=key,
               detail={"version": version + 1, "old": old, "new": new, "reason": reason})
        s.commit()
    return version + 1


def rule_of(d: dict) -> th.Rule:
    """A Rule from its stored form."""
    return th.Rule(d["threshold"], timedelta(minutes=d["window_minutes"]),
                   timedelta(minutes=d["for_minutes"]), timedelta(minutes=d["cooldown_minutes"]))


st.title("Threshold workshop")
st.caption("Replay an alert rule over the last 90 days and score whole alerts against incidents: "
           "precision = alerts overlapping an incident ÷ alerts; recall = incidents caught ÷ incidents.")
names = ui.services()["service"].to_list()
if not names:
    st.info("No services yet: load the demo or import data on the Data page.")
    st.stop()
c1, c2, c3 = st.columns(3)
service = c1.selectbox("Service", names, key="ws_service")
metric = c2.selectbox("Metric", ["error_rate", "burn_rate"], key="ws_metric")
scope = c3.radio("Score against", ["all incidents", "outages only"], key="ws_scope", horizontal=True)
data = series(metric)
if service not in data.services:
    st.info(f"{service} has no SLI samples to replay.")
    st.stop()
one = th.Series((service,), data.start, data.step, data.num[[data.index(service)]],
                data.den[[data.index(service)]])
incidents, deployments = events(service)
if scope == "outages only":
    incidents = incidents.filter(pl.col("outage"))
key = key_for(metric, service)
current, version = current_rule(key)

st.subheader("Proposed rule")
p1, p2, p3, p4 = st.columns(4)
proposed = {"threshold": p1.number_input("Threshold", 0.0001, 100.0, float(current["threshold"]),
                                         format="%.4f", key="ws_threshold"),
            "window_minutes": p2.select_slider("Window (min)", STEPS[1:], int(current["window_minutes"]), key="ws_window"),
            "for_minutes": p3.select_slider("For (min)", STEPS, int(current["for_minutes"]), key="ws_for"),
            "cooldown_minutes": p4.select_slider("Cooldown (min)", STEPS, int(current["cooldown_minutes"]),
                                                 key="ws_cooldown")}
st.caption(f"Current rule (version {version}): above {current['threshold']:g} over "
           f"{current['window_minutes']}m for {current['for_minutes']}m, cooldown {current['cooldown_minutes']}m.")

card = th.compare(one, incidents, rule_of(current), rule_of(proposed))
st.dataframe(card, hide_index=True, width="stretch")
result = th.replay(one, rule_of(proposed), incidents)

# Hourly maxima keep the chart light; alerts and incidents are drawn at full resolution.
values = one.values(int(proposed["window_minutes"] * 60 // one.step.total_seconds()))[0]
line = pl.DataFrame({"ts": pl.datetime_range(one.start, one.start + one.step * (values.size - 1), one.step,
                                             eager=True, time_unit="us"), "value": values}
                    ).group_by_dynamic("ts", every="1h").agg(pl.col("value").max())
alerts = pl.DataFrame(result["alert_intervals"] or None, schema={"service": pl.String, "start": pl.Datetime("us"),
                                                                 "end": pl.Datetime("us")})
alerts = alerts.with_columns(kind=pl.Series([("true alert" if t else "false alarm") for t in result["true_alert"]],
                                            dtype=pl.String))
bands = result["incidents_scored"].select("id", start="opened_at", end="resolved_at").with_columns(
    caught=pl.Series(result["caught"], dtype=pl.Boolean))
chart = (alt.Chart(bands).mark_rect(opacity=0.25, color="orange").encode(x="start:T", x2="end:T",
                                                                        tooltip=["id", "caught"])
         + alt.Chart(alerts).mark_rect(opacity=0.35).encode(x="start:T", x2="end:T", color="kind:N")
         + alt.Chart(line).mark_line().encode(x=alt.X("ts:T", title=None), y=alt.Y("value:Q", title=metric))
         + alt.Chart(pl.DataFrame({"y": [proposed["threshold"]]})).mark_rule(color="red", strokeDash=[4, 4]).encode(y="y:Q")
         + alt.Chart(deployments.select("finished_at", "status", "version")).mark_tick(color="gray", thickness=1)
         .encode(x="finished_at:T", tooltip=["status", "version", "finished_at"]))
st.altair_chart(chart.properties(height=320), width="stretch")
st.caption("Orange bands: incidents. Shaded: alerts of the proposed rule. Red dashes: threshold. "
           "Grey ticks: deployments.")

st.subheader("Precision–recall over thresholds")
sweep = th.sweep(one, incidents, SWEEP, (timedelta(minutes=proposed["window_minutes"]),),
                 timedelta(minutes=proposed["for_minutes"]), timedelta(minutes=proposed["cooldown_minutes"]))
marks = pl.DataFrame([{"rule": name, "precision": r["precision"], "recall": r["recall"]}
                      for name, r in (("current", th.replay(one, rule_of(current), incidents)),
                                      ("proposed", result))])
st.altair_chart((alt.Chart(sweep).mark_line(point=True).encode(x="recall:Q", y="precision:Q",
                                                               tooltip=["threshold", "alerts_per_week"])
                 + alt.Chart(marks).mark_point(size=150, filled=True).encode(x="recall:Q", y="precision:Q",
                                                                           color="rule:N")),
                width="stretch")

left, right = st.columns(2)
left.markdown("**False alarms**")
left.dataframe(alerts.filter(pl.col("kind") == "false alarm").select("start", "end"), hide_index=True)
right.markdown("**Missed incidents**")
right.dataframe(result["incidents_scored"].filter(~pl.Series(result["caught"], dtype=pl.Boolean))
                .select("id", "severity", "title", "opened_at", "resolved_at"), hide_index=True)

st.subheader("Save the proposed rule")
who = st.text_input("Who", key="ws_who")
reason = st.text_input("Reason", key="ws_reason")
if st.button("Save", key="ws_save", disabled=proposed == current):
    if not who.strip() or not reason.strip():
        st.error("Say who is saving and why: both go into the audit log.")
    else:
        new_version = save_rule(key, current, proposed, version, who.strip(), reason.strip())
        st.success(f"Saved {key} version {new_version}.")
