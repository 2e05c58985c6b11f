"""The Threshold workshop in a real browser: moving the threshold slider changes the caught and
missed incidents and puts the new threshold in the URL, and the copied link reopens it."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_browser import (  # noqa: F401
    ARTIFACTS,
    CHROMIUM,
    FLAGS,
    _metric,
    _metric_value,
    _open,
    server,
)


def _idle(page) -> None:  # noqa: ANN001
    """Wait until the script run finished (no "Running…" status widget)."""
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)


def test_threshold_slider_updates_numbers_and_url(server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is required: `make test` installs it"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = _open(browser, f"{server}/workshop", "Threshold workshop")
        expect(page.get_by_test_id("stMetric").filter(has_text="Incidents caught")).to_be_visible(timeout=60_000)
        _idle(page)
        before = (_metric(page, "Incidents caught"), _metric(page, "False alarms"))
        assert "ws_threshold" not in page.url  # the default rule keeps the URL clean

        # Down to 0.010 with the keyboard: 40 steps of 0.001 from the default 0.05.
        thumb = page.get_by_test_id("stSlider").filter(has_text="Threshold").get_by_role("slider")
        thumb.focus()
        for _ in range(40):
            thumb.press("ArrowLeft")
        page.wait_for_url("**ws_threshold=0.01**", timeout=30_000)
        expect(page.get_by_test_id("stCaptionContainer").filter(has_text="Proposed rule: above 0.01 ")
               ).to_be_visible(timeout=30_000)
        _idle(page)
        after = (_metric(page, "Incidents caught"), _metric(page, "False alarms"))
        assert after != before
        caught, of = (int(x) for x in after[0].split(" of "))
        assert of == int(before[0].split(" of ")[1])  # the same incidents, more of them caught
        assert caught >= int(before[0].split(" of ")[0])
        page.screenshot(path=str(ARTIFACTS / "workshop-threshold.png"), full_page=True)

        # The copied link reopens the same rule and the same numbers.
        shared = _open(browser, page.url, "Threshold workshop")
        expect(shared.get_by_test_id("stCaptionContainer").filter(has_text="Proposed rule: above 0.01 ")
               ).to_be_visible(timeout=60_000)
        _idle(shared)
        # Keyboard steps queue several reruns: the first page may still be drawing the last one,
        # so wait for it to settle on the copied link's numbers (a wrong link never matches).
        expect(_metric_value(page, "Incidents caught")).to_have_text(
            _metric(shared, "Incidents caught"), timeout=30_000)
        assert _metric(page, "False alarms") == _metric(shared, "False alarms")
        browser.close()
