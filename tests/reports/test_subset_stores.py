"""Every `report` subcommand on a store holding only some of the tables: exit 0 with output, or
exit 2 with one plain line — never a traceback (Hardening 14)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from analytics.cli import main
from analytics.cli.report import REPORTS
from analytics.ingest.importer import import_files
from analytics.store.db import MIGRATIONS, get_engine, migrate

EXAMPLES = MIGRATIONS.parents[2] / "analytics" / "ingest" / "examples"
# Required options of the reports that have some.
ARGS = {"sla": ["--month", "2024-05"], "resolution-sla": ["--targets", "P1=4h,P2=8h"],
        "threshold-replay": ["--service", "checkout", "--threshold", "0.05"],
        "rollback-replay": ["--service", "checkout", "--threshold", "0.05"]}
# What each subset store keeps (every other event table is emptied).
SUBSETS = {"services+deployments": {"service", "deployment", "change"},
           "services+many deployments": {"service", "deployment", "change"},
           "incidents": {"incident"}, "tickets": {"ticket"}, "slis": {"slo", "sli_sample"}}
# Emptied children first (foreign keys).
TABLES = ("incident_attribution", "csat_response", "ticket", "incident", "change", "deployment",
          "change_request", "sli_sample", "slo", "service")


@pytest.fixture(scope="module")
def full_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("subset") / "full.db"
    eng = get_engine(f"sqlite:///{path}")
    migrate(eng)
    for kind, name in (("services", "services.csv"), ("deployments", "deployments.csv"),
                       ("changes", "changes.csv"), ("incidents", "incidents.csv"),
                       ("tickets", "tickets.csv"), ("openslo", "slos.yaml"), ("sli", "sli.csv")):
        import_files(eng, kind, [EXAMPLES / name])
    eng.dispose()
    return path


@pytest.fixture(scope="module", params=list(SUBSETS))
def subset_db(request: pytest.FixtureRequest, full_store: Path,
              tmp_path_factory: pytest.TempPathFactory) -> str:
    keep = SUBSETS[request.param]
    path = tmp_path_factory.mktemp("subset") / f"{request.param}.db"
    shutil.copy(full_store, path)
    eng = get_engine(f"sqlite:///{path}")
    with eng.begin() as conn:
        if "service" not in keep:
            for table in ("incident", "ticket", "slo"):
                conn.execute(text(f"UPDATE {table} SET service_id = NULL"))
        if "deployment" not in keep:
            conn.execute(text("UPDATE incident SET caused_by_deployment_id = NULL, "
                              "caused_by_change_request_id = NULL"))
        if "incident" not in keep:
            conn.execute(text("UPDATE ticket SET related_incident_id = NULL"))
        for table in TABLES:
            if table not in keep:
                conn.execute(text(f"DELETE FROM {table}"))
        if request.param.startswith("services+many"):
            # Enough deployments (every weekday, some failed) for the studies to get past
            # "too few deployments" and meet the empty incident table.
            for i in range(300):
                conn.execute(text(
                    "INSERT INTO deployment (source, external_id, service_id, environment, "
                    "finished_at, status, is_rollback, unplanned, emergency) SELECT 'test', "
                    ":x, id, 'production', :at, :status, 0, 0, 0 FROM service LIMIT 1"),
                    {"x": f"many-{i}", "at": f"2024-04-{1 + i % 28:02d} {8 + i % 9:02d}:00:00",
                     "status": "failed" if i % 7 == 0 else "success"})
    eng.dispose()
    return f"sqlite:///{path}"


# uci-sla-timers reads the UCI event-log file it is given, not the store.
STORE_REPORTS = [name for name in REPORTS if name != "uci-sla-timers"]


@pytest.mark.parametrize("name", STORE_REPORTS)
def test_report_on_a_subset_store(subset_db: str, name: str,
                                  capsys: pytest.CaptureFixture) -> None:
    code = main(["--db", subset_db, "report", name, *ARGS.get(name, []), "--format", "json"])
    out = capsys.readouterr()
    assert code in (0, 2), out.err
    if code == 0:
        assert out.out.strip()
    else:
        message = out.err.strip()
        assert message and "\n" not in message and "Traceback" not in message, message
