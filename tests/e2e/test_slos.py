"""SLOs and SLAs in a real browser: the chosen SLO and the SLA month live in the URL (a copied
link reopens them), and the SLOs page's status shows within seconds of opening it."""

from __future__ import annotations

import time

from tests.e2e.test_browser import CHROMIUM, FLAGS, _open, server  # noqa: F401 (fixture)


def test_slo_and_sla_month_are_in_the_url(server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = _open(browser, f"{server}/slos?slo=push-availability", "SLOs")
        box = page.get_by_role("combobox", name="SLO", exact=True)
        expect(box).to_have_value("push-availability", timeout=60_000)
        # choosing another SLO writes it into the URL
        box.click()
        page.keyboard.type("search-availability")
        page.keyboard.press("Enter")
        page.wait_for_url("**slo=search-availability**", timeout=30_000)

        t0 = time.monotonic()
        fresh = _open(browser, f"{server}/slos", "SLOs")
        expect(fresh.get_by_test_id("stDataFrame").first).to_be_visible(timeout=60_000)
        # generous on a shared CI machine; the figure on an idle one is ~1 s server-side
        assert time.monotonic() - t0 < 30

        sla = _open(browser, f"{server}/slas?sla_month=2026-09", "SLAs")
        expect(sla.get_by_role("combobox", name="Contract month")).to_have_value(
            "2026-09", timeout=60_000)
        browser.close()
