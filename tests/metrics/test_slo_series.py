"""Burn-down and burn-rate series behind the SLO charts, by hand (REFERENCE §2)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from analytics.metrics.slo import slo_status
from analytics.metrics.slo_series import burn_down, burn_rates

T0 = datetime(2026, 3, 1)


def _samples(bad_at: dict[int, float], hours: int = 24) -> pl.DataFrame:
    # One bucket per hour with 1,000 events; bad_at maps hour index → bad events.
    return pl.DataFrame({"slo_id": 1, "ts": [T0 + timedelta(hours=h) for h in range(hours)],
                         "good": [1000.0 - bad_at.get(h, 0.0) for h in range(hours)],
                         "total": 1000.0})


SLO = pl.DataFrame({"slo_id": [1], "slo": ["x"], "service": ["svc"], "target": [0.999],
                    "window_kind": ["rolling"], "window_days": [1]})


def test_burn_down_by_hand_and_equal_to_status() -> None:
    # 24,000 events in the 1-day window → 24 bad allowed. 6 bad in hour 2, 12 in hour 10:
    # remaining 1 at 00:00–02:00, 1 − 6/24 = 0.75 from 03:00, 1 − 18/24 = 0.25 from 11:00.
    at = T0 + timedelta(days=1)
    samples = _samples({2: 6.0, 10: 12.0})
    down = burn_down(samples, SLO, 1, at)
    assert down.height == 25 and down["ts"][0] == T0 and down["ts"][-1] == at
    assert down["remaining"].to_list() == pytest.approx([1.0] * 3 + [0.75] * 8 + [0.25] * 14)
    assert down["ideal"].to_list() == pytest.approx([1 - h / 24 for h in range(25)])
    status = slo_status(samples, SLO, at)
    assert down["remaining"][-1] == pytest.approx(status["budget_remaining"][0])


def test_burn_rates_by_hand() -> None:
    # 36 bad in hour 5 → 1 h burn at 06:00 = (36/1000)/0.001 = 36; 6 h window at 06:00 covers
    # 00:00–06:00 = 6,000 events → 6; its factor for a 1-day period: 0.05 × 24 h / 6 h = 0.2.
    samples = _samples({5: 36.0})
    rates = burn_rates(samples, SLO, 1, T0 + timedelta(hours=1), T0 + timedelta(hours=12))
    at6 = rates.filter(pl.col("ts") == T0 + timedelta(hours=6))
    burns = dict(zip(at6["window"].to_list(), at6["burn"].to_list(), strict=True))
    assert burns["1h"] == pytest.approx(36.0) and burns["6h"] == pytest.approx(6.0)
    factors = dict(zip(at6["window"].to_list(), at6["factor"].to_list(), strict=True))
    assert factors == pytest.approx({"1h": 0.48, "6h": 0.2, "1d": 0.1, "3d": 1 / 30})
    # Short windows (long ÷ 12) at 06:00: 5 m and 30 m hold no hourly bucket start (null);
    # 2 h = hours 4–5 → (36/2,000)/0.001 = 18; 6 h = hours 0–5 → 6.
    shorts = dict(zip(at6["window"].to_list(), at6["short_burn"].to_list(), strict=True))
    assert shorts["1h"] is None and shorts["6h"] is None
    assert (shorts["1d"], shorts["3d"]) == (pytest.approx(18.0), pytest.approx(6.0))
    at7 = rates.filter((pl.col("ts") == T0 + timedelta(hours=7)) & (pl.col("window") == "1h"))
    assert at7["burn"][0] == 0.0


def test_no_events_and_bad_input() -> None:
    empty = _samples({}).filter(pl.lit(False))
    assert burn_down(empty, SLO, 1, T0 + timedelta(days=1)).height == 0
    with pytest.raises(ValueError, match="slo_id: unknown SLO 9"):
        burn_down(_samples({}), SLO, 9, T0 + timedelta(days=1))
    with pytest.raises(ValueError, match="since must be before at"):
        burn_rates(_samples({}), SLO, 1, T0, T0)
