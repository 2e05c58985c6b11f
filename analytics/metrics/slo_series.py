"""Time series behind the SLO charts: budget burn-down against the ideal line, and burn rates
over each alert's long window with its threshold (REFERENCE §2).

Both are evaluated on a regular grid (hourly by default) with the cumulative sums of
:class:`analytics.metrics.slo.SliSeries`, so a chart never needs the raw samples.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from analytics.metrics.slo import SliSeries, Window, budgeted_samples, check_target
from analytics.metrics.slo_alerts import DEFAULT_ALERTS, AlertSpec, span

BURN_DOWN_SCHEMA = {"ts": pl.Datetime("us"), "remaining": pl.Float64, "ideal": pl.Float64}
BURN_RATE_SCHEMA = {"ts": pl.Datetime("us"), "alert": pl.String, "window": pl.String,
                    "burn": pl.Float64, "short_burn": pl.Float64, "factor": pl.Float64}


def _grid(lo: datetime, hi: datetime, step: timedelta) -> np.ndarray:
    """µs instants lo + k·step up to and including hi."""
    if step <= timedelta(0):
        raise ValueError(f"step must be positive, got {step!r}")
    lo_us = np.datetime64(lo, "us").astype(np.int64)
    hi_us = np.datetime64(hi, "us").astype(np.int64)
    pts = np.arange(lo_us, hi_us, step // timedelta(microseconds=1), dtype=np.int64)
    return np.append(pts, hi_us)


def _one(slos: pl.DataFrame, slo_id: int) -> dict:
    rows = slos.filter(pl.col("slo_id") == slo_id)
    if rows.height != 1:
        raise ValueError(f"slo_id: unknown SLO {slo_id!r}")
    slo = rows.row(0, named=True)
    check_target(slo["target"])
    return slo


def burn_down(samples: pl.DataFrame, slos: pl.DataFrame, slo_id: int, at: datetime,
              step: timedelta = timedelta(hours=1)) -> pl.DataFrame:
    """Error budget remaining (share) through the SLO's current window, and the ideal line.

    remaining(t) = 1 − bad events in [window start, t) ÷ ((1 − target) × events in
    [window start, at)), so the last point equals ``slo_status``'s budget_remaining. The ideal
    line falls linearly from 1 at the window start to 0 at the period end (``at`` for a rolling
    window, the end of the month or quarter for a calendar one). Empty without events.

    >>> from datetime import datetime as dt
    >>> s = pl.DataFrame({"slo_id": [1, 1], "ts": [dt(2026, 1, 1, 0), dt(2026, 1, 1, 1)],
    ...                   "good": [999.0, 1000.0], "total": [1000.0, 1000.0]})
    >>> o = pl.DataFrame({"slo_id": [1], "slo": ["x"], "target": [0.999],
    ...                   "window_kind": ["rolling"], "window_days": [1]})
    >>> round(burn_down(s, o, 1, dt(2026, 1, 1, 2))["remaining"][-1], 9)
    0.5
    """
    slo = _one(slos, slo_id)
    window = Window.of(slo)
    start, period_end = window.bounds(at)
    series = SliSeries.build(budgeted_samples(samples, slos.filter(pl.col("slo_id") == slo_id)))
    total, _bad = series.sums(slo_id, start, at)
    allowed = float(total) * (1.0 - slo["target"])
    if allowed <= 0:
        return pl.DataFrame(schema=BURN_DOWN_SCHEMA)
    pts = _grid(start, at, step)
    _tot, bad = series.sums(slo_id, np.full(pts.size, np.datetime64(start, "us").astype(np.int64)),
                            pts)
    start_us = pts[0]
    length = np.datetime64(period_end, "us").astype(np.int64) - start_us
    return pl.DataFrame({"ts": pts.astype("datetime64[us]"), "remaining": 1.0 - bad / allowed,
                         "ideal": 1.0 - (pts - start_us) / length}, schema=BURN_DOWN_SCHEMA)


def burn_rates(samples: pl.DataFrame, slos: pl.DataFrame, slo_id: int, since: datetime,
               at: datetime, alerts: tuple[AlertSpec, ...] = DEFAULT_ALERTS,
               step: timedelta = timedelta(hours=1)) -> pl.DataFrame:
    """Burn rate over each alert's long and short window, evaluated every ``step`` in
    [since, at].

    burn(t) = bad ÷ total over [t − long window, t) ÷ (1 − target), ``short_burn`` the same over
    the short window; null where the window holds no events. ``factor`` is the alert's
    threshold for the SLO's period at ``at``; the pair fires when both exceed it.
    """
    if since >= at:
        raise ValueError(f"since must be before at, got {since} ≥ {at}")
    slo = _one(slos, slo_id)
    period = Window.of(slo).period(at)
    series = SliSeries.build(budgeted_samples(samples, slos.filter(pl.col("slo_id") == slo_id)))
    pts = _grid(since, at, step)
    parts = []
    for spec in alerts:
        burn = {}
        for key, window in (("burn", spec.long_window), ("short_burn", spec.short_window)):
            total, bad = series.sums(slo_id, pts - window // timedelta(microseconds=1), pts)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(total > 0, bad / np.where(total > 0, total, 1.0), np.nan)
            burn[key] = ratio / (1.0 - slo["target"])
        parts.append(pl.DataFrame({
            "ts": pts.astype("datetime64[us]"), "alert": spec.name,
            "window": span(spec.long_window), **burn,
            "factor": spec.factor(period)}, schema=BURN_RATE_SCHEMA).fill_nan(None))
    return pl.concat(parts)
