"""Signals: what the signal rules find open now, the owner team of each, the evidence behind
it and how its notifications were delivered (the outbox of `python -m analytics notify run`).
Aggregates and operational records only — no person-level data."""

from functools import partial

import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.exports import csv_text
from analytics.loop import signals_rules
from analytics.reports import ReportError
from analytics.reports.signals import SignalReport, delivery_state, open_signals, with_delivery

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

KIND_LABELS = {
    "slo_burn_during_deploy": "Burn during a deployment",
    "sla_at_risk": "SLA at risk",
    "sla_breached": "SLA breached",
    "kpi_worsening": "KPI worse 3 periods (significant)",
    "budget_exhausted": "Error budget exhausted",
    "outage_without_postmortem": "Outage without post-mortem",
}


@ui.cached(show_spinner="Evaluating the signal rules…")
def evaluate() -> SignalReport:
    """Open signals under the shipped rules, at the end of the store's data."""
    return open_signals(ui.engine(), signals_rules.load())


@ui.cached
def outbox() -> pl.DataFrame:
    """Delivery state per notification and channel."""
    return delivery_state(ui.engine())


st.title("Signals")
try:
    report = evaluate()
except (ReportError, signals_rules.ConfigError) as exc:
    st.info(str(exc))
    st.stop()
st.caption(ui.plain(
    f"Rules version {report.rules_version} (analytics/loop/signals.toml), evaluated at "
    f"{report.at:%Y-%m-%d %H:%M} UTC, the end of the store's data. A signal goes to the team "
    "owning its service; python -m analytics notify run queues and delivers it once per "
    "channel (dedup key: rule | subject | period)."))

counts = report.counts()
cols = st.columns(3)
for i, (kind, label) in enumerate(KIND_LABELS.items()):
    cols[i % 3].metric(label, f"{counts.get(kind, 0):,}")

rows = with_delivery(report, outbox())
teams = sorted(rows["team"].unique().to_list()) if rows.height else []
chosen = st.multiselect("Owner teams", teams, key="signal_team", placeholder="All teams")
kinds = st.multiselect("Kinds", list(KIND_LABELS), format_func=KIND_LABELS.get,
                       key="signal_kind", placeholder="All kinds")
if chosen:
    rows = rows.filter(pl.col("team").is_in(chosen))
if kinds:
    rows = rows.filter(pl.col("kind").is_in(kinds))

st.header("Open signals")
if rows.height == 0:
    st.caption("No open signal for this choice.")
else:
    # People read the kind's label; the CSV keeps the rule's key (what the dedup key holds).
    shown = rows.with_columns(pl.col("kind").replace(KIND_LABELS))
    st.dataframe(shown, placeholder="—", hide_index=True, width="stretch", column_config={
        "kind": st.column_config.TextColumn("Kind", width="medium"),
        "delivery": st.column_config.TextColumn(width="medium"),
        "summary": st.column_config.TextColumn(width="large"),
        "evidence": st.column_config.TextColumn(width="large")})
    st.download_button("Download as CSV", partial(csv_text, rows), "signals.csv", mime="text/csv")

st.header("Delivery")
box = outbox()
if box.height == 0:
    st.caption("Nothing queued yet: run python -m analytics notify run.")
else:
    per = (box.group_by("channel", "channel_type", "state").len("notifications")
           .sort("channel", "state"))
    st.dataframe(per, placeholder="—", hide_index=True, column_config=ui.headings(per))
    failed = box.filter(pl.col("state") == "failed").select("channel", "attempts", "last_error")
    if failed.height:
        st.subheader("Failed deliveries (retried on the next run)")
        st.dataframe(failed, placeholder="—", hide_index=True, column_config=ui.headings(failed))
for note in report.notes:
    st.caption(ui.plain(note))

ui.definitions_caption()  # the KPI and SLO versions the signal rules evaluated
