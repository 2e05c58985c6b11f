"""A real browser on a real local-mode server (Debian chromium, playwright): the local-mode
banner names the user and role, a viewer's sidebar has no Import page, and a crafted drill-down
URL shows neither rows nor a download."""

from __future__ import annotations


import pytest
from tests.e2e.test_browser import _serve

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def viewer_server(demo_engine):
    """The app served in local mode as a viewer (the shared e2e server start)."""
    yield from _serve(demo_engine, WORKBENCH_USER="e2e-user", WORKBENCH_LOCAL_ROLE="viewer")


def test_local_mode_banner_and_a_viewer_sees_no_rows(viewer_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(f"{viewer_server}/?drill=checkout&records=tickets+after+releases")
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_contain_text("Local mode: you are e2e-user, viewer; no login",
                                        timeout=60_000)
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav).to_contain_text("Overview")
        # Page links, not section headers (the Governance section still holds viewer pages).
        for hidden in ("import_data", "data", "governance", "workshop"):
            expect(nav.locator(f'a[href$="/{hidden}"]')).to_have_count(0)
        expect(nav.locator('a[href$="/signals"]')).to_have_count(1)
        expect(page.get_by_text("The records behind a number: person-level")).to_be_visible(
            timeout=60_000)
        expect(page.get_by_test_id("stDownloadButton")).to_have_count(0)
        browser.close()
