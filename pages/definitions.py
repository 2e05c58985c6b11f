"""Definitions: change control of KPI definitions, thresholds, SLOs and alert/rollback rules
(proposals a second admin approves or rejects, version history), and the KPI retirement aid:
do our KPIs still track customers?"""

from dataclasses import replace
from datetime import UTC, datetime, time

import polars as pl
import streamlit as st
from sqlmodel import Session

from analytics import access, catalogue, ui
from analytics.charts.definitions import correlation_chart
from analytics.governance import changes
from analytics.reports import ReportError, periods
from analytics.reports.kpi_outcomes import OUTCOMES, KpiOutcomes, kpi_outcomes
from analytics.settings import get_settings
from analytics.store.models.changes import KINDS
from analytics.store.queries import Filters

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

filters = ui.global_filters()


@ui.cached
def proposal_rows(status: str | None) -> list[dict]:
    """Proposals with the given status (all when None), oldest first."""
    with Session(ui.engine()) as session:
        return changes.proposals(session=session, status=status)


@ui.cached
def version_history(key: str) -> list[dict]:
    """Every version of one KPI or SLO."""
    with Session(ui.engine()) as session:
        return changes.history(session=session, key=key)


@ui.cached(show_spinner="Correlating KPIs with customer outcomes…")
def outcomes(filters: Filters, every: str, method: str) -> KpiOutcomes:
    """The retirement aid's correlations and verdicts, from the shared delivery facts (with the
    default period, the Overview's and Delivery's)."""
    window = get_settings().window_hours
    filled, _ = periods.fill(ui.engine(), filters)
    return kpi_outcomes(ui.engine(), filters, every=every, method=method, window_hours=window,
                        data=ui.delivery_facts(filled, window))


def _shown(rows: list[dict], keys: tuple[str, ...]) -> pl.DataFrame:
    # JSON fields as text: user data is shown as text, never rendered.
    return pl.DataFrame([{k: (str(r[k]) if r[k] is not None else "") for k in keys}
                         for r in rows], schema={k: pl.String for k in keys})


def _refresh() -> None:
    ui.data_changed()  # a definition was written: this run re-reads the store's version
    proposal_rows.clear()
    version_history.clear()
    ui.definition_versions.clear()


st.title("Definitions")
st.caption("A change to a KPI definition, its thresholds, an SLO or an alert/rollback rule is a "
           "proposal; an admin other than the proposer approves it from an effective date, or "
           "rejects it. Every report's JSON names the versions it used. The same from the "
           "command line: `python -m analytics definitions list|propose|approve|reject|history`.")
ui.definitions_caption()
me = access.actor()  # the signed-in user (local mode: the OS user)

st.header("Proposals to approve")
pending = proposal_rows("pending")
if not pending:
    st.caption("No pending proposals.")
else:
    st.dataframe(_shown(pending, ("id", "kind", "key", "proposed_by", "proposed_at", "reason",
                                  "old", "new")), placeholder="—", hide_index=True, width="stretch")
    if access.can("approve-definitions"):  # four eyes: admins decide, never their own
        with st.form("def_decide", clear_on_submit=True):
            st.markdown(f"**Decide a proposal** (as {ui.plain(me)})")
            ids = [r["id"] for r in pending]
            labels = {r["id"]: f"#{r['id']} {r['kind']} {r['key']} by {r['proposed_by']}"
                      for r in pending}
            chosen = st.selectbox("Proposal", ids, format_func=labels.get, key="def_decide_id")
            effective = st.date_input("Effective from (UTC)", value=datetime.now(UTC).date(),
                                      key="def_decide_effective")
            note = st.text_input("Note (a rejection needs one)", key="def_decide_note")
            a, r = st.columns(2)
            approve = a.form_submit_button("Approve")
            reject = r.form_submit_button("Reject")
            if approve or reject:
                try:
                    with Session(ui.engine()) as session:
                        if approve:
                            changes.approve(session=session, proposal_id=int(chosen), actor=me,
                                            effective_from=datetime.combine(effective, time(),
                                                                            tzinfo=UTC),
                                            note=note or None)
                        else:
                            changes.reject(session=session, proposal_id=int(chosen), actor=me,
                                           note=note)
                        session.commit()
                except changes.ChangeControlError as exc:
                    st.error(ui.plain(exc))
                else:
                    _refresh()
                    st.success(f"Proposal {int(chosen)} {'approved' if approve else 'rejected'}; "
                               "recorded in the audit log.")
    else:
        st.caption("Approving or rejecting needs the admin role.")

if access.can("propose-definitions"):
    with st.expander("Propose a change"):
        with st.form("def_propose", clear_on_submit=True):
            kind = st.selectbox("What changes", KINDS, key="def_propose_kind")
            key = st.text_input("Key (catalogue KPI key, SLO name or rule name)",
                                key="def_propose_key")
            new = st.text_area('New values as JSON, e.g. {"warn": 0.12}', key="def_propose_new")
            reason = st.text_input("Reason", key="def_propose_reason")
            if st.form_submit_button("Propose"):
                import json

                try:
                    values = json.loads(new or "{}")
                    with Session(ui.engine()) as session:
                        row = changes.propose(session=session, kind=kind, key=key.strip(),
                                              new=values, reason=reason, actor=me)
                        session.commit()
                        made = row.id
                except json.JSONDecodeError as exc:
                    st.error(f"The new values are not valid JSON: {exc.msg}")
                except changes.ChangeControlError as exc:
                    st.error(ui.plain(exc))
                else:
                    _refresh()
                    st.success(f"Proposal {made} recorded; another admin must approve it.")


st.header("History")
versions = ui.definition_versions()
kpi_keys = list(catalogue.kpis())
slo_keys = sorted(k.removeprefix("slo:") for k in versions if k.startswith("slo:"))
which = st.selectbox("KPI or SLO", kpi_keys + slo_keys,
                     format_func=lambda k: catalogue.kpis()[k].label if k in kpi_keys else
                     f"SLO {k}", key="def_history_key")
hist = version_history(which)
if hist:
    cols = ("version", "effective_from", "changed_by", "reason") + (
        ("owner_team", "thresholds") if hist[0]["kind"] == "kpi" else ("definition",))
    st.dataframe(_shown(hist, cols), placeholder="—", hide_index=True, width="stretch")
else:
    st.caption("No stored versions yet: the catalogue's default is in force.")
decided = [r for r in proposal_rows(None) if r["key"] == which and r["status"] != "pending"]
if decided:
    st.caption("Decided proposals for it.")
    st.dataframe(_shown(decided, ("id", "kind", "status", "proposed_by", "decided_by",
                                  "effective_from", "version", "note")), placeholder="—",
                 hide_index=True, width="stretch")

st.header("Do our KPIs still track customers?")
st.caption("Per period, each delivery KPI is correlated across services with CSAT (share of "
           "answers 4–5) and with tickets opened within the observation window after a release "
           "(per release). 95% intervals by Fisher's z. Faded: the earlier periods pooled have an "
           "interval excluding 0, the latest period's does not — a KPI to review or retire. "
           "`python -m analytics report kpi-outcomes`.")
c1, c2 = st.columns(2)
every = c1.segmented_control("Period", ["quarter", "month"], default="quarter",
                             key="def_every") or "quarter"
method = c2.segmented_control("Correlation", ["spearman", "pearson"], default="spearman",
                              key="def_method") or "spearman"
# Fading shows over many periods: all the data, whatever the sidebar's period says.
span = replace(filters, start=None, end=None)
try:
    result = outcomes(span, every, method)
except ReportError as exc:
    st.info(str(exc))
    st.stop()
shown_span = replace(filters, start=result.period["start"], end=result.period["end"])
st.caption("All the data (not the sidebar's period): " + ui.plain(ui.describe(shown_span))
           + f" · {result.units.height:,} service-periods")
faded = result.faded()
if faded:
    st.warning("Correlation has faded for: " + ", ".join(faded) + ".")
else:
    st.success("No KPI's correlation with customer outcomes has faded.")
label = {k.column: k.label for k in catalogue.kpis().values()}
table = result.verdicts.with_columns(
    pl.col("kpi").replace_strict(label, default=None).alias("KPI"),
    pl.col("outcome").replace_strict(OUTCOMES, default=None)).select(
    "KPI", "outcome", "periods", "first_r", "earlier_r", "latest_r", "verdict")
st.dataframe(table, placeholder="—", hide_index=True, width="stretch", height=35 * (table.height + 1) + 3,
             column_config={"first_r": st.column_config.NumberColumn("first r", format="%+.2f"),
                            "earlier_r": st.column_config.NumberColumn("earlier r (pooled)",
                                                                       format="%+.2f"),
                            "latest_r": st.column_config.NumberColumn("latest r",
                                                                      format="%+.2f")})
shown = st.selectbox("KPI over time", list(dict.fromkeys(result.verdicts["kpi"].to_list())),
                     format_func=label.get, key="def_kpi")
part = result.correlations.filter(pl.col("kpi") == shown)
if part.is_empty():
    st.info("Too few services with both values in every period for this KPI.")
else:
    st.altair_chart(correlation_chart(part, OUTCOMES, every), width="stretch")
