"""Service Level Workbench: the router. Pages live in pages/, one file per thing a user does.

Who may open which page is data: analytics/auth/roles.toml names each page's action; the
navigation holds only the pages the signed-in role may use (a page missing there is refused).
"""

import streamlit as st

from analytics import access, ui

st.set_page_config(page_title="Service Level Workbench", page_icon=":material/monitoring:",
                   layout="wide")

PAGES = {
    "Overview": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    ],
    "Delivery": [st.Page("pages/delivery.py", title="Delivery", icon=":material/rocket_launch:")],
    "Reliability": [
        st.Page("pages/slos.py", title="SLOs", icon=":material/speed:"),
        st.Page("pages/slas.py", title="SLAs", icon=":material/handshake:"),
        st.Page("pages/contracts.py", title="Contracts & vendors", icon=":material/contract:"),
        st.Page("pages/review.py", title="Service review", icon=":material/summarize:"),
    ],
    "Customers": [
        st.Page("pages/customer.py", title="Customer", icon=":material/sentiment_satisfied:"),
        st.Page("pages/voice_of_customer.py", title="Voice of customer", icon=":material/forum:"),
        st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
    ],
    "Studies": [
        st.Page("pages/release_impact.py", title="Release impact", icon=":material/bolt:"),
        st.Page("pages/weekday.py", title="Weekday effect", icon=":material/calendar_month:"),
        st.Page("pages/workshop.py", title="Threshold workshop", icon=":material/tune:"),
    ],
    "Governance": [
        st.Page("pages/governance.py", title="Governance", icon=":material/policy:"),
        st.Page("pages/signals.py", title="Signals", icon=":material/notifications_active:"),
        st.Page("pages/improvements.py", title="Improvements", icon=":material/trending_up:"),
        st.Page("pages/definitions.py", title="Definitions", icon=":material/rule:"),
    ],
    "Store": [
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
        st.Page("pages/import_data.py", title="Import", icon=":material/upload_file:"),
    ],
}

# Pages that do not render the sidebar filters still carry them in the URL (a page switch clears
# the query string), so the next page and a copied link keep the user's filters.
UNFILTERED = {"data", "import_data", "experiments", "workshop", "signals"}

identity = access.identify()  # the sign-in screen or a refusal stop here
# expanded: every page in view, no "View more"
page = st.navigation(access.allowed(PAGES, identity), expanded=True)
ui.follow(page.url_path)
if page.url_path in UNFILTERED:
    ui.carry_filters()
page.run()
