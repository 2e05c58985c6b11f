"""The assembled delivery report: JSON figures by hand, slicing, small samples, empty periods,
and agreement with the independent pandas implementation in bench/delivery_pandas.py."""

from __future__ import annotations

import math
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tests.metrics.delivery_builders import END, START, SERVICES, changes, deployments, incidents, scenario

from analytics.metrics.delivery_report import DEFINITIONS, build_facts, delivery_report, summarize

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_report_figures_by_hand() -> None:
    deps, chg, inc = scenario()
    r = delivery_report(deps, chg, inc, start=START, end=END)
    assert r["period"] == {"from": START, "to": END, "days": 14.0,
                           "environments": ["production"], "window_hours": 48.0,
                           "band_year": 2024}
    assert (r["deployments"], r["deploys_per_day"], r["deploy_days_per_week_median"]) == (
        7, 0.5, 2.5)
    assert r["lead_time_hours"] == {"median": 12.0, "p75": 24.0, "p90": pytest.approx(38.4),
                                    "n": 5}
    cfr = r["change_failure_rate"]
    assert (cfr["value"], cfr["failed"], cfr["deployments"]) == (pytest.approx(4 / 7), 4, 7)
    assert r["recovery_time_hours"] == {"median": 20.5, "p90": pytest.approx(136.3), "n": 4}
    assert r["mttr_hours"] == {"median": 2.5, "mean": pytest.approx(16 / 6), "n": 6}
    assert r["time_to_detect_hours"] == {"median": 11.0, "n": 5}
    assert (r["rework_rate"], r["rollback_rate"]) == (pytest.approx(1 / 7), pytest.approx(1 / 7))
    assert r["incident_recurrence_rate"] == pytest.approx(3 / 7)
    assert r["attribution"] == {"explicit": 1, "window": 4, "unattributed": 2}
    # 2024 bands: 12 h < 1 day; 0.5/day ≥ weekly; 57 % > every limit; 20.5 h < 1 day.
    assert r["bands"] == {"lead_time": "elite", "deployment_frequency": "high",
                          "change_failure_rate": "low", "recovery_time": "high"}
    assert r["small_sample"] is True


def test_report_by_service() -> None:
    deps, chg, inc = scenario()
    rows = {s["service"]: s for s in delivery_report(deps, chg, inc, start=START,
                                                      end=END)["by_service"]}
    assert sorted(rows) == ["billing", "checkout", "ledger", "search"]
    # billing: one open, unattributed incident and no finished deployment.
    billing = rows["billing"]
    assert (billing["deployments"], billing["deploys_per_day"]) == (0, 0.0)
    assert billing["change_failure_rate"]["value"] is None
    assert billing["mttr_hours"] == {"median": None, "mean": None, "n": 0}
    assert billing["attribution"] == {"explicit": 0, "window": 0, "unattributed": 1}
    # ledger: one deployment, no incidents.
    ledger = rows["ledger"]
    assert (ledger["deployments"], ledger["incident_recurrence_rate"]) == (1, None)
    assert ledger["change_failure_rate"]["value"] == 0.0
    # checkout MTTR: 3, 5, 2, 1 → median 2.5, mean 2.75; recurrence i2, i7 of 4.
    checkout = rows["checkout"]
    assert checkout["mttr_hours"] == {"median": 2.5, "mean": 2.75, "n": 4}
    assert checkout["incident_recurrence_rate"] == 0.5
    assert (checkout["team"], checkout["tier"], checkout["criticality"]) == ("payments", "gold", 1)


@pytest.mark.parametrize(("by", "expected"), [
    # team: payments = checkout + billing, storefront = search, finance = ledger.
    (["team"], {"finance": (1, 0), "payments": (4, 5), "storefront": (2, 2)}),
    (["tier"], {"bronze": (0, 1), "gold": (5, 4), "silver": (2, 2)}),
    (["criticality"], {1: (5, 4), 2: (2, 2), 3: (0, 1)}),
])
def test_slices_count_deployments_and_incidents(by: list[str], expected: dict) -> None:
    deps, chg, inc = scenario()
    table = summarize(build_facts(deps, chg, inc, start=START, end=END), by=by)
    assert {r[0]: (r[1], r[2]) for r in table.select(*by, "deployments", "incidents").rows()} \
        == expected


def test_environment_slice_includes_staging_when_asked() -> None:
    deps, chg, inc = scenario()
    facts = build_facts(deps, chg, inc, start=START, end=END, environments=None)
    table = summarize(facts, by=["environment"])
    # staging: d8 and incident i8, attributed by window (h101, 1 h after d8 h100).
    staging = table.filter(pl.col("environment") == "staging").row(0, named=True)
    assert (staging["deployments"], staging["incidents"], staging["window"]) == (1, 1, 1)
    assert staging["cfr"] == 1.0  # d8 has an attributed incident


def test_small_sample_flag() -> None:
    rows = [{"id": k, "service_id": 1 if k <= 20 else 2, "at": k} for k in range(1, 26)]
    inc = incidents([{"id": k, "service_id": 1, "opened": 100 + k, "resolved": 101 + k}
                     for k in range(5)])
    table = summarize(build_facts(deployments(rows), changes([]), inc), by=["service"])
    # checkout: 20 deployments and 5 incidents → enough; search: 5 deployments, 0 incidents.
    assert dict(table.select("service", "small_sample").rows()) == {"checkout": False,
                                                                    "search": True}


def test_monthly_trend_has_a_row_per_month() -> None:
    deps, chg, inc = scenario()
    table = summarize(build_facts(deps, chg, inc, start=date(2023, 12, 1), end=END),
                      every="1mo")
    # December: d9 (h−30) and incident i6; January: the 7 deployments of the period.
    assert table.select("period", "deployments", "incidents", "days").rows() == [
        (datetime(2023, 12, 1), 1, 1, 31.0), (datetime(2024, 1, 1), 7, 7, 14.0)]


def test_empty_period_is_zeros_and_nulls() -> None:
    deps, chg, inc = scenario()
    r = delivery_report(deps, chg, inc, start=date(2023, 6, 1), end=date(2023, 6, 30))
    assert (r["deployments"], r["deploys_per_day"], r["deploy_days_per_week_median"]) == (
        0, 0.0, 0.0)
    assert r["lead_time_hours"] == {"median": None, "p75": None, "p90": None, "n": 0}
    assert r["change_failure_rate"] == {"value": None, "failed": 0, "deployments": 0,
                                        "ci_low": None, "ci_high": None}
    assert r["mttr_hours"]["n"] == 0 and r["attribution"] == {"explicit": 0, "window": 0,
                                                                "unattributed": 0}
    assert r["bands"]["lead_time"] is None and r["by_service"] == []


def _random_frames(seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    n_dep, n_inc = 1500, 200
    dep_rows = [{"id": k + 1, "service_id": int(rng.integers(1, 5)),
                 "at": float(rng.uniform(-200, 2000)),
                 "status": str(rng.choice(["success", "failed", "rolled_back"], p=[.8, .1, .1])),
                 "environment": str(rng.choice(["production", "staging"], p=[.8, .2])),
                 "is_rollback": bool(rng.random() < .05), "unplanned": bool(rng.random() < .1)}
                for k in range(n_dep)]
    chg = changes([(k + 1, int(rng.integers(1, n_dep + 1)), float(rng.uniform(-300, 2000)))
                   for k in range(3000)])
    inc_rows = [{"id": k + 1, "service_id": int(rng.integers(1, 5)),
                 "opened": (o := float(rng.uniform(-800, 2000))),
                 "detected": o + float(rng.uniform(0, 2)) if rng.random() < .7 else None,
                 "resolved": o + float(rng.uniform(0, 30)) if rng.random() < .9 else None,
                 "severity": int(rng.integers(1, 5)),
                 "caused_by": int(rng.integers(1, n_dep + 1)) if rng.random() < .2 else None,
                 "problem": f"P{rng.integers(0, 8)}" if rng.random() < .5 else None,
                 "root_cause": str(rng.choice(["code", "config"])) if rng.random() < .8 else None}
                for k in range(n_inc)]
    return deployments(dep_rows), chg, incidents(inc_rows)


def _close(a: object, b: object, path: str) -> None:
    if isinstance(b, dict):
        for k, v in b.items():
            _close(a[k], v, f"{path}.{k}")  # type: ignore[index]
    elif a is None or b is None:
        assert a is None and b is None, path
    else:
        assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9), (path, a, b)


@pytest.mark.parametrize("seed", [1, 2])
def test_agrees_with_the_pandas_implementation(seed: int) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from delivery_pandas import delivery_report_pandas
    finally:
        sys.path.remove(str(BENCH))
    deps, chg, inc = _random_frames(seed)
    lo, hi = datetime(2024, 1, 5), datetime(2024, 1, 5) + timedelta(days=60)
    mine = delivery_report(deps, chg, inc, start=lo, end=hi)
    theirs = delivery_report_pandas(deps.to_pandas(), chg.to_pandas(), inc.to_pandas(),
                                    start=lo, end=hi)
    by_service = theirs.pop("by_service")
    _close(mine, theirs, "overall")
    mine_by = {r["service"]: r for r in mine["by_service"]}
    assert sorted(mine_by) == sorted(r["service"] for r in by_service)
    for row in by_service:
        name = row.pop("service")
        _close(mine_by[name], row, name)
    assert mine["deployments"] > 100 and mine["attribution"]["window"] > 10
    assert {r["service"] for r in mine["by_service"]} <= {v[0] for v in SERVICES.values()}


def test_every_figure_has_a_definition() -> None:
    deps, chg, inc = scenario()
    report = delivery_report(deps, chg, inc, start=START, end=END)
    figures = set(report) - {"period", "by_service"}
    assert figures == set(DEFINITIONS)
    assert set(report["by_service"][0]) - {"service", "team", "tier", "criticality"} == figures
