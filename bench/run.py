"""Time the workbench's whole operations at scale and write bench/RESULTS.md.

    python bench/run.py --scale 30            # ≈1M deployments, ≈6M tickets
    python bench/run.py --scale 2 --db postgresql+psycopg://postgres@127.0.0.1:5432/bench

It builds the demo organisation ``--scale`` times larger (more services; 5-minute SLIs only for
the first 40), writes it into a fresh store, reads every table into polars, and runs every
`report` the CLI has. Later features add their timed steps to STEPS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import polars as pl  # noqa: E402

from analytics import demo  # noqa: E402
from analytics.store import queries  # noqa: E402
from analytics.store.db import get_engine, migrate, read_frame  # noqa: E402

END = date(2026, 11, 22)
READ_TABLES = ("deployment", "change", "incident", "ticket", "csat_response", "sli_sample")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """Collects rows of the results table."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def time(self, name: str, fn: Callable[[], int], note: str = "") -> object:
        t0 = time.perf_counter()
        rows = fn()
        secs = time.perf_counter() - t0
        self.rows.append({"operation": name, "rows": rows, "seconds": round(secs, 2),
                          "rows_per_s": int(rows / secs) if secs and rows else None,
                          "peak_mb": round(_peak_mb()), "note": note})
        print(f"{name:45s} {rows:>12,} rows {secs:8.2f} s", flush=True)
        return rows


def _fresh_engine(url: str | None, scale: int | str):  # noqa: ANN202
    if url:
        engine = get_engine(url)
    else:
        path = HERE / f"bench-{scale}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = get_engine(f"sqlite:///{path}")
    migrate(engine)
    return engine


def _reports(engine) -> list[tuple[str, list[str]]]:  # noqa: ANN001
    """Every registered report, with the arguments a benchmark run gives it."""
    import importlib

    from analytics.cli.report import REPORT_MODULES

    extra = {"sla": ["--month", "2026-10"],
             "threshold-replay": ["--metric", "error_rate", "--service", "checkout", "--threshold",
                                  "0.05", "--window", "15m", "--for", "5m", "--cooldown", "30m"]}
    return [(importlib.import_module(m).NAME, extra.get(importlib.import_module(m).NAME, []))
            for m in REPORT_MODULES]


CSAT_ROWS = 2_000_000
THEME_TEXTS = 200_000


def _customer_steps(timer: Timer, engine) -> None:  # noqa: ANN001
    """CSAT trends + control charts over ≈2M answers, themes over 200k ticket texts (issue 8).

    The inputs come from the store's own frames: the answers repeated until there are 2M (the
    same periods, so the charts do real work), the texts a seeded sample (repeated if short)."""
    from analytics.metrics.control_charts import ewma_chart, p_chart
    from analytics.metrics.csat import csat_periods, overall
    from analytics.studies.themes import fit_themes, theme_volume

    answers = read_frame(engine, "SELECT responded_at, score, nps, service_id FROM csat_response")
    big = pl.concat([answers] * -(-CSAT_ROWS // answers.height)).head(CSAT_ROWS)

    def trends() -> int:
        overall(big)
        p_chart(csat_periods(big, "week"))
        ewma_chart(csat_periods(big, "day"))
        return big.height

    timer.time("CSAT trends + p-chart + EWMA (2M answers)", trends,
               f"{answers.height:,} stored answers repeated; weekly p-chart, daily EWMA, overall")
    texts = read_frame(engine, "SELECT opened_at, text FROM ticket")
    reps = -(-THEME_TEXTS // texts.height)
    corpus = pl.concat([texts] * reps).sample(THEME_TEXTS, seed=0)

    def themes() -> int:
        theme_volume(fit_themes(corpus, n_themes=8), "opened_at", "week")
        return corpus.height

    timer.time("themes: scrub + TF-IDF + NMF (200k texts)", themes,
               f"seeded sample of {texts.height:,} stored ticket texts; 8 themes, weekly volume")


def run(scale: int, url: str | None) -> list[dict[str, object]]:
    """Run every timed step; return the result rows."""
    timer = Timer()
    frames: dict[str, pl.DataFrame] = {}

    def generate() -> int:
        frames.update(demo.generate(seed=7, end=END, scale=scale))
        return sum(f.height for f in frames.values())

    timer.time("generate organisation (numpy/polars)", generate)
    engine = _fresh_engine(url, scale)
    dialect = engine.dialect.name
    timer.time(f"write all tables ({dialect}, one transaction)", lambda: sum(demo.load(engine, frames).values()))
    import_step(timer, frames)
    frames.clear()
    for table in READ_TABLES:
        timer.time(f"read {table} into polars", lambda t=table: read_frame(engine, f'SELECT * FROM "{t}"').height)

    timer.time("read deployments for metrics (queries.deployments)",
               lambda: queries.deployments(engine).height,
               "the columns the metrics use, joined with their service")
    delivery_steps(timer, engine)

    from analytics.cli import main

    db = engine.url.render_as_string(hide_password=False)
    for name, args in _reports(engine):
        def report(name: str = name, args: list[str] = args) -> int:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(["--db", db, "report", name, *args, "--format", "json"])
            if code:
                raise RuntimeError(f"report {name} exited {code}")
            return 0
        timer.time(f"report {name} (CLI, JSON)", report)
    _customer_steps(timer, engine)
    return timer.rows


def import_step(timer: Timer, frames: dict[str, pl.DataFrame], rows: int = 1_000_000) -> None:
    """`import deployments` of a canonical CSV with ``rows`` rows into an empty store (issue 3)."""
    from analytics.ingest.importer import import_files

    dep = frames["deployment"].head(rows)
    names = frames["service"].select(service_id="id", service="name")
    csv = HERE / "bench-deployments.csv"
    (dep.join(names, on="service_id")
     .select(id="external_id", service="service", environment="environment",
             finished_at=pl.col("finished_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
             status="status", started_at=pl.col("started_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
             version="version", is_rollback="is_rollback", unplanned="unplanned",
             emergency="emergency", lines_changed="lines_changed",
             files_changed="files_changed", test_coverage="test_coverage")
     .write_csv(csv))
    target = _fresh_engine(None, "import")  # the target is SQLite (the figure)
    try:
        timer.time(f"import deployments CSV ({dep.height:,} rows, {target.dialect.name})",
                   lambda: import_files(target, "deployments", [csv], actor="bench").inserted,
                   "python -m analytics import deployments FILE, into an empty store")
    finally:
        csv.unlink(missing_ok=True)


def delivery_steps(timer: Timer, engine) -> None:  # noqa: ANN001
    """The delivery report on frames already read, in polars and in plain pandas (issue 4)."""
    from analytics.cli.report_delivery import read_inputs
    from analytics.metrics.delivery_report import delivery_report
    from bench.delivery_pandas import delivery_report_pandas

    filters = queries.Filters()
    deps, changes, incs = read_inputs(engine, filters, 48.0)
    n = deps.height + changes.height + incs.height
    lo = deps["finished_at"].min().date()
    hi = deps["finished_at"].max().date()
    out: dict[str, object] = {}
    timer.time("delivery report, polars (data already read)", lambda: (
        out.update(pl=delivery_report(deps, changes, incs, start=lo, end=hi)) or n))
    pdeps, pchanges, pincs = deps.to_pandas(), changes.to_pandas(), incs.to_pandas()
    start = datetime.combine(lo, datetime.min.time())
    end = datetime.combine(hi, datetime.min.time()) + timedelta(days=1)
    timer.time("delivery report, plain pandas (same figures)", lambda: (
        out.update(pd=delivery_report_pandas(pdeps, pchanges, pincs, start=start, end=end)) or n))
    same = out["pl"]["change_failure_rate"]["failed"] == out["pd"]["change_failure_rate"]["failed"]
    ratio = timer.rows[-1]["seconds"] / max(timer.rows[-2]["seconds"], 1e-9)
    timer.rows[-1]["note"] = f"pandas ÷ polars = {ratio:.1f}×; same CFR numerator: {same}"


def write_results(rows: list[dict[str, object]], scale: int, url: str | None) -> str:
    """Render the results table (markdown) and write bench/RESULTS.md."""
    machine = (f"{platform.node()} · {platform.machine()} · {os.cpu_count()} cores · "
               f"Python {platform.python_version()} · polars {pl.__version__}")
    lines = [
        "# Benchmark results", "",
        f"`python bench/run.py --scale {scale}`" + (f" against `{url.split('@')[-1]}`" if url else " (SQLite)"),
        f"on {machine}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
        "| operation | rows | seconds | rows/s | peak memory (MB) | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        rps = f"{r['rows_per_s']:,}" if r["rows_per_s"] else ""
        lines.append(f"| {r['operation']} | {r['rows']:,} | {r['seconds']} | {rps} | {r['peak_mb']} | {r['note']} |")
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS.md").write_text(text)
    return text


def main() -> None:
    """Parse arguments, run, write and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=30, help="organisation size multiplier (default 30)")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file in bench/)")
    args = parser.parse_args()
    rows = run(args.scale, args.db)
    print(write_results(rows, args.scale, args.db))


if __name__ == "__main__":
    main()
