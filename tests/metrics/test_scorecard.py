"""Release health scorecard: KPIs next to customer impact, bands and escalation, by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from tests.metrics.delivery_builders import (
    END,
    START,
    service_cols,
    changes,
    deployments,
    h,
    incidents,
    scenario,
)

from analytics import catalogue
from analytics.metrics.bands import band
from analytics.metrics.delivery_report import build_facts
from analytics.metrics.drilldown import after_release_records
from analytics.metrics.scorecard import customer_impact, scorecard, scorecard_rows


def _tickets(rows: list[tuple[int, int, float]]) -> pl.DataFrame:
    return pl.DataFrame([{"id": i, "service_id": s, **service_cols(s), "opened_at": h(at)}
                         for i, s, at in rows],
                        schema={"id": pl.Int64, "service_id": pl.Int64, "service": pl.String,
                                "team": pl.String, "tier": pl.String, "criticality": pl.Int64,
                                "opened_at": pl.Datetime("us")})


def _csat(rows: list[tuple[int, int, float, int, int | None]]) -> pl.DataFrame:
    return pl.DataFrame([{"id": i, "service_id": s, **service_cols(s), "responded_at": h(at),
                          "score": score, "related_deployment_id": dep}
                         for i, s, at, score, dep in rows],
                        schema={"id": pl.Int64, "service_id": pl.Int64, "service": pl.String,
                                "team": pl.String, "tier": pl.String, "criticality": pl.Int64,
                                "responded_at": pl.Datetime("us"), "score": pl.Int64,
                                "related_deployment_id": pl.Int64})


# Releases in the period: checkout d1 h10, d2 h34, d4 h60, d5 h70; search d6 h30, d7 h200;
# ledger d13 h80 (rollbacks d3, d12 are not releases).
TICKETS = _tickets([
    (1, 1, 12),    # checkout, 2 h after d1 → after a release
    (2, 1, 100),   # checkout, 30 h after d5 → after
    (3, 2, 90),    # search, 60 h after d6 → outside the 48 h window
    (4, 2, 201),   # search, 1 h after d7 → after
    (5, 3, 50),    # billing: no releases
    (6, 1, -5),    # before the period: not counted
    (7, 4, 300),   # ledger, 220 h after d13
])
CSAT = _csat([
    (1, 1, 11, 2, None),   # checkout, 1 h after d1 → after
    (2, 1, 200, 5, None),  # checkout, 130 h after d5 → other
    (3, 1, 300, 1, 4),     # linked to d4 → after, whatever the time
    (4, 2, 31, 4, None),   # search, 1 h after d6 → after
    (5, 2, 100, 3, None),  # search, 70 h after d6 → other
])


@pytest.fixture
def facts():  # noqa: ANN201
    deps, chg, inc = scenario()
    return build_facts(deps, chg, inc, start=START, end=END)


def test_customer_impact_by_hand(facts) -> None:  # noqa: ANN001
    table = customer_impact(facts, TICKETS, CSAT, keys=["service"])
    got = {r["service"]: r for r in table.iter_rows(named=True)}
    # checkout: attributed i1, i2, i7, i9; customer-facing i1 (3 h) + i2 (5 h) = 480 min.
    assert (got["checkout"]["attributed_incidents"], got["checkout"]["customer_facing_minutes"]) \
        == (4, 480.0)
    assert (got["checkout"]["tickets_after_releases"], got["checkout"]["tickets"]) == (2, 2)
    assert (got["checkout"]["csat_after_releases"], got["checkout"]["csat_after_releases_n"]) \
        == (0.0, 2)  # scores 2 and 1: no answer of 4 or 5
    assert (got["checkout"]["csat_other"], got["checkout"]["csat_other_n"]) == (1.0, 1)  # a 5
    # search: i4 attributed but not customer-facing; i3 unattributed.
    assert (got["search"]["attributed_incidents"], got["search"]["customer_facing_minutes"]) \
        == (1, 0.0)
    assert (got["search"]["tickets_after_releases"], got["search"]["tickets"]) == (1, 2)
    assert (got["search"]["csat_after_releases"], got["search"]["csat_other"]) == (1.0, 0.0)
    assert (got["billing"]["tickets_after_releases"], got["billing"]["tickets"]) == (0, 1)
    assert (got["ledger"]["tickets_after_releases"], got["ledger"]["attributed_incidents"]) \
        == (0, 0)


@pytest.mark.parametrize("order", ["time", "reversed", "id"])
def test_customer_impact_whatever_the_row_order(facts, order: str) -> None:  # noqa: ANN001
    # Rows already in time order (the read copy's) are flagged without a sort; any other order
    # is sorted first: the counts are the hand-checked ones either way.
    arrange = {"time": lambda f, ts: f.sort(ts), "reversed": lambda f, ts: f.sort(ts).reverse(),
               "id": lambda f, ts: f}[order]
    tickets, csat = arrange(TICKETS, "opened_at"), arrange(CSAT, "responded_at")
    expected = customer_impact(facts, TICKETS, CSAT, keys=["service"])
    assert customer_impact(facts, tickets, csat, keys=["service"]).equals(expected)
    got = {r["service"]: r for r in expected.iter_rows(named=True)}
    assert (got["checkout"]["tickets_after_releases"], got["search"]["tickets"]) == (2, 2)
    assert (got["checkout"]["csat_after_releases_n"], got["search"]["csat_other"]) == (2, 0.0)


def test_service_scorecard_rows(facts) -> None:  # noqa: ANN001
    table = scorecard(facts, TICKETS, CSAT, level="service")
    # Sorted by criticality, then service: checkout (1), ledger (1), search (2), billing (3).
    assert table["service"].to_list() == ["checkout", "ledger", "search", "billing"]
    checkout = table.row(0, named=True)
    assert (checkout["level"], checkout["team"], checkout["tier"]) == ("service", "payments",
                                                                        "gold")
    assert (checkout["deployments"], checkout["cfr"], checkout["lead_time_median"]) == (
        4, 0.75, 12.0)
    assert checkout["change_failure_rate_band"] == band("change_failure_rate", 0.75) == "low"
    assert checkout["lead_time_band"] == "elite"  # 12 h < 1 day
    assert checkout["recovery_time_band"] == "high"  # median of 25, 16, 5 = 16 h < 1 day
    assert (checkout["customer_facing_minutes"], checkout["csat_after_releases"]) == (480.0, 0.0)
    assert checkout["small_sample"] is True  # 4 deployments < 20
    # All in one ISO month: no three consecutive periods, so nothing escalates.
    assert not table["escalate"].any()


def test_team_rows_are_grouped_by_criticality(facts) -> None:  # noqa: ANN001
    table = scorecard(facts, TICKETS, CSAT, level="team")
    keys = table.select("criticality", "team").rows()
    # payments owns checkout (criticality 1) and billing (3): two rows.
    assert keys == [(1, "finance"), (1, "payments"), (2, "storefront"), (3, "payments")]
    payments1 = table.filter((pl.col("team") == "payments") & (pl.col("criticality") == 1))
    service = scorecard(facts, TICKETS, CSAT, level="service").filter(
        pl.col("service") == "checkout")
    for col in ("deployments", "cfr", "tickets_after_releases", "csat_after_releases"):
        assert payments1[col][0] == service[col][0]


def test_scorecard_rows_json_shape(facts) -> None:  # noqa: ANN001
    rows = scorecard_rows(facts, TICKETS, CSAT)
    assert [r["level"] for r in rows] == ["service"] * 4 + ["team"] * 4
    assert rows[4]["service"] is None and rows[4]["team"] == "finance"
    assert set(rows[0]) == set(rows[-1])


def _monthly(failed_per_month: list[int], service_id: int, first_id: int) -> list[dict]:
    """Ten deployments a month (Jan–Apr 2024) on days 1–10; `f` of them, on days 1, 3, 5, 7,
    failed, and the success the next day ends each failure: recovery is a constant 24 h."""
    rows, k = [], first_id
    for m, failed in enumerate(failed_per_month, start=1):
        for day in range(1, 11):
            at = (datetime(2024, m, day, 10) - datetime(2024, 1, 1)) / timedelta(hours=1)
            rows.append({"id": k, "service_id": service_id, "at": at,
                         "status": "failed" if day in (1, 3, 5, 7)[:failed] else "success"})
            k += 1
    return rows


def test_escalation_after_three_consecutive_degradations() -> None:
    deps = deployments(_monthly([1, 2, 3, 4], 1, 1) + _monthly([1, 2, 1, 3], 2, 100))
    facts = build_facts(deps, changes([]), incidents([]), start=date(2024, 1, 1),
                        end=date(2024, 4, 30))
    table = scorecard(facts, level="service")
    got = {r["service"]: (r["escalate"], r["escalated_kpis"]) for r in table.iter_rows(named=True)}
    # checkout CFR 10 % → 20 % → 30 % → 40 %: worse three times running. search: 10, 20, 10, 30.
    # Deploys per day 10/31, 10/29, 10/31, 10/30 zig-zags; recovery is flat at 24 h.
    assert got == {"checkout": (True, ["cfr"]), "search": (False, [])}
    assert table.filter(pl.col("service") == "checkout")["cfr"][0] == pytest.approx(10 / 40)


@pytest.mark.parametrize(("kwargs", "message"), [({"level": "org"}, "level: use one of"),
                                                 ({"every": "day"}, "every: use one of")])
def test_bad_arguments(facts, kwargs: dict, message: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=message):
        scorecard(facts, **kwargs)


def test_tickets_frame_is_checked(facts) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=r"tickets: missing column\(s\) opened_at"):
        customer_impact(facts, TICKETS.drop("opened_at"), keys=["service"])


@pytest.mark.parametrize(("kind", "events", "service", "ids", "releases", "count_col"), [
    # checkout tickets t2 (30 h after d5) then t1 (2 h after d1), newest first.
    ("tickets after releases", TICKETS, "checkout", [2, 1], [5, 1], "tickets_after_releases"),
    ("tickets after releases", TICKETS, "search", [4], [7], "tickets_after_releases"),
    ("tickets after releases", TICKETS, "billing", [], [], "tickets_after_releases"),
    # checkout CSAT r3 (linked to d4, 230 h after d5: no release in the window) and r1 (d1).
    ("CSAT after releases", CSAT, "checkout", [3, 1], [None, 1], "csat_after_releases_n"),
    ("CSAT after releases", CSAT, "search", [4], [6], "csat_after_releases_n"),
])
def test_after_release_records_are_the_counted_rows(facts, kind, events, service, ids,  # noqa: ANN001
                                                    releases, count_col) -> None:
    rows, total = after_release_records(facts, events, kind, where={"service": service})
    assert (rows["id"].to_list(), rows["release_id"].to_list(), total) == (ids, releases,
                                                                           len(ids))
    impact = customer_impact(facts, TICKETS, CSAT, keys=["service"])
    assert impact.filter(pl.col("service") == service)[count_col][0] == total
    assert after_release_records(facts, events, kind, where={"service": service},
                                 limit=1)[0].height == min(1, len(ids))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "tickets"}, "kind: unknown 'tickets'"),
    ({"where": {"environment": "production"}},
     "where: tickets after releases have no environment"),
    ({"where": {"owner": "x"}}, "where: unknown slice key"),
    ({"limit": 0}, "limit: expected a positive whole number"),
])
def test_after_release_records_bad_input(facts, kwargs: dict, message: str) -> None:  # noqa: ANN001
    args = {"kind": "tickets after releases", **kwargs}
    with pytest.raises(ValueError, match=message):
        after_release_records(facts, TICKETS, args.pop("kind"), **args)


@pytest.mark.parametrize("order", ["as given", "reversed"])
def test_both_levels_at_once_equal_each_level_alone(facts, order: str) -> None:  # noqa: ANN001
    """scorecards() flags the tickets and answers once for both levels: the same rows as each
    level's scorecard() flagging them itself, whatever the events' row order."""
    from analytics.metrics.scorecard import scorecards

    tickets, csat = ((TICKETS, CSAT) if order == "as given"
                     else (TICKETS.reverse(), CSAT.reverse()))
    both = scorecards(facts, tickets, csat)
    assert list(both) == ["service", "team"]
    for level, rows in both.items():
        alone = scorecard(facts, TICKETS, CSAT, level=level)
        assert rows.columns == alone.columns
        assert rows.to_dicts() == alone.to_dicts()


def test_escalation_runs_given_or_computed_give_the_same_scorecard() -> None:
    """escalation_runs() is the scorecard's rule: checked against the full monthly trend of
    every month (the candidates' way) and passed back in, the same rows."""
    from analytics.metrics.delivery_report import summarize
    from analytics.metrics.scorecard import escalation_runs
    from analytics.metrics.trends import degraded_runs

    deps = deployments(_monthly([1, 2, 3, 4], 1, 1) + _monthly([1, 2, 1, 3], 2, 100)
                       + _monthly([4, 3, 2, 1], 3, 200))
    facts = build_facts(deps, changes([]), incidents([]), start=date(2024, 1, 1),
                        end=date(2024, 4, 30))
    runs = escalation_runs(facts, level="service")
    full = degraded_runs(summarize(facts, by=("service",), every="1mo"), keys=["service"],
                         run=3, directions=catalogue.escalation())
    assert sorted(runs.rows()) == sorted(full.rows())
    assert {r[0]: r[1] for r in runs.rows()} == {"checkout": ["cfr"], "search": [],
                                                 "billing": []}
    for level in ("service", "team"):
        given = scorecard(facts, level=level, runs=escalation_runs(facts, level=level))
        assert given.to_dicts() == scorecard(facts, level=level).to_dicts()


@pytest.mark.parametrize("keys", [["service"], ["criticality", "team"]])
def test_impact_from_service_counts_equals_the_per_event_one(facts, keys) -> None:  # noqa: ANN001
    """Tickets and answers read with only service_id, flagged, counted per service and added
    up through the services table give the per-event aggregation's rows, to the bit (an
    answer without a score counts in n but not in the share, as in the mean)."""
    from analytics.metrics.scorecard import flagged, service_counts

    csat = pl.concat([CSAT, _csat([(6, 2, 32, 5, None)]).with_columns(
        pl.lit(None, pl.Int64).alias("score"))])
    services = pl.DataFrame([{"service_id": s, **service_cols(s)} for s in (1, 2, 3, 4)])
    narrow_t = TICKETS.select("id", "service_id", "opened_at")
    narrow_c = csat.select("id", "service_id", "responded_at", "score", "related_deployment_id")
    counts = service_counts(*flagged(facts, narrow_t, narrow_c))
    got = customer_impact(facts, keys=keys, counts=counts, services=services)
    expected = customer_impact(facts, TICKETS, csat, keys=keys)
    assert got.equals(expected)
    searched = got.filter(pl.col(keys[-1]) == ("search" if keys == ["service"] else "storefront"))
    assert searched["csat_after_releases_n"][0] == 2 and searched["csat_after_releases"][0] == 1.0
    only = customer_impact(facts, keys=keys, counts=service_counts(None, None), services=services)
    assert only.equals(customer_impact(facts, keys=keys))


@pytest.mark.parametrize("level", ["service", "team"])
def test_runs_given_as_a_function_give_the_same_rows(facts, level) -> None:  # noqa: ANN001
    """A caller's escalation check passed as a function (called while the summaries are
    computed on another thread) gives the rows of the runs passed as a frame or computed."""
    from analytics.metrics.scorecard import escalation_runs

    runs = escalation_runs(facts, level=level)
    called = []

    def check() -> pl.DataFrame:
        called.append(level)
        return runs

    expected = scorecard(facts, TICKETS, CSAT, level=level)
    assert scorecard(facts, TICKETS, CSAT, level=level, runs=runs).equals(expected)
    assert scorecard(facts, TICKETS, CSAT, level=level, runs=check).equals(expected)
    assert called == [level]
