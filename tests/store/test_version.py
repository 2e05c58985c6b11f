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
