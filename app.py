"""Service Level Workbench: the router. Pages live in pages/, one file per thing a user does."""

import streamlit as st

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

st.navigation(PAGES).run()
