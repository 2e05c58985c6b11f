"""`serve`: run the Streamlit app (what `make run` calls)."""

from __future__ import annotations

import argparse
import os
import sys

from analytics.settings import ROOT, get_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `serve` command."""
    p = sub.add_parser("serve", help="serve the app (streamlit run app.py)",
                       description="Serve the workbench app with Streamlit on HOST:PORT.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument("--insecure", action="store_true",
                   help="serve a public address without sign-in (no [auth] in "
                        ".streamlit/secrets.toml): everyone is an anonymous viewer, aggregates only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start Streamlit in this process; returns when the server stops."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli as stcli

    refused = refuse(args.host, insecure=args.insecure)
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    if args.insecure:
        os.environ["WORKBENCH_INSECURE"] = "1"  # the app reads it: everyone is a viewer
    if args.db:
        os.environ["DATABASE_URL"] = args.db
    # A folder named pages/ beside app.py makes Streamlit serve the FIRST session of a fresh server
    # with its legacy file-based navigation (a shared link to /delivery would open without the
    # router's layout and sections). app.py routes with st.navigation, so say so up front.
    PagesManager.uses_pages_directory = False
    _import_page_libraries()
    _skip_repl_check()
    _count_store()
    # Streamlit runs a full gc.collect(2) after every script run (runner.postScriptGC): with
    # polars, pandas, altair and statsmodels loaded that walks a million long-lived objects,
    # about 0.1 CPU-s per page view. Frozen, they are skipped; what a run leaves is still collected.
    import gc

    gc.collect()
    gc.freeze()
    sys.argv = streamlit_argv(args.host, args.port)
    return int(stcli.main(standalone_mode=False) or 0)


def refuse(host: str, *, insecure: bool, auth_configured: bool | None = None) -> str | None:
    """Why `serve` must not start on ``host`` (a public address without sign-in and without
    --insecure), or None. ``auth_configured`` defaults to whether .streamlit/secrets.toml
    (beside app.py, or in ~/.streamlit) has an [auth] table.

    >>> refuse("127.0.0.1", insecure=False, auth_configured=False) is None
    True
    >>> refuse("0.0.0.0", insecure=False, auth_configured=False).startswith("Refusing")
    True
    """
    from analytics.auth import access_mode, refusal

    if auth_configured is None:
        auth_configured = _auth_in_secrets()
    mode = access_mode(host, auth_configured=auth_configured, insecure=insecure)
    return refusal(host) if mode is None else None


def _auth_in_secrets() -> bool:
    """Whether a secrets.toml Streamlit reads (working directory, project, user folder) has an
    [auth] table."""
    import tomllib
    from pathlib import Path

    for path in {Path.cwd() / ".streamlit" / "secrets.toml", ROOT / ".streamlit" / "secrets.toml",
                 Path.home() / ".streamlit" / "secrets.toml"}:
        try:
            if tomllib.loads(path.read_text()).get("auth"):
                return True
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return False


def _import_page_libraries() -> None:
    """Import what the pages import lazily, once, in this thread, before the server starts.

    Streamlit runs every page in a script thread; a fast page switch started a second run while
    the first was still importing pandas (altair imports it lazily to validate a chart), and the
    second saw "partially initialized module 'pandas'" (seen in the navigation test). The
    analytics modules the pages import come too, so a page's first visit does not pay for them
    and they are frozen out of the garbage collector with the libraries (see run).
    """
    import logging

    # Streamlit warns "No runtime found" for every @st.cache_data decorated before its server
    # runs (the pages' caches are decorated here, ahead of it): expected, not a fault.
    caches = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = caches.level
    caches.setLevel(logging.ERROR)
    try:
        _import_libraries()
    finally:
        caches.setLevel(level)


def _import_libraries() -> None:
    """The imports of :func:`_import_page_libraries`."""
    import ast
    import importlib
    import pkgutil

    import altair  # noqa: F401
    import pandas  # noqa: F401
    import pandas.io.formats.style  # noqa: F401  (Styler, jinja2: the coloured scorecards)
    import scipy.stats  # noqa: F401
    import sklearn.decomposition  # noqa: F401  (themes: ~1.5 s to import on a first visit)
    import sklearn.feature_extraction.text  # noqa: F401
    import statsmodels.api  # noqa: F401
    import streamlit.emojis  # noqa: F401  (an alert whose text is not ASCII loads its catalogue)

    import analytics.charts

    for module in pkgutil.iter_modules(analytics.charts.__path__):
        importlib.import_module(f"analytics.charts.{module.name}")
    for page in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.parse(page.read_text()).body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if isinstance(node, ast.ImportFrom) and node.module:
                # `from analytics.studies import release_impact` imports a module too.
                names += [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] == "analytics" and _is_module(name):
                    importlib.import_module(name)


def _skip_repl_check() -> None:
    """Mark Streamlit's once-per-process REPL check as done: the first element a process draws
    asks whether it runs in a REPL by inspect.stack() from the page's script thread, which maps
    every loaded module's file (0.1–0.5 s of the first page view after a start); under `serve`
    it never is. tests/cli/test_serve_warm.py fails if a Streamlit release renames the flag."""
    import streamlit.delta_generator as dg

    dg._use_warning_has_been_displayed = True


def _count_store() -> None:
    """Count the store's tables for its data version (:mod:`analytics.store.version`) before
    the server starts: at millions of rows the counts cost ~0.15 CPU-s, which the first view of
    any page paid; kept until anything commits to the file (then the next view counts again).
    A SQLite file only (PostgreSQL keeps no counts), and only one that exists."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from analytics.store.db import get_engine
    from analytics.store.version import data_version

    url = get_settings().database_url
    path = make_url(url).database
    if make_url(url).get_backend_name() != "sqlite" or not path or not os.path.isfile(path):
        return
    try:
        data_version(get_engine(url))
    except SQLAlchemyError:  # not a store yet: the first page view migrates and counts it
        pass


def _is_module(name: str) -> bool:
    """Whether ``name`` is an importable module (not a function or class of one)."""
    import importlib.util

    try:
        return name in sys.modules or importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # its parent is a module, not a package
        return False


def streamlit_argv(host: str, port: int) -> list[str]:
    """The `streamlit run` command line ``serve`` executes.

    WORKBENCH_UPLOAD_LIMIT_MB becomes ``server.maxUploadSize``, so the browser refuses a larger
    file before sending it and the server never buffers it (Streamlit's own default is 200 MB).
    No file watcher: serve is not a development loop (`streamlit run app.py` still reloads on
    save), and the watcher walked every imported module's path on each new session, about half
    of the server's CPU per new tab.

    >>> argv = streamlit_argv("127.0.0.1", 8501)
    >>> "--server.maxUploadSize" in argv, argv[argv.index("--server.fileWatcherType") + 1]
    (True, 'none')
    """
    # Streamlit needs at least 1 MB; the Import page itself refuses files above a 0 MB setting.
    limit = max(1, get_settings().upload_limit_mb)
    return ["streamlit", "run", str(ROOT / "app.py"), "--server.address", host,
            "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
            "--server.maxUploadSize", str(limit), "--server.fileWatcherType", "none"]
