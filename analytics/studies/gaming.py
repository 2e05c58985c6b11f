"""Metric-gaming detectors an auditor can read (pure: frames in, frames out).

**Bunching just under a target.** If people close incidents to beat a resolution target, the
resolution times pile up just below it. Within a narrow band the density of honest resolution
times is close to flat, so a time in [target − δ, target + δ) falls below the target with
probability ≈ ½. The statistic is the count below (``below``) out of ``below + above``, with a
one-sided exact binomial test against ½ (``p_value``) and the ratio below ÷ above. A decreasing
density (most resolution-time distributions are, past their mode) also pushes the ratio a little
above 1, so a band is flagged only when p < :data:`ALPHA` AND the ratio is at least
:data:`MIN_RATIO`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from scipy.stats import binomtest

ALPHA = 0.01
MIN_RATIO = 1.5


@dataclass(frozen=True)
class Bunching:
    """Counts on each side of ``target`` within ``delta`` (same unit), the ratio and p-value."""

    target: float
    delta: float
    below: int
    above: int
    ratio: float | None
    p_value: float | None

    @property
    def flagged(self) -> bool:
        """p below ALPHA and at least MIN_RATIO times as many just below as just above."""
        return (self.p_value is not None and self.p_value < ALPHA
                and (self.ratio is None or self.ratio >= MIN_RATIO) and self.below > 0)


def bunching(values: pl.Series, target: float, delta: float) -> Bunching:
    """Count ``values`` in [target − delta, target) and [target, target + delta) and test the
    share below against ½ (one-sided, exact binomial).

    >>> b = bunching(pl.Series([9.5, 9.6, 9.7, 9.8, 10.1]), 10, 1)
    >>> b.below, b.above, b.ratio, round(b.p_value, 4)
    (4, 1, 4.0, 0.1875)
    """
    if delta <= 0 or target <= 0:
        raise ValueError(f"target and delta must be positive, got target={target}, delta={delta}")
    v = values.drop_nulls()
    below = int(((v >= target - delta) & (v < target)).sum())
    above = int(((v >= target) & (v < target + delta)).sum())
    n = below + above
    p = float(binomtest(below, n, 0.5, alternative="greater").pvalue) if n else None
    ratio = below / above if above else None
    return Bunching(target, delta, below, above, ratio, p)


def bunching_table(incidents: pl.DataFrame, targets_hours: dict[int, float], *,
                   delta_share: float | None = None, delta_minutes: float | None = None,
                   ) -> pl.DataFrame:
    """One row per severity with a target: resolution times (``resolved_at − opened_at``,
    minutes) bunched within δ of the severity's target. δ is ``delta_share`` × target or a fixed
    ``delta_minutes``."""
    minutes = ((pl.col("resolved_at") - pl.col("opened_at")).dt.total_seconds() / 60.0)
    frame = incidents.filter(pl.col("resolved_at").is_not_null()).with_columns(minutes=minutes)
    rows = []
    for sev, hours in sorted(targets_hours.items()):
        target = hours * 60.0
        delta = target * delta_share if delta_share is not None else float(delta_minutes or 0)
        b = bunching(frame.filter(pl.col("severity") == sev)["minutes"], target, delta)
        rows.append({"severity": sev, "target_hours": hours, "delta_minutes": delta,
                     "just_below": b.below, "just_above": b.above, "ratio": b.ratio,
                     "p_value": b.p_value, "flagged": b.flagged})
    return pl.DataFrame(rows, schema={"severity": pl.Int64, "target_hours": pl.Float64,
                                      "delta_minutes": pl.Float64, "just_below": pl.Int64,
                                      "just_above": pl.Int64, "ratio": pl.Float64,
                                      "p_value": pl.Float64, "flagged": pl.Boolean})


def rows_just_below(incidents: pl.DataFrame, targets_hours: dict[int, float],
                    delta_of: dict[int, float]) -> pl.DataFrame:
    """The incidents resolved in [target − δ, target) of their severity (δ in minutes per
    severity), with minutes to spare: the rows behind a bunching count."""
    minutes = (pl.col("resolved_at") - pl.col("opened_at")).dt.total_seconds() / 60.0
    target = pl.col("severity").replace_strict({k: v * 60.0 for k, v in targets_hours.items()},
                                               default=None, return_dtype=pl.Float64)
    delta = pl.col("severity").replace_strict(delta_of, default=None, return_dtype=pl.Float64)
    return (incidents.filter(pl.col("resolved_at").is_not_null())
            .with_columns(minutes=minutes, target=target, delta=delta)
            .filter((pl.col("minutes") >= pl.col("target") - pl.col("delta"))
                    & (pl.col("minutes") < pl.col("target")))
            .with_columns(minutes_to_spare=pl.col("target") - pl.col("minutes"))
            .sort("minutes_to_spare", "id")
            .select("id", "external_id", "service", "severity", "opened_at", "resolved_at",
                    "minutes", "minutes_to_spare"))


def without_service(incidents: pl.DataFrame) -> pl.DataFrame:
    """Incidents that name no service (they escape every per-service KPI)."""
    return (incidents.filter(pl.col("service_id").is_null()).sort("opened_at", "id")
            .select("id", "external_id", "severity", "title", "opened_at", "resolved_at"))
