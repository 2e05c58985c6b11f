"""Columns of few distinct values are converted value by value (validate.FEW): the result and
every problem must equal the row-by-row conversion's, which a FEW of 0 forces."""

from __future__ import annotations

import random

import polars as pl
import pytest

from analytics.ingest import times, validate
from analytics.ingest.columns import ENVIRONMENT_ALIASES
from analytics.ingest.validate import FILE, ROW, Checker

WORDS = ["true", "True", " yes ", "N", "0", "1", "no", "", "  ", None, "maybe", "ja", "FALSE\t",
         "production", " Prod", "LIVE", "staging", "success", "Failed", "rolled back", "rolled_back",
         "x" * 40, "\u00a0true", "é"]


def _frame(values: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({"v": pl.Series(values, dtype=pl.String), FILE: ["f.csv"] * len(values),
                         ROW: list(range(2, len(values) + 2))})


def _both(monkeypatch: pytest.MonkeyPatch, values: list[str | None], check: str, *args: object):
    fast = Checker(_frame(values))
    got = getattr(fast, check)("v", *args)
    fast.required("v")
    monkeypatch.setattr(validate, "FEW", 0)
    slow = Checker(_frame(values))
    want = getattr(slow, check)("v", *args)
    slow.required("v", slow.raw("v"))
    return (got, fast), (want, slow)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("check,args", [
    ("boolean", ()),
    ("choice", (("success", "failed", "rolled_back"), {"rolled back": "rolled_back"})),
    ("keyword", (32, ENVIRONMENT_ALIASES)),
    ("keyword", (5, ENVIRONMENT_ALIASES)),
])
def test_few_values_convert_as_every_row(monkeypatch: pytest.MonkeyPatch, seed: int, check: str,
                                         args: tuple) -> None:
    rng = random.Random(seed)
    pool = rng.sample(WORDS, rng.randint(1, len(WORDS)))
    values = [rng.choice(pool) for _ in range(rng.randint(1, 300))]
    (got, fast), (want, slow) = _both(monkeypatch, values, check, *args)
    assert fast.distinct("v") is not None  # the fast path was taken
    assert got.dtype == want.dtype and got.to_list() == want.to_list()
    assert fast.total == slow.total
    assert fast.problems == slow.problems


def test_many_values_take_the_row_by_row_path() -> None:
    values = [f"v{i}" for i in range(validate.FEW * 5)]
    ck = Checker(_frame(values))
    assert ck.distinct("v") is None
    out = ck.choice("v", ("v1", "v2"))
    assert out.null_count() == len(values) - 2
    assert ck.total == len(values) - 2


TIMES = {
    "utc": ["2024-03-31T01:30:00Z", "2024-10-27T02:30:00Z", None, " 2025-01-02T03:04:05Z ", ""],
    "utc_fraction": ["2024-03-31T01:30:00.123456Z", "2024-01-01T00:00:00.5Z", None],
    "naive_t": ["2024-03-31T02:30:00", "2024-10-27T02:30:00", "2024-06-01T12:00:00", None],
    "naive_space": ["2024-03-31 02:30:00", "2024-01-01 00:00:00", ""],
    "naive_fraction": ["2024-03-31 02:30:00.25", "2024-07-01 08:00:00.000001"],
    "mixed": ["2024-03-31T01:30:00Z", "2024-03-31 02:30", "2024-05-01T13:45:00+02:00", "nope"],
}


@pytest.mark.parametrize("name", sorted(TIMES))
@pytest.mark.parametrize("tz", ["UTC", "Europe/Amsterdam", "America/New_York"])
def test_one_format_times_convert_as_the_general_parser(monkeypatch: pytest.MonkeyPatch,
                                                        name: str, tz: str) -> None:
    """A column in one ISO format takes one strptime (times.FAST); with no fast format the
    general parser reads it. Values, gap problems and every message must be the same."""
    fast = Checker(_frame(TIMES[name]))
    got = fast.datetime("v", tz)
    monkeypatch.setattr(times, "FAST", ())
    slow = Checker(_frame(TIMES[name]))
    want = slow.datetime("v", tz)
    assert got.to_list() == want.to_list()
    assert (fast.total, fast.problems) == (slow.total, slow.problems)
    if name == "naive_t" and tz == "Europe/Amsterdam":  # 02:30 on 31 March does not exist there
        assert fast.total == 1 and "daylight-saving gap" in fast.problems[0].message


def test_plain_integers_convert_as_the_general_path() -> None:
    """Integers in plain form take one cast; a "3.0" in the column sends the whole column the
    general way (float, whole, in range). Both must give the same values and problems."""
    plain = ["1", " 2 ", "", None, "-4", "007", "+5", "12"]
    fast = Checker(_frame(plain))
    got = fast.integer("v", 0, 10)
    slow = Checker(_frame([*plain, "3.0"]))
    want = slow.integer("v", 0, 10)
    assert got.to_list() == want.to_list()[:-1] == [1, 2, None, None, -4, 7, 5, 12]
    assert [(p.row, p.value, p.message) for p in fast.problems] == \
        [(p.row, p.value, p.message) for p in slow.problems]
    assert fast.total == slow.total == 2  # -4 below 0, 12 above 10
