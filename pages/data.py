"""Data: what the store holds, how far back, and what looks wrong."""

import polars as pl
import streamlit as st

from analytics import ui
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.services import confirm_services


@st.cache_data(ttl=60)
def summary() -> dict:
    """Row counts and coverage per table."""
    return queries.table_summary(ui.engine())


@st.cache_data(ttl=60)
def quality() -> pl.DataFrame:
    """Data-quality flags."""
    return queries.data_quality(ui.engine())


st.title("Data")
st.caption("Everything in the store, regardless of the sidebar filters.")
s = summary()
rows = [{"table": t, "rows": n, "from": s["coverage"].get(t, {}).get("from") or "—",
         "to": s["coverage"].get(t, {}).get("to") or "—"} for t, n in s["tables"].items()]
st.subheader("Tables")
st.caption("Coverage is the first and last timestamp of each table's main time column; "
           "'—' where a table has none or is empty.")
# Tall enough to show every table without an inner scrollbar (35 px a row plus the header).
st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3,
             column_config={"rows": st.column_config.NumberColumn(format="localized")})

st.subheader("Data-quality flags")
q = quality()
flagged = q.filter(pl.col("rows") > 0).height
st.caption(f"{flagged} of {q.height} checks find rows to look at.")
st.dataframe(q, hide_index=True, width="stretch")

unconfirmed = ui.services().filter(~pl.col("confirmed"))
if unconfirmed.height:
    st.subheader("Services created by an import")
    st.caption("An importer met these names in the data. Check team, tier and criticality, then "
               "confirm them; the confirmation is recorded in the audit log.")
    st.dataframe(unconfirmed.select("service", "team", "tier", "criticality", "source"),
                 hide_index=True, width="stretch")
    chosen = st.multiselect("Services to confirm", unconfirmed["service"].to_list(), key="data_confirm")
    if st.button("Confirm", key="data_confirm_go", disabled=not chosen):
        n = confirm_services(ui.engine(), chosen, actor=get_settings().user)
        st.cache_data.clear()
        st.success(f"Confirmed {n} service(s).")
        st.rerun()
