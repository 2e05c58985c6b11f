"""Time every page of app.py in a real browser on the demo store and append a section to
bench/RESULTS.md.

    python bench/pages.py                      # the worktree's store (data/workbench.db)
    python bench/pages.py --db sqlite:///other.db --repeat 5

It starts ``python -m analytics serve`` on a free loopback port, opens each page in Debian's
chromium (a new tab per visit) and measures, from navigation until the script run has finished
and no chart placeholder is left:

- *first*: the first visit to the page after the server started (its caches are cold), in a
  fresh browser profile (nothing in the browser's HTTP cache);
- *warm*: the median of ``--repeat`` later visits, each a new tab and a new Streamlit session,
  with the server's caches and the browser's HTTP cache warm (one profile for all warm visits,
  as a returning user's browser). A fresh profile per visit re-downloads and re-parses the whole
  frontend bundle: about 0.15 s more server CPU and 1 s more browser CPU per visit here;
- *workshop slider*: the median of ``--repeat`` moves of the Threshold workshop's threshold
  slider, from the key press until the page shows the new rule and the run has finished;
- *browser CPU* and *server CPU* of the warm visits (medians): the renderer's main-thread task
  time (Chrome DevTools ``Performance.getMetrics`` TaskDuration) and the server process's user +
  system CPU seconds. Wall-clock times on a shared machine follow its load; CPU seconds mostly
  do not, so they compare runs made under different loads.

Targets: warm ≤ 1 s, first ≤ 3 s, slider ≤ 0.5 s. Load the demo first (``python -m analytics
init && python -m analytics demo --if-empty``).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TARGETS = {"first": 3.0, "warm": 1.0, "slider": 0.5}
# Finished: the script is not running and no element is still a loading placeholder.
DONE = ("() => { const app = document.querySelector('[data-testid=stApp]');"
        " return app && app.getAttribute('data-test-script-state') === 'notRunning'"
        " && document.querySelector('h1') !== null"
        " && !document.querySelector('[data-testid=stSkeleton]'); }")


def pages() -> list[tuple[str, str]]:
    """(title, url path) of every page app.py routes to, in menu order; the default page is "".

    >>> ("Threshold workshop", "workshop") in pages()
    True
    """
    text = (ROOT / "app.py").read_text()
    found = re.findall(r'st\.Page\("pages/(\w+)\.py", title="([^"]+)"[^)]*?(default=True)?\)', text)
    return [(title, "" if default else name) for name, title, default in found]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc), 0.0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(db: str | None) -> tuple[subprocess.Popen, str]:
    """Start the app on a free port; return the process and its URL once it answers."""
    port = _free_port()
    env = dict(os.environ, **({"DATABASE_URL": db} if db else {}))
    proc = subprocess.Popen([sys.executable, "-m", "analytics", "serve", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the app did not start within 60 s")


VIEWPORT = {"width": 1400, "height": 1000}


def visit(context, url: str, server_pid: int | None = None) -> tuple[float, float, float]:  # noqa: ANN001
    """(seconds from navigation until the page's run finished and its charts are drawn, the
    renderer's main-thread CPU seconds, the server's CPU seconds meanwhile), in a new tab of
    the browser ``context`` (a profile: its HTTP cache is shared by its tabs)."""
    page = context.new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(DONE, timeout=120_000, polling=50)
    took = time.perf_counter() - t0
    server = (cpu_seconds(server_pid) - cpu0) if server_pid else 0.0
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    page.close()
    return took, metrics.get("TaskDuration", 0.0), server


def slider_moves(browser, url: str, repeat: int) -> list[float]:  # noqa: ANN001
    """Seconds per move of the workshop's threshold slider (alternately down and up one step)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/workshop")
    page.wait_for_function(DONE, timeout=120_000, polling=50)
    thumb = page.get_by_test_id("stSlider").filter(has_text="Threshold").get_by_role("slider")
    thumb.focus()
    times = []
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text="Proposed rule: above ")
    for i in range(repeat):
        value = float(re.search(r"Proposed rule: above ([0-9.e-]+) ", caption.inner_text()).group(1))
        key, target = ("ArrowLeft", value - 0.001) if i % 2 == 0 else ("ArrowRight", value + 0.001)
        shown = f"Proposed rule: above {round(target, 3):g} "
        t0 = time.perf_counter()
        thumb.press(key)
        page.get_by_test_id("stCaptionContainer").filter(has_text=shown).wait_for(timeout=60_000)
        page.wait_for_function(DONE, timeout=60_000, polling=20)
        times.append(time.perf_counter() - t0)
        page.wait_for_timeout(300)
    page.close()
    return times


def _mark(value: float, target: float) -> str:
    return "ok" if value <= target else "**over**"


def section(rows: list[tuple[str, float, list[tuple[float, float, float]]]], slider: list[float],
            db: str) -> str:
    """The Markdown section appended to RESULTS.md."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n## Pages in the browser ({stamp})\n",
             f"`python bench/pages.py` on {db}: `analytics serve` on loopback, Debian chromium "
             f"1400×1000, {platform.machine()}, {os.cpu_count()} cores (shared). First = first "
             "visit after the server started, fresh browser profile; warm = median of later visits in "
             "new tabs and sessions, server caches and browser HTTP cache warm; "
             "until the script run finished and no chart placeholder was left. Targets: first "
             f"≤ {TARGETS['first']:g} s, warm ≤ {TARGETS['warm']:g} s, workshop slider ≤ "
             f"{TARGETS['slider']:g} s. Load average at the end: "
             f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (other processes share the cores).\n",
             "| page | first (s) | warm, median (s) | warm runs (s) | browser CPU, warm (s) | "
             "server CPU, warm (s) | first | warm |",
             "|---|---:|---:|---|---:|---:|---|---|"]
    for title, first, visits in rows:
        warm = [v[0] for v in visits]
        med = statistics.median(warm)
        lines.append(f"| {title} | {first:.2f} | {med:.2f} | {', '.join(f'{w:.2f}' for w in warm)} | "
                     f"{statistics.median(v[1] for v in visits):.2f} | "
                     f"{statistics.median(v[2] for v in visits):.2f} | "
                     f"{_mark(first, TARGETS['first'])} | {_mark(med, TARGETS['warm'])} |")
    med = statistics.median(slider)
    lines.append(f"\nThreshold workshop slider move (one step, {len(slider)} moves): median "
                 f"{med:.2f} s ({', '.join(f'{s:.2f}' for s in slider)}) — "
                 f"{_mark(med, TARGETS['slider'])}.\n")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the page benchmark and append its section to RESULTS.md (or print it)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="DATABASE_URL of the store (default: the app's setting)")
    ap.add_argument("--repeat", type=int, default=5, help="warm visits per page and slider moves")
    ap.add_argument("--no-write", action="store_true", help="print the section instead of appending it")
    ap.add_argument("--slider-only", action="store_true", help="time only the workshop slider (implies --no-write)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    proc, url = serve(args.db)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            rows = []
            returning = browser.new_context(viewport=VIEWPORT)
            for title, path in [] if args.slider_only else pages():
                fresh = browser.new_context(viewport=VIEWPORT)
                first = visit(fresh, f"{url}/{path}")[0]
                fresh.close()
                warm = [visit(returning, f"{url}/{path}", proc.pid) for _ in range(args.repeat)]
                rows.append((title, first, warm))
                print(f"{title:24} first {first:6.2f} s  warm {statistics.median(w[0] for w in warm):6.2f} s"
                      f"  browser CPU {statistics.median(w[1] for w in warm):5.2f} s"
                      f"  server CPU {statistics.median(w[2] for w in warm):5.2f} s", flush=True)
            slider = slider_moves(browser, url, args.repeat)
            print(f"workshop slider median {statistics.median(slider):.2f} s {slider}", flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = section(rows, slider, args.db or "the default store (data/workbench.db)")
    if args.slider_only:
        return
    if args.no_write:
        print(text)
    else:
        with (HERE / "RESULTS.md").open("a") as f:
            f.write(text)
        print(f"appended to {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
