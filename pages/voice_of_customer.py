"""Voice of customer: themes in the period's ticket texts, their trends, the themes that rose
after a failed release, and (for roles that may read ticket text) scrubbed example tickets
(REFERENCE §4)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import polars as pl
import streamlit as st

from analytics import access, ui
from analytics.charts import customer as charts
from analytics.reports import ReportError
from analytics.reports import voice_of_customer as report
from analytics.reports.releases import failed_releases
from analytics.store.queries import Filters

access.guard(__file__)  # the role may use this page (analytics/auth/roles.toml)


@ui.cached(resource=True, max_entries=4, show_spinner="Finding themes in the ticket texts…")
def themes_fit(filters: Filters, n_themes: int) -> report.ThemeFit | str:
    """The fitted themes, or why there are none; a resource, so reruns reuse the fit instead of
    copying 50k scrubbed texts."""
    try:
        return report.fit(ui.engine(), filters=filters, n_themes=n_themes)
    except ReportError as exc:
        return str(exc)


@ui.cached
def volumes(filters: Filters, n_themes: int, tz: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The theme table and documents per theme per week (aggregates only)."""
    fit = themes_fit(filters, n_themes)
    return report.theme_table(fit), report.weekly_volume(fit, tz=tz)


@ui.cached
def examples(filters: Filters, n_themes: int) -> pl.DataFrame:
    """The most typical (highest-weight) scrubbed tickets of each theme."""
    return report.examples(themes_fit(filters, n_themes))


@ui.cached
def rising(filters: Filters, n_themes: int, release_at: datetime, service: str | None,
           days: int) -> pl.DataFrame | str:
    """Themes whose share rose after the release (Fisher exact, BH), or why it cannot be said."""
    try:
        return report.rising(themes_fit(filters, n_themes), release_at=release_at, service=service, days=days)
    except ReportError as exc:
        return str(exc)


@ui.cached
def releases_of(filters: Filters) -> pl.DataFrame:
    """The newest failed production deployments of the period."""
    return failed_releases(ui.engine(), filters)


filters = ui.global_filters()
tz = filters.timezone
st.title("Voice of customer")
scope = ui.plain(ui.describe(filters)) + " · tickets have no environment"
st.caption(scope)
n_themes = st.slider("Number of themes", 4, 12, 8, key="voc_themes")

fit = themes_fit(filters, n_themes)
if isinstance(fit, str):
    st.info(ui.plain(fit))  # the reason may quote a service name
    st.stop()
sampled, total = fit.sampled, fit.total
themes, weekly = volumes(filters, n_themes, tz)
st.caption(f"TF-IDF + NMF ({n_themes} themes, init nndsvda, seed {report.SEED}) on "
           + (f"a seeded sample of {sampled:,} of the {total:,} tickets" if sampled < total
              else f"all {total:,} tickets")
           + " opened in the period, after e-mail addresses, phone numbers and names were scrubbed; "
             "each theme is named by its top three terms.")

st.subheader("Themes")
st.dataframe(themes.select("name", "documents", "share", "weighted", "mean_weight", "top_terms"),
             placeholder="—",
             hide_index=True,
             column_config={"share": st.column_config.NumberColumn(
                 "share", format="percent", help="tickets whose dominant theme this is ÷ tickets with text"),
                 "documents": st.column_config.NumberColumn("tickets"),
                 "weighted": st.column_config.NumberColumn(
                     "impact-weighted", format="%.0f",
                     help="Σ user-role weight × transaction-criticality weight over the theme's "
                          "tickets (the release-impact weights, analytics/studies/impact_weights.toml)"),
                 "mean_weight": st.column_config.NumberColumn("mean weight", format="%.2f")})
st.altair_chart(charts.theme_bars(themes))

st.subheader("Theme trends")
st.altair_chart(charts.theme_trends(weekly, tz))
st.caption("Share = tickets of the theme ÷ tickets of the week (in the fitted sample); the first and "
           "last week may be partial. " + scope)

st.subheader("Themes that rose after a release")
releases = releases_of(filters)
if releases.height == 0:
    st.info("No failed production deployment (status failed or rolled_back) in this period.")
else:
    # Select-box options are drawn as plain text, so service names need no escaping here.
    labels = {r["id"]: f"{r['finished_at']:%Y-%m-%d %H:%M} · {r['service']} {r['version'] or ''} · {r['status']}"
              for r in releases.iter_rows(named=True)}
    # The release on a row of its own: its label and the toggle's are long and must not be cut.
    c1 = st.container()
    c2, c3 = st.columns([1, 2], vertical_alignment="bottom")
    days = c2.number_input("Window (days)", 1, 28, 7, key="voc_window")
    # Default to the newest release whose after-window ends inside the period.
    complete = releases["finished_at"] + timedelta(days=int(days)) <= datetime.combine(filters.end, time.max)
    pick = c1.selectbox("Release", list(labels), index=int(complete.arg_true()[0]) if complete.any() else 0,
                        format_func=labels.get, key="voc_release")
    only = c3.toggle("Released service only", value=True, key="voc_service_only")
    release = releases.filter(pl.col("id") == pick).row(0, named=True)
    res = rising(filters, n_themes, release["finished_at"], release["service"] if only else None, int(days))
    if isinstance(res, str):
        st.info(ui.plain(res))
    else:
        st.dataframe(res.select("name", "before", "after", "before_share", "after_share", "ratio",
                                "p_value", "q_value", "rising"), placeholder="—", hide_index=True,
                     column_config={"before_share": st.column_config.NumberColumn(format="percent"),
                                    "after_share": st.column_config.NumberColumn(format="percent"),
                                    "ratio": st.column_config.NumberColumn(format="%.2f"),
                                    "p_value": st.column_config.NumberColumn(format="%.3g"),
                                    "q_value": st.column_config.NumberColumn(format="%.3g")})
        where = ui.plain(f"{release['service']}'s tickets") if only else "all tickets in the sample"
        st.caption(f"before/after = {where} of the theme in the {days} days before / after "
                   f"{release['finished_at']:%Y-%m-%d %H:%M} UTC; share = that ÷ all such tickets in "
                   "the window; one-sided Fisher exact test, Benjamini–Hochberg q across themes; "
                   "rising when q < 0.05.")

st.subheader("Example tickets per theme")
# The signed-in role decides (analytics/auth/roles.toml): even scrubbed, a ticket text can
# identify a customer.
if access.person_level("Example tickets"):
    ex = examples(filters, n_themes).join(themes.select("theme", "name"), on="theme")
    for i, (name, part) in enumerate(ex.group_by("name", maintain_order=True)):
        first = i == 0
        # Theme names are words from ticket texts: escaped, since an expander label is Markdown.
        with st.expander(f"{ui.plain(name[0])} ({part.height} examples)", expanded=first):
            st.dataframe(part.select("opened_at", "service", "text"), placeholder="—", hide_index=True,
                         key=f"voc_examples_{name[0]}")
    st.caption("The most typical tickets (highest theme weight) of each theme, with e-mail "
               "addresses, phone numbers and names replaced by placeholders.")

ui.definitions_caption(group="customer")  # which definition versions the numbers above used
