"""A real browser on a real server: the sidebar filters follow the user from page to page (URL and
caption), page state lives in the URL, and a click on a scorecard cell opens that service's
records."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.e2e.test_browser import ARTIFACTS, CHROMIUM, FLAGS, _open, server  # noqa: F401

FILTERED = "?period=2026-10-01&period=2026-10-31&team=mobile&env=staging"
CAPTION = "2026-10-01 – 2026-10-31 (UTC, inclusive) · teams: mobile"
WANT = {"period": ["2026-10-01", "2026-10-31"], "team": ["mobile"], "env": ["staging"]}
# Sidebar entry → the page's heading; pages with the filters also say them in a caption.
PAGES = [("Delivery", "Delivery", True), ("SLOs", "SLOs", False), ("Data", "Data", False),
         ("Customer", "Customer", False), ("Import", "Import", False),
         ("Overview", "Overview", True)]


def _query(url: str) -> dict[str, list[str]]:
    return {k: v for k, v in parse_qs(urlparse(url).query).items() if k in WANT}


def _wait_query(page, want: dict[str, list[str]]) -> None:  # noqa: ANN001
    """The URL settles after the page's run: poll it instead of reading it once."""
    for _ in range(60):
        if _query(page.url) == want:
            return
        page.wait_for_timeout(500)
    assert _query(page.url) == want, page.url


def test_filters_follow_the_user_across_pages(server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is required: `make test` installs it"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = _open(browser, f"{server}/{FILTERED}", "Overview")
        main = page.get_by_test_id("stMain")
        expect(main.get_by_test_id("stCaptionContainer").first).to_contain_text(CAPTION,
                                                                                 timeout=30_000)
        nav = page.get_by_test_id("stSidebarNav")
        for entry, heading, says_filters in PAGES:
            nav.get_by_role("link", name=entry, exact=True).click()
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(
                timeout=60_000)
            _wait_query(page, WANT)
            if says_filters:
                expect(main.get_by_test_id("stCaptionContainer").first).to_contain_text(
                    CAPTION, timeout=30_000)
        # Page state in the URL: Delivery's group-by and trend survive a reload of the link.
        nav.get_by_role("link", name="Delivery", exact=True).click()
        expect(page.get_by_role("heading", name="Delivery", exact=True)).to_be_visible(
            timeout=60_000)
        page.get_by_test_id("stRadio").get_by_text("month", exact=True).click()
        page.wait_for_url(re.compile(r"delivery_every=month"), timeout=30_000)
        expect(page.get_by_role("heading", name="Trends by month")).to_be_visible(timeout=60_000)
        shared = _open(browser, page.url, "Delivery")
        expect(shared.get_by_role("heading", name="Trends by month")).to_be_visible(
            timeout=60_000)
        expect(shared.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first
               ).to_contain_text(CAPTION, timeout=30_000)
        browser.close()


def test_scorecard_cell_click_opens_that_services_records(server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = _open(browser, server, "Overview")
        main = page.get_by_test_id("stMain")
        expect(main).to_contain_text("Records behind a number", timeout=60_000)
        page.wait_for_timeout(2000)
        # The first criticality's table is a canvas: click the third row's "Tickets" cell by
        # position (the page's column widths: Service 100 or more — 7 px a character of its
        # longest name, 107 here — Deploys 58, the four KPIs 94 + 90 + 90 + 88, Restore time 80,
        # Incidents 60, Outage minutes 100, Tickets 56; rows 35 px).
        grid = main.get_by_test_id("stDataFrame").first
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        assert box
        x = box["x"] + 107 + 58 + 94 + 90 + 90 + 88 + 80 + 60 + 100 + 28
        page.mouse.click(x, box["y"] + 35 * 3 + 17)
        page.wait_for_url(re.compile(r"drill="), timeout=30_000)
        name = parse_qs(urlparse(page.url).query)["drill"][0]
        expect(main).to_contain_text(f"Service {name} (click another", timeout=30_000)
        # The column picked the kind of record: tickets after that service's releases.
        expect(main).to_contain_text("tickets after releases; showing the newest",
                                     timeout=30_000)
        page.wait_for_url(re.compile(r"records=tickets"), timeout=30_000)
        first = main.get_by_test_id("stDataFrame").last
        expect(first).to_contain_text(name, timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "overview-drill-click.png"), full_page=True)
        browser.close()


def test_a_typed_period_applies_on_enter(server):  # noqa: F811
    """Point 2: a period typed into the sidebar and confirmed with Enter (no click elsewhere)
    becomes the page's period, in the URL, the caption and the date picker."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = _open(browser, f"{server}/delivery", "Delivery")
        box = page.get_by_test_id("stSidebar").get_by_label("Type a period, then Enter", exact=True)
        box.fill("2026-10-01 – 2026-10-31")
        box.press("Enter")
        _wait_query(page, {"period": ["2026-10-01", "2026-10-31"]})
        expect(page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first
               ).to_contain_text("2026-10-01 – 2026-10-31 (UTC, inclusive)", timeout=30_000)
        expect(page.get_by_test_id("stDateInputField")).to_contain_text("2026/10/31")
        # A date outside the data is refused with a sentence, and the period stays.
        box.fill("2020-01-01")
        box.press("Enter")
        expect(page.get_by_test_id("stSidebar").get_by_test_id("stAlert").filter(has_text="outside")).to_contain_text(
            "is outside it", timeout=30_000)
        assert _query(page.url) == {"period": ["2026-10-01", "2026-10-31"]}
        browser.close()
