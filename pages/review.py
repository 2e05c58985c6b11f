"""Service review: the monthly service review pack on screen (issue 19) — trends first (SLA and
SLO performance over the last 12 months), then breaches with their incidents, credits, vendor
performance, CSAT beside SLA performance, the improvement register, finance differences, gaps
and the reviews due; the same pack downloads as one self-contained HTML file."""

from datetime import UTC, datetime

import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.charts.contracts import MAX_POINTS, csat_chart, uptime_trend_chart, vendor_chart
from analytics.contracts.review_html import render
from analytics.reports import ReportError
from analytics.reports.contracts import months_back
from analytics.reports.review import ReviewPack, default_month, review_pack

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)


@ui.cached(show_spinner="Building the review pack…")
def pack(month: str) -> ReviewPack:
    """The review pack of ``month``."""
    return review_pack(ui.engine(), month=month)


st.title("Service review")
latest = default_month(datetime.now(UTC).date())
month = st.selectbox("Month reviewed", months_back(latest, 24)[::-1], key="review_month",
                     bind="query-params", help="The pack shows the 12 months ending here.")
try:
    p = pack(month)
except ReportError as exc:
    st.info(str(exc))
    st.stop()
for note in p.notes:
    st.info(note)
cols = st.columns(5)
cur = p.sla_trend.filter(pl.col("month") == month)
cols[0].metric("Breaches this month", f"{p.breaches.height:,}")
cols[1].metric("Mean uptime", f"{cur['uptime_pct'].mean():.3f}%" if cur.height else "n/a")
cols[2].metric("Vendor disputes", f"{int(p.vendors['disputed'].sum()):,}" if p.vendors.height else "0")
cols[3].metric("Coverage gaps", f"{p.gaps.height:,}")
cols[4].metric("Reviews due (90 days)", f"{p.due.height:,}")
# Built on click (a callable), not on every rerun of the page.
st.download_button("Download the review pack (HTML)", lambda: render(p), file_name=f"review-{month}.html",
                   mime="text/html")

st.header("SLA performance, last 12 months")
st.altair_chart(uptime_trend_chart(p.sla_trend), width="stretch")
st.caption("Mean monthly uptime % of each contract's services (SLA compliance report, REFERENCE "
           "§3); dashed: target. Trend = least-squares slope in percentage points per month.")
st.dataframe(p.sla_stats, placeholder="—", hide_index=True, width="stretch",
             column_config=ui.headings(p.sla_stats))
if p.other_slis.height:
    st.subheader("Agreements on outages and ticket timers")
    st.dataframe(p.other_slis.with_columns(pl.col("measured", "outage_minutes").round(2)), placeholder="—",
                 hide_index=True, width="stretch", column_config=ui.headings(p.other_slis))
    st.caption("Outages: count per month (met when at most the target). Resolution: % of the "
               "month's decided tickets resolved within their business-hours target (met when at "
               "least the target). Response: % of the month's decided tickets answered within their "
               "business-hours response target (not measured when no ticket records a first "
               "response).")

st.header("SLO performance, last 12 months")
if p.slo_trend.height:
    st.dataframe(p.slo_trend.group_by("month").agg(share_met=pl.col("met").mean(),
                                                   slos=pl.len()).sort("month"), placeholder="—",
                 hide_index=True, width="stretch", column_config={
                     "share_met": st.column_config.NumberColumn("SLOs met", format="percent"),
                     "slos": "SLOs"})
    st.caption("SLI = good ÷ total events per UTC month; share of SLOs meeting their target.")
else:
    st.info("No SLI samples in these months.")

st.header("Breaches this month and their incidents")
st.dataframe(p.breaches, placeholder="—", hide_index=True, width="stretch",
             column_config=ui.headings(p.breaches))
st.dataframe(p.incidents, placeholder="—", hide_index=True, width="stretch",
             column_config=ui.headings(p.incidents))

st.header("Service credits")
st.dataframe(p.credits, placeholder="—", hide_index=True, width="stretch",
             column_config=ui.headings(p.credits))

st.header("Vendor performance")
if p.vendors.height:
    st.altair_chart(vendor_chart(p.vendors), width="stretch")
    st.caption("Each vendor component's uptime this month, as measured from outages and as the "
               "vendor reported it; the red tick is the contracted target.")
    st.dataframe(p.vendors, placeholder="—", hide_index=True, width="stretch",
             column_config=ui.headings(p.vendors))
else:
    st.info("No vendor scorecard: import agreements with underpinning contracts.")

st.header("CSAT beside SLA performance")
c = p.csat_corr
if c.r is None:
    st.info(f"Too few service-months with CSAT ({c.n}) for a correlation.")
else:
    interval = f"95% interval {c.lo:.3f} to {c.hi:.3f} (Fisher z)" if c.lo is not None else "no interval"
    st.markdown(f"Pearson r between monthly uptime and CSAT: **{c.r:.3f}**, {interval}, "
                f"over {c.n} service-months with at least 20 answers.")
    st.altair_chart(csat_chart(p.csat_pairs), width="stretch")
    if p.csat_pairs.height > MAX_POINTS:
        st.caption(f"{p.csat_pairs.height:,} service-months, too many to draw one by one: each "
                   "cell counts the service-months whose uptime and CSAT fall in it (log colour "
                   "scale); the correlation above uses every one.")

st.header("Improvement register")
if p.improvements is None:
    st.info("This store has no improvement register.")
elif p.improvements.height:
    st.dataframe(p.improvements, placeholder="—", hide_index=True, width="stretch",
             column_config=ui.headings(p.improvements))
else:
    st.info("The improvement register is empty.")

st.header("Finance reconciliation")
if p.billed_rows == 0:
    st.caption("No billed credits imported for this month: every computed credit shows as not billed.")
st.dataframe(p.finance, placeholder="—", hide_index=True, width="stretch",
             column_config=ui.headings(p.finance))

st.header("Coverage gaps")
st.dataframe(p.gaps, placeholder="—", hide_index=True, width="stretch",
             column_config=ui.headings(p.gaps))

st.header("Next reviews due")
st.dataframe(p.due.with_columns(pl.col("date").cast(pl.String)) if p.due.height else p.due, placeholder="—",
             hide_index=True, width="stretch", column_config=ui.headings(p.due))

ui.definitions_caption(["csat"], slos=True)  # which SLO and CSAT versions the pack used
