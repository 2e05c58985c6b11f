"""A real browser on a real local-mode server (Debian chromium, playwright): the local-mode
banner names the user and role, a viewer's sidebar has no Import page, and a crafted drill-down
URL shows neither rows nor a download."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest
from tests.auth.roles_helpers import ROOT

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PORT = 8601  # this suite's port (tests/auth)


@pytest.fixture
def viewer_server(demo_engine):
    env = dict(os.environ, DATABASE_URL=demo_engine.url.render_as_string(hide_password=False),
               WORKBENCH_USER="e2e-user", WORKBENCH_LOCAL_ROLE="viewer")
    proc = subprocess.Popen([sys.executable, "-m", "analytics", "serve", "--port", str(PORT)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{PORT}"
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
