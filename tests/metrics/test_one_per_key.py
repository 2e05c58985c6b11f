"""one_per_key keeps the row DataFrame.unique(keep=…, maintain_order=True) keeps, in order."""

import random

import polars as pl
import pytest

from analytics.metrics.delivery import in_time_order, one_per_key


@pytest.mark.parametrize("keep", ["first", "last"])
@pytest.mark.parametrize("seed", range(5))
def test_one_per_key_equals_unique(keep: str, seed: int) -> None:
    rng = random.Random(seed)
    n = 2_000
    frame = pl.DataFrame({"service_id": [rng.randint(1, 5) for _ in range(n)],
                          "finished_at": [rng.randint(0, 300) for _ in range(n)],
                          "id": range(n)})
    expected = frame.unique(["service_id", "finished_at"], keep=keep, maintain_order=True)
    got = one_per_key(frame.lazy(), ["service_id", "finished_at"], keep).collect()
    assert got.equals(expected)


@pytest.mark.parametrize("values", [[1, 2, 2, 5], [3, 1, 2], [1, None, 2]])
def test_in_time_order_sorts_only_when_needed(values: list[int | None]) -> None:
    frame = pl.DataFrame({"t": values, "i": range(len(values))})
    assert in_time_order(frame, "t").collect().equals(frame.sort("t"))
