"""The Governance page in a real browser: counts first, a validation recorded through the form,
and user text shown as text (a Markdown/HTML title stays literal)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.e2e.test_browser import CHROMIUM, FLAGS, _open, _serve
from tests.governance import builders as b


@pytest.fixture
def governance_server(engine):
    """A server on a small hand-built store: one emergency fix, one outage with no post-mortem."""
    b.services(engine)
    t0 = datetime(2026, 3, 2, 10)
    b.deployment(engine, 1, 2, t0, emergency=True)
    b.incident(engine, 1, 1, t0, t0 + timedelta(hours=2), customer_facing=True, outage=True,
               severity=1, title="**not bold** <i>x</i>")
    yield from _serve(engine)


def test_governance_counts_and_validation_form(governance_server, engine):
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is required: `make test` installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = _open(browser, f"{governance_server}/governance", "Governance")
        expect(page.get_by_role("heading", name="Incidents with no service", exact=True)).to_be_visible(
            timeout=60_000)
        metric = page.get_by_test_id("stMetric").filter(has_text="Outages without a post-mortem")
        expect(metric.get_by_test_id("stMetricValue")).to_have_text("1")
        # The title reaches the page only inside the data grid, never as rendered Markdown.
        assert page.locator("strong", has_text="not bold").count() == 0
        page.get_by_label("What was checked").fill("diff reviewed, smoke tests green")
        page.get_by_role("button", name="Record validation").click()
        expect(page.get_by_text("recorded in the audit log").filter(has_text="Validation of deployment")).to_be_visible(timeout=30_000)
        browser.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM emergency_validation")).scalar_one() == \
            "diff reviewed, smoke tests green"
