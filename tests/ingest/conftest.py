"""Fixtures for the importer tests: fixture paths and a content dump of the whole store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "analytics" / "ingest" / "examples"
FIXTURES = ROOT / "tests" / "fixtures" / "ingest"
PAYLOADS = ROOT.parent / "shared" / "payloads"


def content(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, ordered, so two dumps compare equal iff the content is equal."""
    out = {}
    with engine.connect() as conn:
        for name in sorted(SQLModel.metadata.tables):
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            out[name] = sorted(rows, key=repr)
    return out


@pytest.fixture
def dump() -> Callable[[Engine], dict[str, list[tuple]]]:
    """The content dump function."""
    return content


@pytest.fixture
def payload() -> Callable[[str], Path]:
    """Path of a vendor example in ../shared/payloads (never copied into the repo), or skip."""
    def find(name: str) -> Path:
        path = PAYLOADS / name
        if not path.exists():
            pytest.skip(f"{path} is absent: the vendor payloads live beside the project root")
        return path
    return find


@pytest.fixture
def read() -> Callable[[Engine, str], pl.DataFrame]:
    """read_frame after closing the engine's pooled connections.

    read_frame reads a SQLite file through ADBC (a second SQLite library in the process); while a
    pysqlite connection of the pool stays open, ADBC sees a stale snapshot (reproduced without the
    importers: pysqlite commits an UPDATE, ADBC still reads the old value). Closing the pool first
    gives the committed state.
    """
    from analytics.store.db import read_frame

    def run(engine: Engine, sql: str) -> pl.DataFrame:
        engine.dispose()
        return read_frame(engine, sql)
    return run
