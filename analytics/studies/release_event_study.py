"""Event study around releases: mean hourly counts by hour relative to the release."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from analytics.studies.release_blocks import Expected
from analytics.studies.release_panel import Panel

CHUNK = 2_000  # releases per pass (see event_study)

def event_study(panel: Panel, expected: Expected | None = None, *, kind: str = "tickets",
                span: int = 72, max_releases: int = 20_000, seed: int = 0) -> pl.DataFrame:
    """Mean count per release by hour relative to the release (−span … +span), by outcome.

    Columns ``outcome`` (failed/success), ``rel_hour``, ``releases``, ``mean``, ``low``,
    ``high`` (mean ± 1.96 standard errors across releases; overlapping windows make releases
    dependent, so read the band as a lower bound on uncertainty) and, given the model's
    ``expected`` counts without any release effect, ``expected`` — the
    hour-of-week profile alone, which shows how much of the shape is seasonality (REFERENCE §4:
    deploys cluster in business hours). Above ``max_releases`` per outcome a seeded sample is
    used: the mean is then already precise to well under a percent.
    """
    counts = {"tickets": panel.tickets, "incidents": panel.incidents}[kind]
    n_s, n_t = counts.shape
    rng = np.random.default_rng(seed)
    rel_h = np.arange(-span, span + 1)
    parts = []
    # Only the columns used: a filter copies every column it carries (service names too).
    inside = panel.releases.select("s", "r", "failed").filter((pl.col("r") >= 0) & (pl.col("r") < n_t))
    for outcome, failed in (("failed", True), ("success", False)):
        rel = inside.filter(pl.col("failed") == failed)
        if rel.height > max_releases:
            rel = rel[np.sort(rng.choice(rel.height, max_releases, replace=False))]
        r_all, s_all = rel["r"].to_numpy(), rel["s"].to_numpy()

        def chunks() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
            """(ok, values, rows, hours) of CHUNK releases at a time × the hours around them:
            a few MB each, where all 20,000 at once were arrays of 23 MB apiece."""
            for i in range(0, r_all.size, CHUNK):
                t = r_all[i:i + CHUNK, None] + rel_h[None, :]
                ok = (t >= 0) & (t < n_t)
                rows, t = s_all[i:i + CHUNK, None], np.clip(t, 0, n_t - 1)
                yield ok, np.where(ok, counts.reshape(-1)[rows * n_t + t], np.nan), rows, t

        n = np.zeros(rel_h.size, dtype=np.int64)
        total = np.zeros(rel_h.size)
        for ok, vals, _, _ in chunks():
            n += ok.sum(axis=0)
            total += np.nansum(vals, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n
            squares = sum((np.nansum((vals - mean) ** 2, axis=0) for _, vals, _, _ in chunks()),
                          np.zeros(rel_h.size))
            sd = np.sqrt(squares / np.maximum(n - 1, 1))
            half = 1.96 * sd / np.sqrt(n)
        cols = {"outcome": outcome, "rel_hour": rel_h, "releases": n, "mean": mean,
                "low": mean - half, "high": mean + half}
        if expected is not None:
            base = sum((np.nansum(np.where(ok, expected.at(np.broadcast_to(rows, t.shape), t),
                                           np.nan), axis=0) for ok, _, rows, t in chunks()),
                       np.zeros(rel_h.size))
            with np.errstate(invalid="ignore", divide="ignore"):
                cols["expected"] = base / n
        parts.append(pl.DataFrame(cols).with_columns(pl.col("releases").cast(pl.Int64)))
    return pl.concat(parts).with_columns(pl.col(pl.Float64).fill_nan(None))
