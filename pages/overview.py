"""Overview: what happened in the period — deployments, incidents, tickets, survey answers."""

import altair as alt
import polars as pl
import streamlit as st

from analytics import ui
from analytics.metrics.activity import totals, weekly_counts
from analytics.store import queries
from analytics.store.queries import Filters

LABELS = {"deployments": "Deployments", "incidents": "Incidents", "tickets": "Support tickets",
          "csat_responses": "CSAT responses"}
HOW = {
    "deployments": "deployments with finished_at in the period; rollback actions not counted",
    "incidents": "incidents opened in the period",
    "tickets": "support tickets opened in the period (environment filter does not apply)",
    "csat_responses": "survey answers received in the period (environment filter does not apply)",
}


@st.cache_data(ttl=300, show_spinner="Counting…")
def activity(filters: Filters) -> tuple[dict[str, int], pl.DataFrame]:
    """Totals and weekly counts per kind: aggregated here, never raw events to the browser."""
    events = {kind: queries.event_times(ui.engine(), kind, filters) for kind in LABELS}
    return totals(events), weekly_counts(events)


filters = ui.global_filters()
st.title("Overview")
st.caption(ui.describe(filters))
counts, weekly = activity(filters)

for column, kind in zip(st.columns(len(LABELS)), LABELS, strict=True):
    ui.tile(column, LABELS[kind], f"{counts[kind]:,}", HOW[kind])

st.subheader("Week by week")
if weekly.height == 0:
    st.info("Nothing happened in this period for these filters. Widen the period or clear filters.")
else:
    chart = (
        alt.Chart(weekly.with_columns(kind=pl.col("kind").replace(LABELS)))
        .mark_line(point=True)
        .encode(x=alt.X("week:T", title="ISO week (Monday, UTC)"),
                y=alt.Y("count:Q", title="Count per week"),
                color=alt.Color("kind:N", title=None, legend=None),
                tooltip=["week:T", "kind:N", "count:Q"])
        .properties(height=170, width=380)
        .facet(facet=alt.Facet("kind:N", title=None), columns=2)
        .resolve_scale(y="independent")
    )
    st.altair_chart(chart)
    st.caption("Weeks without any event of a kind are shown as gaps, not zeros; the first and last "
               "week of the period may be partial.")
