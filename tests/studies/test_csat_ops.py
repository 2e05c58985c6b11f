"""CSAT against operations: weekly drivers by hand / brute force, correlations vs numpy, cohorts vs statsmodels."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from analytics.studies.csat_ops import (
    affected_customers,
    after_incident_comparison,
    cohort_comparison,
    lagged_correlations,
    survey_targets,
    weekly_operations,
)

D = datetime
RELEASE = D(2026, 1, 12, 10)


def _csat(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"responded_at": pl.Datetime("us"), "score": pl.Int64,
                                      "customer_id": pl.String, "service": pl.String},
                        orient="row").with_columns(nps=pl.lit(None, pl.Int64))


def _tickets(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"opened_at": pl.Datetime("us"), "closed_at": pl.Datetime("us"),
                                      "customer_id": pl.String, "service": pl.String}, orient="row")


CSAT = _csat([
    (D(2026, 1, 5, 9), 5, "c1", "api"), (D(2026, 1, 6, 9), 4, "c2", "web"),
    (D(2026, 1, 12, 12), 2, "c3", "api"),  # affected by responding in the window
    (D(2026, 1, 13, 8), 3, "c1", "api"),  # c1 affected through a ticket
    (D(2026, 1, 14, 8), 5, "c4", "web"), (D(2026, 1, 15, 8), 4, "c5", "web"),
    (D(2026, 1, 16, 8), 2, "c4", "web"), (D(2026, 1, 17, 8), 5, "c6", "web"),
    (D(2026, 1, 27, 8), 1, "c3", "api"),  # after the follow-up window: ignored by the cohort test
])
TICKETS = _tickets([
    (D(2026, 1, 5, 0), D(2026, 1, 20), "c1", "api"),
    (D(2026, 1, 6, 0), D(2026, 1, 8), "c2", "web"),
    (D(2026, 1, 10, 12), None, "c9", "api"),
    (D(2026, 1, 12, 11), D(2026, 1, 12, 15), "c1", "api"),  # in the window
    (D(2026, 1, 13, 9), None, "c5", "web"),  # in the window, other service
    (D(2026, 1, 20, 9), D(2026, 1, 21), "c7", "api"),
])
INCIDENTS = pl.DataFrame({
    "opened_at": [D(2026, 1, 12, 10, 30), D(2026, 1, 13), D(2026, 1, 21)],
    "resolved_at": [D(2026, 1, 12, 12), D(2026, 1, 13, 1), None],
    "customer_facing": [True, False, True],
})


def _brute_backlog(week_end: datetime) -> float | None:
    ages = [(week_end - o).total_seconds() / 3600 for o, c, *_ in TICKETS.iter_rows()
            if o < week_end and (c is None or c >= week_end)]
    return sum(ages) / len(ages) if ages else None


def test_weekly_operations_by_hand() -> None:
    w = weekly_operations(CSAT, TICKETS, INCIDENTS)
    assert w["period"].to_list() == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19), date(2026, 1, 26)]
    assert w["tickets"].to_list() == [3, 2, 1, 0]
    assert w["incidents"].to_list() == [0, 2, 1, 0]
    assert w["customer_facing_minutes"].to_list() == [0.0, 90.0, 0.0, 0.0]  # 10:30 → 12:00
    assert w["csat"].to_list() == [1.0, 0.5, None, 0.0]  # week 2: scores 2,3,5,4,2,5
    # Week ending Mon 12 Jan: c1's ticket 168 h old, c9's 36 h old → 102 h.
    assert w["backlog_age_hours"][0] == pytest.approx(102.0)
    for period, age in zip(w["period"], w["backlog_age_hours"], strict=True):
        end = datetime.combine(period, datetime.min.time()) + timedelta(weeks=1)
        assert age == pytest.approx(_brute_backlog(end))


def test_weekly_operations_in_a_time_zone() -> None:
    # Weeks start Monday 00:00 in Auckland (UTC+13 in January), i.e. Sunday 11:00 UTC.
    w = weekly_operations(CSAT, TICKETS, INCIDENTS, tz="Pacific/Auckland")
    end = datetime(2026, 1, 12) - timedelta(hours=13)  # Monday 00:00 Auckland in UTC
    assert w["backlog_age_hours"][0] == pytest.approx(_brute_backlog(end))


def test_lagged_correlations_match_numpy() -> None:
    rng = np.random.default_rng(2)
    minutes = rng.exponential(60, 30)
    csat = 0.85 - 0.0005 * np.roll(minutes, 1) + rng.normal(0, 0.01, 30)
    csat[7] = np.nan  # a gap
    weekly = pl.DataFrame({"csat": csat, "customer_facing_minutes": minutes}).with_columns(
        pl.col("csat").fill_nan(None))
    out = lagged_correlations(weekly, drivers=["customer_facing_minutes"], max_lag=2)
    for lag in range(3):
        y, x = csat[lag:], minutes[: 30 - lag]
        keep = ~np.isnan(y)
        row = out.filter(pl.col("lag") == lag).row(0, named=True)
        assert row["n"] == keep.sum()
        assert row["r"] == pytest.approx(np.corrcoef(x[keep], y[keep])[0, 1])
    assert out.sort("r")["lag"][0] == 1  # the planted one-week lag is the strongest (negative)
    sp = lagged_correlations(weekly, drivers=["customer_facing_minutes"], max_lag=0, method="spearman")
    keep = ~np.isnan(csat)
    assert sp["r"][0] == pytest.approx(stats.spearmanr(minutes[keep], csat[keep]).statistic)


def test_lagged_correlations_constant_driver_and_errors() -> None:
    weekly = pl.DataFrame({"csat": [0.8, 0.7, 0.9, 0.85], "incidents": [0, 0, 0, 0]})
    assert lagged_correlations(weekly, drivers=["incidents"], max_lag=1)["r"].to_list() == [None, None]
    with pytest.raises(ValueError, match=r"missing column\(s\) \['tickets'\]"):
        lagged_correlations(weekly, drivers=["tickets"])
    with pytest.raises(ValueError, match="max_lag must be between 0 and 3"):
        lagged_correlations(weekly, drivers=["incidents"], max_lag=4)


def test_affected_customers_window_and_service() -> None:
    everyone = affected_customers(CSAT, TICKETS, RELEASE)
    # window [10:00 12 Jan, 10:00 14 Jan): c1 ticket 11:00 (+ response), c3 response, c5 ticket, c4 response
    assert everyone["customer_id"].to_list() == ["c1", "c3", "c5", "c4"]
    assert everyone.filter(pl.col("customer_id") == "c1").row(0, named=True)["tickets"] == 1
    api = affected_customers(CSAT, TICKETS, RELEASE, service="api")
    assert api["customer_id"].to_list() == ["c1", "c3"]


def test_cohort_comparison_matches_statsmodels() -> None:
    res = cohort_comparison(CSAT, TICKETS, RELEASE, follow_up=timedelta(days=14), service="api")
    # Responses 12–26 Jan: affected c1, c3 → scores 2, 3 (0 of 2); rest c4, c5, c4, c6 → 5, 4, 2, 5 (3 of 4)
    assert (res.affected_customers, res.affected_n, res.baseline_n) == (2, 2, 4)
    assert (res.affected_csat, res.baseline_csat) == (0.0, 0.75)
    assert res.baseline_ci == pytest.approx(proportion_confint(3, 4, method="wilson"))
    assert res.p_value == pytest.approx(proportions_ztest([0, 3], [2, 4])[1])
    assert res.difference_ci == pytest.approx(confint_proportions_2indep(0, 2, 3, 4, method="wald", compare="diff"))


def test_cohort_comparison_needs_both_groups() -> None:
    with pytest.raises(ValueError, match="no CSAT responses from the baseline group between"):
        cohort_comparison(CSAT.filter(pl.col("customer_id").is_in(["c1", "c3"])), TICKETS, RELEASE)


def test_survey_targets_exclude_recently_surveyed() -> None:
    out = survey_targets(CSAT, TICKETS, RELEASE, exclude_days=30)
    # affected c1, c3, c5; as of 14 Jan 10:00: c1 answered 13 Jan, c3 12 Jan, c5 not before 15 Jan
    assert out["customer_id"].to_list() == ["c5"] and out["last_surveyed_at"][0] is None
    older = survey_targets(CSAT, TICKETS, RELEASE, exclude_days=1, service="api")
    # With a 1-day rest (cut-off 13 Jan 10:00), c1 (13 Jan 08:00) and c3 (12 Jan 12:00) are kept.
    assert older["customer_id"].to_list() == ["c1", "c3"]
    assert older["last_surveyed_at"][0] == D(2026, 1, 13, 8)
    with pytest.raises(ValueError, match="exclude_days"):
        survey_targets(CSAT, TICKETS, RELEASE, exclude_days=-1)


def test_after_incident_comparison_by_hand() -> None:
    csat = _csat([
        (D(2026, 1, 1), 5, "a", "api"), (D(2026, 1, 2), 4, "b", "api"),  # before any incident
        (D(2026, 1, 5, 13), 2, "c", "api"), (D(2026, 1, 8), 4, "d", "api"),  # ≤ 7 days after the api incident
        (D(2026, 1, 12, 12), 5, "e", "api"),  # 7 days and 1 h after: baseline again
        (D(2026, 1, 6), 5, "f", "web"),  # web had only a non-customer-facing incident
    ]).with_columns(service_id=pl.when(pl.col("service") == "api").then(1).otherwise(2))
    incidents = pl.DataFrame({"opened_at": [D(2026, 1, 5, 11), D(2026, 1, 5, 11)], "service_id": [1, 2],
                              "customer_facing": [True, False]})
    res = after_incident_comparison(csat, incidents)
    # affected: c (2), d (4) → 1 of 2; baseline: a, b, e, f → 4 of 4
    assert (res.affected_n, res.affected_csat, res.baseline_n, res.baseline_csat) == (2, 0.5, 4, 1.0)
    assert res.affected_customers == 2
    assert res.p_value == pytest.approx(proportions_ztest([1, 4], [2, 4])[1])
    short = after_incident_comparison(csat, incidents, window=timedelta(days=1))
    assert (short.affected_n, short.affected_csat) == (1, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backlog_age_matches_a_loop_over_tickets(seed: int) -> None:
    """Random tickets, some opened or closed exactly at an instant, some closed "before" they
    opened (bad data: closed at the open), some never closed; unsorted instants."""
    from analytics.studies.csat_ops import _backlog_age_hours

    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 1, 1)
    instants = [t0 + timedelta(days=int(d)) for d in rng.permutation(np.arange(3, 60, 7))]
    opened = [t0 + timedelta(hours=int(h)) for h in rng.integers(0, 24 * 60, 500)]
    opened[:5] = instants[:5]  # opened exactly at an instant: not yet open then
    closed = [o + timedelta(hours=int(h)) if rng.random() < 0.8 else None
              for o, h in zip(opened, rng.integers(-5, 24 * 20, 500), strict=True)]
    closed[5:10] = instants[:5]  # closed exactly at an instant: no longer open then
    closed[0], closed[1] = opened[0], opened[1] - timedelta(hours=2)  # opened and closed at one
    tickets = pl.DataFrame({"opened_at": opened, "closed_at": closed})
    ends = np.array([(i - datetime(1970, 1, 1)).total_seconds() for i in instants])

    def loop(at: datetime) -> float | None:
        ages = [(at - o).total_seconds() / 3600 for o, c in zip(opened, closed, strict=True)
                if o < at and not (c is not None and max(o, c) <= at)]
        return sum(ages) / len(ages) if ages else None

    got = _backlog_age_hours(tickets, ends)
    assert got == pytest.approx([loop(i) for i in instants], rel=1e-12)
    assert _backlog_age_hours(tickets.clear(), ends) == [None] * len(instants)
