"""analytics.store.version.data_version: unchanged while the data is, changed by every write a
page could show (insert, delete, a saved definition)."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from analytics.store.definitions import save_definition
from analytics.store.version import TABLES, data_version, version_query


def test_version_changes_with_the_data_and_only_then(engine):
    empty = data_version(engine)
    assert empty == data_version(engine) and len(empty) == 16
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO service (source, external_id, name, team, tier, criticality, customer_facing, timezone, confirmed) VALUES ('t', 's1', 'one', 'a', 'gold', 1, true, 'UTC', true)"))
    inserted = data_version(engine)
    assert inserted != empty and inserted == data_version(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM service"))
    # max(id) may fall back to None like the empty store's, but it is the count that must move
    # back: a delete is a change, and the same content gives the same version.
    assert data_version(engine) == empty
    with Session(engine) as session:
        save_definition(session=session, key="alert_rule.error_rate.x", name="rule", unit="rule",
                        methodology="m", thresholds={"threshold": 0.1}, direction="lower",
                        actor="t", reason="test")
        session.commit()
    assert data_version(engine) not in (empty, inserted)


def test_version_query_reads_every_table_once():
    sql = version_query({t: "id" for t in TABLES})
    # Checked by counting, independently of how the query is built: two aggregates per table.
    assert sql.count("SELECT max(") == len(TABLES) and sql.count("count(*)") == len(TABLES)


def _sqlite_only(engine) -> None:  # noqa: ANN001
    import pytest

    if engine.dialect.name != "sqlite":
        pytest.skip("the commit watch is for SQLite files")


def _count_queries(engine):  # noqa: ANN001, ANN202
    from sqlalchemy import event

    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_unchanged_file_is_not_counted_again(engine):
    _sqlite_only(engine)
    first = data_version(engine)
    seen = _count_queries(engine)
    assert data_version(engine) == first and data_version(engine, ("service",)) != first
    assert not any("count(*)" in q for q in seen)  # a table list's digest comes from the counts


def test_commit_by_another_process_changes_the_version(engine):
    import subprocess
    import sys

    _sqlite_only(engine)
    before = data_version(engine)
    path = engine.url.database
    subprocess.run([sys.executable, "-c", (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO service "
        "(source, external_id, name, team, tier, criticality, customer_facing, timezone, confirmed) "
        "VALUES ('t', 'p1', 'p', 'a', 'gold', 1, 1, 'UTC', 1)\"); c.commit()"), path], check=True)
    after = data_version(engine)
    assert after != before
    with engine.connect() as conn:  # the same as counting afresh
        assert conn.execute(text("SELECT count(*) FROM service")).scalar() == 1


def test_a_new_file_under_the_same_name_is_not_the_old_one(tmp_path):
    from analytics.store.db import get_engine, migrate

    path = tmp_path / "again.db"
    one = get_engine(f"sqlite:///{path}")
    migrate(one)
    empty = data_version(one)
    with one.begin() as conn:
        conn.execute(text("INSERT INTO service (source, external_id, name, team, tier, criticality, customer_facing, timezone, confirmed) VALUES ('t', 's1', 'one', 'a', 'gold', 1, true, 'UTC', true)"))
    filled = data_version(one)
    one.dispose()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"again.db{suffix}").unlink(missing_ok=True)
    get_engine.cache_clear()
    two = get_engine(f"sqlite:///{path}")
    migrate(two)
    assert data_version(two) == empty != filled
    two.dispose()


def test_the_watch_holds_no_snapshot(engine):
    _sqlite_only(engine)
    data_version(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO service (source, external_id, name, team, tier, criticality, customer_facing, timezone, confirmed) VALUES ('t', 's2', 'two', 'a', 'gold', 1, true, 'UTC', true)"))
    data_version(engine)
    with engine.connect() as conn:  # a reader holding a snapshot would make the checkpoint busy
        busy, _, _ = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    assert busy == 0


def test_each_table_list_gets_the_digest_of_its_own_count(engine):
    from analytics.store.version import _digest

    with engine.begin() as conn:
        conn.execute(text("INSERT INTO service (source, external_id, name, team, tier, criticality, customer_facing, timezone, confirmed) VALUES ('t', 's3', 'three', 'a', 'gold', 1, true, 'UTC', true)"))
    for tables in (TABLES, ("service",), ("ticket", "service", "import_batch"), ("deployment",)):
        assert data_version(engine, tables) == _digest(engine, tables)


def test_a_disposed_engine_leaves_a_whole_file(tmp_path):
    """After dispose the file alone holds the data (no WAL kept by the watch), so it can be
    copied: the copy opens with every table."""
    import shutil

    from analytics.store.db import get_engine, migrate

    path = tmp_path / "whole.db"
    eng = get_engine(f"sqlite:///{path}")
    migrate(eng)
    data_version(eng)
    eng.dispose()
    assert not (tmp_path / "whole.db-wal").exists()
    shutil.copy(path, tmp_path / "copy.db")
    copy = get_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    with copy.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ticket")).scalar() == 0
    copy.dispose()
