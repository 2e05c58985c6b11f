"""Activity counts for the Overview: events per period and per ISO week."""

from __future__ import annotations

import polars as pl

from analytics.metrics.delivery import local_truncate


def weekly_counts(events: dict[str, pl.DataFrame], tz: str = "UTC") -> pl.DataFrame:
    """Count events per ISO week (weeks start on Monday at local midnight in ``tz``) per kind.

    ``events`` maps a kind ("deployments", …) to a frame with a datetime column ``at``.
    Returns columns ``week`` (date of the Monday), ``kind``, ``count``; weeks without events of a
    kind are absent, not zero, so a chart shows the gap.

    >>> from datetime import datetime
    >>> f = pl.DataFrame({"at": [datetime(2026, 1, 5, 9), datetime(2026, 1, 6), datetime(2026, 1, 12)]})
    >>> weekly_counts({"deployments": f})["count"].to_list()
    [2, 1]
    """
    parts = [
        frame.select(week=local_truncate(pl.col("at"), "1w", tz).dt.date())
        .group_by("week").len("count").with_columns(kind=pl.lit(kind))
        for kind, frame in events.items() if frame.height
    ]
    if not parts:
        return pl.DataFrame(schema={"week": pl.Date, "kind": pl.String, "count": pl.UInt32})
    return pl.concat(parts).select("week", "kind", "count").sort("kind", "week")


def totals(events: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Number of events of each kind."""
    return {kind: frame.height for kind, frame in events.items()}
