"""Person-level rows by role on the demo: a viewer who crafts the Overview drill-down URL gets
no rows and no download, nor the Delivery records, the survey-targeting list or the tickets
around a release; an analyst (same URL) gets the rows and the CSV."""

from __future__ import annotations

import pytest

from analytics.metrics.drilldown import TICKET_VIEW

CRAFTED = {"drill": "checkout", "records": "tickets after releases"}


def downloads(at) -> list[str]:
    """Labels of the download buttons drawn in the last run."""
    return [d.proto.label for d in at.get("download_button")]


def locked(at) -> list[str]:
    return [i.value for i in at.info if "person-level" in i.value]


def test_crafted_drill_url_gives_rows_to_an_analyst_only(demo_engine, app_as, monkeypatch):
    at = app_as(demo_engine, role="viewer", query=CRAFTED)
    assert at.title[0].value == "Overview"
    assert locked(at) == ["The records behind a number: person-level, shown to analysts, "
                          "auditors and admins only (you are a viewer)."]
    assert downloads(at) == []
    assert not any("opened_at" in d.value.columns for d in at.dataframe)  # no ticket rows
    assert "records" not in [s.key for s in at.selectbox]

    # The same session and URL, now an analyst (the role is resolved again on every run).
    monkeypatch.setenv("WORKBENCH_LOCAL_ROLE", "analyst")
    at.run()
    assert locked(at) == []
    rows = at.dataframe[-1].value
    assert tuple(rows.columns) == TICKET_VIEW and len(rows) > 0
    assert set(rows["service"]) == {"checkout"}  # the URL's service, the URL's kind
    caption = next(c.value for c in at.caption if c.value.startswith("Service **checkout**"))
    total = int(caption.split(": ", 1)[1].split(" ")[0].replace(",", ""))
    assert total >= len(rows)
    assert downloads(at) == [f"Download all {total:,} as CSV"]


@pytest.mark.parametrize(("page", "what"), [
    ("pages/delivery.py", "The records behind a number"),
    ("pages/release_impact.py", "The tickets and incidents around a release"),
])
def test_viewer_gets_aggregates_only(page, what, demo_engine, app_as):
    at = app_as(demo_engine, role="viewer", page=page)
    assert locked(at) == [f"{what}: person-level, shown to analysts, auditors and admins only "
                          "(you are a viewer)."]
    assert downloads(at) == []
    assert at.metric or at.dataframe  # the aggregates are still there


def test_targeting_list_of_customer_ids_for_an_analyst_only(demo_engine, app_as, monkeypatch):
    at = app_as(demo_engine, role="viewer", page="pages/customer.py")
    assert locked(at) == ["The survey-targeting list (customer ids): person-level, shown to "
                          "analysts, auditors and admins only (you are a viewer)."]
    assert downloads(at) == [] and at.metric  # CSAT tiles stay
    monkeypatch.setenv("WORKBENCH_LOCAL_ROLE", "analyst")
    at.run()
    assert locked(at) == [] and downloads(at) == ["Download targeting list (CSV)"]


@pytest.mark.parametrize("role,shown", [("auditor", True), ("admin", True), ("analyst", False)])
def test_data_page_shows_the_audit_verification_to_auditors_and_admins(role, shown, demo_engine, app_as):
    """The Data page states the chain's verdict (the same check as `audit verify`) to the roles
    with view-audit; it does not append a checkpoint."""
    from analytics.store import audit

    before = audit.last_checkpoint(demo_engine)
    at = app_as(demo_engine, role=role, page="pages/data.py")
    assert not at.exception, at.exception
    verdicts = [s.value for s in at.success if s.value.startswith("Audit log intact")]
    assert bool(verdicts) is shown
    if shown:
        v = audit.check(demo_engine)
        noun = "entry" if v.entries == 1 else "entries"
        assert verdicts[0] == f"Audit log intact: {v.entries:,} {noun}; head #{v.head_id} {v.head_hash}."
    assert audit.last_checkpoint(demo_engine) == before
