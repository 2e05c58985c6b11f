"""SLAs: monthly compliance per contract and service, credits owed, breaches and their
escalation, and the downloadable compliance report (REFERENCE §3)."""

from datetime import date, datetime, timedelta

import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.charts.reliability import ticket_sla_chart
from analytics.metrics.sla_report import to_csv, to_html
from analytics.reports import ReportError
from analytics.reports import sla as report
from analytics.reports.ticket_sla_summary import ticket_sla_summary
from analytics.store import queries
from analytics.store.queries import Filters

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)


@ui.cached
def first_contract_day() -> date | None:
    """The earliest effective date of any contract version (None without contracts)."""
    versions = report.contracts(ui.engine())
    return min(c.effective_from for c in versions) if versions else None


@ui.cached
def months(first: date) -> list[str]:
    """YYYY-MM from the first contract's start to the last day with any data, newest first."""
    _lo, hi = ui.extent()
    newest = queries.newest_sample_ts(ui.engine())
    # At least the first contract month, even when every data point is older.
    last = max([d for d in (hi, newest.date() if newest else None) if d] or [date.today()])
    last = max(last, first)
    out, cur = [], first.replace(day=1)
    while cur <= last:
        out.append(f"{cur:%Y-%m}")
        cur = (cur + timedelta(days=32)).replace(day=1)
    return out[::-1]


@ui.cached(show_spinner="Computing compliance…")
def compliance(year: int, month: int, teams: tuple[str, ...],
               services: tuple[str, ...]) -> report.SlaReport:
    """The month's report for the sidebar's teams and services (aggregates and intervals)."""
    return report.sla_compliance(ui.engine(), year=year, month=month,
                                 filters=Filters(teams=teams, services=services))


@ui.cached(show_spinner="Running ticket timers…")
def tickets(filters: Filters) -> tuple[pl.DataFrame, str, datetime, int, str | None]:
    """Per-priority response and resolution summary, the calendar in words, the evaluation
    instant, the tickets without a priority and the note when no first response is recorded
    (aggregates only: no per-ticket timer is kept)."""
    result = ticket_sla_summary(ui.engine(), filters=filters)
    return (result.summary, result.policy.describe(), result.at, result.unprioritised,
            result.note)


filters = ui.global_filters()
tickets.ahead(filters)  # the ticket timers run while the contract section is computed and drawn
st.title("SLAs")
def contract_section(filters: Filters) -> None:
    """The month's contract compliance; returns early (not st.stop) so the ticket and
    resolution sections below still render on a store without contracts."""
    first = first_contract_day()
    if first is None:
        st.info("No SLA contract in the store. Import one with "
                "`python -m analytics import sla-contracts FILE`.")
        return

    options = months(first)
    newest_month = options[0]
    label = st.selectbox("Contract month", options, index=min(1, len(options) - 1), key="sla_month",
                         bind="query-params",
                         format_func=lambda m: f"{m} (in progress)" if m == newest_month else m,
                         help="A calendar month in each contract's own time zone; kept in the URL.")
    year, month = (int(x) for x in label.split("-"))
    try:
        result = compliance(year, month, filters.teams, filters.services)
    except ReportError as exc:
        st.info(str(exc))
        return
    report_rows, excl, down = result.rows, result.exclusions, result.downtime
    if label == newest_month:
        st.warning("This month is still running: minutes after the newest data count as up.")
    if report_rows.height == 0:
        st.info("No contract covers the selected services in this month.")

    if report_rows.height:
        breaches = report_rows.filter(pl.col("breached"))
        contracts = report_rows["contract"].n_unique()
        breached = breaches["contract"].n_unique()
        owed = result.credits_owed()
        worst = report_rows.sort("uptime_pct", nulls_last=True).row(0, named=True)
        c1, c2, c3 = st.columns(3)
        ui.tile(c1, "Contracts breached", f"{breached} of {contracts}",
                f"contracts with at least one service below its target this month "
                f"({result.breaches} of {report_rows.height} service-months; exactly on the "
                "target is met)")
        ui.tile(c2, "Credits owed", " · ".join(f"{amount:,.2f} {currency}"
                                               for currency, amount in owed.items()) or "none",
                "Σ credit % × monthly fee per currency; the first ladder band the uptime is below, "
                "capped per contract")
        ui.tile(c3, "Worst uptime", f"{worst['uptime_pct']:.3f}%",
                f"target {worst['target_pct']:g}% · the lowest uptime of any contract and service")
        # Service and contract names are user data: shown as text, never as Markdown.
        st.text(f"Worst: {worst['service']} under {worst['contract']} ({worst['customer']}), "
                f"{worst['downtime_minutes']:,.0f} min down")
        st.caption(f"{label} · contract months are calendar months in each contract's zone · teams "
                   "and services from the sidebar (the sidebar period does not apply: the month "
                   "does) · uptime = (period − excluded − downtime) ÷ (period − excluded) in the "
                   "exclude mode, (period − downtime) ÷ period in count-as-up; downtime inside an "
                   "exclusion does not count (REFERENCE §3).")

        st.subheader("Breaches and their escalation")
        if breaches.height == 0:
            st.success("No breach this month.")
        else:
            st.dataframe(breaches.select("contract", "customer", "service", "uptime_pct", "target_pct",
                                         "credit_pct", "credit_amount", "currency", "escalation")
                         .sort("uptime_pct"), placeholder="—", hide_index=True, width="stretch",
                         column_config={
                             "uptime_pct": st.column_config.NumberColumn("uptime %", format="%.3f"),
                             "target_pct": st.column_config.NumberColumn("target %", format="%g"),
                             "credit_pct": st.column_config.NumberColumn("credit %", format="%.2f"),
                             "credit_amount": st.column_config.NumberColumn("credit",
                                                                            format="%.2f")})
            st.caption("Escalation is the path named by the contract version in force.")

        st.subheader("Compliance per contract and service")
        st.dataframe(
            report_rows.select("contract", "service", "uptime_pct", "target_pct", "breached",
                               "downtime_minutes", "excluded_minutes", "credit_pct",
                               "credit_amount", "currency")
            .sort(["contract", "uptime_pct"], nulls_last=True), placeholder="—",
            hide_index=True, width="stretch",
            column_config={
                "uptime_pct": st.column_config.NumberColumn("uptime %", format="%.3f"),
                "target_pct": st.column_config.NumberColumn("target %", format="%g", width="small"),
                "breached": st.column_config.CheckboxColumn("breached", width="small"),
                "credit_pct": st.column_config.NumberColumn("credit %", format="%.2f", width="small"),
                "credit_amount": st.column_config.NumberColumn("credit", format="%.2f"),
                "currency": st.column_config.TextColumn("cur.", width="small"),
                **{c: st.column_config.NumberColumn(name, format="%.1f", help=f"{name} minutes")
                   for c, name in (("excluded_minutes", "excluded min"),
                                   ("downtime_minutes", "downtime min"))}})
        st.caption(f"Period {report_rows['period_minutes'].min():,.0f}–"
                   f"{report_rows['period_minutes'].max():,.0f} minutes per service-month · "
                   "tier, period minutes and exclusion mode per row are in the downloadable report "
                   "below.")

        st.subheader("Credits owed per contract")
        per = result.per_contract
        st.dataframe(per, placeholder="—", hide_index=True, width="stretch",
                     column_config={
                         "credit_pct_of_fee": st.column_config.NumberColumn("credit % of fee",
                                                                            format="%.2f"),
                         "credit_amount": st.column_config.NumberColumn("credit",
                                                                        format="%.2f"),
                         "cap_pct": st.column_config.NumberColumn("cap %", format="%g")})
        st.caption("A contract's credits add up over its services and are capped at cap % of its "
                   "monthly fee (scaled down in proportion when over).")

        st.subheader("Monthly compliance report")
        st.caption("Every input: period minutes, each excluded window with its reason, each downtime "
                   "interval with the minutes inside an exclusion; the counted columns sum to the totals.")
        d1, d2 = st.columns(2)
        with d1:
            # Built on click (a callable), not on every rerun of the page.
            st.download_button("Download CSV", lambda: to_csv(report_rows, excl, down),
                               file_name=f"sla-compliance-{label}.csv", mime="text/csv",
                               key="slas_csv", icon=":material/download:")
        with d2:
            st.download_button("Download HTML",
                               lambda: to_html(report_rows, excl, down, f"SLA compliance {label}"),
                               file_name=f"sla-compliance-{label}.html", mime="text/html",
                               key="slas_html", icon=":material/download:")
        with st.expander(f"Excluded windows ({excl.height})"):
            st.dataframe(excl, placeholder="—",
                         hide_index=True, width="stretch", column_config=ui.headings(excl))
        with st.expander(f"Downtime intervals ({down.height})"):
            st.dataframe(down, placeholder="—",
                         hide_index=True, width="stretch", column_config=ui.headings(down))


contract_section(filters)

st.subheader("Ticket SLA (business hours)")
try:
    summary, calendar, evaluated, unprioritised, response_note = tickets(filters)
except ReportError as exc:
    st.info(str(exc))
else:
    resolved = int(summary["resolved"].sum())
    met = int(summary["resolution_met"].sum())
    answered_met = int(summary["response_met"].fill_null(0).sum())
    answered = answered_met + int(summary["response_breached"].fill_null(0).sum())
    k1, k2, k3, k4 = st.columns(4)
    ui.tile(k1, "Tickets", f"{int(summary['tickets'].sum()):,}",
            f"support tickets with a priority opened {filters.start} – {filters.end} "
            f"({filters.timezone} days) of the sidebar's teams and services")
    ui.tile(k2, "Answered within target",
            "—" if answered == 0 else f"{answered_met / answered:.1%}",
            "not measured: no ticket records a first response" if response_note else
            f"{answered_met:,} of {answered:,} tickets answered or past due got their first "
            "response within the business-hours response target")
    ui.tile(k3, "Resolved within target",
            "—" if resolved == 0 else f"{met / resolved:.1%}",
            f"{met:,} of {resolved:,} resolved tickets closed within their business-hours "
            "resolution target")
    ui.tile(k4, "Open past due", f"{int(summary['open_overdue'].sum()):,}",
            f"open tickets whose resolution due time passed by {evaluated:%Y-%m-%d %H:%M} UTC")
    # The shares a reader compares come first; the counts behind them follow.
    order = ["priority", "tickets", "response_met_pct", "response_median_hours", "met_pct",
             "response_met", "response_breached", "resolution_met", "resolution_breached",
             "open", "open_overdue", "responded", "resolved", "response_target_hours",
             "resolution_target_hours"]
    st.dataframe(summary.select(order + [c for c in summary.columns if c not in order]), placeholder="—",
                 hide_index=True, width="stretch", column_config={
        "resolution_met": st.column_config.NumberColumn("resolved in time"),
        "resolution_breached": st.column_config.NumberColumn("resolved late"),
        "met_pct": st.column_config.NumberColumn("resolved in time %", format="%.1f"),
        "open_overdue": st.column_config.NumberColumn("open past due"),
        "responded": st.column_config.NumberColumn("answered"),
        "response_met": st.column_config.NumberColumn("answered in time"),
        "response_breached": st.column_config.NumberColumn("answered late"),
        "response_met_pct": st.column_config.NumberColumn("answered in time %",
                                                          format="%.1f"),
        "response_median_hours": st.column_config.NumberColumn("median h to answer",
                                                               format="%.2f"),
        "response_target_hours": st.column_config.NumberColumn("response target h",
                                                               format="%g"),
        "resolution_target_hours": st.column_config.NumberColumn("resolution target h",
                                                                 format="%g")})
    left, right = st.columns(2)
    if not response_note:
        with left:
            st.markdown("**First response**: answered in time or late (incl. unanswered past due)")
            st.altair_chart(ticket_sla_chart(summary, timer="response"), width="stretch")
    with right if not response_note else left:
        st.markdown("**Resolution**: resolved in time or late")
        st.altair_chart(ticket_sla_chart(summary), width="stretch")
    st.caption(
        f"Default calendar {calendar}; priority Pn = ticket severity n; targets are the "
        "workbench defaults (analytics/reports/ticket_sla.toml), not a contract. A timer runs "
        "only inside working hours and pauses while the ticket waits on the customer; a ticket "
        "is answered at first_response_at and resolved at closed_at. An unanswered ticket "
        "within its response target, or one closed without a recorded response, is left out "
        "of the response share. " + (response_note or "")
        + (f" {unprioritised:,} tickets without a priority are left out." if unprioritised
           else ""))

st.subheader("Resolution SLA by priority")
# Incidents against a resolution target per priority, the source's own priority (P1–P5).
from analytics.reports import resolution_sla  # noqa: E402  (appended section, kept together)


@ui.cached(show_spinner="Counting resolution times…")
def resolution(filters: Filters, targets: str, clock: str, category: str | None,
               status: str | None) -> dict:
    """The resolution SLA report (aggregates: overall and per priority)."""
    return resolution_sla.resolution_sla(ui.engine(), filters,
                                         resolution_sla.parse_targets(targets), clock=clock,
                                         category=category, status=status)


@ui.cached
def incident_values(column: str) -> list[str]:
    """The distinct values of an incident's source category or status."""
    return sorted(v for v in queries.incidents(ui.engine())[column].unique().to_list() if v)


r1, r2, r3, r4 = st.columns([3, 1, 1, 1])
targets_text = r1.text_input("Targets per priority", "P1=4h,P2=8h,P3=24h,P4=48h,P5=96h",
                             key="res_targets", help="PRIORITY=HOURS, h or d, comma-separated")
clock_choice = r2.radio("Clock", resolution_sla.CLOCKS, horizontal=True, key="res_clock")
category_choice = r3.selectbox("Category", ["(all)", *incident_values("category")],
                               key="res_category")
status_choice = r4.selectbox("Status", ["(all)", *incident_values("status")], key="res_status")
try:
    res = resolution(filters, targets_text, clock_choice,
                     None if category_choice == "(all)" else category_choice,
                     None if status_choice == "(all)" else status_choice)
except ReportError as exc:
    st.info(str(exc))
else:
    c1, c2, c3 = st.columns(3)
    ui.tile(c1, "Incidents", f"{res['incidents']:,}",
            f"incidents opened {res['period']['from']} – {res['period']['to']} with a target "
            "for their priority (resolved, or still open and already past it)")
    ui.tile(c2, "Breached", f"{res['breached']:,}",
            f"took longer than their priority's target ({res['clock']} clock)")
    ui.tile(c3, "Breach rate", "—" if res["breach_rate"] is None else f"{res['breach_rate']:.1%}",
            "breached ÷ incidents")
    st.dataframe(pl.DataFrame(res["by_priority"]), placeholder="—", hide_index=True, width="stretch",
                 column_config={"target_hours": st.column_config.NumberColumn("target h",
                                                                              format="%g"),
                                "breach_rate": st.column_config.NumberColumn("breach rate",
                                                                             format="percent"),
                                "median_hours": st.column_config.NumberColumn("median h",
                                                                              format="%.1f")})
    st.caption(f"Counted {res['basis']}; {res['pending']:,} open incidents not yet past their "
               "target are left out. "
               + (f"Business clock: {resolution_sla.DEFAULT_CALENDAR}. "
                  if res["clock"] == "business" else "Wall clock: every hour counts. ")
               + res["period"].get("note", ""))
