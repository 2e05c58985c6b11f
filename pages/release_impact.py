"""Release impact: do releases raise ticket and incident rates, and which releases hurt most?"""

from datetime import date

import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.charts import studies as charts
from analytics.reports import release_impact as report
from analytics.settings import get_settings
from analytics.store.queries import Filters
from analytics.studies import release_impact as method

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)

RANKED = 50  # releases in the ranking (and the drill-down's choices)

filters = ui.global_filters()


@ui.cached(show_spinner="Fitting the release-impact model…")
def result(filters: Filters, window: int) -> dict:
    """The study for these filters; only aggregated frames leave the server."""
    out = report.release_impact(ui.engine(), filters=filters, window_hours=window, top=RANKED)
    # The ranking is by the score it shows: the impact score (weighted excess), highest first.
    per = out["per_release"]
    scores = per["impact_score"].drop_nulls()
    if scores.len() > RANKED:  # sort only the candidates, not a million releases
        per = per.filter(pl.col("impact_score") >= scores.top_k(RANKED).min())
    # Stable, like the study's own order: ties in the score keep it (the same ranking each run).
    out["per_release"] = per.sort("impact_score", descending=True, nulls_last=True,
                                  maintain_order=True).head(RANKED)
    return out


@ui.cached
def drill(service: str, finished_at, window: int) -> dict:  # noqa: ANN001
    """Tickets and incidents in one release's window (aggregate-sized: one release)."""
    return report.release_window(ui.engine(), service=service, finished_at=finished_at,
                                 window_hours=window)


st.title("Release impact")
window = int(st.number_input("Post-release window (hours)", 1, 336,
                             int(round(get_settings().window_hours)), key="ri_window"))
# Service and team names are user data: escaped, since a caption renders Markdown.
st.caption(ui.plain(ui.describe(filters)))
# The results go in this slot, above the method: the method text and definitions do not
# depend on the study, so they are sent (and laid out by the browser) while the model is fitted.
body = st.container()
with st.expander("Method"):
    st.markdown(ui.method_text(method.__doc__))
    st.markdown(ui.method_text(method.release_excess.__doc__))
    st.caption(f"Generated for {date.today()}; weights: analytics/studies/impact_weights.toml.")

# The failure and recovery definitions the study uses.
ui.definitions_caption(["change_failure_rate", "recovery_time"])

with body:
    res = ui.result_or_stop(lambda: result(filters, window), "Nothing to study here",
                            "Widen the period or clear filters.")
    st.subheader(res["verdict"])

    st.altair_chart(charts.rate_ratio_chart(report.rate_ratios(res)))
    st.caption("1 = no change (grey dashes). Rate ratios over the post-release window against the "
               "same service at the same hour of week with no release window open; red: failed "
               "releases, blue: successful ones, grey: all releases.")

    st.altair_chart(charts.event_study_chart(res["event_study"]))
    st.caption("Mean tickets per service-hour around releases (band: ±1.96 SE); solid: observed, "
               "dashed: what the hour of week alone predicts — releases cluster in business hours, "
               "when tickets do too.")

    st.subheader("Most harmful releases, by impact score")
    top = res["per_release"].select("id", "service", "finished_at", "status", "impact_score",
                                    "excess", "observed", "expected", "incidents")
    st.dataframe(top, placeholder="—", hide_index=True, width="stretch", column_config={
        "impact_score": st.column_config.NumberColumn(
            "impact score ▼", format="%.1f",
            help="excess tickets weighted by user role and transaction criticality (the ranking)"),
        "excess": st.column_config.NumberColumn("excess tickets", format="%.1f",
                                                help="observed − expected in the window"),
        "observed": st.column_config.NumberColumn("observed tickets"),
        "expected": st.column_config.NumberColumn("expected", format="%.1f")})
    st.caption(f"The {top.height} releases with the highest impact score, highest first. Impact "
               "score = excess tickets (observed − expected in the post-release window) weighted by "
               "each ticket's user role and transaction criticality.")
    if top.height and access.person_level("The tickets and incidents around a release"):
        pick = st.selectbox("Drill down to a release", top["id"].to_list(), key="ri_release")
        rel = top.filter(pl.col("id") == pick).row(0, named=True)
        around = drill(rel["service"], rel["finished_at"], window)
        # The service name is user data: st.caption renders Markdown, so the sentence goes out
        # as text.
        st.text(f"{around['ticket_count']} tickets and {around['incident_count']} incidents of "
                f"{rel['service']} opened {around['start']:%Y-%m-%d %H:%M} – "
                f"{around['end']:%Y-%m-%d %H:%M} UTC.")
        st.dataframe(around["tickets"], placeholder="—",
                     hide_index=True, column_config=ui.headings(around["tickets"]))
        st.dataframe(around["incidents"], placeholder="—",
                     hide_index=True, column_config=ui.headings(around["incidents"]))
