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
