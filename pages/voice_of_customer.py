"""Voice of customer: themes in the period's ticket texts, their trends, the themes that rose
after a failed release, and (for analysts) scrubbed example tickets (REFERENCE §4)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import altair as alt
import polars as pl
import streamlit as st

from analytics import ui
from analytics.settings import get_settings
from analytics.store import queries
from analytics.store.queries import Filters
from analytics.studies.themes import ThemeModel, fit_themes, rising_themes, theme_severity, theme_volume

SAMPLE_MAX = 50_000
SEED = 0
EXAMPLES = 3
ROLES = ("leader", "analyst")


@st.cache_resource(max_entries=4, show_spinner="Finding themes in the ticket texts…")
def themes_fit(filters: Filters, n_themes: int) -> tuple[ThemeModel, int] | None:
    """Themes fitted on at most SAMPLE_MAX of the period's tickets (seeded sample); a resource,
    so reruns reuse the fit instead of copying 50k scrubbed texts. Also returns the ticket count."""
    tickets = queries.tickets(ui.engine(), filters, with_text=True)
    total = tickets.height
    if total == 0:
        return None
    sample = tickets.sample(SAMPLE_MAX, seed=SEED) if total > SAMPLE_MAX else tickets
    frame = sample.select("id", "service", "opened_at", "user_role", "transaction_criticality", "text")
    return fit_themes(frame, n_themes=n_themes, seed=SEED), total


@st.cache_data(ttl=300)
def volumes(filters: Filters, n_themes: int, tz: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The theme table and documents per theme per week (aggregates only)."""
    model, _ = themes_fit(filters, n_themes)
    table = (model.themes.with_columns(top_terms=pl.col("top_terms").list.join(", "))
             .join(theme_severity(model).select("theme", "weighted", "mean_weight"), on="theme"))
    return table, theme_volume(model, "opened_at", "week", tz)


@st.cache_data(ttl=300)
def examples(filters: Filters, n_themes: int) -> pl.DataFrame:
    """The EXAMPLES most typical (highest-weight) scrubbed tickets of each theme."""
    model, _ = themes_fit(filters, n_themes)
    return (model.documents.filter(pl.col("theme").is_not_null())
            .sort("weight", descending=True).unique(["theme", "text"], keep="first", maintain_order=True)
            .group_by("theme", maintain_order=True).head(EXAMPLES)
            .select("theme", "opened_at", "service", "text").sort("theme"))


@st.cache_data(ttl=300)
def rising(filters: Filters, n_themes: int, release_at: datetime, service: str | None,
           days: int) -> pl.DataFrame | str:
    """Themes whose share rose after the release (Fisher exact, BH), or why it cannot be said."""
    model, _ = themes_fit(filters, n_themes)
    try:
        return rising_themes(model, release_at, window=timedelta(days=days), service=service)
    except ValueError as exc:
        return str(exc)


tz = get_settings().timezone
filters = ui.global_filters()
with st.sidebar:
    role = st.selectbox("Role", ROLES, key="role",
                        help="Example tickets are shown to analysts only, even scrubbed.")
st.title("Voice of customer")
scope = ui.describe(filters) + " · tickets have no environment"
st.caption(scope)
n_themes = st.slider("Number of themes", 4, 12, 8, key="voc_themes")

fit = themes_fit(filters, n_themes)
if fit is None:
    st.info("No tickets in this period for these filters. Widen the period or clear filters.")
    st.stop()
model, total = fit
sampled = model.documents.height
themes, weekly = volumes(filters, n_themes, tz)
st.caption(f"TF-IDF + NMF ({n_themes} themes, init nndsvda, seed {SEED}) on "
           + (f"a seeded sample of {sampled:,} of the {total:,} tickets" if sampled < total
              else f"all {total:,} tickets")
           + " opened in the period, after e-mail addresses, phone numbers and names were scrubbed; "
             "each theme is named by its top three terms.")

st.subheader("Themes")
st.dataframe(themes.select("name", "documents", "share", "weighted", "mean_weight", "top_terms"),
             hide_index=True,
             column_config={"share": st.column_config.NumberColumn(
                 "share", format="percent", help="tickets whose dominant theme this is ÷ tickets with text"),
                 "documents": st.column_config.NumberColumn("tickets"),
                 "weighted": st.column_config.NumberColumn(
                     "impact-weighted", format="%.0f",
                     help="Σ user-role weight × transaction-criticality weight over the theme's "
                          "tickets (the release-impact weights, analytics/studies/impact_weights.toml)"),
                 "mean_weight": st.column_config.NumberColumn("mean weight", format="%.2f")})
st.altair_chart(alt.Chart(themes).mark_bar().encode(
    x=alt.X("documents:Q", title="tickets (dominant theme)"),
    y=alt.Y("name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=300)),
    tooltip=["name:N", "documents:Q", alt.Tooltip("share:Q", format=".1%"), "top_terms:N"],
).properties(height=30 * themes.height))

st.subheader("Theme trends")
trend = weekly.filter(pl.col("share").is_not_null())
st.altair_chart(alt.Chart(trend).mark_line(point=True).encode(
    x=alt.X("period:T", title=f"ISO week ({tz})", axis=alt.Axis(format="%b %d")),
    y=alt.Y("share:Q", title="share of the week's tickets", axis=alt.Axis(format="%")),
    color=alt.Color("name:N", title="theme", legend=alt.Legend(labelLimit=300)),
    tooltip=["period:T", "name:N", "documents:Q", alt.Tooltip("share:Q", format=".1%")],
).properties(height=300))
st.caption("Share = tickets of the theme ÷ tickets of the week (in the fitted sample); the first and "
           "last week may be partial. " + scope)

st.subheader("Themes that rose after a release")
releases = ui.failed_releases(filters)
if releases.height == 0:
    st.info("No failed production deployment (status failed or rolled_back) in this period.")
else:
    labels = {r["id"]: f"{r['finished_at']:%Y-%m-%d %H:%M} · {r['service']} {r['version'] or ''} · {r['status']}"
              for r in releases.iter_rows(named=True)}
    c1, c2, c3 = st.columns([3, 1, 1])
    days = c2.number_input("Window (days)", 1, 28, 7, key="voc_window")
    # Default to the newest release whose after-window ends inside the period.
    complete = releases["finished_at"] + timedelta(days=int(days)) <= datetime.combine(filters.end, time.max)
    pick = c1.selectbox("Release", list(labels), index=int(complete.arg_true()[0]) if complete.any() else 0,
                        format_func=labels.get, key="voc_release")
    only = c3.toggle("Released service only", value=True, key="voc_service_only")
    release = releases.filter(pl.col("id") == pick).row(0, named=True)
    res = rising(filters, n_themes, release["finished_at"], release["service"] if only else None, int(days))
    if isinstance(res, str):
        st.info(f"Cannot compare: {res}.")
    else:
        st.dataframe(res.select("name", "before", "after", "before_share", "after_share", "ratio",
                                "p_value", "q_value", "rising"), hide_index=True,
                     column_config={"before_share": st.column_config.NumberColumn(format="percent"),
                                    "after_share": st.column_config.NumberColumn(format="percent"),
                                    "ratio": st.column_config.NumberColumn(format="%.2f"),
                                    "p_value": st.column_config.NumberColumn(format="%.3g"),
                                    "q_value": st.column_config.NumberColumn(format="%.3g")})
        where = f"{release['service']}'s tickets" if only else "all tickets in the sample"
        st.caption(f"before/after = {where} of the theme in the {days} days before / after "
                   f"{release['finished_at']:%Y-%m-%d %H:%M} UTC; share = that ÷ all such tickets in "
                   "the window; one-sided Fisher exact test, Benjamini–Hochberg q across themes; "
                   "rising when q < 0.05.")

st.subheader("Example tickets per theme")
if role != "analyst":
    st.info("Example tickets are visible to analysts only (switch the Role in the sidebar). "
            "Even scrubbed, ticket texts can identify a customer.")
else:
    ex = examples(filters, n_themes).join(themes.select("theme", "name"), on="theme")
    for i, (name, part) in enumerate(ex.group_by("name", maintain_order=True)):
        first = i == 0
        with st.expander(f"{name[0]} ({part.height} examples)", expanded=first):
            st.dataframe(part.select("opened_at", "service", "text"), hide_index=True,
                         key=f"voc_examples_{name[0]}")
    st.caption("The most typical tickets (highest theme weight) of each theme, with e-mail "
               "addresses, phone numbers and names replaced by placeholders.")
