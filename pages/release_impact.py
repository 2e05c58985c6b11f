"""Release impact: do releases raise ticket and incident rates, and which releases hurt most?"""

from datetime import date, timedelta

import altair as alt
import polars as pl
import streamlit as st

from analytics import ui
from analytics.cli.common import CliError
from analytics.cli.report_release_impact import study
from analytics.store import queries
from analytics.store.queries import Filters
from analytics.studies import release_impact as method

filters = ui.global_filters()


@st.cache_data(ttl=300, show_spinner="Fitting the release-impact model…")
def result(filters: Filters, window: int) -> dict:
    """The study for these filters; only aggregated frames leave the server."""
    out = study(ui.engine(), filters, window, top=50)
    out["per_release"] = out["per_release"].head(50)
    return out


st.title("Release impact")
window = int(st.number_input("Post-release window (hours)", 1, 336, 48, key="ri_window"))
st.caption(ui.describe(filters))
try:
    res = result(filters, window)
except (ValueError, CliError) as exc:
    st.info(f"Nothing to study here: {exc}. Widen the period or clear filters.")
    st.stop()
st.subheader(res["verdict"])

rows = []
for which in ("failed", "success", "all"):
    for kind in ("tickets", "incidents"):
        est = res[kind] if which == "all" else res["by_outcome"][which].get(kind)
        if est:
            rows.append({"releases": which, "kind": kind, **{k: est[k] for k in
                         ("rate_ratio", "ci_low", "ci_high", "p_value", "n_releases")}})
rr = pl.DataFrame(rows)
base = alt.Chart(rr).encode(y=alt.Y("releases:N", title=None), color="releases:N")
chart = (base.mark_rule().encode(x=alt.X("ci_low:Q", title="rate ratio (95% CI)",
                                          scale=alt.Scale(type="log")), x2="ci_high:Q")
         + base.mark_point(filled=True, size=80).encode(x="rate_ratio:Q", tooltip=rr.columns)
         ).properties(height=120).facet(column=alt.Column("kind:N", title=None))
st.altair_chart(chart)
st.caption("1 = no change. Rate ratios over the post-release window against the same service "
           "at the same hour of week with no release window open.")

es = res["event_study"].drop_nulls("mean")
band = alt.Chart(es).mark_area(opacity=0.25).encode(
    x=alt.X("rel_hour:Q", title="hours from release"), y=alt.Y("low:Q", title="tickets per hour"),
    y2="high:Q", color="outcome:N")
line = alt.Chart(es).mark_line().encode(x="rel_hour:Q", y="mean:Q", color="outcome:N")
expected = alt.Chart(es).mark_line(strokeDash=[4, 3]).encode(x="rel_hour:Q", y="expected:Q",
                                                             color="outcome:N")
st.altair_chart((band + line + expected).properties(height=280))
st.caption("Mean tickets per service-hour around releases (band: ±1.96 SE); dashed: what the "
           "hour of week alone predicts — releases cluster in business hours, when tickets do too.")

st.subheader("Most harmful releases")
top = res["per_release"].select("id", "service", "finished_at", "status", "observed", "expected",
                                "excess", "impact_score", "incidents")
st.dataframe(top, hide_index=True, width="stretch")
if top.height:
    pick = st.selectbox("Drill down to a release", top["id"].to_list(), key="ri_release")
    rel = top.filter(pl.col("id") == pick).row(0, named=True)
    lo = rel["finished_at"].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hi = lo + timedelta(hours=window)
    around = Filters(start=lo.date(), end=hi.date(), services=(rel["service"],))
    in_win = pl.col("opened_at").is_between(lo, hi, closed="left")
    tk = queries.tickets(ui.engine(), around).filter(in_win)
    inc = queries.incidents(ui.engine(), around).filter(in_win)
    st.caption(f"{tk.height} tickets and {inc.height} incidents of {rel['service']} opened "
               f"{lo:%Y-%m-%d %H:%M} – {hi:%Y-%m-%d %H:%M} UTC.")
    st.dataframe(tk.select("external_id", "opened_at", "severity", "user_role",
                           "transaction_criticality", "channel").head(200), hide_index=True)
    st.dataframe(inc.select("external_id", "opened_at", "severity", "title", "resolved_at"),
                 hide_index=True)

with st.expander("Method"):
    st.markdown(method.__doc__ or "")
    st.markdown(method.release_excess.__doc__ or "")
    st.caption(f"Generated for {date.today()}; weights: analytics/studies/impact_weights.toml.")
