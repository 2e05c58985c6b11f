"""MTTR baselines from history: per service, p50/p80 restore time of the last N months,
proposed as its threshold and set against the SLA commitment of its tier (issue 4 item 5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import polars as pl

from analytics.metrics.delivery import PRODUCTION
from analytics.metrics.frames import INCIDENT_COLUMNS, Frame, conform, hours

# ASSUMPTION (not in REFERENCE): restore-time commitment per tier, hours. Contracts that state
# their own commitment pass it in ``commitments``.
DEFAULT_TIER_COMMITMENT_HOURS: dict[str, float] = {"gold": 4.0, "silver": 8.0, "bronze": 24.0}
DEFAULT_MONTHS = 6
PROPOSED_QUANTILE = 0.8  # the p80 becomes the proposed threshold; p50 is shown beside it
SMALL_INCIDENTS = 5


def mttr_baselines(incidents: Frame, *, months: int = DEFAULT_MONTHS,
                   as_of: datetime | None = None,
                   commitments: Mapping[str, float] = DEFAULT_TIER_COMMITMENT_HOURS,
                   environments: Sequence[str] | None = PRODUCTION) -> pl.DataFrame:
    """One row per service: restore-time p50/p80 (hours) over incidents opened in the
    ``months`` calendar months before ``as_of`` (default: the day after the last incident),
    ``proposed_threshold_hours`` (= p80), the tier's ``commitment_hours``,
    ``within_commitment`` (p80 ≤ commitment) and ``headroom_hours``.

    Unresolved incidents and negative restore times are left out, as in MTTR.
    """
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ValueError(f"months: expected a positive whole number, got {months!r}")
    bad = {t: v for t, v in commitments.items()
           if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0}
    if bad:
        raise ValueError(f"commitments: hours must be positive numbers, got {bad}")
    inc = conform(incidents, "incidents", INCIDENT_COLUMNS)
    if environments is not None:
        inc = inc.filter(pl.col("environment").is_in(list(environments)))
    if as_of is None:
        last = inc.select(pl.col("opened_at").max()).collect().item()
        as_of = (last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
                 if last is not None else datetime(1970, 1, 1))
    since = pl.lit(as_of, dtype=pl.Datetime("us")).dt.offset_by(f"-{months}mo")
    restore = hours(pl.col("resolved_at") - pl.col("opened_at"))
    x = pl.col("restore_hours")
    table = pl.DataFrame({"tier": list(commitments),
                          "commitment_hours": list(commitments.values())},
                         schema={"tier": pl.String, "commitment_hours": pl.Float64})
    return (inc.filter((pl.col("opened_at") >= since) & (pl.col("opened_at") < as_of)
                       & pl.col("service").is_not_null())
            .with_columns(restore.alias("restore_hours"))
            .filter(x >= 0)
            .group_by("service")
            .agg(pl.col("team").first(), pl.col("tier").first(),
                 pl.col("criticality").first(), x.count().cast(pl.Int64).alias("n"),
                 x.median().alias("p50_hours"),
                 x.quantile(PROPOSED_QUANTILE, interpolation="linear").alias("p80_hours"))
            .join(table.lazy(), on="tier", how="left")
            .with_columns(
                pl.col("p80_hours").alias("proposed_threshold_hours"),
                (pl.col("p80_hours") <= pl.col("commitment_hours")).alias("within_commitment"),
                (pl.col("commitment_hours") - pl.col("p80_hours")).alias("headroom_hours"),
                (pl.col("n") < SMALL_INCIDENTS).alias("small_sample"),
                pl.lit(as_of, dtype=pl.Datetime("us")).alias("as_of"),
                since.alias("since"))
            .sort("criticality", "service")
            .collect())
