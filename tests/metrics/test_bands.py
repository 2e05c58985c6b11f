"""DORA bands (REFERENCE §1.2): published limits, the gap-filling rule, and bad input."""

from __future__ import annotations

import pytest

from analytics.metrics.bands import GAP_RULE, band, band_table, metrics, source, years

DAY, WEEK, MONTH = 24.0, 168.0, 720.0


@pytest.mark.parametrize(("year", "metric", "value", "expected"), [
    # 2023 lead time: < 1 day / 1 day–1 week / 1 week–1 month / 1 week–1 month.
    (2023, "lead_time", 23.9, "elite"),
    (2023, "lead_time", DAY, "high"),            # "< 1 day" is strict
    (2023, "lead_time", WEEK, "high"),           # the range end is included
    (2023, "lead_time", WEEK + 1, "medium"),     # medium and low overlap: best band wins
    (2023, "lead_time", 2 * MONTH, "low"),       # meets no limit → lowest band
    # 2021 lead time: elite < 1 h; the 1 h–1 day gap is filled by high (≤ 1 week).
    (2021, "lead_time", 0.5, "elite"),
    (2021, "lead_time", 5, "high"),
    (2021, "lead_time", 3 * MONTH, "medium"),
    (2021, "lead_time", 7 * MONTH, "low"),
    # Deployment frequency, deployments per day, higher is better.
    (2023, "deployment_frequency", 3, "elite"),
    (2023, "deployment_frequency", 1, "elite"),  # "on demand" = at least daily
    (2023, "deployment_frequency", 1 / 7, "high"),
    (2023, "deployment_frequency", 1 / 20, "medium"),
    (2023, "deployment_frequency", 1 / 60, "low"),
    (2024, "deployment_frequency", 1 / 60, "low"),
    (2021, "deployment_frequency", 1 / 10, "high"),  # weekly–monthly in 2021
    (2021, "deployment_frequency", 0.0, "low"),
    # CFR: 2023 5/10/15/64 %; 2024 5/20/10/40 % (medium's 10 % never wins over high's 20 %).
    (2023, "change_failure_rate", 0.05, "elite"),
    (2023, "change_failure_rate", 0.12, "medium"),
    (2023, "change_failure_rate", 0.70, "low"),
    (2024, "change_failure_rate", 0.08, "high"),
    (2024, "change_failure_rate", 0.30, "low"),
    (2021, "change_failure_rate", 0.155, "high"),  # 15–16 % gap → high (≤ 30 %)
    (2021, "change_failure_rate", 0.45, "low"),
    # Recovery: 2023 < 1 h / < 1 day / 1 day–1 week / 1–6 months (1 week–1 month gap → low).
    (2023, "recovery_time", 0.5, "elite"),
    (2023, "recovery_time", 1.0, "high"),
    (2023, "recovery_time", 100, "medium"),
    (2023, "recovery_time", 2 * WEEK, "low"),
    (2024, "recovery_time", 12, "high"),
    (2024, "recovery_time", 3 * DAY, "low"),
    # 2022 had no elite cluster.
    (2022, "lead_time", 1, "high"),
    (2022, "change_failure_rate", 0.40, "low"),
    (2022, "recovery_time", 3 * DAY, "medium"),
])
def test_band_table(year: int, metric: str, value: float, expected: str) -> None:
    assert band(metric, value, year) == expected


def test_missing_value_has_no_band() -> None:
    assert band("lead_time", None) is None
    assert band("lead_time", float("nan")) is None


@pytest.mark.parametrize(("args", "message"), [
    (("lead_time", 1, 2019), "year: no DORA bands for 2019"),
    (("lead_time", 1, "2023"), "year: no DORA bands for '2023'"),
    (("mttr", 1, 2023), "metric: unknown 'mttr'"),
    (("lead_time", -1, 2023), "value: lead_time cannot be negative"),
    (("lead_time", "fast", 2023), "value: expected a number"),
])
def test_bad_input(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        band(*args)


def test_every_year_is_data_with_a_source_and_complete_bands() -> None:
    assert years() == [2021, 2022, 2023, 2024]
    for year in years():
        table = band_table(year)
        levels = 3 if year == 2022 else 4
        assert table.height == levels * len(metrics())
        assert table["text"].null_count() == 0
        assert str(year) in source(year)


def test_gap_rule_is_stated() -> None:
    assert "best band whose limit it meets" in GAP_RULE
    assert "lowest band" in GAP_RULE
