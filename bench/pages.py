"""Time every page of app.py in a real browser on the demo store and append a section to
bench/RESULTS.md.

    python bench/pages.py                      # the worktree's store (data/workbench.db)
    python bench/pages.py --db sqlite:///other.db --repeat 5

It starts ``python -m analytics serve`` (on ``--port``, default a free loopback port), opens each
page in Debian's chromium and measures, until the script run has finished and no chart
placeholder is left:

- *first*: the first visit to the page after the server started (its caches are cold), in a
  fresh browser profile (nothing in the browser's HTTP cache), timed from navigation, with the
  server's CPU seconds meanwhile;
- *new tab*: the median of ``--repeat`` later visits, each a new tab and a new Streamlit session,
  with the server's caches and the browser's HTTP cache warm (one profile for all warm visits,
  as a returning user's browser), timed from navigation. Each loads the whole frontend again;
- *in app*: the median of ``--repeat`` visits in one open tab, reached by clicking the page's
  entry in the sidebar navigation (from the page before it in the menu; the first page from the
  last), as a user moves around the open app: timed from the click until the URL names the
  page, its heading is the page's title, and the run has finished;
- *workshop slider*: the median of ``--repeat`` moves of the Threshold workshop's threshold
  slider, from the key press until the page shows the new rule and the run has finished;
- *browser CPU* and *server CPU* of the warm visits (medians, per column): the renderer's
  main-thread task time (Chrome DevTools ``Performance.getMetrics`` TaskDuration) and the server
  process's user + system CPU seconds. Wall-clock times on a shared machine follow its load; CPU
  seconds mostly do not, so they compare runs made under different loads (TaskDuration is the
  busy time of the main thread, so it grows somewhat with load too).

Targets: warm ≤ 1 s (judged on each column), first ≤ 3 s, slider ≤ 0.5 s. Load the demo first (``python -m analytics
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
import urllib.parse
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
# Finished on the page titled ``t`` (the argument): DONE, and the heading is the new page's.
DONE_ON = ("(t) => { const app = document.querySelector('[data-testid=stApp]');"
           " const h1 = document.querySelector('h1');"
           " return app && app.getAttribute('data-test-script-state') === 'notRunning'"
           " && h1 !== null && h1.innerText.trim() === t"
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


def serve(db: str | None, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start the app on ``port`` (default: a free one); return the process and its URL once it
    answers."""
    port = port or _free_port()
    env = dict(os.environ, **({"DATABASE_URL": db} if db else {}))
    proc = subprocess.Popen([sys.executable, "-m", "analytics", "serve", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, answering(proc, port, "the app")


def answering(proc: subprocess.Popen, port: int, name: str) -> str:
    """The URL of the Streamlit server ``proc`` on ``port`` once its health check answers (it
    is killed, and the benchmark stops, if that takes over 60 s)."""
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"{name} did not start within 60 s")


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


def in_app(page, title: str, path: str, server_pid: int | None = None,  # noqa: ANN001
           ) -> tuple[float, float, float]:
    """(seconds from a click on ``title`` in the sidebar navigation of the open tab ``page``
    until its URL path is ``/path``, its heading is ``title`` and the run finished, the
    renderer's main-thread CPU seconds and the server's CPU seconds meanwhile)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    task0 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
    cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
    t0 = time.perf_counter()
    link.click()
    page.wait_for_url(lambda u: urllib.parse.urlparse(u).path.rstrip("/") == f"/{path}".rstrip("/"),
                      timeout=120_000)
    page.wait_for_function(DONE_ON, arg=title, timeout=120_000, polling=50)
    took = time.perf_counter() - t0
    server = (cpu_seconds(server_pid) - cpu0) if server_pid else 0.0
    task1 = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    cdp.detach()
    return took, task1.get("TaskDuration", 0.0) - task0.get("TaskDuration", 0.0), server


def in_app_rounds(context, url: str, todo: list[tuple[str, str]], repeat: int,  # noqa: ANN001
                  server_pid: int | None = None) -> dict[str, list[tuple[float, float, float]]]:
    """``repeat`` rounds through ``todo`` (title, path) in one tab by its sidebar navigation,
    each page reached from the one before it (the first from the last): visits per title."""
    page = context.new_page()
    title, path = todo[-1]
    page.goto(f"{url}/{path}")
    page.wait_for_function(DONE_ON, arg=title, timeout=120_000, polling=50)
    out: dict[str, list[tuple[float, float, float]]] = {t: [] for t, _ in todo}
    for _ in range(repeat):
        for title, path in todo:
            out[title].append(in_app(page, title, path, server_pid))
    page.close()
    return out


def slider_moves(browser, url: str, repeat: int, server_pid: int | None = None,  # noqa: ANN001
                 cpu: list[float] | None = None) -> list[float]:
    """Seconds per move of the workshop's threshold slider (alternately down and up one step);
    the server's CPU seconds of each move are appended to ``cpu`` when given."""
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
        cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
        t0 = time.perf_counter()
        thumb.press(key)
        page.get_by_test_id("stCaptionContainer").filter(has_text=shown).wait_for(timeout=60_000)
        page.wait_for_function(DONE, timeout=60_000, polling=20)
        times.append(time.perf_counter() - t0)
        if cpu is not None and server_pid:
            cpu.append(cpu_seconds(server_pid) - cpu0)
        page.wait_for_timeout(300)
    page.close()
    return times


def _mark(value: float, target: float) -> str:
    return "ok" if value <= target else "**over**"


Visits = list[tuple[float, float, float]]  # (wall s, browser CPU s, server CPU s) per visit


def _cols(visits: Visits) -> str:
    wall = [v[0] for v in visits]
    return (f"{statistics.median(wall):.2f} | {', '.join(f'{w:.2f}' for w in wall)} | "
            f"{statistics.median(v[1] for v in visits):.2f} | "
            f"{statistics.median(v[2] for v in visits):.2f}")


def section(rows: list[tuple[str, tuple[float, float, float], Visits, Visits]],
            slider: list[float], db: str, slider_cpu: list[float] | None = None,
            peak_mb: float = 0.0) -> str:
    """The Markdown section appended to RESULTS.md: per page the first visit, the warm visits
    in new tabs and the warm visits in the open app, each column marked against its target."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n## Pages in the browser ({stamp})\n",
             f"`python bench/pages.py` on {db}: `analytics serve` on loopback, Debian chromium "
             f"1400×1000, {platform.machine()}, {os.cpu_count()} cores (shared). First = first "
             "visit after the server started, fresh browser profile (its server CPU too); new tab = median of later "
             "visits in new tabs and sessions, server caches and browser HTTP cache warm; in app = "
             "median of visits in one open tab by a click on the page in the sidebar navigation; "
             "each until the script run finished and no chart placeholder was left. Browser CPU = "
             "renderer main-thread task time, server CPU = the server process's user + system "
             "seconds, both medians per visit. Targets: first "
             f"≤ {TARGETS['first']:g} s, warm ≤ {TARGETS['warm']:g} s (new tab and in app each), "
             f"workshop slider ≤ {TARGETS['slider']:g} s. Load average at the end: "
             f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (other processes share the cores).\n",
             "| page | first (s) | server CPU, first (s) | new tab, median (s) | new tab runs (s) | browser CPU, new tab (s) "
             "| server CPU, new tab (s) | in app, median (s) | in app runs (s) | browser CPU, in app (s) "
             "| server CPU, in app (s) | first | new tab | in app |",
             "|---|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---|---|---|"]
    for title, first, tabs, clicks in rows:
        lines.append(f"| {title} | {first[0]:.2f} | {first[2]:.2f} | {_cols(tabs)} | {_cols(clicks)} | "
                     f"{_mark(first[0], TARGETS['first'])} | "
                     f"{_mark(statistics.median(v[0] for v in tabs), TARGETS['warm'])} | "
                     f"{_mark(statistics.median(v[0] for v in clicks), TARGETS['warm'])} |")
    med = statistics.median(slider)
    cpu = (f", server CPU {statistics.median(slider_cpu):.3f} s a move (median)" if slider_cpu
           else "")
    lines.append(f"\nThreshold workshop slider move (one step, {len(slider)} moves): median "
                 f"{med:.2f} s ({', '.join(f'{s:.2f}' for s in slider)}){cpu} — "
                 f"{_mark(med, TARGETS['slider'])}.\n")
    if peak_mb:
        lines.append(f"Peak server memory (VmHWM of the server process over the whole run): "
                     f"{peak_mb:,.0f} MB.\n")
    return "\n".join(lines)


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory so far (Linux VmHWM), MB; 0.0 elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _summary(visits: Visits) -> str:
    return (f"{statistics.median(v[0] for v in visits):6.2f} s  browser CPU "
            f"{statistics.median(v[1] for v in visits):5.2f} s  server CPU "
            f"{statistics.median(v[2] for v in visits):5.2f} s")


def main(argv: list[str] | None = None) -> None:
    """Run the page benchmark and append its section to RESULTS.md (or print it)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="DATABASE_URL of the store (default: the app's setting)")
    ap.add_argument("--port", type=int, help="port of the app (default: a free one; on a shared "
                    "machine, one of the ports you were given)")
    ap.add_argument("--repeat", type=int, default=5, help="warm visits per page and slider moves")
    ap.add_argument("--only", nargs="+", metavar="TITLE", help="time only these pages (titles as in the menu)")
    ap.add_argument("--no-write", action="store_true", help="print the section instead of appending it")
    ap.add_argument("--slider-only", action="store_true", help="time only the workshop slider (implies --no-write)")
    ap.add_argument("--first-target", type=float, default=TARGETS["first"],
                    help="seconds a first visit may take (3 on the demo; issue 17 sets 5 at scale 30)")
    args = ap.parse_args(argv)
    TARGETS["first"] = args.first_target
    from playwright.sync_api import sync_playwright

    proc, url = serve(args.db, args.port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            firsts, tabs = {}, {}
            returning = browser.new_context(viewport=VIEWPORT)
            todo = [] if args.slider_only else [(t, p) for t, p in pages() if not args.only or t in args.only]
            for title, path in todo:
                fresh = browser.new_context(viewport=VIEWPORT)
                firsts[title] = visit(fresh, f"{url}/{path}", proc.pid)
                fresh.close()
                tabs[title] = [visit(returning, f"{url}/{path}", proc.pid) for _ in range(args.repeat)]
                print(f"{title:24} first {firsts[title][0]:6.2f} s (server CPU {firsts[title][2]:5.2f} s)  "
                      f"new tab {_summary(tabs[title])}", flush=True)
            clicks = in_app_rounds(returning, url, todo, args.repeat, proc.pid) if todo else {}
            for title, _ in todo:
                print(f"{title:24} in app {_summary(clicks[title])}", flush=True)
            rows = [(title, firsts[title], tabs[title], clicks[title]) for title, _ in todo]
            slider_cpu: list[float] = []
            slider = slider_moves(browser, url, args.repeat, proc.pid, slider_cpu)
            print(f"workshop slider median {statistics.median(slider):.2f} s "
                  f"({', '.join(f'{s:.2f}' for s in slider)}), server CPU median "
                  f"{statistics.median(slider_cpu):.3f} s", flush=True)
            browser.close()
        peak = peak_memory_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = section(rows, slider, args.db or "the default store (data/workbench.db)", slider_cpu,
                   peak)
    if args.slider_only:
        return
    emit(text, args.no_write)


def emit(text: str, no_write: bool) -> None:
    """Print a results section, or append it to RESULTS.md."""
    if no_write:
        print(text)
        return
    with (HERE / "RESULTS.md").open("a") as f:
        f.write(text)
    print(f"appended to {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
