"""A real browser (Debian chromium driven by playwright) on a real server on loopback:
open Overview, change a filter, see it in the URL and in the numbers, reopen the link; upload a
file on the Import page, preview it, import it, and see a bad file refused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    """A free loopback port: the first free one of E2E_PORTS ("8720-8749", a shared machine's
    range) when set, else any."""
    first, _, last = os.environ.get("E2E_PORTS", "").partition("-")
    for port in range(int(first), int(last or first) + 1) if first else [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in E2E_PORTS={os.environ['E2E_PORTS']}")


@pytest.fixture
def server(demo_engine):
    """`python -m analytics serve` (what `make run` starts) on a free loopback port, against the
    demo store."""
    yield from _serve(demo_engine)


@pytest.fixture
def empty_server(engine):
    """The same server against an empty store of this test (it may write)."""
    yield from _serve(engine)


def _serve(engine, **extra_env: str):  # noqa: ANN001, ANN202
    """Start `analytics serve` on a free loopback port against ``engine`` (``extra_env`` added to
    its environment), yield its URL, stop it afterwards."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=engine.url.render_as_string(hide_password=False),
               **extra_env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "analytics", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError(f"streamlit did not start: {proc.stdout.read().decode()[-2000:]}")
    yield url
    proc.terminate()
    try:  # a script run still computing may hold the server up
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


def _open(browser, url: str, heading: str):  # noqa: ANN001, ANN202
    """A new 1400×1000 page at ``url``, once its title ``heading`` shows."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=60_000)
    return page


def _metric_value(page, label: str):  # noqa: ANN001, ANN202
    return page.get_by_test_id("stMetric").filter(has_text=label).first.get_by_test_id("stMetricValue")


def _metric(page, label: str) -> str:
    return _metric_value(page, label).inner_text()


def test_overview_filter_changes_url_and_numbers(server):
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is required: `make test` installs it"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        # A shared link to a page, as the first request to a fresh server, opens inside the router.
        deep = _open(browser, f"{server}/data", "Data")
        nav = deep.get_by_test_id("stSidebarNav")
        for section in ("Delivery", "Reliability", "Store"):
            expect(nav).to_contain_text(section)
        deep.close()

        # Tall enough for the whole sidebar (every page listed, then the filters) and its menus.
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(server)
        expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)
        before = _metric(page, "Deployments")
        assert int(before.replace(",", "")) > 1000

        page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first.click()
        page.get_by_role("option", name="payments", exact=True).click()
        page.keyboard.press("Escape")
        page.wait_for_url("**team=payments**", timeout=20_000)
        expect(page.get_by_test_id("stCaptionContainer").first).to_contain_text("teams: payments",
                                                                                 timeout=30_000)
        # Elements rerender one by one: wait for the tile itself, not just the caption above it.
        expect(_metric_value(page, "Deployments")).not_to_have_text(before, timeout=30_000)
        after = _metric(page, "Deployments")
        assert 0 < int(after.replace(",", "")) < int(before.replace(",", ""))
        page.screenshot(path=str(ARTIFACTS / "overview-filtered.png"), full_page=True)

        # The copied link reopens the same view, later, in a new session (the first tab closed).
        link = page.url
        page.close()
        shared = browser.new_page(viewport={"width": 1400, "height": 1000})
        shared.goto(link)
        expect(shared.get_by_test_id("stCaptionContainer").first).to_contain_text("teams: payments",
                                                                                   timeout=60_000)
        tile = _metric_value(shared, "Deployments")
        try:
            expect(tile).to_have_text(after, timeout=60_000)
        except AssertionError:
            # Seen twice in CI under the other worker's load (never alone): the tiles of a new
            # session missing while the rest of the page had drawn. A reload must show them.
            shared.screenshot(path=str(ARTIFACTS / "overview-shared-missing-tiles.png"), full_page=True)
            shared.reload()
            expect(tile).to_have_text(after, timeout=60_000)
        browser.close()


def test_import_page_uploads_previews_and_imports(empty_server, engine):
    from playwright.sync_api import expect, sync_playwright
    from sqlalchemy import text

    assert Path(CHROMIUM).exists(), "Debian chromium is required: `make test` installs it"
    examples = ROOT / "analytics" / "ingest" / "examples"
    bad = ROOT / "tests" / "fixtures" / "ingest" / "deployments-bad-enum.csv"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = _open(browser, f"{empty_server}/import_data", "Import")
        uploader = page.get_by_test_id("stFileUploader").filter(has_text="File (at most")
        uploader.locator("input[type=file]").set_input_files(str(examples / "deployments.csv"))
        main = page.get_by_test_id("stMain")
        expect(main).to_contain_text("detected kind: deployments", timeout=30_000)
        expect(main).to_contain_text("Rows per table: deployments 3")
        page.get_by_role("button", name="Import").click()
        expect(main).to_contain_text("3 inserted, 0 updated, 0 unchanged", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "import-done.png"), full_page=True)

        uploader.locator("input[type=file]").set_input_files(str(bad))
        expect(main).to_contain_text("this file cannot be imported", timeout=30_000)
        expect(main).to_contain_text("row 2, column 'status', value 'succeeded'")
        expect(page.get_by_role("button", name="Import")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "import-refused.png"), full_page=True)
        browser.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM deployment")).scalar_one() == 3
        assert conn.execute(text("SELECT count(*) FROM import_batch")).scalar_one() == 1
