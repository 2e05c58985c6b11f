"""The Service review's CSAT-beside-SLA chart: a density of service-months above MAX_POINTS."""

from __future__ import annotations

import math
import random

import polars as pl

from analytics.charts.contracts import MAX_POINTS, csat_chart, density_cells


def _pairs(n: int, seed: int = 3) -> pl.DataFrame:
    rng = random.Random(seed)
    return pl.DataFrame({"service": [f"s{i % 97}" for i in range(n)],
                         "month": [f"2026-{1 + i % 12:02d}" for i in range(n)],
                         "uptime_pct": [100 - rng.expovariate(2) for _ in range(n)],
                         "csat": [rng.uniform(0.5, 1.0) for _ in range(n)],
                         "n": [rng.randrange(20, 90) for _ in range(n)]})


def test_cells_count_every_service_month_once_as_a_loop_does() -> None:
    pairs = _pairs(5000)
    cells = density_cells(pairs, bins=(30, 20))
    lo_x, hi_x = pairs["uptime_pct"].min(), pairs["uptime_pct"].max()
    lo_y, hi_y = pairs["csat"].min(), pairs["csat"].max()
    wx, wy = (hi_x - lo_x) / 30, (hi_y - lo_y) / 20
    counts: dict[tuple[int, int], list[int]] = {}
    for u, c, n in pairs.select("uptime_pct", "csat", "n").iter_rows():
        key = (min(math.floor((u - lo_x) / wx), 29), min(math.floor((c - lo_y) / wy), 19))
        counts.setdefault(key, [0, 0])
        counts[key][0] += 1
        counts[key][1] += n
    got = {(round((r["x0"] - lo_x) / wx), round((r["y0"] - lo_y) / wy)):
           [r["service_months"], r["answers"]] for r in cells.iter_rows(named=True)}
    assert got == counts and cells["service_months"].sum() == pairs.height
    assert all(abs(r["x1"] - r["x0"] - wx) < 1e-9 for r in cells.iter_rows(named=True))


def test_a_few_service_months_stay_a_scatter_and_many_become_cells() -> None:
    few, many = _pairs(MAX_POINTS), _pairs(MAX_POINTS + 1)
    assert csat_chart(few).to_dict()["mark"]["type"] == "circle"
    spec = csat_chart(many).to_dict()
    assert spec["mark"]["type"] == "rect"
    assert len(next(iter(spec["datasets"].values()))) <= 30 * 20
