"""Service Level Workbench: the router. Pages live in pages/, one file per thing a user does."""

import streamlit as st

from analytics import ui

st.set_page_config(page_title="Service Level Workbench", page_icon=":material/monitoring:",
                   layout="wide")

PAGES = {
    "Overview": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    ],
    "Store": [
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
    ],
}

navigation = st.navigation(PAGES)
ui.global_filters()
navigation.run()
