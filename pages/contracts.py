"""Contracts & vendors: the agreement tree, coverage gaps, effective targets, vendor scorecards
and the review calendar (issue 19). Aggregates and agreement names only — no person-level rows."""

from datetime import UTC, datetime

import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.charts.contracts import vendor_chart
from analytics.contracts import lifecycle
from analytics.contracts.store import Catalogue
from analytics.reports import ReportError
from analytics.reports import contracts as rc
from analytics.reports import vendors as rv
from analytics.reports.review import default_month

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)


@ui.cached
def catalogue() -> Catalogue:
    """Vendors, components and agreements."""
    return rc.agreements(ui.engine())


@ui.cached
def contract_services() -> dict[str, list[str]]:
    """SLA contract → services."""
    return rc.contract_services(ui.engine())


@ui.cached(show_spinner="Scoring vendors…")
def scorecard(month: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The vendor scorecard of ``month`` and the unlinked third-party outages."""
    return rv.vendor_scorecard(ui.engine(), month=month)


st.title("Contracts & vendors")
try:
    cat = catalogue()
except ReportError as exc:
    st.info(str(exc))
    st.stop()
today = datetime.now(UTC).date()
live = sum(a.live for a in cat.agreements)
cols = st.columns(4)
gaps = rc.gaps_frame(cat)
cols[0].metric("Agreements in force", f"{live:,}")
cols[1].metric("Vendors", f"{len(cat.vendors):,}")
cols[2].metric("Coverage gaps", f"{gaps.height:,}")

st.header("Agreements")
tree = rc.tree_frame(cat).with_columns(
    agreement=pl.concat_str([pl.lit("    ").repeat_by("depth").list.join(""), pl.col("agreement")]))
text = st.column_config.TextColumn
# Window and calendar share a column so the tree fits the page without sideways scrolling.
st.dataframe(tree.select(
    "agreement", "kind", "target_pct",
    measured=pl.concat_str([pl.col("window"), pl.col("calendar")], separator=" · "),
    party="party", service="service", status="status", supports="supports"), placeholder="—",
    hide_index=True, width="stretch", column_config={
        "agreement": text("agreement", width=215), "kind": text("kind", width=95),
        "target_pct": st.column_config.NumberColumn("target %", width=65),
        "measured": text("measured", width=100), "party": text("party", width=105),
        "service": text("service / component", width=145), "status": text("status", width=65),
        "supports": text("supports", width=120)})
st.caption("Parents before children; an OLA or UC sits under the first SLA it supports.")

st.header("Coverage gaps")
st.caption("Computed: an SLA above the serial availability (product of targets) of the agreements "
           "underpinning it; a component no live agreement covers; an underpinning agreement "
           "measured on another window, calendar or zone than the SLA it supports.")
if gaps.height:
    st.dataframe(gaps, placeholder="—", hide_index=True, width="stretch", column_config={
        "kind": text("kind", width=190), "subject": text("subject", width=170),
        "detail": text("detail", width=330),
        "target_pct": st.column_config.NumberColumn("target %", width=70, format="%.4g"),
        "deliverable_pct": st.column_config.NumberColumn("deliverable %", width=95,
                                                         format="%.6g")})
    # A detail is a sentence too long for a table cell: the full text, wrapped.
    with st.expander(f"Every gap in full ({gaps.height})"):
        st.markdown("\n".join(f"- **{ui.plain(g['subject'])}** ({ui.plain(g['kind'])}): "
                              f"{ui.plain(g['detail'])}" for g in gaps.iter_rows(named=True)))
else:
    st.success("No coverage gap.")

st.header("Effective targets")
st.dataframe(rc.effective_targets(cat, today, contract_services()), placeholder="—", hide_index=True,
             width="stretch", column_config={"unit": text("unit", width=200),
                                             "rule": text("rule", width=140)})
st.caption("Most specific wins: customer override, customer, segment, service, corporate — per "
           "SLI: availability (% uptime), outages (most per month), ticket response and "
           "resolution (% of tickets within their business-hours target).")

st.header("Vendor scorecard")
month = st.selectbox("Month", rc.months_back(default_month(today), 24)[::-1], key="contracts_month",
                     help="A calendar month in UTC; kept in the URL.", bind="query-params")
try:
    card, unlinked = scorecard(month)
except ReportError as exc:
    st.error(str(exc))
else:
    cols[3].metric("Vendor disputes", f"{int(card['disputed'].sum()):,}" if card.height else "0")
    if card.height:
        st.altair_chart(vendor_chart(card), width="stretch")
        st.dataframe(card, placeholder="—", hide_index=True, width="stretch", column_config=ui.headings(card))
        st.caption("The red tick is the contracted target. Measured: outages with a third-party "
                   "cause on a service whose vendor-provided component is this one. Credit due: the vendor's ladder at the measured uptime. "
                   "Disputed: vendor report and measurement differ by more than 0.05 pp.")
    else:
        st.info("No vendor with an underpinning contract.")
    if unlinked.height:
        st.subheader("Third-party outages not linked to a vendor")
        st.dataframe(unlinked, placeholder="—", hide_index=True, width="stretch",
                     column_config=ui.headings(unlinked))

st.header("Review calendar")
days = st.slider("Look ahead (days)", 7, 365, 90, key="contracts_days")
due = lifecycle.due(cat.agreements, today, days)
st.dataframe(due.with_columns(pl.col("date").cast(pl.String)), placeholder="—",
             hide_index=True, width="stretch",
             column_config=ui.headings(due))
