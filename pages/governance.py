"""Governance: compliance lists with counts first, the quarterly data-source checklist with its
sign-off, and the metric-gaming detectors with the rows behind them."""

from datetime import date

from functools import partial

import polars as pl
import streamlit as st
from sqlmodel import Session

from analytics import access, ui
from analytics.charts import governance as charts
from analytics.exports import csv_text
from analytics.reports import ReportError
from analytics.reports.compliance import Compliance, compliance, picked_deployment
from analytics.reports.gaming import Gaming, gaming
from analytics.reports.source_validation import Checklist, checklist, known_sources, quarter_days
from analytics.settings import get_settings
from analytics.store.queries import Filters
from analytics.store.validations import sign_off_source, validate_emergency

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

filters = ui.global_filters()


@ui.cached(show_spinner="Checking compliance…")
def lists(filters: Filters) -> Compliance:
    """The three compliance lists for the filters."""
    return compliance(ui.engine(), filters)


@ui.cached(show_spinner="Running the gaming detectors…")
def detectors(filters: Filters) -> Gaming:
    """The gaming detectors' findings for the filters."""
    return gaming(ui.engine(), filters)


@ui.cached
def sources() -> list[str]:
    """Source names the imported tables hold."""
    return known_sources(ui.engine())


@ui.cached(show_spinner="Building the checklist…")
def source_checklist(source: str, quarter: str) -> Checklist:
    """One source's checklist for one quarter, with its sign-offs."""
    return checklist(ui.engine(), source=source, quarter=quarter, timezone=get_settings().timezone)


def quarters(lo: date | None, hi: date | None) -> list[str]:
    """Quarters from the newest day with data back to the oldest, newest first."""
    hi = hi or date.today()
    lo = lo or hi
    out, (y, q) = [], (hi.year, (hi.month - 1) // 3 + 1)
    while (y, q) >= (lo.year, (lo.month - 1) // 3 + 1):
        out.append(f"{y}Q{q}")
        y, q = (y, q - 1) if q > 1 else (y - 1, 4)
    return out


# Up to 100 rows of each list shown (an auditor reads the first ones, a store at scale holds
# thousands: six lists of 500 rows cost the browser over a second a visit), all in the CSV.
table = partial(ui.listing, rows=100)
PICKABLE = 100  # overdue emergency fixes offered in the validation form's list



st.title("Governance")
st.caption(ui.plain(ui.describe(filters)))

# Evidence pack: auditors and admins only (it holds person-level rows such as ticket titles).
if access.can("export-evidence"):
    with st.expander("Evidence pack for auditors", icon=":material/folder_zip:"):
        ev_lo, ev_hi = filters.start or ui.extent()[0], filters.end or ui.extent()[1]
        st.caption("A zip with a self-contained HTML report (methodology and definition versions, "
                   "KPIs and release success by criticality, a seeded sample of releases, the "
                   "compliance lists, the latest source sign-off, snapshots, gaming findings, the "
                   "audit verification), the JSON/CSV behind each section and a SHA-256 manifest, "
                   f"for {ev_lo} – {ev_hi}. Building it is recorded in the audit log as an export. "
                   "The same pack: `python -m analytics evidence --from … --to … --out pack.zip`.")
        ev_seed = st.columns([1, 3])[0].number_input("Sample seed", min_value=0, value=7, step=1,
                                                      key="gov_evidence_seed")
        if ev_lo is None or ev_hi is None:
            st.info("The store holds no data yet, so there is no period to build a pack for.")
        elif st.button("Build evidence pack", key="gov_evidence_build"):
            from analytics.governance import evidence

            ev_name = f"evidence-{ev_lo}-{ev_hi}.zip"
            try:
                ev_pack = evidence.build(ui.engine(), ev_lo, ev_hi, actor=get_settings().user,
                                         seed=int(ev_seed), timezone=filters.timezone, name=ev_name)
            except ReportError as exc:
                st.error(str(exc))
            else:
                st.session_state["gov_evidence"] = (ev_name, ev_pack.content, ev_pack.sha256)
        if "gov_evidence" in st.session_state:
            ev_name, ev_bytes, ev_sha = st.session_state["gov_evidence"]
            st.success(f"Built {ev_name}: {len(ev_bytes):,} bytes, SHA-256 {ev_sha}.")
            st.download_button("Download evidence pack", ev_bytes, ev_name, mime="application/zip",
                               key="gov_evidence_download")
try:
    comp = lists(filters)
except ReportError as exc:
    st.info(str(exc))
    st.stop()

st.header("Compliance")
counts = comp.counts()
c1, c2, c3 = st.columns(3)
ui.tile(c1, "Outages without a post-mortem", f"{counts['outages_without_postmortem']:,}",
        "customer-facing outages opened in the period with no post-mortem link")
ui.tile(c2, "Emergency fixes not validated in 72 h", f"{counts['emergency_unvalidated']:,}",
        f"of {comp.emergency_total:,} emergency deployments: overdue or validated late; "
        f"{comp.emergency_pending:,} more still within their 72 h")
ui.tile(c3, "Changes without an approved request", f"{counts['unapproved_changes']:,}",
        f"of {comp.changes_required:,} deployments that required one (rule below)")

st.subheader("Customer-facing outages without a post-mortem")
table(comp.outages_without_postmortem, "outages-without-postmortem", "gov_pm_csv")

st.subheader("Emergency fixes not validated within 72 h")
st.caption("An emergency fix bypasses the release gate but must be validated retroactively "
           "within 72 h of finishing. Overdue: no validation yet; late: validated after the 72 h.")
table(comp.emergency_unvalidated, "emergency-unvalidated", "gov_em_csv")
if comp.gate_bypasses.height:
    st.caption("Release-gate emergency bypasses in the period, each due for validation within 72 h "
               "(closed by the validation of the service's next emergency deployment):")
    table(comp.gate_bypasses, "gate-bypasses", "gov_bypass_csv")
overdue = comp.emergency_unvalidated.filter(pl.col("status") == "overdue")
if overdue.height and access.can("record-validations"):
    with st.form("gov_validate", clear_on_submit=True):
        st.markdown("**Record a validation**")
        # The 100 oldest overdue fixes as options, any other one typed (its id or external
        # id): 40,000 options at scale 30 cost the browser 6 s and the server a second a visit.
        listed = overdue.head(PICKABLE)
        labels = dict(zip(listed["id"].to_list(), listed["external_id"].to_list(), strict=True))
        dep = st.selectbox("Deployment", list(labels), key="gov_validate_dep",
                           format_func=lambda i: f"{labels[i]} (id {i})" if i in labels else str(i),
                           accept_new_options=overdue.height > PICKABLE,
                           help=f"The {PICKABLE} oldest of {overdue.height:,} overdue; type "
                                "another one's id or external id."
                           if overdue.height > PICKABLE else None)
        by = access.actor()  # the signed-in user is the one who validates
        st.text(f"Validated by {by}")
        note = st.text_input("What was checked", key="gov_validate_note")
        if st.form_submit_button("Record validation"):
            try:
                dep = picked_deployment(overdue, dep)
                with Session(ui.engine()) as session:
                    validate_emergency(session=session, deployment_id=int(dep), by=by, note=note)
                    session.commit()
            except ValueError as exc:
                st.error(str(exc))
            else:
                ui.data_changed()
                lists.clear()
                st.success(f"Validation of deployment id {int(dep)} recorded in the audit log.")

st.subheader("Changes deployed without an approved change request")
st.caption(comp.rule + " The store keeps no approval flag, hence the last two conditions.")
table(comp.unapproved_changes, "unapproved-changes", "gov_cr_csv")

st.header("Data-source validation")
st.caption("Each quarter an analyst checks each source (rows, coverage of the quarter's days, "
           "quality flags, reconciliation with change requests) and signs it off with findings. "
           "The same checklist: `python -m analytics validate-source --source S --quarter 2026Q3`.")
names = sources()
if not names:
    st.info("No imported rows yet: import a file on the Import page first.")
else:
    s1, s2 = st.columns(2)
    source = s1.selectbox("Source", names, key="gov_source")
    lo, hi = ui.extent()
    options = quarters(lo, hi)
    # The newest quarter is still running unless the data reach its last day: default to the
    # last complete one, so its coverage is not judged half-way.
    running = hi is None or hi < quarter_days(options[0])[1]
    quarter = s2.selectbox("Quarter", options, index=1 if running and len(options) > 1 else 0,
                           key="gov_quarter")
    try:
        check = source_checklist(source, quarter)
    except ReportError as exc:
        st.info(str(exc))
    else:
        data = check.as_dict()
        st.caption(f"{check.start} – {check.end}: {data['open_items']} of {len(check.items)} "
                   "items to check.")
        items = pl.DataFrame(check.items).with_columns(pl.col("value").cast(pl.Float64))
        # Tall enough for every item without an inner scrollbar (35 px a row plus the header).
        st.dataframe(items, placeholder="—",
                     hide_index=True, width="stretch", height=35 * (items.height + 1) + 3,
                     column_config={"item": st.column_config.TextColumn("Item", width=310),
                                    "value": st.column_config.NumberColumn("Value", format="%g",
                                                                           width=90),
                                    "status": st.column_config.TextColumn("Status", width=70),
                                    "detail": st.column_config.TextColumn("Detail")})
        st.download_button("Download checklist as CSV", partial(csv_text, items),
                           f"checklist-{source}-{quarter}.csv", mime="text/csv", key="gov_check_csv")
        if check.sign_offs.height:
            st.caption("Sign-offs of this source and quarter, newest first.")
            st.dataframe(check.sign_offs.drop("id"), placeholder="—", hide_index=True, width="stretch",
                         column_config=ui.headings(check.sign_offs.drop("id")))
        else:
            st.caption("Not signed off yet.")
        # An auditor reads the checklist; analysts and admins sign it off.
        if access.can("record-validations"):
            with st.form("gov_sign_off", clear_on_submit=True):
                st.markdown("**Sign off this checklist**")
                by = access.actor()
                st.text(f"Analyst: {by}")
                findings = st.text_area("Findings", key="gov_sign_findings")
                if st.form_submit_button("Sign off"):
                    try:
                        with Session(ui.engine()) as session:
                            sign_off_source(session=session, source=source, quarter=quarter, by=by,
                                            findings=findings, checklist=data)
                            session.commit()
                    except ValueError as exc:
                        st.error(str(exc))
                    else:
                        ui.data_changed()
                        source_checklist.clear()
                        st.success("Sign-off stored and recorded in the audit log.")
                        st.rerun()

st.header("Metric gaming")
st.caption("Detectors an auditor can read: each says what it looked at and shows the rows behind "
           "it. Resolution = resolved − opened, wall-clock; targets by severity. The same report: "
           "`python -m analytics report gaming`.")
try:
    game = detectors(filters)
except ReportError as exc:
    st.info(str(exc))
    st.stop()
for i, f in enumerate(game.findings):
    st.subheader(f.title)
    (st.warning if f.flagged else st.info)(f.sentence)
    if f.stats.height:
        chart = charts.bunching_chart(f.stats)
        st.altair_chart(chart, height=int(chart.height) + 110)  # + axes and legend
        st.dataframe(f.stats, placeholder="—", hide_index=True, width="stretch",
                        column_config={"p_value": st.column_config.NumberColumn(format="%.3g"),
                                       "ratio": st.column_config.NumberColumn(format="%.2f")})
    if f.rows.height or f.stats.height:
        st.caption(f"The rows behind it: {f.rows.height:,} incident{'s' * (f.rows.height != 1)}.")
        table(f.rows, f"gaming-{f.key}", f"gov_gaming_{i}")
