"""Throughput KPIs (REFERENCE §1) against hand arithmetic on the scenario in delivery_builders."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest
from tests.metrics.delivery_builders import END, START, changes, deployments, incidents, scenario

from analytics.metrics.delivery import PRODUCTION, lead_time_pairs, scope
from analytics.metrics.delivery_report import build_facts, summarize

LEAD = ("lead_time_median", "lead_time_p75", "lead_time_p90", "lead_time_n")
FREQUENCY = ("deployments", "days", "deploys_per_day", "deploys_per_week",
             "deploy_days_per_week_median")


def deployment_frequency(deps: pl.DataFrame, *, by: tuple[str, ...] | list[str] = (),
                         every: str | None = None, environments: tuple[str, ...] | list[str]
                         | None = PRODUCTION, **period: date) -> pl.DataFrame:
    """Frequency columns of the delivery summary, the path every report takes."""
    facts = build_facts(deps, changes([]), incidents([]), environments=environments, **period)
    table = summarize(facts, by=by, every=every)
    return table.select(*by, *(["period"] if every else []), *FREQUENCY)


def lead_time(deps: pl.DataFrame, chg: pl.DataFrame, *, by: tuple[str, ...] = (),
              **period: date) -> pl.DataFrame:
    """Lead-time columns of the delivery summary, the path every report takes."""
    facts = build_facts(deps, chg, incidents([]), **period)
    return summarize(facts, by=by).select(*by, *LEAD)


def test_scope_drops_rollbacks_non_production_and_unfinished() -> None:
    deps, _, _ = scenario()
    ids = sorted(scope(deps).collect()["id"].to_list())
    # d3 and d12 are rollbacks, d8 is staging, d10 never finished; everything else counts.
    assert ids == [1, 2, 4, 5, 6, 7, 9, 11, 13]
    every_env = sorted(scope(deps, environments=None).collect()["id"].to_list())
    assert every_env == [1, 2, 4, 5, 6, 7, 8, 9, 11, 13]


def test_frequency_overall() -> None:
    deps, _, _ = scenario()
    row = deployment_frequency(deps, start=START, end=END).row(0, named=True)
    # In the period: d1 d2 d4 d5 d6 d7 d13 = 7 deployments over 14 days.
    assert row["deployments"] == 7
    assert row["days"] == 14
    assert row["deploys_per_day"] == pytest.approx(7 / 14)
    assert row["deploys_per_week"] == pytest.approx(7 / 14 * 7)
    # Week of Jan 1: Jan 1 (d1), Jan 2 (d2, d6), Jan 3 (d4, d5), Jan 4 (d13) → 4 days;
    # week of Jan 8: Jan 9 (d7) → 1 day; median of [4, 1] = 2.5.
    assert row["deploy_days_per_week_median"] == 2.5


@pytest.mark.parametrize(("service", "n", "per_day", "deploy_days"), [
    # checkout: d1 d2 d4 d5 on Jan 1, 2, 3, 3 → weeks [3, 0] → median 1.5
    ("checkout", 4, 4 / 14, 1.5),
    # search: d6 Jan 2, d7 Jan 9 → weeks [1, 1] → 1
    ("search", 2, 2 / 14, 1.0),
    # ledger: d13 Jan 4 → weeks [1, 0] → 0.5
    ("ledger", 1, 1 / 14, 0.5),
])
def test_frequency_by_service(service: str, n: int, per_day: float, deploy_days: float) -> None:
    deps, _, _ = scenario()
    table = deployment_frequency(deps, start=START, end=END, by=["service"])
    row = table.filter(pl.col("service") == service).row(0, named=True)
    assert (row["deployments"], row["deploys_per_day"], row["deploy_days_per_week_median"]) == (
        n, pytest.approx(per_day), deploy_days)
    assert "billing" not in table["service"].to_list()  # its only deployment never finished


def test_frequency_weekly_trend_clips_days_to_the_period() -> None:
    deps, _, _ = scenario()
    weekly = deployment_frequency(deps, start=date(2024, 1, 3), end=date(2024, 1, 9),
                                  every="1w")
    # Jan 3–9: week of Jan 1 keeps Jan 3–7 (5 days: d4 d5 d13 on Jan 3, 3, 4 → 2 days),
    # week of Jan 8 keeps Jan 8–9 (2 days: d7 on Jan 9 → 1 day).
    assert weekly["period"].to_list() == [datetime(2024, 1, 1), datetime(2024, 1, 8)]
    assert weekly["deployments"].to_list() == [3, 1]
    assert weekly["days"].to_list() == [5.0, 2.0]
    assert weekly["deploys_per_day"].to_list() == pytest.approx([3 / 5, 1 / 2])
    assert weekly["deploy_days_per_week_median"].to_list() == [2.0, 1.0]


def test_frequency_without_bounds_uses_first_to_last_deployment_day() -> None:
    deps = deployments([{"id": 1, "service_id": 1, "at": 10},      # Mon Jan 1
                        {"id": 2, "service_id": 1, "at": 24 * 9}])  # Wed Jan 10
    row = deployment_frequency(deps).row(0, named=True)
    # Jan 1 … Jan 10 inclusive = 10 days; weeks of Jan 1 and Jan 8 with one day each.
    assert (row["days"], row["deploys_per_day"], row["deploy_days_per_week_median"]) == (
        10.0, pytest.approx(0.2), 1.0)


def test_frequency_empty_period_is_zero_not_an_error() -> None:
    deps, _, _ = scenario()
    row = deployment_frequency(deps, start=date(2023, 6, 1), end=date(2023, 6, 30)).row(
        0, named=True)
    # June 2023 has 30 days and 5 ISO weeks (May 29 … Jul 2), none with a deployment.
    assert row == {"deployments": 0, "days": 30.0, "deploys_per_day": 0.0,
                   "deploys_per_week": 0.0, "deploy_days_per_week_median": 0.0}


def test_lead_time_by_hand_and_by_numpy() -> None:
    deps, chg, _ = scenario()
    row = lead_time(deps, chg, start=START, end=END).row(0, named=True)
    # Pairs of success deployments: d1 (6, 24; c3 −2 dropped), d5 (12), d6 (0 dropped),
    # d7 (48), d13 (1). d2 failed: its change does not count. Sorted: 1, 6, 12, 24, 48.
    pairs = [1.0, 6.0, 12.0, 24.0, 48.0]
    assert row["lead_time_n"] == 5
    assert row["lead_time_median"] == 12.0
    # Linear interpolation: p75 at rank 0.75·4 = 3 → 24; p90 at rank 3.6 → 24 + 0.6·24 = 38.4.
    assert row["lead_time_p75"] == pytest.approx(24.0)
    assert row["lead_time_p90"] == pytest.approx(38.4)
    assert row["lead_time_p90"] == pytest.approx(np.quantile(pairs, 0.9))


def test_lead_time_pairs_drop_non_positive_and_deployments_without_changes() -> None:
    deps, chg, _ = scenario()
    pairs = lead_time_pairs(deps, chg, start=START, end=END).collect()
    assert sorted(pairs["lead_hours"].to_list()) == [1.0, 6.0, 12.0, 24.0, 48.0]
    assert 4 not in pairs["deployment_id"].to_list()  # d4 has no change at all


def test_lead_time_empty_and_by_service() -> None:
    deps, chg, _ = scenario()
    empty = lead_time(deps, chg, start=date(2023, 6, 1), end=date(2023, 6, 30)).row(0)
    assert empty == (None, None, None, 0)
    per = lead_time(deps, chg, start=START, end=END, by=("service",))
    assert dict(zip(per["service"], per["lead_time_median"], strict=True)) == {
        "checkout": 12.0, "ledger": 1.0, "search": 48.0}  # checkout: median of 6, 12, 24


def test_negative_lead_time_only_pair_gives_n_zero() -> None:
    deps = deployments([{"id": 1, "service_id": 1, "at": 10}])
    chg = changes([(1, 1, 11), (2, 1, 10)])  # committed after and exactly at the finish
    assert lead_time(deps, chg).row(0) == (None, None, None, 0)


def test_non_production_toggle() -> None:
    deps, _, _ = scenario()
    prod = deployment_frequency(deps, start=START, end=END)["deployments"][0]
    every = deployment_frequency(deps, start=START, end=END, environments=None)["deployments"][0]
    staging = deployment_frequency(deps, start=START, end=END, environments=["staging"])
    assert (prod, every, staging["deployments"][0]) == (7, 8, 1)  # d8 is the staging one


@pytest.mark.parametrize(("frame", "message"), [
    (pl.DataFrame({"id": [1]}), "deployments: missing column(s) service_id"),
    (deployments([{"id": 1, "service_id": 1, "at": 1}]).with_columns(
        pl.col("finished_at").dt.strftime("%F")),
     "deployments: column 'finished_at' must be datetime, got String"),
    ("not a frame", "deployments: expected a polars DataFrame or LazyFrame, got str"),
])
def test_bad_input_names_the_field(frame: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError)) as err:
        deployment_frequency(frame)  # type: ignore[arg-type]
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"by": ["colour"]}, "by: unknown slice key(s) colour"),
    ({"by": "service"}, "by: expected a list of slice keys"),
    ({"every": "1h"}, "every: unknown bucket '1h'"),
    ({"start": date(2024, 2, 1), "end": date(2024, 1, 1)}, "period: start"),
])
def test_bad_arguments_name_the_field(kwargs: dict, message: str) -> None:
    deps, _, _ = scenario()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        deployment_frequency(deps, **kwargs)


def test_timezone_aware_input_is_read_as_utc() -> None:
    deps = deployments([{"id": 1, "service_id": 1, "at": 23}]).with_columns(
        pl.col("finished_at").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Tokyo"))
    # 23:00 UTC on Jan 1 is Jan 2 in Tokyo; the day boundary must stay UTC.
    row = deployment_frequency(deps, start=date(2024, 1, 1), end=date(2024, 1, 1)).row(0)
    assert row[0] == 1


def test_all_null_column_of_another_type_is_accepted() -> None:
    # ADBC-SQLite types an all-NULL text column as Int64; nothing in it can be wrong.
    deps = deployments([{"id": 1, "service_id": 1, "at": 10}]).with_columns(
        pl.lit(None, dtype=pl.Int64).alias("team"))
    table = deployment_frequency(deps, by=["team"])
    assert table.schema["team"] == pl.String
    assert table.rows() == [(None, 1, 1.0, 1.0, 7.0, 1.0)]
