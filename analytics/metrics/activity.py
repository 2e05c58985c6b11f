"""Activity counts for the Overview: events per period and per ISO week."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from analytics.metrics.delivery import UTC_NAMES, local_truncate

_SCHEMA = {"week": pl.Date, "kind": pl.String, "count": pl.UInt32}


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
    parts = [(_by_search(frame["at"]) if tz in UTC_NAMES and frame["at"].null_count() == 0
              else _by_truncation(frame["at"], tz)).with_columns(kind=pl.lit(kind))
             .select(*_SCHEMA).cast(_SCHEMA) for kind, frame in events.items() if frame.height]
    if not parts:
        return pl.DataFrame(schema=_SCHEMA)
    return pl.concat(parts).sort("kind", "week")


def _by_truncation(at: pl.Series, tz: str) -> pl.DataFrame:
    """Week and count of each week with an event: every instant truncated to its local week."""
    return (at.to_frame().select(week=local_truncate(pl.col("at"), "1w", tz).dt.date())
            .group_by("week").len("count"))


def _by_search(at: pl.Series) -> pl.DataFrame:
    """:func:`_by_truncation` for UTC weeks and no null instant, from the instants in time order
    (as the read copy hands them over): the count of a week is the distance between the
    positions of its Monday and the next one, found by binary search, instead of truncating and
    grouping millions of instants.

    >>> from datetime import datetime
    >>> at = pl.Series("at", [datetime(2026, 1, 4, 23), datetime(2026, 1, 5), datetime(2026, 1, 20)])
    >>> _by_search(at).rows()
    [(datetime.date(2025, 12, 29), 1), (datetime.date(2026, 1, 5), 1), (datetime.date(2026, 1, 19), 1)]
    """
    at = at if at.is_sorted() else at.sort()
    first, last = at[0].date(), at[-1].date()
    mondays = pl.date_range(first - timedelta(days=first.weekday()), last + timedelta(days=7),
                            "1w", eager=True)
    edges = at.search_sorted(mondays.cast(at.dtype), side="left")
    counts = edges.diff().shift(-1).head(-1)
    return (pl.DataFrame({"week": mondays.head(-1), "count": counts})
            .filter(pl.col("count") > 0))


def totals(events: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Number of events of each kind."""
    return {kind: frame.height for kind, frame in events.items()}
