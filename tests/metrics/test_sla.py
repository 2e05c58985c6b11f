"""SLA uptime, exclusions, contract versions and credits against hand-computed values (REFERENCE §3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from analytics.metrics import intervals as iv
from analytics.metrics.sla import (
    PRESETS,
    Contract,
    CreditBand,
    contract_in_force,
    credit_for,
    escalation_for,
    expand_exclusions,
    month_bounds,
    sla_report,
    uptime_pct,
)
from analytics.metrics.sla_uptime import service_uptime

APRIL = (datetime(2026, 4, 1), datetime(2026, 5, 1))  # 30 days = 43,200 minutes in UTC

# Typed empty frames: what the SLA metrics take as "no outages" / "no maintenance windows".
OUTAGE_SCHEMA = {"service": pl.String, "start": pl.Datetime("us"), "end": pl.Datetime("us"),
                 "cause": pl.String}
MAINTENANCE_SCHEMA = {"service": pl.String, "start": pl.Datetime("us"),
                      "end": pl.Datetime("us"), "kind": pl.String, "recurrence": pl.String,
                      "description": pl.String}


def empty_outages() -> pl.DataFrame:
    return pl.DataFrame(schema=OUTAGE_SCHEMA)


def empty_maintenance() -> pl.DataFrame:
    return pl.DataFrame(schema=MAINTENANCE_SCHEMA)


def contract(**kw) -> Contract:  # noqa: ANN003
    base = Contract(name="acme", customer="ACME", services=("checkout",), tier="gold",
                    target_pct=99.95, effective_from=date(2026, 1, 1), monthly_fee=2000.0,
                    credits=PRESETS["gold"]["credits"], escalation="account-manager")
    return replace(base, **kw)


def outages(*rows: tuple) -> pl.DataFrame:
    """(service, start, end[, cause]) rows."""
    if not rows:
        return empty_outages()
    return pl.DataFrame([{"service": r[0], "start": r[1], "end": r[2],
                          "cause": r[3] if len(r) > 3 else "internal"} for r in rows],
                        schema=empty_outages().schema)


def windows(*rows: tuple) -> pl.DataFrame:
    """(service, start, end, kind[, recurrence]) rows."""
    if not rows:
        return empty_maintenance()
    return pl.DataFrame([{"service": r[0], "start": r[1], "end": r[2], "kind": r[3],
                          "recurrence": r[4] if len(r) > 4 else None, "description": "w"}
                         for r in rows], schema=empty_maintenance().schema)


def d(day: int, hour: float, month: int = 4) -> datetime:
    return datetime(2026, month, day) + timedelta(hours=hour)


# REFERENCE §3 worked example: 43,200-minute month; 240 min maintenance with 30 min of outage
# inside it; 60 min of outage outside. (A second outage overlapping the 60 minutes counts once.)
EXAMPLE_OUTAGES = outages(("checkout", d(5, 3.5), d(5, 4.0)), ("checkout", d(10, 12), d(10, 13)),
                          ("checkout", d(10, 12.25), d(10, 12.75)))
EXAMPLE_WINDOWS = windows(("checkout", d(5, 0), d(5, 4), "scheduled"))


@pytest.mark.parametrize(("mode", "rounded", "exact", "downtime"), [
    ("exclude", 99.8603, (43_200 - 240 - 60) / (43_200 - 240) * 100, 60.0),  # 42,900/42,960
    ("count_as_up", 99.8611, (43_200 - 60) / 43_200 * 100, 60.0),            # 43,140/43,200
    ("none", 99.7917, (43_200 - 90) / 43_200 * 100, 90.0),                   # 43,110/43,200
])
def test_reference_maintenance_example(mode: str, rounded: float, exact: float,
                                       downtime: float) -> None:
    row = service_uptime(contract(exclusion_mode=mode), "checkout", EXAMPLE_OUTAGES,
                         expand_exclusions(EXAMPLE_WINDOWS, *APRIL, "UTC"), *APRIL)
    assert (row["period_minutes"], row["excluded_minutes"], row["downtime_minutes"]) == \
        (43_200.0, 240.0, downtime)
    assert round(row["uptime_pct"], 4) == rounded
    assert row["uptime_pct"] == pytest.approx(exact, rel=1e-12)
    assert uptime_pct(43_200, 240, 60, 90, mode) == pytest.approx(exact, rel=1e-12)


# Region preset: < 99.99 → 10, < 99.0 → 30, < 95.0 → 100; exactly on a limit is NOT below it.
@pytest.mark.parametrize(("uptime", "cap", "credit"), [
    (100.0, 100, 0), (99.99, 100, 0), (99.9899, 100, 10), (99.0, 100, 10), (98.9999, 100, 30),
    (95.0, 100, 30), (94.99, 100, 100), (0.0, 100, 100), (94.99, 50, 50), (None, 100, 0)])
def test_credit_ladder_boundaries(uptime: float | None, cap: float, credit: float) -> None:
    assert credit_for(uptime, PRESETS["cloud-region"]["credits"], cap) == credit


def test_ladder_order_in_data_does_not_matter() -> None:
    shuffled = (CreditBand(95.0, 100), CreditBand(99.99, 10), CreditBand(99.0, 30))
    assert [credit_for(u, shuffled) for u in (99.5, 97.0, 90.0)] == [10, 30, 100]


def test_uptime_exactly_on_a_limit_computed_from_minutes() -> None:
    # 432 of 43,200 minutes down → exactly 99.0% → region ladder band "< 99.99" (10%), not 30%;
    # target 99.0 → not breached.
    c = contract(target_pct=99.0, credits=PRESETS["cloud-region"]["credits"])
    row = service_uptime(c, "checkout", outages(("checkout", d(3, 0), d(3, 7.2))),
                         expand_exclusions(windows(), *APRIL, "UTC"), *APRIL)
    assert row["downtime_minutes"] == 432.0
    assert (row["credit_pct"], row["breached"]) == (10, False)


def test_calendar_month_in_amsterdam_has_44580_minutes() -> None:
    # 31 × 1,440 = 44,640 − 60 (29 March 02:00 → 03:00) = 44,580; October has 31 × 1,440 + 60.
    start, end = month_bounds(2026, 3, "Europe/Amsterdam")
    assert (start, end) == (datetime(2026, 2, 28, 23), datetime(2026, 3, 31, 22))
    assert (end - start) / timedelta(minutes=1) == 44_580
    s, e = month_bounds(2026, 10, "Europe/Amsterdam")
    assert (e - s) / timedelta(minutes=1) == 44_700


def test_recurring_maintenance_follows_local_wall_clock() -> None:
    # Weekly on Sunday 01:00-02:00 Amsterdam from 1 March (00:00 UTC in CET). March Sundays:
    # 1, 8, 15, 22, 29 → 5 × 60 = 300 min; after the DST change (29 March 01:00 UTC) the
    # window starts at 23:00 UTC the day before (5 April 01:00 CEST).
    rule = windows((None, datetime(2026, 3, 1, 0), datetime(2026, 3, 1, 1), "scheduled",
                    "FREQ=WEEKLY;BYDAY=SU"))
    lo, hi = month_bounds(2026, 3, "Europe/Amsterdam")
    march = expand_exclusions(rule, lo, hi, "Europe/Amsterdam")
    assert march["start"].to_list() == [datetime(2026, 3, d_, 0) for d_ in (1, 8, 15, 22, 29)]
    april = expand_exclusions(rule, *month_bounds(2026, 4, "Europe/Amsterdam"), "Europe/Amsterdam")
    assert april["start"][0] == datetime(2026, 4, 4, 23)
    assert april.height == 4
    c = contract(timezone="Europe/Amsterdam")
    row = service_uptime(c, "checkout", outages(), march, lo, hi)
    assert row["excluded_minutes"] == 300.0


def test_rrule_with_until_and_count() -> None:
    rule = windows(("checkout", d(1, 2), d(1, 3), "scheduled", "FREQ=DAILY;COUNT=3"),
                   ("checkout", d(1, 5), d(1, 6), "scheduled", "FREQ=DAILY;UNTIL=20260402T235959Z"))
    got = expand_exclusions(rule, *APRIL, "UTC")
    assert got.height == 3 + 2
    assert iv.minutes(iv.spans(got)) == 5 * 60


def test_overlapping_outages_and_incidents_count_once() -> None:
    # Outages 10:00-11:00 and 10:30-11:30, incident 11:15-11:45 → union 10:00-11:45 = 105 min.
    # An unresolved outage incident on 30 April 23:00 runs to the period end: +60 → 165.
    out = outages(("checkout", d(2, 10), d(2, 11)), ("checkout", d(2, 10.5), d(2, 11.5)))
    incidents = pl.DataFrame({"service": ["checkout", "checkout", "checkout"],
                              "opened_at": [d(2, 11.25), d(30, 23), d(3, 1)],
                              "resolved_at": [d(2, 11.75), None, d(3, 2)],
                              "outage": [True, True, False]})
    report = sla_report([contract()], out, windows(), 2026, 4, incidents=incidents)
    assert report["downtime_minutes"].to_list() == [165.0]
    # (43,200 − 165) / 43,200 = 99.618…% → below 99.95 but not below 99.0 → 10% of 2,000 = 200
    row = report.row(0, named=True)
    assert row["uptime_pct"] == pytest.approx((43_200 - 165) / 43_200 * 100)
    assert (row["breached"], row["credit_pct"], row["credit_amount"]) == (True, 10.0, 200.0)
    assert row["escalation"] == "account-manager"


def test_interval_algebra_matches_minute_counting() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        def rand_spans(n: int) -> iv.Spans:
            s = rng.integers(0, 500, n)
            return s * 60_000_000, (s + rng.integers(0, 60, n)) * 60_000_000
        a, b = rand_spans(8), rand_spans(5)
        grid_a, grid_b = np.zeros(600, bool), np.zeros(600, bool)
        for (x, y), grid in (((a[0], a[1]), grid_a), ((b[0], b[1]), grid_b)):
            for s, e in zip(x // 60_000_000, y // 60_000_000, strict=True):
                grid[s:e] = True
        assert iv.minutes(a) == grid_a.sum()
        assert iv.minutes(iv.intersect(a, b)) == (grid_a & grid_b).sum()


@pytest.mark.parametrize(("third_party", "excluded", "downtime"), [(True, 60.0, 30.0),
                                                                   (False, 0.0, 90.0)])
def test_third_party_outages_are_excluded_only_when_the_contract_says_so(
        third_party: bool, excluded: float, downtime: float) -> None:
    out = outages(("checkout", d(2, 1), d(2, 2), "third_party"), ("checkout", d(2, 5), d(2, 5.5)))
    row = service_uptime(contract(exclude_third_party=third_party), "checkout", out,
                         expand_exclusions(windows(), *APRIL, "UTC"), *APRIL)
    assert (row["excluded_minutes"], row["downtime_minutes"]) == (excluded, downtime)


def test_exclusion_kinds_and_service_scope() -> None:
    # force majeure (all services) 60 + customer-caused on checkout 30 count; a third-party
    # window (contract does not exclude third party) and another service's window do not.
    w = windows((None, d(1, 0), d(1, 1), "force_majeure"), ("checkout", d(2, 0), d(2, 0.5), "customer"),
                ("checkout", d(3, 0), d(3, 2), "third_party"), ("search", d(4, 0), d(4, 2), "scheduled"))
    row = service_uptime(contract(), "checkout", outages(), expand_exclusions(w, *APRIL, "UTC"), *APRIL)
    assert row["excluded_minutes"] == 90.0


def test_contract_versions_by_effective_date_and_partial_first_month() -> None:
    v1 = contract(tier="silver", target_pct=99.9, effective_from=date(2026, 1, 1))
    v2 = contract(tier="gold", target_pct=99.95, effective_from=date(2026, 3, 1))
    assert contract_in_force([v2, v1], date(2026, 2, 1), date(2026, 2, 28)) is v1
    assert contract_in_force([v2, v1], date(2026, 3, 1), date(2026, 3, 31)) is v2
    assert contract_in_force([v2], date(2026, 2, 1), date(2026, 2, 28)) is None
    late = contract(name="late", effective_from=date(2026, 4, 16))
    report = sla_report([v1, v2, late], outages(), windows(), 2026, 4)
    got = {r["contract"]: (r["tier"], r["period_minutes"]) for r in report.rows(named=True)}
    # April 16-30 = 15 days × 1,440 = 21,600 minutes
    assert got == {"acme": ("gold", 43_200.0), "late": ("gold", 21_600.0)}


def test_credit_cap_applies_to_the_contract_total() -> None:
    # Two services each at 98% (< 99.0 → 30%); cap 50% of the fee → each scaled to 25% → 500.
    c = contract(services=("checkout", "search"), credit_cap_pct=50.0)
    out = outages(("checkout", d(2, 0), d(2, 0) + timedelta(minutes=864)),
                  ("search", d(2, 0), d(2, 0) + timedelta(minutes=864)))
    report = sla_report([c], out, windows(), 2026, 4)
    assert report["uptime_pct"].to_list() == pytest.approx([98.0, 98.0])
    assert report["credit_pct"].to_list() == [25.0, 25.0]
    assert report["credit_amount"].to_list() == [500.0, 500.0]


def test_escalation_only_on_breach() -> None:
    assert escalation_for(contract(), breached=False) is None
    assert escalation_for(contract(escalation=None), breached=True) == "unassigned"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: month_bounds(2026, 13, "UTC"), "month must be 1-12"),
    (lambda: month_bounds(2026, 1, "Nowhere/City"), "timezone: unknown IANA time zone"),
    (lambda: uptime_pct(100, 0, 0, mode="lenient"), "exclusion_mode must be one of"),
    (lambda: expand_exclusions(windows(("x", d(1, 0), d(1, 1), "scheduled", "FREQ=SOMETIMES")),
                               *APRIL, "UTC"), "recurrence: invalid RRULE"),
    (lambda: expand_exclusions(windows(("x", d(1, 1), d(1, 0), "scheduled")), *APRIL, "UTC"),
     "end must be after start"),
    (lambda: sla_report([contract()], outages(), windows(), "2026", 4), "year and month"),
])
def test_bad_input_names_the_field(call, message: str) -> None:  # noqa: ANN001
    with pytest.raises((ValueError, TypeError), match=message):
        call()


@pytest.mark.parametrize("third_party", [False, True])
def test_many_services_match_minute_by_minute_counting(third_party: bool) -> None:
    # sla_report splits a contract's exclusions and outages by service once; each service's
    # minutes must be what a per-minute mask of April gives: random minute-aligned outages
    # (some third-party, overlapping), windows for one service, for every service (null) and
    # of a kind that does not count, spans sticking out of the month.
    rng = np.random.default_rng(3)
    services = tuple(f"s{i}" for i in range(12))
    lo, hi = APRIL
    n = int((hi - lo) / timedelta(minutes=1))

    def span() -> tuple[datetime, datetime]:
        a = int(rng.integers(-600, n))
        return lo + timedelta(minutes=a), lo + timedelta(minutes=a + int(rng.integers(1, 900)))

    causes = ["internal", "third_party"]
    down_rows = [(str(rng.choice(services[:9])), *span(), str(rng.choice(causes)))
                 for _ in range(60)]
    win_rows = [(None if i % 4 == 0 else str(rng.choice(services)), *span(),
                 str(rng.choice(["scheduled", "customer", "emergency"]))) for i in range(25)]
    c = contract(services=services, exclude_third_party=third_party, credit_cap_pct=100.0)
    rows = sla_report([c], outages(*down_rows), windows(*win_rows), 2026, 4)

    def minute(t: datetime) -> int:
        return max(int((t - lo) / timedelta(minutes=1)), 0)

    def mask(spans: list[tuple[datetime, datetime]]) -> np.ndarray:
        m = np.zeros(n, bool)
        for a, b in spans:
            m[minute(a):minute(b)] = True
        return m

    for row in rows.iter_rows(named=True):
        s = row["service"]
        excl = mask([(a, b) for w, a, b, kind in win_rows if w in (None, s) and kind != "emergency"]
                    + [(a, b) for o, a, b, cause in down_rows
                       if o == s and third_party and cause == "third_party"])
        down = mask([(a, b) for o, a, b, cause in down_rows
                     if o == s and not (third_party and cause == "third_party")])
        assert row["excluded_minutes"] == excl.sum(), s
        assert row["downtime_minutes"] == (down & ~excl).sum(), s
        assert row["uptime_pct"] == pytest.approx((n - excl.sum() - (down & ~excl).sum())
                                                  / (n - excl.sum()) * 100, abs=1e-9), s
