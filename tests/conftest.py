"""Shared fixtures: a fresh migrated store per test (SQLite, or PostgreSQL when DATABASE_URL says so)."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import date
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from analytics.store.db import get_engine, migrate

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
# The audit chain's key for every store the tests create (and the CLI subprocesses they start):
# without it each PostgreSQL test database would leave a key file under data/.
os.environ.setdefault("WORKBENCH_AUDIT_KEY", "test-suite-audit-key")
# Likewise the customer-id pseudonym key: one for every store, so stores compare equal.
os.environ.setdefault("WORKBENCH_PSEUDONYM_KEY", "test-suite-pseudonym-key")
SHARED_DATA = SHARED / "data"
PAYLOADS = SHARED / "payloads"


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store: a temporary SQLite file, or a fresh schema-less PostgreSQL
    database created for this test when DATABASE_URL points at PostgreSQL."""
    pg = _postgres_url()
    if pg is None:
        eng = get_engine(f"sqlite:///{tmp_path / 'store.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg.rsplit("/", 1)[0] + f"/{name}"
    eng = get_engine(url)
    migrate(eng)
    try:
        yield eng
    finally:
        # The database's read copy lives in data/ (named after host, port and database): it
        # goes with the database, or every PostgreSQL run leaves ~100 folders there.
        from analytics.store.readcopy import copy_dir

        folder = copy_dir(eng)
        eng.dispose()
        get_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def requires_shared_data(sub: str) -> Path:
    """Path of a folder under ../shared/data, or skip the test saying why."""
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"{path} is absent: the real dataset is only available beside the project root")
    return path


DEMO_END = date(2026, 11, 22)


def pytest_configure(config: pytest.Config) -> None:
    """Register the `store` marker: tests that touch a real database (re-run on PostgreSQL in CI)."""
    config.addinivalue_line("markers", "store: touches a real database; CI re-runs these on PostgreSQL")
    config.addinivalue_line("markers", "bpic: imports the real BPIC 2014 data (≈40 s); -m 'not bpic' skips")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses a store fixture is a store test (pages and the browser test aside:
    they exercise the UI, not the database)."""
    for item in items:
        ui_test = any(part in ("pages", "e2e") for part in Path(str(item.fspath)).parts)
        if not ui_test and {"engine", "demo_engine"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.store)


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo organisation (seed 7, ending 2026-11-22), loaded once per test process.

    On PostgreSQL (DATABASE_URL) it is loaded into a database created for the session."""
    from analytics import demo

    frames = demo.generate(seed=7, end=DEMO_END)
    pg = _postgres_url()
    if pg is None:
        eng = get_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
        migrate(eng)
        demo.load(eng, frames)
        yield eng
        return
    name = f"demo_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = get_engine(pg.rsplit("/", 1)[0] + f"/{name}")
    migrate(eng)
    demo.load(eng, frames)
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def bpic_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """BPIC 2014 from ../shared/data imported once into a temporary SQLite store (skips when absent)."""
    from analytics.ingest.importer import import_files

    source = requires_shared_data("bpic2014")
    eng = get_engine(f"sqlite:///{tmp_path_factory.mktemp('bpic') / 'bpic.db'}")
    migrate(eng)
    import_files(eng, "bpic2014", [source])
    return eng


@pytest.fixture
def loopback():
    """The app believes it serves on 127.0.0.1 (local mode needs a loopback address; AppTest
    has none), restored afterwards."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)
