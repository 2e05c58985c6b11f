"""Property: an import of random rows either fully succeeds or changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.cli import main
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


# ------------------------------------------------------------------ structurally wrong documents
# Per importer: documents built from the fields it reads, nested and typed at random (objects where
# lists belong, numbers where text belongs, keys missing). Every one must import or be refused
# with InvalidImport (the CLI's exit 2), the store unchanged on refusal; never another exception.

LEAVES = (st.none() | st.booleans() | st.integers(-3, 10**13) | st.floats(allow_nan=True)
          | st.sampled_from(["", "success", "SUCCESS", "failed", "production", "2024-05-01T10:00:00Z",
                             "http://ci/job/api/3/", "http://h/g/shop/pipelines/1", "28d", "1M",
                             "push", "deployment", "{}", "[1]", "x" * 300]))
FIELDS = {
    "github": ["id", "sha", "ref", "environment", "created_at", "updated_at", "state", "statuses_url",
               "deployment", "deployment_status", "repository", "full_name", "url", "name"],
    "gitlab": ["id", "iid", "status", "sha", "environment", "name", "deployable", "pipeline",
               "web_url", "commit", "created_at", "finished_at", "started_at", "updated_at"],
    "jenkins": ["builds", "allBuilds", "number", "result", "timestamp", "duration", "url",
                "changeSets", "changeSet", "items", "commitId"],
    "pagerduty": ["incidents", "log_entries", "id", "incident_number", "created_at", "status",
                  "urgency", "service", "summary", "priority", "type", "incident", "last_status_change_at"],
    "servicenow": ["result", "number", "sys_id", "opened_at", "resolved_at", "priority", "cmdb_ci",
                   "business_service", "display_value", "value", "start_date", "end_date", "type"],
    "jira": ["issues", "key", "fields", "created", "resolutiondate", "priority", "name", "project",
             "issuetype", "components", "status", "statuscategorychangedate"],
    "fourkeys": ["event_type", "id", "metadata", "time_created", "source", "rows", "deployment",
                 "commits", "timestamp", "repository", "issue", "created_at", "closed_at"],
    "openslo": ["apiVersion", "kind", "metadata", "name", "spec", "service", "objectives", "target",
                "targetPercent", "timeWindow", "duration", "isRolling", "calendar", "timeZone",
                "budgetingMethod", "indicatorRef", "timeSliceWindow"],
    "deployments": ["id", "service", "environment", "finished_at", "status", "team", "version"],
}
SHAPED = {"openslo": {"apiVersion": "openslo/v1", "kind": "SLO"}, "fourkeys": {"event_type": "deployment"}}


def documents(kind: str) -> st.SearchStrategy:
    """Random JSON trees whose keys are the importer's field names."""
    keys = st.sampled_from(FIELDS[kind])
    tree = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(keys, inner, max_size=5), max_leaves=14)
    record = st.dictionaries(keys, tree, max_size=6).map(lambda d: {**SHAPED.get(kind, {}), **d})
    return st.one_of(tree, record, st.lists(record, max_size=3),
                     st.dictionaries(keys, st.lists(record, max_size=3), max_size=2))


def _write(tmp_path, kind: str, doc) -> Path:
    if kind == "openslo":
        import yaml

        path = tmp_path / "doc.yaml"
        path.write_text(yaml.safe_dump(doc))
    elif kind == "deployments":
        path = tmp_path / "deployments.jsonl"
        rows = doc if isinstance(doc, list) else [doc]
        path.write_text("".join(json.dumps(r, allow_nan=True) + "\n" for r in rows))
    else:
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(doc, allow_nan=True))
    return path


@pytest.mark.parametrize("kind", sorted(FIELDS))
def test_wrongly_shaped_documents_exit_2_and_change_nothing(engine, tmp_path, kind):
    url = engine.url.render_as_string(hide_password=False)

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(doc=documents(kind))
    def check(doc):
        path = _write(tmp_path, kind, doc)
        before = content(engine)
        code = main(["--db", url, "import", kind, str(path)])
        assert code in (0, 2)
        if code == 2:
            assert content(engine) == before

    check()
