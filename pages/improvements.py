"""Improvements: the continual-improvement register, candidates proposed from the data with
their evidence, before/after validation of an improvement, and post-incident learning."""

from functools import partial

import polars as pl
import streamlit as st
from sqlmodel import Session

from analytics import access, ui
from analytics.charts import improvements as charts
from analytics.exports import csv_text
from analytics.loop.csi_candidates import candidates
from analytics.metrics.delivery_report import Facts
from analytics.loop.improvements import add_improvement, rules, update_improvement
from analytics.reports import ReportError
from analytics.reports.improvements import Validation, register, validate
from analytics.reports.learning import (failed_root_causes, history, major_incidents,
                                        mttr_target_check, root_cause_trend)
from analytics.settings import get_settings
from analytics.store.queries import Filters

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

filters = ui.global_filters()


@ui.cached
def register_rows() -> pl.DataFrame:
    """The register, highest risk first."""
    return register(ui.engine())


def year_facts(filters: Filters) -> Facts:
    """Delivery facts of the year up to the period's end (candidates and learning share them):
    the shared resource, so with the default period the Overview's and Delivery's facts."""
    return ui.delivery_facts(history(filters), get_settings().window_hours)


@ui.cached(show_spinner="Proposing candidates…")
def candidate_rows(filters: Filters, themes: bool) -> pl.DataFrame:
    """Candidates up to the period's end, with evidence."""
    # The escalation candidates are the scorecard's escalating services: the Overview's
    # rows of the same facts (with the default period), not a second summary of the year.
    run = rules()["candidates"]["escalation_run"]
    return candidates(ui.engine(), filters=filters, themes=themes, data=year_facts(filters),
                      escalated=ui.escalations(history(filters), get_settings().window_hours,
                                               "service", run))


@ui.cached(show_spinner="Validating…")
def validation(improvement_id: int, kpi: str, with_roi: bool) -> Validation:
    """Both comparisons (and the ROI when asked) for one improvement, on the shared delivery
    facts (the whole data extent: the default period of the other pages on a year of data)."""
    window = get_settings().window_hours
    return validate(ui.engine(), improvement_id, kpi=kpi, with_roi=with_roi, window_hours=window,
                    facts_of=lambda span: ui.delivery_facts(span, window))


@ui.cached(show_spinner="Reading post-incident data…")
def learning(filters: Filters) -> dict[str, pl.DataFrame]:
    """Major incidents, the root-cause trend and the MTTR target check for the period."""
    data = year_facts(filters)
    monthly, summary = root_cause_trend(failed_root_causes(data), start=data.start, end=data.end)
    out = {"monthly": monthly, "summary": summary,
           "major": major_incidents(ui.engine(), filters)}
    try:
        out["mttr"] = mttr_target_check(ui.engine(), filters)
    except ReportError:
        out["mttr"] = pl.DataFrame()
    return out


# Up to 500 rows shown (the major incidents of a large store run to thousands), all in the CSV.
table = ui.listing


def pct(x: float | None) -> str:
    """A relative change as a signed percentage ("—" when unknown)."""
    return "—" if x is None else f"{x:+.0%}"


st.title("Improvements")
st.caption("The continual-improvement register (Plan–Do–Check–Act), improvements the data "
           "calls for, whether an improvement worked, and what incidents teach.")

st.header("Register")
reg = register_rows()
if reg.height:
    st.caption(f"{reg.height:,} improvements, highest risk score first (business impact × "
               "recurrence × cost of remediation, weights in analytics/loop/improvements.toml).")
    shown = reg.select("id", "priority", "risk_score", "status", "title", "services", "owner",
                       "kpis", "expected_impact", "intervention_at", "outcome", "cost")
    st.dataframe(shown, placeholder="—", hide_index=True, width="stretch", column_config=ui.headings(shown))
    st.download_button("Download as CSV (every column)", partial(csv_text, reg), "improvements.csv",
                       mime="text/csv", key="imp_csv")
else:
    st.info("The register is empty. Add an improvement below or with `python -m analytics "
            "improve add`.")

# Writes are audited under the signed-in user; viewers and auditors read the register only.
if access.can("edit-register"):
    with st.expander("Add an improvement"), st.form("imp_add", clear_on_submit=True):
        title = st.text_input("Title", key="imp_add_title")
        services = st.multiselect("Services", ui.services()["service"].to_list(), key="imp_add_svc")
        owner = st.text_input("Owner", key="imp_add_owner")
        kpi_keys = st.multiselect("KPIs it should move", ["change_failure_rate", "mttr",
                                                          "deployment_frequency", "csat"],
                                  key="imp_add_kpis")
        f = rules()["factors"]
        c1, c2, c3 = st.columns(3)
        impact = c1.select_slider(f["business_impact"]["label"], options=[1, 2, 3, 4, 5], value=3,
                                  key="imp_add_impact")
        recur = c2.select_slider(f["recurrence"]["label"], options=[1, 2, 3, 4, 5], value=3,
                                 key="imp_add_recur")
        remed = c3.select_slider(f["remediation_cost"]["label"], options=[1, 2, 3, 4, 5], value=3,
                                 key="imp_add_remed")
        expected = st.number_input("Expected relative change of the KPI (−0.3 = 30% lower)",
                                   value=-0.3, step=0.05, key="imp_add_expected")
        cost = st.number_input(f"Cost ({get_settings().value_currency})", value=0.0, min_value=0.0,
                               key="imp_add_cost")
        if st.form_submit_button("Add to the register"):
            try:
                with Session(ui.engine()) as session:
                    row = add_improvement(session=session, actor=access.actor(), title=title,
                                          services=services, owner=owner, kpis=kpi_keys,
                                          business_impact=impact, recurrence=recur,
                                          remediation_cost=remed, expected_impact=expected,
                                          cost=cost or None)
                    session.commit()
                    new_id = row.id
            except ValueError as exc:
                st.error(str(exc))
            else:
                ui.data_changed()
                register_rows.clear()
                st.success(f"Improvement {new_id} added in the Plan stage (audited).")

    if reg.height:
        with st.expander("Move an improvement through Plan–Do–Check–Act"), st.form("imp_update"):
            ids = reg["id"].to_list()
            titles = dict(zip(ids, reg["title"].to_list(), strict=True))
            pick = st.selectbox("Improvement", ids, format_func=lambda i: f"{i}: {titles[i]}",
                                key="imp_upd_id")
            stage = st.selectbox("Stage", ["(unchanged)", *rules()["stages"]], key="imp_upd_stage")
            when = st.date_input("Intervention date (when the change took effect)", value=None,
                                 key="imp_upd_when")
            lessons = st.text_area("Lessons learned (also when the fix failed)", key="imp_upd_lessons")
            outcome = st.selectbox("Outcome", ["(unchanged)", *rules()["analysis"]["outcomes"]],
                                   key="imp_upd_outcome")
            if st.form_submit_button("Save"):
                try:
                    with Session(ui.engine()) as session:
                        update_improvement(
                            session=session, actor=access.actor(), improvement_id=int(pick),
                            stage=None if stage == "(unchanged)" else stage, intervention=when,
                            lessons=lessons or None,
                            outcome=None if outcome == "(unchanged)" else outcome)
                        session.commit()
                except ValueError as exc:
                    st.error(str(exc))
                else:
                    ui.data_changed()
                    register_rows.clear()
                    validation.clear()
                    st.success(f"Improvement {int(pick)} updated (audited).")
else:
    st.caption("Adding or moving improvements needs the analyst or admin role.")


st.header("Did it work?")
dated = reg.filter(pl.col("intervention_at").is_not_null()) if reg.height else reg
if dated.height == 0:
    st.info("No improvement has an intervention date yet: set one to validate it.")
else:
    ids = sorted(dated["id"].to_list())
    titles = dict(zip(dated["id"].to_list(), dated["title"].to_list(), strict=True))
    c1, c2, c3 = st.columns([3, 2, 1])
    pick = c1.selectbox("Improvement", ids, format_func=lambda i: f"{i}: {titles[i]}",
                        key="imp_val_id")
    first_kpis = dated.filter(pl.col("id") == pick)["kpis"][0] or "change_failure_rate"
    options = ["change_failure_rate", "mttr", "deployment_frequency"]
    kpi = c2.selectbox("KPI", options, index=options.index(first_kpis.split(", ")[0])
                       if first_kpis.split(", ")[0] in options else 0, key="imp_val_kpi")
    with_roi = c3.toggle("ROI", value=False, key="imp_val_roi",
                         help="Value the change in breaches, credits, tickets and incident "
                              "minutes (reads every SLA month: slower).")
    try:
        v = validation(int(pick), kpi, with_roi)
    except ReportError as exc:
        st.info(str(exc))
    else:
        st.caption(f"Weekly {v.label}, production, services: {', '.join(v.services)}. "
                   f"Weeks from {v.intervention} on are 'after'; the week of the change is left "
                   f"out. Comparable untreated services: {len(v.controls)}.")
        st.altair_chart(charts.validation_chart(v.series, intervention=v.intervention,
                                                label=v.label, percent=kpi != "mttr"
                                                and kpi != "deployment_frequency"),
                        width="stretch")
        for line in v.verdicts:
            st.text(line)
        rows = []
        for e in (v.its, v.did):
            if e is not None:
                lo, hi = e.relative_ci or (None, None)
                power = e.power(v.expected)
                rows.append({"method": e.method, "effect": f"{e.estimate:+.4f}",
                             "95% CI": f"{e.ci_low:+.4f} to {e.ci_high:+.4f}",
                             "p": f"{e.p_value:.3g}", "relative": pct(e.relative),
                             "relative 95% CI": f"{pct(lo)} to {pct(hi)}",
                             "power (expected)": "—" if power is None else f"{power:.0%}",
                             "n": e.n, "services": e.units, "standard errors": e.errors})
        st.dataframe(pl.DataFrame(rows), placeholder="—", hide_index=True, width="stretch")
        for note in v.notes:
            st.caption(note)
        if v.roi is not None:
            roi = v.roi
            st.subheader("Return on investment")
            st.caption(f"Yearly value {roi.yearly_value:,.0f} {roi.currency} against a cost of "
                       f"{'unknown' if roi.cost is None else f'{roi.cost:,.0f}'}"
                       f"{'' if roi.roi is None else f' — ROI {roi.roi:,.1f}×'}. Per service and "
                       "week (month for SLA), treated change minus control change, point "
                       "estimates; rates from WORKBENCH_VALUE_*.")
            table(roi.rows, "improvement-roi", "imp_roi_csv")

st.header("Candidates")
themes = st.toggle("Include voice-of-customer themes (slower)", value=False, key="imp_themes")
cand = candidate_rows(filters, themes)
if cand.height == 0:
    st.info("Nothing in the data calls for an improvement in this period.")
else:
    counts = cand.group_by("kind").len().sort("kind")
    st.caption(f"Up to {filters.end}: " + " · ".join(
        f"{k} {n}" for k, n in counts.iter_rows()) + ". Suggested risk factors: impact from "
        "the service's criticality, recurrence from the evidence, remediation medium.")
    # The evidence names the subject and service; the CSV has every column.
    st.dataframe(cand.select("priority", "risk_score", "kind", "evidence", "in_register"), placeholder="—",
                 hide_index=True, width="stretch",
                 column_config={"evidence": st.column_config.TextColumn(width=580)})
    st.download_button("Download as CSV (every column)", partial(csv_text, cand), "improvement-candidates.csv",
                       mime="text/csv", key="imp_cand_csv")

st.header("Post-incident learning")
st.caption(ui.plain(ui.describe(filters)))
try:
    learn = learning(filters)
except ReportError as exc:
    st.info(str(exc))
    st.stop()
major = learn["major"]
c1, c2, c3 = st.columns(3)
ui.tile(c1, "Major incidents", f"{int(major['major'].sum()):,}",
        f"of {major.height:,} incidents opened in the period, by the business-impact rules in "
        "analytics/loop/learning.toml (not severity alone)")
rising = learn["summary"].filter(pl.col("rising")) if learn["summary"].height else learn["summary"]
ui.tile(c2, "Root causes rising", f"{rising.height:,}",
        "categories of failed deployments significantly more frequent in the last 3 whole "
        "months than the 3 before (one-sided exact binomial test, 5%)")
mttr = learn["mttr"]
ui.tile(c3, "Services over MTTR target", f"{int(mttr['exceeds'].sum()) if mttr.height else 0:,}",
        "median restore time over the last 6 months above the tier's commitment by more than 30%")
st.subheader("Failed-deployment root causes by month")
st.caption("Whole months of the year up to the period's end (production). A failed deployment's "
           "category is the most frequent root cause of its attributed incidents, 'unknown' "
           "without one; the checklist item is the release check that would have caught it.")
if learn["monthly"].height:
    st.altair_chart(charts.root_cause_chart(learn["monthly"]), width="stretch")
table(learn["summary"].with_columns(pl.col("p_value").round(4)), "root-cause-trend", "imp_rc_csv")
st.subheader("Recovery against the MTTR target")
table(mttr.filter(pl.col("exceeds")).select(
    "service", "team", "tier", "n", "p50_hours", "commitment_hours",
    pl.col("excess").round(3)) if mttr.height else mttr, "mttr-target", "imp_mttr_csv")
st.subheader("Major incidents")
by_rule = (major.filter(pl.col("major")).explode("major_rules").group_by("major_rules").len()
           .sort("len", descending=True).rename({"major_rules": "rule", "len": "incidents"}))
table(by_rule, "major-incident-rules", "imp_major_rules_csv")
table(major.filter(pl.col("major")).with_columns(pl.col("major_rules").list.join("; "))
      .sort("opened_at", descending=True), "major-incidents", "imp_major_csv")

ui.definitions_caption(["change_failure_rate", "mttr", "deployment_frequency", "csat"])  # versions of the KPIs validated above
