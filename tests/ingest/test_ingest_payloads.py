"""Tool payloads: the vendors' own examples (../shared/payloads), our paginated/malformed variants."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from analytics.ingest.importer import detect, import_files
from analytics.ingest.files import load
from analytics.ingest.validate import InvalidImport

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ingest"


def _summary(engine, kind, paths):
    r = import_files(engine, kind, paths)
    return r.summary(), r.tables, r.warnings


def test_github_vendor_examples(engine, payload, read):
    s, _, warnings = _summary(engine, "github", [payload("github-list-deployments.json"),
                                                 payload("github-list-deployment-statuses.json"),
                                                 payload("github-webhook-deployment_status.json")])
    # Deployment 1 has no status in the examples (skipped); the status of deployment 42 and the
    # webhook each make a finished deployment.
    assert (s["inserted"], s["rejected"]) == (2, 1)
    rows = read(engine, "SELECT d.external_id, s.name, d.started_at, d.finished_at, d.status "
                        "FROM deployment d JOIN service s ON s.id = d.service_id ORDER BY d.finished_at").rows()
    assert rows == [("42", "example", None, datetime(2012, 7, 20, 1, 19, 13), "success"),
                    ("145988746", "Hello-World", datetime(2019, 5, 15, 15, 20, 53),
                     datetime(2019, 5, 15, 15, 20, 55), "success")]
    assert "no final status" in warnings[0]


def test_github_pages_take_the_first_final_status(engine, read):
    s, _, _ = _summary(engine, "github", [FIXTURES / "github-deployments-page1.json",
                                          FIXTURES / "github-deployments-page2.json",
                                          FIXTURES / "github-statuses.json"])
    assert (s["inserted"], s["rejected"]) == (2, 1)  # 502 is still pending
    rows = read(engine, "SELECT external_id, environment, version, finished_at, status FROM deployment "
                        "ORDER BY external_id").rows()
    # 501: in_progress, then success at 10:07 (the later 'inactive' is not final).
    assert rows == [("501", "production", "aaa1111", datetime(2024, 5, 1, 10, 7), "success"),
                    ("503", "production", "ccc3333", datetime(2024, 5, 3, 10, 8), "failed")]


def test_gitlab_vendor_example_uses_the_job_when_the_deployment_says_created(engine, payload, read):
    s, tables, _ = _summary(engine, "gitlab", [payload("gitlab-list-project-deployments.json")])
    assert tables["deployments"]["inserted"] == 2 and tables["changes"]["inserted"] == 2
    rows = read(engine, "SELECT d.external_id, d.finished_at, c.committed_at FROM deployment d "
                        "JOIN change c ON c.deployment_id = d.id ORDER BY d.external_id").rows()
    # The commit's 09:36:01+02:00 is 07:36:01 UTC.
    assert rows[0] == ("41", datetime(2016, 8, 11, 7, 36, 39, 851000), datetime(2016, 8, 11, 7, 36, 1))


def test_gitlab_page_with_failed_and_canceled(engine, read):
    s, _, _ = _summary(engine, "gitlab", [FIXTURES / "gitlab-deployments-page2.json"])
    assert (s["inserted"], s["rejected"]) == (2, 1)  # deployment + its commit; canceled skipped
    assert read(engine, "SELECT s.name, d.status FROM deployment d JOIN service s ON s.id = d.service_id").rows() \
        == [("storefront", "failed")]


def test_jenkins_pipeline_and_freestyle_builds(engine, payload, read):
    s, tables, _ = _summary(engine, "jenkins", [payload("jenkins-job-builds-tree.CONSTRUCTED.json"),
                                                FIXTURES / "jenkins-freestyle.json"])
    # Running build 14 and aborted build 6 are skipped.
    assert s["rejected"] == 2
    rows = read(engine, "SELECT external_id, started_at, finished_at, status FROM deployment "
                        "ORDER BY external_id").rows()
    # 1714552182385 ms = 2024-05-01 08:29:42.385 UTC; + 478032 ms = 08:37:40.417.
    assert rows == [("my-service#12", datetime(2024, 4, 30, 21, 50, 14, 665000),
                     datetime(2024, 4, 30, 21, 50, 47, 464000), "failed"),
                    ("my-service#13", datetime(2024, 5, 1, 8, 29, 42, 385000),
                     datetime(2024, 5, 1, 8, 37, 40, 417000), "success"),
                    ("platform/billing-deploy#7", datetime(2024, 5, 1, 21, 46, 40),
                     datetime(2024, 5, 1, 21, 47, 40), "failed")]
    assert tables["changes"]["inserted"] == 3


def test_pagerduty_incidents_and_log_entries(engine, payload, read):
    s, _, warnings = _summary(engine, "pagerduty", [payload("pagerduty-list-incidents.json"),
                                                    payload("pagerduty-list-incident-log-entries.json"),
                                                    FIXTURES / "pagerduty-incidents-page2.json",
                                                    FIXTURES / "pagerduty-log-entries-px1.json"])
    assert s["inserted"] == 3
    rows = read(engine, "SELECT external_id, severity, opened_at, acknowledged_at, resolved_at FROM incident "
                        "ORDER BY external_id").rows()
    assert rows == [
        ("PT4KHLK", 2, datetime(2015, 10, 6, 21, 30, 42), None, datetime(2015, 10, 6, 21, 38, 23)),
        # resolved_at null in the body: the resolve log entry 19:30+02:00 = 17:30 UTC.
        ("PX1", 3, datetime(2024, 5, 3, 16, 50), datetime(2024, 5, 3, 16, 55), datetime(2024, 5, 3, 17, 30)),
        ("PX2", 1, datetime(2024, 5, 4, 1, 0), datetime(2024, 5, 4, 1, 5), None)]
    assert warnings == []


def test_servicenow_table_api_and_change_management_shapes(engine, payload, read):
    s, tables, _ = _summary(engine, "servicenow", [payload("servicenow-table-incident-list.json"),
                                                   payload("servicenow-table-incident-get.json"),
                                                   payload("servicenow-sn_chg_rest-change-list.json")])
    assert tables["incidents"]["inserted"] == 2  # INC0000046 is in both files, once
    assert read(engine, "SELECT external_id, severity, opened_at, made_sla FROM incident ORDER BY 1").rows() == [
        ("INC0000046", 3, datetime(2015, 11, 2, 22, 4, 15), False),
        ("INC0000050", 1, datetime(2015, 11, 2, 21, 58, 24), True)]
    # {display_value, value}: the value is UTC (display is UTC−7).
    assert read(engine, "SELECT external_id, actual_start, outcome FROM change_request").rows() == [
        ("CHG0000024", datetime(2015, 7, 6, 18, 56, 4), "successful")]


def test_servicenow_display_all_links_rfc_by_sys_id(engine, read):
    _summary(engine, "servicenow", [FIXTURES / "servicenow-display-all.json"])
    row = read(engine, "SELECT i.severity, i.resolved_at, c.external_id, s.name, i.problem_id FROM incident i "
                       "JOIN change_request c ON c.id = i.caused_by_change_request_id "
                       "JOIN service s ON s.id = i.service_id").row(0)
    # Priority 5 → severity 4; no resolved_at → closed_at (value, UTC).
    assert row == (4, datetime(2024, 5, 3, 18, 0), "CHG0100", "checkout", "PRB0042")
    assert read(engine, "SELECT emergency, risk, cab_required FROM change_request").row(0) == (True, "High", False)


def test_jira_search_pages_to_tickets_and_incidents(engine, read):
    s, tables, _ = _summary(engine, "jira", [FIXTURES / "jira-search-page1.json",
                                             FIXTURES / "jira-search-jql-page2.json"])
    assert tables["tickets"]["inserted"] == 2 and tables["incidents"]["inserted"] == 1
    t = read(engine, "SELECT external_id, opened_at, closed_at, severity, text FROM ticket ORDER BY 1").rows()
    assert t[0] == ("20001", datetime(2024, 5, 3, 16, 58), datetime(2024, 5, 3, 18, 0), 2,
                    "SUP-1: Cannot pay by card\nCard declined twice")
    assert t[1][3] is None
    assert read(engine, "SELECT external_id, severity, title FROM incident").row(0) == (
        "20003", 1, "OPS-7: Checkout outage")


@pytest.mark.parametrize("name", ["jira-search-issues-jql-get.json", "jira-search-jql-enhanced-get.json"])
def test_jira_vendor_examples_lack_created_and_say_so(engine, dump, payload, name):
    before = dump(engine)
    with pytest.raises(InvalidImport) as err:
        import_files(engine, "jira", [payload(name)])
    assert "row 1, column 'fields.created': required value is missing" in str(err.value)
    assert dump(engine) == before


def test_fourkeys_vendor_rows_follow_the_project_rules(engine, payload, read):
    s, tables, _ = _summary(engine, "fourkeys", [payload("fourkeys-events_raw-rows.DERIVED.json")])
    assert {k: v["inserted"] for k, v in tables.items() if k != "services created"} == {
        "deployments": 1, "changes": 3, "incidents": 1}
    inc = read(engine, "SELECT i.external_id, i.root_cause_commit, d.version FROM incident i "
                       "JOIN deployment d ON d.id = i.caused_by_deployment_id").row(0)
    assert inc == ("foobar/738", "6b0d549b6f03675a1600a35a099950d836f675cc",
                   "6b0d549b6f03675a1600a35a099950d836f675cc")


def test_fourkeys_gitlab_events_jsonl(engine, read):
    s, tables, warnings = _summary(engine, "fourkeys", [FIXTURES / "fourkeys-gitlab-events.jsonl"])
    assert s["rejected"] == 1  # the failed deployment
    assert tables["changes"]["inserted"] == 2  # the deployed push's commits; the other waits
    assert "1 commit(s) are not deployed yet" in " ".join(warnings)
    inc = read(engine, "SELECT i.severity, s.name, d.external_id FROM incident i JOIN service s "
                       "ON s.id = i.service_id JOIN deployment d ON d.id = i.caused_by_deployment_id").row(0)
    assert inc == (1, "storefront", "856")


@pytest.mark.parametrize(("kind", "fixture", "expected"), [
    ("github", "github-statuses-bad-date.json", "row 1, column 'deployment_status.created_at', value 'yesterday': not a date-time"),
    ("github", "github-statuses-truncated.json", "not valid JSON"),
    ("gitlab", "gitlab-bad-status-date.json", "column 'deployable.finished_at', value 'not a date': not a date-time"),
    ("jenkins", "jenkins-duplicate-build.json", "row 2, column 'number', value 'api#3': duplicate id"),
    ("pagerduty", "pagerduty-bad-priority.json", "column 'priority.summary', value 'SEV-A': not a whole number"),
    ("servicenow", "servicenow-bad-record.json", "value 'problem': not an incident or change_request record"),
    ("fourkeys", "fourkeys-bad-metadata.json", "column 'metadata'"),
])
def test_malformed_payloads_name_the_problem_and_change_nothing(engine, dump, kind, fixture, expected):
    import_files(engine, "github", [FIXTURES / "github-deployments-page1.json", FIXTURES / "github-statuses.json"])
    before = dump(engine)
    with pytest.raises(InvalidImport) as err:
        import_files(engine, kind, [FIXTURES / fixture])
    assert expected in str(err.value) and fixture in str(err.value)
    assert dump(engine) == before


@pytest.mark.parametrize(("name", "kind"), [
    ("github-list-deployments.json", "github"), ("github-webhook-deployment_status.json", "github"),
    ("gitlab-list-project-deployments.json", "gitlab"), ("jenkins-job-builds-tree.CONSTRUCTED.json", "jenkins"),
    ("pagerduty-list-incidents.json", "pagerduty"), ("servicenow-sn_chg_rest-change-list.json", "servicenow"),
    ("jira-search-jql-enhanced-get.json", "jira"), ("fourkeys-events_raw-rows.DERIVED.json", "fourkeys"),
])
def test_kind_is_detected_from_the_payload_shape(payload, name, kind):
    assert detect(load([payload(name)])[0]) == kind
