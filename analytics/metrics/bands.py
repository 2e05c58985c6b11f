"""DORA performance bands by report year (REFERENCE §1.2), read from ``bands.toml``.

The bands are data (one table per report year); this module only reads them and applies the
gap-filling rule, whose wording :data:`GAP_RULE` is what a page shows next to a band.
"""

from __future__ import annotations

import math
import operator
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

BANDS_FILE = Path(__file__).with_name("bands.toml")
DEFAULT_YEAR = 2024  # the newest report; a page may select another year
GAP_RULE = (
    "Published DORA clusters leave gaps between bands and some overlap. The workbench assigns a "
    "value to the best band whose limit it meets, checking bands from best to worst (for "
    "example, with the 2021 bands a lead time of 5 hours misses elite's 'less than one hour' "
    "but meets high's 'at most one week', so it is high); a value that meets no limit is put in "
    "the lowest band. Units: a month is 30 days, six months 180 days, 'on demand' means at "
    "least one deployment per day. The 2022 report had no elite cluster.")
_OPS = {"<": operator.lt, "<=": operator.le, ">=": operator.ge, ">": operator.gt}


@cache
def _data() -> dict[str, Any]:
    with BANDS_FILE.open("rb") as fh:
        return tomllib.load(fh)


def years() -> list[int]:
    """Report years with bands.

    >>> years()
    [2021, 2022, 2023, 2024]
    """
    return sorted(int(y) for y in _data()["years"])


def metrics() -> dict[str, dict[str, str]]:
    """Banded metrics with unit, direction and KPI name."""
    return dict(_data()["metrics"])


def _year(year: int) -> dict[str, Any]:
    table = _data()["years"].get(str(year)) if isinstance(year, int) else None
    if table is None:
        raise ValueError(f"year: no DORA bands for {year!r}; choose one of {years()}")
    return table


def band(metric: str, value: float | None, year: int = DEFAULT_YEAR) -> str | None:
    """The band of ``value`` for ``metric`` in report ``year`` (None when value is None/NaN).

    Units: lead_time and recovery_time in hours, deployment_frequency in deployments per day,
    change_failure_rate as a fraction.

    >>> band("lead_time", 5, 2021), band("change_failure_rate", 0.08, 2024)
    ('high', 'high')
    """
    table = _year(year)
    if metric not in metrics():
        raise ValueError(f"metric: unknown {metric!r}; choose one of {sorted(metrics())}")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"value: expected a number for {metric}, got {value!r}")
    if math.isnan(value):
        return None
    if value < 0:
        raise ValueError(f"value: {metric} cannot be negative, got {value}")
    levels: list[str] = table["levels"]
    for level in levels:
        spec = table[metric][level]
        if "limit" not in spec or _OPS[spec["op"]](value, spec["limit"]):
            return level
    return levels[-1]


def band_table(year: int = DEFAULT_YEAR) -> pl.DataFrame:
    """The bands of ``year`` as rows (metric, level, op, limit, unit, text) for a page."""
    table = _year(year)
    rows = [{"metric": m, "level": level, "op": table[m][level].get("op"),
             "limit": table[m][level].get("limit"), "unit": info["unit"],
             "text": table[m][level]["text"]}
            for m, info in metrics().items() for level in table["levels"]]
    return pl.DataFrame(rows, schema={"metric": pl.String, "level": pl.String, "op": pl.String,
                                      "limit": pl.Float64, "unit": pl.String, "text": pl.String})


def source(year: int = DEFAULT_YEAR) -> str:
    """Where the bands of ``year`` come from."""
    return str(_year(year)["source"])
