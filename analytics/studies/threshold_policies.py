"""Rollback triggers and KPI thresholds from history and SLAs (REFERENCE §4).

Used by ``analytics.reports.thresholds`` (``report rollback-replay`` and the Threshold workshop,
which suggests thresholds from history and from the SLO's error budget). Escalation after
consecutive degraded periods lives in ``analytics.metrics.scorecard``.

A rollback trigger "error rate above X within N minutes of a deployment" is replayed over every
production deployment on the same grid and windowed values as ``thresholds`` (evaluation e is the
instant t0 + eΔ). It fires at the first evaluation in (finished_at, finished_at + N] whose
windowed value is above X. Customer impact saved assumes the rollback is instant when it fires:
the minutes from the trigger to the end of the elevated episode (the first evaluation whose
per-sample value is back at or below X).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import polars as pl

from analytics.metrics.intervals import to_us
from analytics.studies.thresholds import Series

FAILED = ("failed", "rolled_back")


def rollback_replay(series: Series, deployments: pl.DataFrame, threshold: float,
                    within: timedelta, window: timedelta) -> pl.DataFrame:
    """One row per production deployment of a service in ``series``: would_roll_back,
    trigger_at, really_failed, outcome (caught / false rollback / missed / quiet) and
    impact_minutes_saved.

    ``deployments`` is ``queries.deployments`` (rollback actions are remediations, not
    deployments, so they are left out — REFERENCE §1)."""
    if within <= timedelta(0):
        raise ValueError(f"within must be positive, got {within}")
    k = window / series.step
    if k != int(k) or k < 1:
        raise ValueError(f"window {window} must be a whole multiple of the sample step {series.step}")
    d = deployments.filter((pl.col("environment") == "production") & ~pl.col("is_rollback")
                           & pl.col("finished_at").is_not_null()
                           & pl.col("service").is_in(list(series.services))
                           # only deployments the metric history covers can be replayed
                           & (pl.col("finished_at") >= series.start)
                           & (pl.col("finished_at") < series.start + series.step * series.num.shape[1])
                           ).sort("finished_at")
    values = series.values(int(k))
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(series.den > 0, series.num / np.where(series.den > 0, series.den, 1), np.nan)
    n = values.shape[1]
    step_us = series.step / timedelta(microseconds=1)
    t0 = to_us(series.start)
    fin = (d["finished_at"].cast(pl.Datetime("us")).to_numpy().astype(np.int64) - t0) / step_us
    rows = d["service"].replace_strict({s: i for i, s in enumerate(series.services)},
                                       return_dtype=pl.Int64).to_numpy()
    horizon = within / series.step
    trigger = np.full(d.height, np.nan)
    saved = np.zeros(d.height)
    for j, (r, f) in enumerate(zip(rows, fin, strict=True)):
        # evaluations e in (f, f + horizon] read sample e − 1
        lo, hi = int(np.floor(f)) + 1, int(np.floor(f + horizon))
        lo_i, hi_i = max(lo - 1, 0), min(hi, n)
        if hi_i <= lo_i:
            continue
        above = np.flatnonzero(values[r, lo_i:hi_i] > threshold)
        if above.size == 0:
            continue
        e = lo_i + above[0] + 1
        trigger[j] = e
        back = np.flatnonzero(~(raw[r, e - 1:] > threshold))
        end = e - 1 + (back[0] if back.size else n - e + 1)  # start of the first good sample
        saved[j] = (end - e) * (series.step / timedelta(minutes=1))
    fired = ~np.isnan(trigger)
    failed = d["status"].is_in(FAILED).to_numpy()
    outcome = np.select([fired & failed, fired & ~failed, ~fired & failed],
                        ["caught", "false rollback", "missed"], "quiet")
    trigger_at = pl.Series((t0 + np.nan_to_num(trigger) * step_us).astype(np.int64)).cast(pl.Datetime("us"))
    return d.select("id", "service", "finished_at", "status").with_columns(
        would_roll_back=pl.Series(fired), really_failed=pl.Series(failed),
        trigger_at=pl.when(pl.Series(fired)).then(trigger_at),
        outcome=pl.Series(outcome),
        impact_minutes_saved=pl.Series(np.where(fired & failed, saved, 0.0)))


def rollback_summary(replayed: pl.DataFrame) -> dict:
    """Counts of each outcome, precision/recall of the trigger and total minutes saved."""
    counts = {o: int((replayed["outcome"] == o).sum()) for o in ("caught", "false rollback", "missed", "quiet")}
    fired = counts["caught"] + counts["false rollback"]
    failures = counts["caught"] + counts["missed"]
    return {"deployments": replayed.height, **counts,
            "precision": counts["caught"] / fired if fired else None,
            "recall": counts["caught"] / failures if failures else None,
            "impact_minutes_saved": float(replayed["impact_minutes_saved"].sum())}


def thresholds_from_history(values: Sequence[float] | np.ndarray, warn_pct: float = 75.0,
                            critical_pct: float = 90.0, direction: str = "lower") -> dict:
    """Warn and critical thresholds as percentiles of past values (e.g. MTTR hours).

    ``direction`` is the catalogue's spelling of which way is better: for ``"lower"`` (the
    default) high values warn; for ``"higher"`` the mirror percentiles are used (warn below
    p25, critical below p10). NaNs (no traffic) are ignored.

    >>> thresholds_from_history([1, 2, 3, 4, 5])
    {'warn_above': 4.0, 'critical_above': 4.6}
    """
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        raise ValueError("values: no history to propose thresholds from")
    if direction == "lower":
        return {"warn_above": float(np.percentile(v, warn_pct)),
                "critical_above": float(np.percentile(v, critical_pct))}
    if direction == "higher":
        return {"warn_below": float(np.percentile(v, 100 - warn_pct)),
                "critical_below": float(np.percentile(v, 100 - critical_pct))}
    raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}")


def thresholds_from_sla(commitment: float, warn_share: float = 0.8) -> dict:
    """Thresholds from an SLA commitment (e.g. restore within 4 h): warn at ``warn_share`` of it,
    critical at the commitment itself, so the team hears before the contract is breached.

    >>> thresholds_from_sla(4.0)
    {'warn_above': 3.2, 'critical_above': 4.0}
    """
    if commitment <= 0 or not 0 < warn_share <= 1:
        raise ValueError("commitment must be positive and warn_share in (0, 1]")
    return {"warn_above": round(commitment * warn_share, 10), "critical_above": float(commitment)}

