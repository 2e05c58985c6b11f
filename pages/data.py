"""Data: what the store holds, how far back, and what looks wrong."""

import polars as pl
import streamlit as st
from sqlmodel import Session

from analytics import access, ui
from analytics.exports import csv_text
from analytics.reports import ReportError
from analytics.reports.reconciliation import Reconciliation, reconciliation
from analytics.reports.summary import data_quality, table_summary
from analytics.store.services import confirm_services

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

RECONCILIATION_ROWS = 500


@ui.cached
def summary() -> dict:
    """Row counts and coverage per table."""
    return table_summary(ui.engine())


@ui.cached
def quality() -> pl.DataFrame:
    """Data-quality flags."""
    return data_quality(ui.engine())


@ui.cached
def reconciled(tolerance: float) -> Reconciliation:
    """How many deployments are linked to a change request, and those that disagree with it."""
    return reconciliation(ui.engine(), tolerance_minutes=tolerance)


def audit_verdict() -> dict:
    """The audit chain's verdict (no checkpoint written) and the newest 20 entries."""
    from sqlalchemy import text

    from analytics.store import audit

    engine = ui.engine()
    v = audit.verify(engine, checkpoint=False)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, at, actor, action, entity, entity_id FROM audit_log "
                                 "ORDER BY id DESC LIMIT 20")).mappings().all()
    return {"ok": v.ok, "entries": v.entries, "head": v.head_id, "head_hash": v.head_hash,
            "problem": v.problem, "latest": [dict(r) for r in rows]}


st.title("Data")
st.caption("Everything in the store, regardless of the sidebar filters.")
s = summary()
rows = [{"table": t, "rows": n, "from": s["coverage"].get(t, {}).get("from") or "—",
         "to": s["coverage"].get(t, {}).get("to") or "—"} for t, n in s["tables"].items()]
st.subheader("Tables")
st.caption("Coverage is the first and last timestamp of each table's main time column; "
           "'—' where a table has none or is empty.")
# Tall enough to show every table without an inner scrollbar (35 px a row plus the header).
st.dataframe(pl.DataFrame(rows), placeholder="—",
             hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3,
             column_config={"rows": st.column_config.NumberColumn(format="localized")})

st.subheader("Data-quality flags")
q = quality()
flagged = q.filter(pl.col("rows") > 0).height
st.caption(f"{flagged} of {q.height} checks find rows to look at.")
st.dataframe(q, placeholder="—", hide_index=True, width="stretch", column_config=ui.headings(q))

st.subheader("Deployments against their change requests")
st.caption("A deployment linked to a change request should run in the change's actual window "
           "and end the way its outcome says. Differences are deployment − change, in minutes; an "
           "outcome the workbench does not recognise is not a disagreement. The same report: "
           "`python -m analytics report reconciliation`.")
tolerance = st.columns(4)[0].number_input(
    "Tolerance (minutes)", min_value=0.0, value=0.0, step=5.0, key="data_recon_tolerance",
    help="Differences up to this many minutes are not listed.")
try:
    result = reconciled(tolerance)
except ReportError as exc:  # e.g. an impossible tolerance: say so instead of a traceback
    st.info(str(exc))
    result = None
if result is None:
    pass
elif result.linked == 0:
    st.info("No deployment is linked to a change request. ServiceNow and BPIC 2014 imports, and "
            "canonical deployments with a change_request column, carry the link.")
else:
    linked, disagree = result.linked, result.disagree
    issues = disagree["issues"].str.split(", ").explode()
    tiles = {"linked deployments": (linked, "deployments with a change request"),
             "disagree": (disagree.height, f"with a start or end more than {tolerance:g} "
                                           "min off, or another outcome")}
    tiles |= {f"{kind} differs": (int((issues == kind).sum()), f"deployments whose {kind} "
                                  "disagrees") for kind in ("start", "end", "status")}
    for column, (label, (value, how)) in zip(st.columns(len(tiles)), tiles.items(), strict=True):
        ui.tile(column, label, f"{value:,}", how)
    if disagree.height:
        shown = min(disagree.height, RECONCILIATION_ROWS)
        st.caption(f"Largest discrepancy first; showing {shown:,} of {disagree.height:,} "
                   "(the CSV also has the change's actual start and end).")
        when = st.column_config.DatetimeColumn
        minutes = st.column_config.NumberColumn
        st.dataframe(
            disagree.head(RECONCILIATION_ROWS).select(
                "external_id", "service", "change_request", "started_at", "start_diff_min",
                "finished_at", "end_diff_min", "status", "outcome", "issues"), placeholder="—",
            hide_index=True, width="stretch",
            # Widths sum to ~910 px so the last column ("Differs") is not cut off at 1400 px.
            column_config={"external_id": st.column_config.TextColumn("Deployment", width=84),
                           "service": st.column_config.TextColumn("Service", width=122),
                           "change_request": st.column_config.TextColumn("Change", width=70),
                           "started_at": when("Started (UTC)", format="YYYY-MM-DD HH:mm", width=115),
                           "start_diff_min": minutes("Δ start min", format="%.0f", width=78,
                                                     help="deployment start − change actual start"),
                           "finished_at": when("Finished (UTC)", format="YYYY-MM-DD HH:mm", width=115),
                           "end_diff_min": minutes("Δ end min", format="%.0f", width=72,
                                                   help="deployment end − change actual end"),
                           "status": st.column_config.TextColumn("Status", width=76),
                           "outcome": st.column_config.TextColumn(
                               "Outcome", width=80, help="the change's close code, as a status"),
                           "issues": st.column_config.TextColumn("Differs", width=100)})
        st.download_button("Download all as CSV", csv_text(disagree), "reconciliation.csv",
                           mime="text/csv", key="data_recon_csv")

unconfirmed = ui.services().filter(~pl.col("confirmed"))
if unconfirmed.height and access.can("confirm-services"):
    st.subheader("Services created by an import")
    st.caption("An importer met these names in the data. Check team, tier and criticality, then "
               "confirm them; the confirmation is recorded in the audit log.")
    st.dataframe(unconfirmed.select("service", "team", "tier", "criticality", "source"), placeholder="—",
                 hide_index=True, width="stretch")
    chosen = st.multiselect("Services to confirm", unconfirmed["service"].to_list(), key="data_confirm")
    if st.button("Confirm", key="data_confirm_go", disabled=not chosen):
        with Session(ui.engine()) as session:
            n = confirm_services(session=session, names=chosen, actor=access.actor())
            session.commit()
        st.cache_data.clear()
        ui.data_changed()
        st.success(f"Confirmed {n} service(s).")
        st.rerun()

# Timestamps outside the bulk of their table (left out of default periods), with the rows.
outside = summary().get("outside_bulk", [])
if outside and access.person_level("The rows outside the bulk"):
    st.subheader("Timestamps outside the bulk of their table")
    st.caption("Default periods run over the bulk of the data: leading and trailing calendar "
               "months far sparser than the table's middle month are left out (rule in "
               "analytics.store.queries.bulk_months). The most extreme rows of each side:")
    for flag in outside:
        with st.expander(f"{flag['table']}: {flag['before']:,} before {flag['bulk_from'][:10]}, "
                         f"{flag['after']:,} after {flag['bulk_to'][:10]}"):
            st.dataframe(pl.DataFrame(flag["rows"]), placeholder="—", hide_index=True, width="stretch")

# The audit trail's verification (admins and auditors): the same check as `audit verify`, read
# only — viewing the page compares with the last checkpoint but never appends one.
if access.can("view-audit"):
    st.subheader("Audit trail")
    verdict = audit_verdict()
    if verdict["ok"]:
        st.success(f"Audit log intact: {verdict['entries']:,} "
                   f"{'entry' if verdict['entries'] == 1 else 'entries'}; head #{verdict['head']} "
                   f"{verdict['head_hash']}.")
    else:
        st.error(f"Audit log BROKEN: {verdict['problem']}")
    st.caption("Keyed hash chain (HMAC-SHA256, key outside the database) compared with the last "
               "checkpoint of `python -m analytics audit verify`, which also records a new one.")
    st.dataframe(pl.DataFrame(verdict["latest"]), placeholder="—", hide_index=True, width="stretch")
