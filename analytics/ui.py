"""Streamlit plumbing shared by the pages: the cached engine, the global filters bound to the URL,
cached aggregated reads, and the tile that says how a number was computed.

This is the only analytics module that imports streamlit; metrics and studies never do.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import polars as pl
import streamlit as st
from sqlalchemy import Engine
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.scriptrunner import get_script_run_ctx

# Re-exported: the pages call ui.plain, ui.headings, ...
from analytics.display import describe, heading, headings, method_text, plain  # noqa: F401
from analytics.reports import ReportError, periods
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
# The typed period (a text field applies on Enter; the date picker's own field only on leaving
# it) and the sentence saying why the last one typed was refused.
_TYPED, _TYPED_ERROR = "period_typed", "_ui_period_error"
# Attribute of the script-run context holding (the run's cursors, the data version read in it).
_VERSION = "_workbench_data_version"
@st.cache_resource
def engine() -> Engine:
    """The store's engine, migrated once per server process."""
    eng = get_engine(get_settings().database_url)
    migrate(eng)
    return eng


def version() -> str:
    """The store's data version (analytics.store.version), read once per script run: a run's
    cached calls all key on it, and at millions of rows its ``count(*)`` per table costs ~0.1 s
    a read, which a page of ten cached calls paid ten times on every rerun. A run that writes
    to the store calls :func:`data_changed` so its later reads see the new data."""
    ctx = get_script_run_ctx(suppress_warning=True)
    # Streamlit gives the context a new ``cursors`` dict at the start of every run.
    run = getattr(ctx, "cursors", None)
    memo = getattr(ctx, _VERSION, None)
    if run is not None and memo is not None and memo[0] is run:
        return memo[1]
    current = data_version(engine())
    if run is not None:
        setattr(ctx, _VERSION, (run, current))
    return current


def data_changed() -> None:
    """This run wrote to the store (an import, a saved definition, a governance action): the
    next :func:`version` reads the store again, so the run's later cached reads are fresh."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None and hasattr(ctx, _VERSION):
        delattr(ctx, _VERSION)


# One worker for ``cached(...).ahead``: the machine this is measured on has two cores, one
# for the page's run and one for the work started ahead of it.
_AHEAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-ahead")


class _AheadThread(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning for ``ahead``'s thread, which has
    no script-run context on purpose (it draws nothing)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.threadName.startswith("workbench-ahead")


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_AheadThread())


def _quietly(fn: Callable, *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except Exception:  # noqa: BLE001, S110 (the page's own call computes it again and shows why)
        pass


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
        # Streamlit's own spinner names the function ("Running /…/pages/overview.py:scorecards(...)"
        # with the file-qualified name above): a reader gets words instead.
        options.setdefault("show_spinner", "Computing…")
        store = (st.cache_resource if resource else st.cache_data)(**options)(keyed)

        @functools.wraps(f)
        def call(*args: Any, **kwargs: Any) -> Any:
            return store(version(), *args, **kwargs)

        def ahead(*args: Any, **kwargs: Any) -> None:
            """Start ``call(*args, **kwargs)`` on another thread now, so a first visit computes
            it while the page draws what comes before it; the page's own call later finds the
            result in the cache (or waits for it on Streamlit's per-key compute lock). The
            thread has no script-run context: no spinner, no elements drawn; an error is left
            for the page's own call to raise and show."""
            _AHEAD.submit(_quietly, store, version(), *args, **kwargs)

        call.clear = store.clear  # type: ignore[attr-defined]
        call.ahead = ahead  # type: ignore[attr-defined]
        return call

    return wrap(fn) if fn is not None else wrap


@cached(resource=True, show_spinner="Computing delivery facts…")
def delivery_facts(filters: Filters, window: float):  # noqa: ANN201 (Facts: kept on the server)
    """Per-record delivery facts of ``filters`` with a ``window``-hour attribution window, as
    `report delivery` and `report scorecard` compute them. One resource for every page: the
    Overview, Delivery and Improvements pages read the same year (the default period is the
    one of the candidates' and learning's history), so it is built once per data version and
    shared, never pickled per run (a million deployments cost seconds to pickle). The lead-time
    pairs carry the scorecard's slice keys from their own join (``pair_keys``): the scorecard
    and escalation summaries of both levels then never join millions of pairs again."""
    from analytics.metrics.scorecard import PAIR_KEYS
    from analytics.reports.delivery import facts

    return facts(engine(), filters, window_hours=window, pair_keys=PAIR_KEYS)


@cached(show_spinner="Checking escalations…")
def escalations(filters: Filters, window: float, level: str, run: int) -> pl.DataFrame:
    """The scorecard's escalation rule (a KPI worse in each of the last ``run`` months) per
    slice of ``level`` on :func:`delivery_facts`: the Overview's scorecard and the Improvements
    page's escalation candidates share it instead of each summarising the year by month
    (callers pass every argument, so the same question is one cache entry)."""
    from analytics.reports.scorecard import escalations as runs

    return runs(delivery_facts(filters, window), level=level, run=run)


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
    lo = lo or hi - timedelta(days=DEFAULT_DAYS - 1)
    default = periods.span(lo, hi)  # the one default period of reports and commands too
    svc = services()
    _restore()
    with st.sidebar:
        st.subheader("Filters")
        tz = get_settings().timezone
        period = st.date_input(f"Period ({tz} days, inclusive)", value=default, min_value=lo,
                               max_value=hi, key="period", bind="query-params",
                               help="Pick the first and last day in the calendar, or type "
                                    "them in the field below and press Enter.")
        st.text_input("Type a period, then Enter", key=_TYPED, placeholder=f"{default[0]} – {default[1]}",
                      on_change=_apply_typed, args=(lo, hi),
                      help="Two dates as YYYY-MM-DD (or one day); Enter applies them to Period.")
        if st.session_state.get(_TYPED_ERROR):
            st.error(st.session_state[_TYPED_ERROR])
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


def parse_period(text: str, lo: date, hi: date) -> tuple[date, date]:
    """The period typed as two ISO dates (any separator) or one day, within [lo, hi]; raises
    ValueError with a plain sentence otherwise.

    >>> parse_period("2026-10-01 – 2026-10-31", date(2026, 1, 1), date(2026, 12, 31))
    (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    >>> parse_period("2026-10-05", date(2026, 1, 1), date(2026, 12, 31))
    (datetime.date(2026, 10, 5), datetime.date(2026, 10, 5))
    >>> parse_period("2025-10-05 to 2026-01-02", date(2026, 1, 1), date(2026, 12, 31))
    Traceback (most recent call last):
    ValueError: The data covers 2026-01-01 – 2026-12-31: 2025-10-05 is outside it.
    """
    found = re.findall(r"\d{4}-\d{2}-\d{2}", text)
    if len(found) not in (1, 2):
        raise ValueError("Type the first and last day as YYYY-MM-DD, e.g. 2026-10-01 – 2026-10-31.")
    try:
        days = [date.fromisoformat(d) for d in found]
    except ValueError:
        raise ValueError(f"{' or '.join(found)} is not a date.") from None
    start, end = days[0], days[-1]
    if end < start:
        raise ValueError(f"The period ends ({end}) before it starts ({start}).")
    for day in (start, end):
        if not lo <= day <= hi:
            raise ValueError(f"The data covers {lo} – {hi}: {day} is outside it.")
    return start, end


def _apply_typed(lo: date, hi: date) -> None:
    """On Enter in the typed-period field: the period becomes the date picker's value and the
    URL's (callbacks run before the widgets, so the picker shows it on this run)."""
    text = st.session_state.get(_TYPED, "").strip()
    if not text:
        return
    try:
        period = parse_period(text, lo, hi)
    except ValueError as exc:
        st.session_state[_TYPED_ERROR] = str(exc)
        return
    st.session_state[_TYPED_ERROR] = ""
    st.session_state["period"] = period
    st.session_state[_TYPED] = ""
    try:
        st.query_params["period"] = [d.isoformat() for d in period]
    except StreamlitAPIException:  # the bound picker writes it itself
        pass


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


def listing(frame: pl.DataFrame, name: str, key: str, *, rows: int = 500) -> None:
    """At most ``rows`` rows of ``frame`` as a table (the browser gets no more than a person
    scrolls through) and all of them as a CSV download, built on the click rather than on
    every run of the page."""
    from functools import partial

    from analytics.exports import csv_text

    if frame.height == 0:
        st.caption("No rows.")
        return
    if frame.height > rows:
        st.caption(f"Showing {rows:,} of {frame.height:,}; the CSV has all of them.")
    st.dataframe(frame.head(rows), placeholder="—",
                 hide_index=True, width="stretch", column_config=headings(frame))
    st.download_button("Download as CSV", partial(csv_text, frame), f"{name}.csv",
                       mime="text/csv", key=key)


def result_or_stop(compute: Callable[[], Any], lead: str, hint: str = "") -> Any:
    """``compute()``; when the report has nothing to show (a ReportError), a note saying why
    (its message shown as text) and the page stops there.

    ``lead`` starts the note ("Nothing to study here"), ``hint`` ends it ("Widen the period").
    """
    try:
        return compute()
    except ReportError as exc:
        st.info(f"{lead}: {plain(str(exc))}.{' ' + hint if hint else ''}")
        st.stop()


def tile(column: st.delta_generator.DeltaGenerator, label: str, value: str, how: str,
         delta: str | None = None) -> None:
    """A metric with a caption saying what was counted (numerator, denominator, window)."""
    with column:
        st.metric(label, value, delta=delta, delta_color="off" if delta is None else "normal")
        st.caption(how)


# On a clock, not the data version: a definition approved with a later effective_from comes
# into force by time alone, with nothing written to the store.
@st.cache_data(ttl=60)
def definition_versions() -> dict[str, int]:
    """The version in force of every KPI, SLO and rule definition (issue 16.3)."""
    from analytics.governance.changes import effective_versions

    return effective_versions(engine())


def definitions_caption(keys: list[str] | None = None, *, group: str | None = None,
                        slos: bool = False) -> None:
    """A caption naming the definition versions the page's numbers use ("Definitions: cfr v3,
    …"): ``keys`` (catalogue KPI keys, ``slo:<name>``), or the catalogue KPIs of ``group``
    ("delivery", "customer") and, with ``slos``, every SLO; nothing given: every definition."""
    from analytics import catalogue
    from analytics.governance.changes import caption

    versions = definition_versions()
    if keys is None and (group or slos):
        keys = [k for k, kpi in catalogue.kpis().items() if group and kpi.group == group]
        keys += [k for k in versions if slos and k.startswith("slo:")]
    st.caption(plain(caption(versions, keys)))
