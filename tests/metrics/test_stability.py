"""Stability KPIs (REFERENCE §1) against hand arithmetic on the delivery_builders scenario,
with statsmodels as the second method for the Wilson interval."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from tests.metrics.delivery_builders import END, START, changes, deployments, incidents, scenario
from statsmodels.stats.proportion import proportion_confint

from analytics.metrics.attribution import attribute
from analytics.metrics.baselines import mttr_baselines
from analytics.metrics.delivery_report import build_facts, summarize
from analytics.metrics.stability import (
    deployment_facts,
    incident_facts,
    rollback_frequency,
    wilson,
)
from analytics.metrics.trends import mttr_by_severity


@pytest.fixture
def data() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    deps, chg, inc = scenario()
    return deps, chg, inc, attribute(inc, deps, chg)


def summary(data, *, by: tuple[str, ...] = (), **period: date) -> pl.DataFrame:  # noqa: ANN001
    """The delivery summary (the path every report takes) of the scenario."""
    deps, chg, inc, attr = data
    return summarize(build_facts(deps, chg, inc, attr, **period), by=by)


def test_deployment_facts_by_hand(data) -> None:  # noqa: ANN001
    deps, _, inc, attr = data
    facts = deployment_facts(deps, inc, attr, start=START, end=END).collect().sort("id")
    got = {r["id"]: (r["failed"], r["incidents"], r["recovery_hours"])
           for r in facts.iter_rows(named=True)}
    assert got == {
        1: (True, 2, 25.0),     # success, but i7 and i9 attributed: last resolved h35 − h10
        2: (True, 2, 16.0),     # failed; i1, i2: last resolved h50 − h34
        4: (True, 0, 5.0),      # rolled back, no incident: next success is rollback d12 h65 − h60
        5: (False, 0, None),    # success, nothing attributed
        6: (True, 1, 184.0),    # success, i4 explicit: h214 − h30
        7: (False, 0, None),
        13: (False, 0, None),   # ledger: a service without incidents
    }


def test_recovery_waits_for_open_incidents_and_for_a_next_success() -> None:
    deps = deployments([{"id": 1, "service_id": 1, "at": 0, "status": "failed"},
                        {"id": 2, "service_id": 1, "at": 10, "status": "failed"},
                        {"id": 3, "service_id": 2, "at": 0, "status": "failed"}])
    inc = incidents([{"id": 1, "service_id": 1, "opened": 12}])  # still open, on d2
    attr = attribute(inc, deps)
    facts = deployment_facts(deps, inc, attr).collect().sort("id")
    # d1: no incident, the next success never came (d2 failed) → unknown; d2: its incident is
    # still open → unknown; d3: another service, nothing after it → unknown.
    assert facts["recovery_hours"].to_list() == [None, None, None]
    assert facts["failed"].to_list() == [True, True, True]


def test_change_failure_rate_and_wilson_against_statsmodels(data) -> None:  # noqa: ANN001
    row = summary(data, start=START, end=END).row(0, named=True)
    # d1 d2 d4 d6 failed of d1 d2 d4 d5 d6 d7 d13.
    assert (row["cfr_failed"], row["cfr_deployments"], row["cfr"]) == (4, 7, pytest.approx(4 / 7))
    low, high = proportion_confint(4, 7, alpha=0.05, method="wilson")
    assert (row["cfr_ci_low"], row["cfr_ci_high"]) == (pytest.approx(low), pytest.approx(high))
    # Recovery values 25, 16, 5, 184 → sorted 5, 16, 25, 184: median (16 + 25)/2 = 20.5;
    # p90 at rank 0.9·3 = 2.7 → 25 + 0.7·(184 − 25) = 136.3.
    assert (row["recovery_median"], row["recovery_p90"], row["recovery_n"]) == (
        20.5, pytest.approx(136.3), 4)
    assert row["rework_rate"] == pytest.approx(1 / 7)  # d5 is unplanned
    assert row["rollback_rate"] == pytest.approx(1 / 7)  # d4 rolled back


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (3, 10), (50, 1000), (999, 1000)])
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    low, high = wilson(pl.lit(k), pl.lit(n))
    got = pl.select(low.alias("l"), high.alias("h")).row(0)
    ref = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert got == (pytest.approx(ref[0], abs=1e-12), pytest.approx(ref[1], abs=1e-12))


def test_cfr_never_above_one_and_counts_a_deployment_once() -> None:
    deps = deployments([{"id": 1, "service_id": 1, "at": 0, "status": "rolled_back"}])
    inc = incidents([{"id": k, "service_id": 1, "opened": k, "resolved": 5} for k in (1, 2, 3)])
    row = summarize(build_facts(deps, changes([]), inc, attribute(inc, deps))).row(0, named=True)
    assert (row["cfr_failed"], row["cfr_deployments"], row["cfr"]) == (1, 1, 1.0)
    assert row["attributed_incidents"] == 3


@pytest.mark.parametrize(("service", "failed", "n", "recovery"), [
    ("checkout", 3, 4, 16.0),   # d1 d2 d4 of d1 d2 d4 d5; recoveries 25, 16, 5 → 16
    ("search", 1, 2, 184.0),    # d6 of d6 d7
    ("ledger", 0, 1, None),     # no incidents, no failures
])
def test_change_failure_by_service(data, service, failed, n, recovery) -> None:  # noqa: ANN001
    table = summary(data, start=START, end=END, by=("service",))
    row = table.filter(pl.col("service") == service).row(0, named=True)
    assert (row["cfr_failed"], row["cfr_deployments"], row["recovery_median"]) == (
        failed, n, recovery)


def test_rollback_frequency_per_service_and_environment() -> None:
    deps, _, _ = scenario()
    per_service = rollback_frequency(deps, start=START, end=END)
    assert per_service.rows() == [("checkout", 1, 4, 0.25), ("ledger", 0, 1, 0.0),
                                  ("search", 0, 2, 0.0)]
    # The environment view includes non-production by default: staging d8, 0 of 1.
    per_env = rollback_frequency(deps, start=START, end=END, by=["environment"])
    assert per_env.rows() == [("production", 1, 7, pytest.approx(1 / 7)), ("staging", 0, 1, 0.0)]


def test_incident_facts_by_hand(data) -> None:  # noqa: ANN001
    deps, _, inc, attr = data
    facts = incident_facts(inc, attr, deps, start=START, end=END).collect().sort("id")
    got = {r["id"]: (r["rule"], r["restore_hours"], r["detect_hours"], r["recurred"])
           for r in facts.iter_rows(named=True)}
    assert got == {
        1: ("window", 3.0, 2.5, False),         # detected h36.5 − d2 h34
        2: ("window", 5.0, 11.0, True),         # no detected_at: opened h45 − h34; P1 at h36
        3: ("unattributed", 1.0, None, False),  # first "config" incident of search
        4: ("explicit", 4.0, 181.0, True),      # h211 − d6 h30; config again 60 h after i3
        5: ("unattributed", None, None, False),  # still open; no problem id, no root cause
        7: ("window", 2.0, 10.5, True),         # P9 opened at h−100, 120 h before
        9: ("window", 1.0, 24.0, False),        # no key: cannot recur
    }  # i6 is before the period, i8 is staging


def test_mttr_ttd_recurrence_overall(data) -> None:  # noqa: ANN001
    row = summary(data, start=START, end=END).row(0, named=True)
    restore = [3, 5, 1, 4, 2, 1]  # i5 is open
    assert (row["mttr_median"], row["mttr_mean"], row["mttr_n"]) == (
        np.median(restore), pytest.approx(16 / 6), 6)
    assert (row["ttd_median"], row["ttd_n"]) == (11.0, 5)  # of 2.5, 10.5, 11, 24, 181
    assert row["recurrence_rate"] == pytest.approx(3 / 7)  # i2, i4, i7 of 7
    assert (row["incidents"], row["explicit"], row["window"], row["unattributed"]) == (7, 1, 4, 2)


def test_mttr_by_severity(data) -> None:  # noqa: ANN001
    deps, chg, inc, attr = data
    table = mttr_by_severity(build_facts(deps, chg, inc, attr, start=START, end=END), n_boot=10)
    # sev 1: i1 3, i9 1; sev 2: i2 5, i4 4 (i5 open); sev 3: i3 1, i7 2.
    assert table.select("severity", "median", "mean", "n").rows() == [
        (1, 2.0, 2.0, 2), (2, 4.5, 4.5, 2), (3, 1.5, 1.5, 2)]


def test_empty_period_gives_zero_counts_and_null_rates(data) -> None:  # noqa: ANN001
    cfr = summary(data, start=date(2023, 6, 1), end=date(2023, 6, 30))
    assert cfr.select("cfr_failed", "cfr_deployments", "cfr", "cfr_ci_low", "recovery_n",
                      "rework_rate").row(0) == (0, 0, None, None, 0, None)
    assert cfr.select("incidents", "mttr_median", "mttr_n", "recurrence_rate").row(0) == (
        0, None, 0, None)


def test_recurrence_window_is_thirty_days_and_strictly_earlier() -> None:
    inc = incidents([
        {"id": 1, "service_id": 1, "opened": 0, "problem": "P"},
        {"id": 2, "service_id": 1, "opened": 30 * 24, "problem": "P"},      # exactly 30 days
        {"id": 3, "service_id": 1, "opened": 61 * 24, "problem": "P"},      # 31 days after i2
        {"id": 4, "service_id": 2, "opened": 61 * 24 + 1, "problem": "P"},  # other service
        {"id": 5, "service_id": 1, "opened": 61 * 24, "problem": "P"},      # same instant as i3
        {"id": 6, "service_id": 1, "opened": 62 * 24, "problem": "Q", "root_cause": "x"},
        {"id": 7, "service_id": 1, "opened": 63 * 24, "root_cause": "x"},   # key r:x ≠ p:Q
    ])
    deps = deployments([])
    facts = incident_facts(inc, attribute(inc, deps), deps).collect().sort("id")
    assert facts["recurred"].to_list() == [False, True, False, False, False, False, False]


def test_mttr_baselines_against_numpy_and_tier_commitments() -> None:
    restore = {1: [1, 2, 3, 4, 10], 2: [6, 7]}
    rows = [{"id": 10 * s + k, "service_id": s, "opened": 24 * k, "resolved": 24 * k + r}
            for s, values in restore.items() for k, r in enumerate(values)]
    rows.append({"id": 99, "service_id": 1, "opened": -24 * 400, "resolved": -24 * 400 + 500})
    table = mttr_baselines(incidents(rows), months=6)
    # The 500 h incident is more than six months before the last one and left out.
    checkout = table.filter(pl.col("service") == "checkout").row(0, named=True)
    assert checkout["n"] == 5
    assert checkout["p50_hours"] == 3.0
    assert checkout["p80_hours"] == pytest.approx(np.quantile([1, 2, 3, 4, 10], 0.8))  # 5.2
    assert checkout["commitment_hours"] == 4.0  # gold default (assumption)
    assert (checkout["within_commitment"], checkout["headroom_hours"]) == (
        False, pytest.approx(4 - 5.2))
    search = table.filter(pl.col("service") == "search").row(0, named=True)
    assert (search["p80_hours"], search["commitment_hours"], search["within_commitment"]) == (
        pytest.approx(6 + 0.8 * 1), 8.0, True)  # silver: p80 6.8 h within 8 h


@pytest.mark.parametrize(("months", "message"), [(0, "months: expected a positive"),
                                                 (1.5, "months: expected a positive")])
def test_mttr_baselines_bad_months(months: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mttr_baselines(incidents([]), months=months)  # type: ignore[arg-type]
