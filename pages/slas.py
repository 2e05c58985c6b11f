"""SLAs: monthly compliance per contract and service, credits owed, breaches and their
escalation, and the downloadable compliance report (REFERENCE §3)."""

from datetime import date, datetime, timedelta

import polars as pl
import streamlit as st

from analytics import ui
from analytics.metrics.sla import Contract, sla_report
from analytics.metrics.sla_report import sla_details, to_csv, to_html
from analytics.store import queries
from analytics.store.queries import Filters

# Zones are at most 14 h from UTC: a UTC day on each side covers every contract's month.
ZONE_PAD = timedelta(days=1)
# An outage incident opened this long before the month may still run into it.
INCIDENT_LOOKBACK = timedelta(days=92)


@st.cache_data(ttl=300)
def contracts() -> list[Contract]:
    """Every version of every contract."""
    return [Contract.from_record(r) for r in queries.sla_contracts(ui.engine()).iter_rows(named=True)]


@st.cache_data(ttl=300)
def months() -> list[str]:
    """YYYY-MM from the first contract's start to the last day with any data, newest first."""
    versions = contracts()
    _lo, hi = ui.extent()
    newest = queries.newest_sample_ts(ui.engine())
    last = max([d for d in (hi, newest.date() if newest else None) if d] or [date.today()])
    first = min(c.effective_from for c in versions).replace(day=1)
    out, cur = [], first
    while cur <= last:
        out.append(f"{cur:%Y-%m}")
        cur = (cur + timedelta(days=32)).replace(day=1)
    return out[::-1]


@st.cache_data(ttl=300, show_spinner="Computing compliance…")
def compliance(year: int, month: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The month's report rows and the exclusion and downtime intervals behind them."""
    lo = datetime(year, month, 1) - ZONE_PAD
    hi = datetime(year + month // 12, month % 12 + 1, 1) + ZONE_PAD
    window = Filters(start=lo.date(), end=(hi - timedelta(days=1)).date())
    outages = queries.outages(ui.engine(), window)
    windows = queries.maintenance_windows(ui.engine())
    flagged = queries.incidents(ui.engine(), Filters(start=window.start, end=window.end,
                                                     environment="production"),
                                pad_before=INCIDENT_LOOKBACK)
    flagged = flagged.filter(pl.col("outage") & (pl.col("resolved_at").is_null()
                                                 | (pl.col("resolved_at") > lo)))
    report = sla_report(contracts(), outages, windows, year, month, incidents=flagged)
    excl, down = sla_details(report, contracts(), outages, windows, flagged)
    return report, excl, down


filters = ui.global_filters()
st.title("SLAs")
if not contracts():
    st.info("No SLA contract in the store. Import one with "
            "`python -m analytics import sla-contracts FILE`.")
    st.stop()

options = months()
newest_month = options[0]
label = st.selectbox("Contract month", options, index=min(1, len(options) - 1), key="slas_month",
                     format_func=lambda m: f"{m} (in progress)" if m == newest_month else m,
                     help="A calendar month in each contract's own time zone.")
year, month = (int(x) for x in label.split("-"))
report, excl, down = compliance(year, month)

svc = ui.services()
pool = svc.filter(pl.col("team").is_in(filters.teams)) if filters.teams else svc
if filters.services:
    pool = pool.filter(pl.col("service").is_in(filters.services))
keep = pl.col("service").is_in(pool["service"].implode())
report, excl, down = report.filter(keep), excl.filter(keep), down.filter(keep)
st.caption(f"{label} · contract months are calendar months in each contract's zone · teams and "
           "services from the sidebar (the sidebar period does not apply: the month does) · "
           "uptime = (period − excluded − downtime) ÷ (period − excluded) in the `exclude` mode, "
           "(period − downtime) ÷ period in `count_as_up`; downtime inside an exclusion does not "
           "count (REFERENCE §3).")
if label == newest_month:
    st.warning("This month is still running: minutes after the newest data count as up.")
if report.height == 0:
    st.info("No contract covers the selected services in this month.")
    st.stop()

breaches = report.filter(pl.col("breached"))
owed = report.group_by("currency").agg(pl.col("credit_amount").sum()).sort("currency")
c1, c2, c3, c4 = st.columns(4)
ui.tile(c1, "Contracts in force", f"{report['contract'].n_unique()}",
        "contract versions in force on the month's first day (or starting inside it)")
ui.tile(c2, "Service-months", f"{report.height}", "one row per contract and covered service")
ui.tile(c3, "Breaches", f"{breaches.height}",
        "service-months whose uptime is below the contract target (exactly on it is met)")
ui.tile(c4, "Credits owed", " · ".join(f"{r['credit_amount']:,.2f} {r['currency']}"
                                       for r in owed.iter_rows(named=True)),
        "Σ credit % × monthly fee; the first ladder band the uptime is below, capped per contract")

st.subheader("Compliance per contract and service")
st.dataframe(
    report.select("contract", "tier", "service", "period_minutes", "excluded_minutes",
                  "downtime_minutes", "uptime_pct", "target_pct", "breached", "credit_pct",
                  "credit_amount", "currency", "exclusion_mode")
    .sort(["contract", "uptime_pct"], nulls_last=True),
    hide_index=True, width="stretch",
    column_config={"uptime_pct": st.column_config.NumberColumn("uptime %", format="%.4f"),
                   "target_pct": st.column_config.NumberColumn("target %", format="%.2f"),
                   "credit_pct": st.column_config.NumberColumn("credit %", format="%.2f"),
                   "credit_amount": st.column_config.NumberColumn("credit", format="%.2f"),
                   "exclusion_mode": st.column_config.TextColumn("mode"),
                   **{c: st.column_config.NumberColumn(c.replace("_minutes", " min"), format="%.1f")
                      for c in ("period_minutes", "excluded_minutes", "downtime_minutes")}})

st.subheader("Credits owed per contract")
fees = {c.name: c for c in contracts()}
per = (report.group_by("contract", "customer", "currency")
       .agg(pl.col("credit_pct").sum().alias("credit_pct_of_fee"),
            pl.col("credit_amount").sum(), pl.len().alias("services"),
            pl.col("breached").sum().alias("breached"))
       .with_columns(cap_pct=pl.col("contract").replace_strict(
           {k: v.credit_cap_pct for k, v in fees.items()}, return_dtype=pl.Float64))
       .sort("credit_amount", descending=True))
st.dataframe(per, hide_index=True, width="stretch",
             column_config={"credit_pct_of_fee": st.column_config.NumberColumn(format="%.2f"),
                            "credit_amount": st.column_config.NumberColumn(format="%.2f")})
st.caption("A contract's credits add up over its services and are capped at cap % of its "
           "monthly fee (scaled down in proportion when over).")
st.subheader("Breaches and their escalation")
if breaches.height == 0:
    st.success("No breach this month.")
else:
    st.dataframe(breaches.select("contract", "customer", "service", "uptime_pct", "target_pct",
                                 "credit_pct", "credit_amount", "currency", "escalation")
                 .sort("uptime_pct"), hide_index=True, width="stretch",
                 column_config={"uptime_pct": st.column_config.NumberColumn(format="%.4f"),
                                "credit_pct": st.column_config.NumberColumn(format="%.2f"),
                                "credit_amount": st.column_config.NumberColumn(format="%.2f")})
    st.caption("Escalation is the path named by the contract version in force.")

st.subheader("Monthly compliance report")
st.caption("Every input: period minutes, each excluded window with its reason, each downtime "
           "interval with the minutes inside an exclusion; the counted columns sum to the totals.")
d1, d2 = st.columns(2)
with d1:
    st.download_button("Download CSV", to_csv(report, excl, down),
                       file_name=f"sla-compliance-{label}.csv", mime="text/csv",
                       key="slas_csv", icon=":material/download:")
with d2:
    st.download_button("Download HTML", to_html(report, excl, down, f"SLA compliance {label}"),
                       file_name=f"sla-compliance-{label}.html", mime="text/html",
                       key="slas_html", icon=":material/download:")
with st.expander(f"Excluded windows ({excl.height})"):
    st.dataframe(excl, hide_index=True, width="stretch")
with st.expander(f"Downtime intervals ({down.height})"):
    st.dataframe(down, hide_index=True, width="stretch")
