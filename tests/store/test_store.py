"""The store round-trips rows exactly on SQLite and PostgreSQL; the audit log is append-only."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from analytics.store import audit
from analytics.store.bulk import bulk_insert
from analytics.store.db import migrate, read_frame
from analytics.store.models import Deployment, Incident, Service


def _services() -> pl.DataFrame:
    return pl.DataFrame({
        "id": [1, 2], "name": ["checkout", "search"], "team": ["payments", "storefront"],
        "tier": ["gold", "bronze"], "criticality": [1, 4], "customer_facing": [True, False],
        "timezone": ["Europe/Amsterdam", "UTC"], "confirmed": [True, True],
        "source": ["test", "test"], "external_id": ["checkout", "search"]})


def test_bulk_rows_read_back_identically(engine):
    deps = pl.DataFrame({
        "id": [1, 2, 3], "service_id": [1, 1, 2], "environment": ["production", "staging", "production"],
        "finished_at": [datetime(2026, 3, 29, 0, 59, 59, 123456), datetime(2026, 3, 29, 1, 0),
                        datetime(2026, 10, 25, 2, 30)],
        "status": ["success", "failed", "rolled_back"], "is_rollback": [False, False, True],
        "lines_changed": [10, None, 5000], "test_coverage": [85.5, None, 90.0],
        "source": ["test"] * 3, "external_id": ["a", "b", "c"]})
    with engine.begin() as conn:
        bulk_insert(conn, "service", _services())
        bulk_insert(conn, "deployment", deps)
    back = read_frame(engine, "SELECT id, service_id, environment, finished_at, status, is_rollback, "
                              "lines_changed, test_coverage FROM deployment ORDER BY id")
    assert back.schema["finished_at"] == pl.Datetime("us")
    assert back.schema["is_rollback"] == pl.Boolean
    assert back.to_dicts() == deps.drop("source", "external_id").select(back.columns).to_dicts()


def test_orm_and_bulk_paths_agree_on_times(engine):
    """A time written by the ORM (aware UTC) and by bulk_insert (naive UTC) compare equal in SQL."""
    with engine.begin() as conn:
        bulk_insert(conn, "service", _services())
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with Session(engine) as s:
        s.add(Incident(service_id=1, opened_at=at, severity=2, source="orm", external_id="i1"))
        s.commit()
    with engine.begin() as conn:
        bulk_insert(conn, "incident", pl.DataFrame({
            "service_id": [1], "opened_at": [at.replace(tzinfo=None)], "severity": [2],
            "source": ["bulk"], "external_id": ["i1"]}))
    frame = read_frame(engine, "SELECT source, opened_at FROM incident WHERE opened_at = ? ORDER BY source",
                       [at.replace(tzinfo=None)])
    assert frame["source"].to_list() == ["bulk", "orm"]
    with Session(engine) as s:
        got = s.exec(select(Incident).where(Incident.source == "bulk")).one()
        assert got.opened_at == at


def test_filters_push_down_and_count_like_plain_sql(engine):
    from analytics.store import queries
    from datetime import date

    with engine.begin() as conn:
        bulk_insert(conn, "service", _services())
        bulk_insert(conn, "deployment", pl.DataFrame({
            "service_id": [1, 1, 2, 2], "environment": ["production"] * 4,
            "finished_at": [datetime(2026, 1, 1), datetime(2026, 1, 31, 23, 59), datetime(2026, 2, 1),
                            datetime(2026, 1, 15)],
            "status": ["success"] * 4, "source": ["t"] * 4, "external_id": list("abcd")}))
    f = queries.Filters(start=date(2026, 1, 1), end=date(2026, 1, 31), teams=("payments",))
    got = queries.deployments(engine, f)
    with engine.connect() as conn:
        plain = conn.execute(text(
            "SELECT count(*) FROM deployment d JOIN service s ON s.id = d.service_id "
            "WHERE s.team = 'payments' AND d.finished_at >= '2026-01-01' AND d.finished_at < '2026-02-01'")).scalar_one()
    assert got.height == plain == 2
    assert set(got["service"]) == {"checkout"}


def test_unique_natural_key(engine):
    with engine.begin() as conn:
        bulk_insert(conn, "service", _services())
    with pytest.raises(Exception):
        with engine.begin() as conn:
            bulk_insert(conn, "service", _services().with_columns(id=pl.Series([3, 4]),
                                                                   name=pl.Series(["x", "y"])))
    assert read_frame(engine, "SELECT count(*) AS n FROM service")["n"][0] == 2


def test_audit_log_is_append_only_and_chained(engine):
    with Session(engine) as s:
        audit.record(s, actor="ana", action="kpi.update", entity="kpi_definition", entity_id="mttr",
                     detail={"old": 8, "new": 6})
        audit.record(s, actor="bo", action="import", entity="deployment", detail={"rows": 3})
        s.commit()
    assert audit.verify_chain(engine) == (True, None)
    for stmt in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(stmt))
    assert audit.count(engine) == 2


def test_migrate_is_idempotent(engine):
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0005"


def test_migrations_build_exactly_the_models_schema(engine):
    """A model change without its migration (or the reverse) shows up as a difference here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_orm_model_round_trip(engine):
    with Session(engine) as s:
        s.add(Service(name="ledger", team="finance", tier="silver", criticality=2,
                      source="orm", external_id="ledger"))
        s.commit()
        svc = s.exec(select(Service)).one()
        s.add(Deployment(service_id=svc.id, status="success", finished_at=datetime(2026, 5, 1, tzinfo=UTC),
                         source="orm", external_id="d1", lines_changed=12))
        s.commit()
    d = read_frame(engine, "SELECT d.lines_changed, s.name FROM deployment d JOIN service s ON s.id = d.service_id")
    assert d.row(0) == (12, "ledger")


def test_empty_results_keep_their_types(engine):
    frame = read_frame(engine, "SELECT opened_at, resolved_at, customer_facing FROM incident")
    assert frame.height == 0
    assert frame.schema["opened_at"] == pl.Datetime("us") and frame.schema["resolved_at"] == pl.Datetime("us")


def test_migrations_go_down_and_up_on_a_store_with_rows(engine):
    """0002 adds incident.made_sla in place: rows (and the rows that point at them) survive."""
    from alembic import command
    from alembic.config import Config

    from analytics.ingest.importer import import_files
    from analytics.store.db import MIGRATIONS

    examples = MIGRATIONS.parents[2] / "analytics" / "ingest" / "examples"
    for kind, name in (("services", "services.csv"), ("deployments", "deployments.csv"),
                       ("incidents", "incidents.csv"), ("tickets", "tickets.csv")):
        import_files(engine, kind, [examples / name])
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    command.downgrade(cfg, "0001")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0001"
    engine.dispose()  # pooled connections remember the old table layout
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT i.external_id, i.made_sla, t.external_id FROM incident i "
                                 "JOIN ticket t ON t.related_incident_id = i.id")).all()
    assert rows == [("INC-77", None, "T-501")]
