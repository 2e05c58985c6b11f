"""Streamlit plumbing shared by the pages: the cached engine, the global filters bound to the URL,
cached aggregated reads, and the tile that says how a number was computed.

This is the only analytics module that imports streamlit; metrics and studies never do.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import streamlit as st
from sqlalchemy import Engine

from analytics.settings import DEFAULT_PERIOD_DAYS, get_settings
from analytics.store import queries
from analytics.store.db import get_engine, migrate
from analytics.store.queries import Filters

DEFAULT_DAYS = DEFAULT_PERIOD_DAYS


@st.cache_resource
def engine() -> Engine:
    """The store's engine, migrated once per server process."""
    eng = get_engine(get_settings().database_url)
    migrate(eng)
    return eng


@st.cache_data(ttl=300)
def services() -> pl.DataFrame:
    """Services with team, tier and criticality."""
    return queries.services(engine())


@st.cache_data(ttl=300)
def extent() -> tuple[date | None, date | None]:
    """First and last day with data."""
    return queries.data_extent(engine())


def global_filters() -> Filters:
    """Render the sidebar filters (bound to the URL, so a copied link reopens the same view) and
    return them. Each page that filters calls it first (widgets rendered by app.py around
    st.navigation vanish on rerun under AppTest, so the filters belong to the pages)."""
    lo, hi = extent()
    hi = hi or date.today()
    lo = lo or hi - timedelta(days=DEFAULT_DAYS)
    default = (max(lo, hi - timedelta(days=DEFAULT_DAYS - 1)), hi)
    svc = services()
    with st.sidebar:
        st.subheader("Filters")
        tz = get_settings().timezone
        period = st.date_input(f"Period ({tz} days, inclusive)", value=default, min_value=lo,
                               max_value=hi, key="period", bind="query-params")
        teams = st.multiselect("Teams", sorted(svc["team"].unique().to_list()), key="team",
                               bind="query-params", placeholder="All teams")
        pool = svc.filter(pl.col("team").is_in(teams)) if teams else svc
        names = st.multiselect("Services", pool["service"].to_list(), key="service",
                               bind="query-params", placeholder="All services")
        env = st.selectbox("Environment", ["production", "staging", "development", "test"],
                           key="env", bind="query-params",
                           help="KPIs count production only by default (REFERENCE §1).")
    start, end = (period if isinstance(period, tuple) and len(period) == 2 else default)
    filters = Filters(start=start, end=end, teams=tuple(teams),
                      services=tuple(n for n in names if n in set(pool["service"].to_list())),
                      environment=env, timezone=tz)
    return filters


def describe(filters: Filters) -> str:
    """One line naming the window and filters, for tile captions."""
    parts = [f"{filters.start} – {filters.end} ({filters.timezone}, inclusive)"]
    parts.append(f"teams: {', '.join(filters.teams)}" if filters.teams else "all teams")
    parts.append(f"services: {', '.join(filters.services)}" if filters.services else "all services")
    if filters.environment:
        parts.append(f"environment: {filters.environment}")
    return " · ".join(parts)


def tile(column: st.delta_generator.DeltaGenerator, label: str, value: str, how: str,
         delta: str | None = None) -> None:
    """A metric with a caption saying what was counted (numerator, denominator, window)."""
    with column:
        st.metric(label, value, delta=delta, delta_color="off" if delta is None else "normal")
        st.caption(how)
