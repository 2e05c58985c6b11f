"""Streamlit plumbing shared by the pages: the cached engine, the global filters bound to the URL,
cached aggregated reads, and the tile that says how a number was computed.

This is the only analytics module that imports streamlit; metrics and studies never do.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy import Engine
from streamlit.errors import StreamlitAPIException

from analytics.settings import DEFAULT_PERIOD_DAYS, get_settings
from analytics.store import queries
from analytics.store.db import get_engine, migrate
from analytics.store.queries import Filters
from analytics.store.version import data_version

DEFAULT_DAYS = DEFAULT_PERIOD_DAYS
# The sidebar filters' widget keys, which are also their URL query parameters.
FILTER_KEYS = ("period", "team", "service", "env")
# Last value of each filter in this browser session: a page switch drops the widgets' own state
# and the URL's query string, so the next page restores them from here (and the widgets, bound to
# the URL, write them back into it).
_KEPT, _PAGE, _SWITCHED = "_ui_filters", "_ui_page", "_ui_switched"
# Characters Markdown or HTML can act on; a backslash makes each one literal.


def plain(text: object) -> str:
    r"""``text`` (user data: a service, file, theme or problem value) made inert for st.markdown,
    st.caption, st.error or a metric label: every ASCII punctuation mark is backslash-escaped, so
    a link, an image or emphasis in a name shows as the characters typed.

    >>> print(plain("[x](https://evil.example) ![i](http://127.0.0.1:9/t.png)"))
    \[x\]\(https\:\/\/evil\.example\) \!\[i\]\(http\:\/\/127\.0\.0\.1\:9\/t\.png\)
    >>> print(plain("a_b <b>"))
    a\_b \<b\>
    """
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(text))


@st.cache_resource
def engine() -> Engine:
    """The store's engine, migrated once per server process."""
    eng = get_engine(get_settings().database_url)
    migrate(eng)
    return eng


def version() -> str:
    """The store's data version (analytics.store.version): a few milliseconds, read per call."""
    return data_version(engine())


def cached(fn: Callable | None = None, *, resource: bool = False, **options: Any) -> Callable:
    """``st.cache_data`` (or ``st.cache_resource`` with ``resource=True``) keyed on the store's
    data version as well as the arguments: a result lives until the data changes (an import, a
    demo load, a saved definition), not for a fixed number of seconds, so a page left idle for an
    hour still answers from its cache. ``options`` go to Streamlit's decorator
    (``show_spinner``, ``max_entries``)."""

    def wrap(f: Callable) -> Callable:
        def keyed(data_ver: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ARG001
            return f(*args, **kwargs)

        # Streamlit names a cache by module and qualname; pages all run as __main__, so the
        # file goes into the name (two pages may both have an ``inputs``).
        keyed.__module__ = f.__module__
        keyed.__qualname__ = f"{f.__code__.co_filename}:{f.__qualname__}"
        store = (st.cache_resource if resource else st.cache_data)(**options)(keyed)

        @functools.wraps(f)
        def call(*args: Any, **kwargs: Any) -> Any:
            return store(version(), *args, **kwargs)

        call.clear = store.clear  # type: ignore[attr-defined]
        return call

    return wrap(fn) if fn is not None else wrap


@cached
def services() -> pl.DataFrame:
    """Services with team, tier and criticality."""
    return queries.services(engine())


@cached
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
    _restore()
    with st.sidebar:
        st.subheader("Filters")
        tz = get_settings().timezone
        period = st.date_input(f"Period ({tz} days, inclusive)", value=default, min_value=lo,
                               max_value=hi, key="period", bind="query-params",
                               help="Pick the first and last day, or type them; a typed date "
                                    "applies when you leave the field (Tab or a click outside).")
        teams = st.multiselect("Teams", sorted(svc["team"].unique().to_list()), key="team",
                               bind="query-params", placeholder="All teams")
        pool = svc.filter(pl.col("team").is_in(teams)) if teams else svc
        names = st.multiselect("Services", pool["service"].to_list(), key="service",
                               bind="query-params", placeholder="All services")
        env = st.selectbox("Environment", ["production", "staging", "development", "test"],
                           key="env", bind="query-params",
                           help="KPIs count production only by default (REFERENCE §1).")
    _keep({"period": period, "team": teams, "service": names, "env": env})
    start, end = (period if isinstance(period, tuple) and len(period) == 2 else default)
    filters = Filters(start=start, end=end, teams=tuple(teams),
                      services=tuple(n for n in names if n in set(pool["service"].to_list())),
                      environment=env, timezone=tz)
    return filters


def follow(page: str) -> None:
    """Called by the router with the page about to run: notes whether the user just switched
    page, and on a page without the sidebar filters keeps them in the URL."""
    st.session_state[_SWITCHED] = st.session_state.get(_PAGE) != page
    st.session_state[_PAGE] = page


def _restore() -> None:
    """Before the filter widgets render: right after a page switch (which drops the widgets'
    state and the query string) every filter gets the session's last value."""
    if not st.session_state.get(_SWITCHED, False):
        return
    st.session_state[_SWITCHED] = False
    for key, value in st.session_state.get(_KEPT, {}).items():
        st.session_state[key] = value
    # Setting a widget's state does not rewrite the URL; the query string must say it too.
    carry_filters(force=True)


def _keep(values: dict[str, object]) -> None:
    """Remember the filters for the next page (a half-picked period is not kept)."""
    period = values["period"]
    if not (isinstance(period, tuple) and len(period) == 2):
        values = {k: v for k, v in values.items() if k != "period"}
    st.session_state[_KEPT] = {**st.session_state.get(_KEPT, {}), **values}


def carry_filters(*, force: bool = False) -> None:
    """Put the session's filters back into the URL (a page switch clears the query string), so
    a copied link and the next page still have them: on a page without the sidebar filters, and
    (``force``) right after a switch, before the filter widgets bind their parameters."""
    for key, value in st.session_state.get(_KEPT, {}).items():
        if (force or key not in st.query_params) and value not in (None, [], ()):
            try:
                st.query_params[key] = ([v.isoformat() for v in value] if key == "period"
                                        else value)
            except StreamlitAPIException:  # still bound to the previous page's widget
                pass


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
