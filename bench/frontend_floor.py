"""How long a new tab takes for Streamlit's frontend alone: the floor under every page's
"new tab" column of bench/pages.py.

    python bench/frontend_floor.py --db sqlite:///data/workbench.db [--repeat 5] [--no-write]

Three apps, each visited like bench/pages.py's *new tab* (a new tab and session, server caches
and the browser's HTTP cache warm, timed from navigation until the run finished):

- *hello*: a one-file app with a title and a line of text;
- *navigation*: app.py's 18-page navigation (same titles, icons, sections, wide layout) with
  pages that only draw their title;
- *navigation + filters*: the same, on a page that also draws the sidebar filter widgets (a
  period date input, a text input, team and service multiselects, an environment select);
- and the workbench's own Import page (no data read, no chart, no table) for comparison.

The difference between *hello* and a page of the app is what the app's content costs in the
browser; *hello* is what no app change can remove.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pages import CHROMIUM, FLAGS, ROOT, VIEWPORT, _free_port, answering, emit, serve, visit

FILTERS = '''from datetime import date
with st.sidebar:
    st.subheader("Filters")
    st.date_input("Period", value=(date(2026, 1, 1), date(2026, 3, 31)))
    st.text_input("Type a period, then Enter")
    st.multiselect("Teams", [f"team {i}" for i in range(8)])
    st.multiselect("Services", [f"service {i}" for i in range(40)])
    st.selectbox("Environment", ["production", "staging"])
'''


def write_apps(folder: Path) -> None:
    """The hello app and the navigation app (pages from app.py's PAGES) under ``folder``."""
    (folder / "hello.py").write_text('import streamlit as st\nst.title("Hello")\nst.write("one line")\n')
    src = (ROOT / "app.py").read_text()
    (folder / "pages").mkdir()
    for name, title in re.findall(r'st\.Page\("pages/(\w+)\.py", title="([^"]+)"', src):
        extra = FILTERS if name == "overview" else ""
        (folder / "pages" / f"{name}.py").write_text(f"import streamlit as st\n{extra}st.title({title!r})\n")
    pages = src[src.index("PAGES = {"):src.index("\n}\n") + 3]
    (folder / "nav.py").write_text(
        'import streamlit as st\nst.set_page_config(page_title="Floor", page_icon=":material/monitoring:", '
        f'layout="wide")\n{pages}st.navigation(PAGES, expanded=True).run()\n')


def streamlit(script: Path) -> tuple[subprocess.Popen, str]:
    """``streamlit run script`` on a free loopback port; the process and its URL once it answers."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"], cwd=script.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, answering(proc, port, script.name)


def main(argv: list[str] | None = None) -> None:
    """Time new tabs of the three apps and the Import page; print or append the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="DATABASE_URL of the store for the workbench's Import page")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-write", action="store_true", help="print instead of appending to RESULTS.md")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_apps(folder)
        hello, hello_url = streamlit(folder / "hello.py")
        nav, nav_url = streamlit(folder / "nav.py")
        app, app_url = serve(args.db)
        targets = [("hello (one title, one line)", hello_url, hello),
                   ("navigation (18 pages, icons)", f"{nav_url}/delivery", nav),
                   ("navigation + sidebar filters", nav_url, nav),
                   ("workbench Import page", f"{app_url}/import_data", app)]
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                for name, url, proc in targets:
                    context = browser.new_context(viewport=VIEWPORT)
                    visit(context, url)  # fills the HTTP cache, as a returning user's browser
                    runs = [visit(context, url, proc.pid) for _ in range(args.repeat)]
                    context.close()
                    rows.append((name, *(statistics.median(r[i] for r in runs) for i in range(3))))
                    print(f"{name:32} {rows[-1][1]:.2f} s", flush=True)
                browser.close()
        finally:
            for proc in (hello, nav, app):
                proc.terminate()
    load = " ".join(f"{x:.1f}" for x in __import__("os").getloadavg())
    text = (f"\n## Streamlit frontend floor, new tab ({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC)\n\n"
            f"`python bench/frontend_floor.py --repeat {args.repeat}`: medians of {args.repeat} new tabs "
            f"(HTTP cache warm), Debian chromium, load average {load}.\n\n"
            "| app | new tab (s) | browser CPU (s) | server CPU (s) |\n|---|---:|---:|---:|\n"
            + "".join(f"| {n} | {w:.2f} | {b:.2f} | {s:.2f} |\n" for n, w, b, s in rows))
    emit(text, args.no_write)


if __name__ == "__main__":
    main()
