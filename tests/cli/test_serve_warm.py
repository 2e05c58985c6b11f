"""serve counts the store's tables for its data version before the first page view, and leaves
a missing or non-SQLite store alone."""

from pathlib import Path

import pytest

from analytics.cli import serve
from analytics.store import version
from analytics.store.db import get_engine, migrate


def test_counts_an_existing_store_before_the_first_view(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    migrate(get_engine(url))
    monkeypatch.setenv("DATABASE_URL", url)
    serve._count_store()
    watch = version._watch(get_engine(url))
    assert watch is not None and watch.get(watch.stamp()) is not None


def test_leaves_a_missing_store_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "none.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    serve._count_store()
    assert not path.exists()
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    serve._count_store()  # in memory: nothing to count ahead


def test_the_repl_check_flag_serve_sets_is_streamlits():
    """serve skips Streamlit's REPL check by its module flag: the flag must exist (a rename in a
    Streamlit release would silently bring the 0.1–0.5 s back) and be what the check reads."""
    import inspect

    import streamlit.delta_generator as dg

    assert isinstance(dg._use_warning_has_been_displayed, bool)
    assert "_use_warning_has_been_displayed" in inspect.getsource(dg)
    before = dg._use_warning_has_been_displayed
    try:
        serve._skip_repl_check()
        assert dg._use_warning_has_been_displayed is True
    finally:
        dg._use_warning_has_been_displayed = before
