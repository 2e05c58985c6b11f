"""Threshold replay: hand-built series with known alerts, scores and delays; the demo trade-off."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import spearmanr

from analytics.studies import threshold_policies as tp
from analytics.studies import thresholds as th

T0 = datetime(2026, 3, 2)  # a Monday, 00:00 UTC
MIN = timedelta(minutes=1)


def series(*rows: list[float], step: timedelta = MIN, den: float = 1.0) -> th.Series:
    num = np.array(rows, float)
    return th.Series(tuple(f"s{i}" for i in range(len(rows))), T0, step, num, np.full(num.shape, den))


def runs(values: list[float], thr: float, for_steps: int, cooldown: int) -> list[tuple[int, int]]:
    _, s, e = th.alert_runs(np.array([values], float), thr, for_steps, cooldown)
    return list(zip(s.tolist(), e.tolist(), strict=True))


# A run of L true samples starting at sample 2: evaluations 3 … 2+L are true, 3+L is false.
@pytest.mark.parametrize(("length", "for_steps", "expected"), [
    (1, 0, [(3, 4)]),           # F = 0 fires on the first true evaluation
    (3, 2, [(5, 6)]),           # exactly F/Δ + 1 = 3 true samples: fires at the last, lasts one step
    (2, 2, []),                 # one sample short of F/Δ + 1: never fires
    (5, 2, [(5, 8)]),           # fires 2 steps after the first true evaluation, ends when false
])
def test_for_duration_edges(length: int, for_steps: int, expected: list[tuple[int, int]]) -> None:
    values = [0.0, 0.0] + [1.0] * length + [0.0, 0.0]
    assert runs(values, 0.5, for_steps, 0) == expected


def test_condition_is_strictly_above_threshold() -> None:
    assert runs([0, 0.5, 0.5, 0], 0.5, 0, 0) == []
    assert runs([0, 0.51, 0], 0.5, 0, 0) == [(2, 3)]


# Episodes: samples 1-2 (alert [2, 4)) and samples 3+gap, 4+gap (evaluations [4+gap, 6+gap)).
@pytest.mark.parametrize(("gap", "cooldown", "expected_second"), [
    (3, 3, (7, 9)),   # starts exactly at end + cooldown = 4 + 3 → allowed, unchanged
    (2, 3, (7, 8)),   # starts 1 step inside the cooldown → held back to 4 + 3 = 7
    (1, 3, None),     # the whole episode [5, 7) lies inside the cooldown → dropped
    (2, 0, (6, 8)),   # no cooldown
])
def test_cooldown_edges(gap: int, cooldown: int, expected_second: tuple[int, int] | None) -> None:
    values = [0.0, 1, 1] + [0.0] * gap + [1, 1, 0, 0]
    # second episode: samples 3+gap, 4+gap → evaluations [4+gap, 6+gap)
    got = runs(values, 0.5, 0, cooldown)
    assert got[0] == (2, 4)
    assert got[1:] == ([expected_second] if expected_second else [])
    if expected_second and cooldown == 0:
        assert expected_second == (4 + gap, 6 + gap)


def test_dropped_episode_does_not_restart_the_cooldown() -> None:
    # Alerts: [2,3) ends at 3; episode at [4,5) dropped (4 < 3+3); episode [6,8): 6 ≥ 3+3 → kept.
    # Had the dropped episode restarted the cooldown (from 5), the third would start at 8 and vanish.
    assert runs([0, 1, 0, 1, 0, 1, 1, 0], 0.5, 0, 3) == [(2, 3), (6, 8)]


def test_rows_never_join_across_services_and_end_with_the_data() -> None:
    # Row 0 is still firing when its data ends (evaluation 4 = the end of the last sample):
    # the alert ends there rather than running into row 1, whose run starts at sample 0.
    row, s, e = th.alert_runs(np.array([[0, 0, 1.0, 1.0], [1.0, 0, 0, 0]]), 0.5, 0, 0)
    assert list(zip(row.tolist(), s.tolist(), e.tolist(), strict=True)) == [(0, 3, 4), (1, 1, 2)]


def test_window_values_by_hand() -> None:
    # num 1,2,3,4 over den 10 each: 3-sample window → (1+2+3)/30, (2+3+4)/30; first two missing.
    s = th.Series(("a",), T0, MIN, np.array([[1.0, 2, 3, 4]]), np.full((1, 4), 10.0))
    v = s.values(3)[0]
    assert np.isnan(v[:2]).all()
    assert v[2:].tolist() == pytest.approx([6 / 30, 9 / 30])


def test_no_traffic_never_fires() -> None:
    s = th.Series(("a",), T0, MIN, np.array([[0.0, 5, 0]]), np.array([[0.0, 0, 0]]))
    assert th.alert_runs(s.values(1), 0.0, 0, 0)[1].size == 0


def _incidents(rows: list[tuple[str, int, int | None]]) -> pl.DataFrame:
    return pl.DataFrame({"id": list(range(1, len(rows) + 1)), "service": [r[0] for r in rows],
                         "opened_at": [T0 + r[1] * MIN for r in rows],
                         "resolved_at": [None if r[2] is None else T0 + r[2] * MIN for r in rows]},
                        schema_overrides={"resolved_at": pl.Datetime("us"), "opened_at": pl.Datetime("us")})


def test_score_known_precision_recall_delay() -> None:
    # s0 alerts: samples 10-14 → [11, 16); samples 40-41 → [41, 43). s1: samples 5-6 → [6, 8).
    a = [0.0] * 60
    a[10:15] = [1.0] * 5
    a[40:42] = [1.0] * 2
    b = [0.0] * 60
    b[5:7] = [1.0] * 2
    s = series(a, b)
    # Incidents: s0 [8, 20) caught by [11,16) delay 3; s0 [30, 35) missed; s1 [7, 9) caught by
    # [6, 8) which started before it opened → delay 0; s0 [50, ∞) open → missed.
    inc = _incidents([("s0", 8, 20), ("s0", 30, 35), ("s1", 7, 9), ("s0", 50, None)])
    out = th.replay(s, th.Rule(0.5, MIN), inc)
    assert out["alerts"] == 3 and out["incidents"] == 4
    assert out["precision"] == pytest.approx(2 / 3)           # [41,43) overlaps nothing
    assert out["recall"] == pytest.approx(2 / 4)
    assert out["median_delay"] == pytest.approx(1.5)           # median of 3 and 0 minutes
    assert out["caught"].tolist() == [True, False, True, False]
    # 60 minutes = 60/10080 weeks → 3 alerts ÷ that
    assert out["alerts_per_week"] == pytest.approx(3 / (60 / 10080))
    assert out["off_hours_alerts"] == 3                        # Monday 00:xx UTC is off-hours
    assert [a["start"] for a in out["alert_intervals"]] == [T0 + 11 * MIN, T0 + 41 * MIN, T0 + 6 * MIN]


def test_incidents_outside_the_series_are_not_scored() -> None:
    s = series([0.0] * 10)
    inc = _incidents([("s0", -100, -50), ("s0", 20, 30), ("other", 2, 3)])
    assert th.replay(s, th.Rule(0.5, MIN), inc)["incidents"] == 0


@pytest.mark.parametrize(("when", "off"), [
    (datetime(2026, 3, 2, 8, 0), False), (datetime(2026, 3, 2, 17, 59), False),
    (datetime(2026, 3, 2, 18, 0), True), (datetime(2026, 3, 2, 7, 59), True),
    (datetime(2026, 3, 7, 12, 0), True),  # Saturday
])
def test_off_hours(when: datetime, off: bool) -> None:
    assert th.off_hours(np.array([th.to_us(when)]))[0] == off


def test_rule_steps_must_be_whole_multiples() -> None:
    with pytest.raises(ValueError, match="window"):
        th.Rule(0.1, timedelta(minutes=7)).steps(timedelta(minutes=5))
    with pytest.raises(ValueError, match="cooldown"):
        th.Rule(0.1, timedelta(minutes=5), cooldown=timedelta(minutes=2)).steps(timedelta(minutes=5))
    with pytest.raises(ValueError, match="unknown"):
        series([0.0]).index("unknown")


def test_bootstrap_matches_normal_approximation() -> None:
    result = {"true_alert": np.array([True, False] * 50), "caught": np.ones(20, bool)}
    ci = th.bootstrap(result, reps=4000, seed=3)
    half = 1.96 * np.sqrt(0.25 / 100)  # Wald half-width for p = 0.5, n = 100
    assert ci["precision"][0] == pytest.approx(0.5 - half, abs=0.02)
    assert ci["precision"][1] == pytest.approx(0.5 + half, abs=0.02)
    assert ci["recall"] == (1.0, 1.0)
    assert th.bootstrap(result, seed=3) == th.bootstrap(result, seed=3)


def test_split_and_compare() -> None:
    s = series([0.0, 1, 1, 0, 1, 0, 0, 0])
    train, valid = th.split(s, T0 + 4 * MIN)
    assert train.num.shape[1] == 4 and valid.start == T0 + 4 * MIN and valid.num[0, 0] == 1.0
    with pytest.raises(ValueError, match="outside"):
        th.split(s, T0 + 100 * MIN)
    inc = _incidents([("s0", 1, 4)])
    card = th.compare(s, inc, th.Rule(0.5, MIN), th.Rule(0.5, MIN, for_=MIN)).rows_by_key("measure")
    # current: alerts [2,4) and [5,6) → 2 alerts, precision 1/2; proposed (for 1m): only [3,4).
    assert card["alerts"][0][:2] == (2.0, 1.0)
    assert card["precision"][0] == (0.5, 1.0, 0.5)


def test_ticket_rate_series() -> None:
    t = pl.DataFrame({"service": ["a", "a", "a", "b"],
                      "opened_at": [T0 + timedelta(minutes=m) for m in (5, 50, 70, 10)]})
    s = th.ticket_rate_series(t, T0, T0 + timedelta(hours=3))
    assert s.services == ("a", "b")
    assert s.values(1)[0].tolist() == [2.0, 1.0, 0.0]
    assert s.values(2)[1].tolist()[1:] == [0.5, 0.0]


def test_rollback_replay_by_hand() -> None:
    # 5-minute samples; error ratio 0.1 for samples 2-4 after deployment 1 (failed) at 00:10;
    # deployment 2 (success) at 00:40 stays quiet; deployment 3 (failed) at 01:00 never shows.
    ratio = [0.0] * 24
    ratio[2:5] = [0.1] * 3
    s = th.Series(("a",), T0, timedelta(minutes=5), np.array([ratio]) * 100, np.full((1, 24), 100.0))
    dep = pl.DataFrame({"id": [1, 2, 3], "service": "a", "environment": "production",
                        "is_rollback": False, "status": ["failed", "success", "rolled_back"],
                        "finished_at": [T0 + timedelta(minutes=m) for m in (10, 40, 60)]})
    out = tp.rollback_replay(s, dep, 0.05, timedelta(minutes=15), timedelta(minutes=5))
    assert out["outcome"].to_list() == ["caught", "quiet", "missed"]
    # First evaluation above 5% is 00:15 (sample 2 ends); errors stop after sample 4 → 00:25.
    assert out["trigger_at"][0] == T0 + timedelta(minutes=15)
    assert out["impact_minutes_saved"].to_list() == [10.0, 0.0, 0.0]
    summary = tp.rollback_summary(out)
    assert (summary["precision"], summary["recall"], summary["impact_minutes_saved"]) == (1.0, 0.5, 10.0)


@pytest.mark.parametrize(("values", "direction", "expected"), [
    (list(range(1, 11)), "lower", {"warn_above": 7.75, "critical_above": 9.1}),
    (list(range(1, 11)), "higher", {"warn_below": 3.25, "critical_below": 1.9}),
])
def test_thresholds_from_history(values: list[float], direction: str, expected: dict) -> None:
    # Linear interpolation: p75 of 1..10 = 1 + 0.75·9 = 7.75; p90 = 1 + 0.9·9 = 9.1; p25 = 3.25.
    assert tp.thresholds_from_history(values, direction=direction) == pytest.approx(expected)
    with pytest.raises(ValueError, match="values"):
        tp.thresholds_from_history([])
    with pytest.raises(ValueError, match="'higher' or 'lower'"):
        tp.thresholds_from_history(values, direction="lower_is_better")


def test_sla_thresholds() -> None:
    assert tp.thresholds_from_sla(8.0, 0.75) == {"warn_above": 6.0, "critical_above": 8.0}
    with pytest.raises(ValueError, match="commitment"):
        tp.thresholds_from_sla(0)


def test_demo_sweep_shows_the_trade_off(demo_engine) -> None:  # noqa: ANN001
    from analytics.store.queries import Filters, incidents, sli_samples

    s = th.error_rate_series(sli_samples(demo_engine))
    outages = incidents(demo_engine, Filters(environment="production")).filter(pl.col("outage"))
    thresholds = np.geomspace(0.001, 0.5, 10)
    sweep = th.sweep(s, outages, thresholds, (timedelta(minutes=15),), for_=timedelta(minutes=5))
    recall, precision = sweep["recall"].to_numpy(), sweep["precision"].to_numpy()
    # Without cooldown a lower threshold's alerts contain the higher one's: recall never rises
    # with the threshold; precision rises with it (rank correlation), from noisy to clean.
    assert (np.diff(recall) <= 1e-12).all() and recall[0] > recall[-1]
    assert precision[0] < 0.2 < 0.9 < precision[-1]
    assert spearmanr(thresholds, precision).statistic > 0.8
