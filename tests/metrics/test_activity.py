"""Weekly activity counts: the binary-search path (UTC, instants in time order) equals
truncating every instant to its week and grouping."""

import random
from datetime import datetime, timedelta

import polars as pl
import pytest

from analytics.metrics.activity import _by_search, _by_truncation, weekly_counts


@pytest.mark.parametrize("seed", range(6))
def test_search_equals_truncation(seed: int) -> None:
    rng = random.Random(seed)
    start = datetime(2025, 12, 29)  # a Monday: instants on Monday midnights are edges
    at = [start + timedelta(days=7 * rng.randrange(0, 30)) if rng.random() < 0.1
          else start + timedelta(seconds=rng.randrange(0, 200 * 86_400)) for _ in range(3_000)]
    series = pl.Series("at", at, pl.Datetime("us"))
    expected = _by_truncation(series, "UTC").sort("week")
    for ordered in (series.sort(), series):  # the copy's time order, or any order
        got = _by_search(ordered)
        assert got.cast(expected.schema).equals(expected)


def test_weekly_counts_gaps_nulls_and_zones() -> None:
    """A week without events is absent; a null instant (SQL without a period) and another zone
    take the truncating path, as before."""
    at = [datetime(2026, 1, 5, 9), datetime(2026, 1, 20), None]
    frame = pl.DataFrame({"at": at}, schema={"at": pl.Datetime("us")})
    got = weekly_counts({"tickets": frame.head(2), "incidents": frame})
    assert got.filter(pl.col("kind") == "tickets")["count"].to_list() == [1, 1]
    incidents = got.filter(pl.col("kind") == "incidents")
    assert incidents["count"].sum() == 3 and incidents["week"].null_count() == 1
    berlin = weekly_counts({"tickets": pl.DataFrame({"at": [datetime(2026, 1, 4, 23, 30)]})},
                           "Europe/Berlin")
    assert berlin["week"].to_list() == [datetime(2026, 1, 5).date()]  # Monday 00:30 in Berlin
