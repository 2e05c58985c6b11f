"""Property: an import of random rows either fully succeeds or changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest.importer import import_files
from analytics.ingest.validate import InvalidImport
from tests.ingest.conftest import content

IDS = st.sampled_from(["d1", "d2", "d3", "d4", ""])
SERVICES = st.sampled_from(["web", "api", ""])
STATUSES = st.sampled_from(["success", "failed", "rolled_back", "FAILED", "ok", ""])
TIMES = st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01 12:30", "2024-05-01T10:00:00+02:00",
                         "2024-13-01T00:00:00Z", "yesterday", ""])
BOOLS = st.sampled_from(["true", "no", "1", "maybe", ""])
ROW = st.tuples(IDS, SERVICES, TIMES, STATUSES, BOOLS)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=6))
def test_random_rows_import_completely_or_not_at_all(engine, tmp_path, rows):
    path = tmp_path / "deployments.csv"
    frame = pl.DataFrame(rows, schema=["id", "service", "finished_at", "status", "emergency"],
                         orient="row").with_columns(environment=pl.lit("production"))
    frame.write_csv(path)
    before = content(engine)
    try:
        result = import_files(engine, "deployments", [path])
    except InvalidImport:
        assert content(engine) == before
        return
    # Success: every row is stored exactly as written (checked independently of the importer).
    with engine.connect() as conn:
        from sqlalchemy import text

        stored = {r[0]: r[1:] for r in conn.execute(text(
            "SELECT d.external_id, s.name, d.status, d.emergency, d.finished_at FROM deployment d "
            "JOIN service s ON s.id = d.service_id WHERE d.source = 'canonical'")).all()}
    for rid, service, finished, status, emergency in rows:
        name, st_, em, fin = stored[rid]
        assert (name, st_, bool(em)) == (service, status.lower(), emergency in ("true", "1"))
        expected = {"2024-05-01T10:00:00Z": datetime(2024, 5, 1, 10),
                    "2024-05-01 12:30": datetime(2024, 5, 1, 12, 30),
                    "2024-05-01T10:00:00+02:00": datetime(2024, 5, 1, 8)}[finished]
        stored_at = datetime.fromisoformat(str(fin))  # text on SQLite, aware UTC on PostgreSQL
        if stored_at.tzinfo:
            stored_at = stored_at.astimezone(UTC).replace(tzinfo=None)
        assert stored_at == expected
    assert result.inserted + result.updated + result.unchanged == len(rows)
