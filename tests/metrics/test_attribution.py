"""Incident → deployment attribution (REFERENCE §1.1) and its storage, checked by hand and SQL."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from tests.metrics.delivery_builders import SERVICES, changes, deployments, incidents, scenario
from sqlalchemy import Engine, text
from sqlmodel import Session

from analytics.metrics.attribution import attribute, rule_counts
from analytics.store.attributions import save_attributions
from analytics.store.bulk import bulk_insert


def _links(attr: pl.DataFrame) -> dict[int, tuple[int | None, str]]:
    return {r["incident_id"]: (r["deployment_id"], r["rule"]) for r in attr.iter_rows(named=True)}


def test_scenario_rules_by_hand() -> None:
    deps, chg, inc = scenario()
    attr = attribute(inc, deps, chg)
    assert _links(attr) == {
        1: (2, "window"),          # d2 finished 2 h before
        2: (2, "window"),          # d3 (11 h → 5 h before) is a rollback, not a candidate
        3: (None, "unattributed"),  # d6 is 120 h before; staging d8 does not count
        4: (6, "explicit"),        # caused_by d6 wins over the later d7
        5: (None, "unattributed"),  # billing never finished a deployment
        6: (None, "unattributed"),  # before any deployment
        7: (1, "window"),
        8: (None, "unattributed"),  # staging incident, production scope
        9: (1, "window"),          # d2 finished at the same instant: not *before*
    }
    assert attr.filter(pl.col("incident_id") == 4)["gap_hours"][0] == 180.0  # h210 − h30
    assert rule_counts(attr) == {"explicit": 1, "window": 4, "unattributed": 4}


@pytest.mark.parametrize(("window", "expected"), [
    (48, {1: "window", 2: "window", 3: "window"}),
    (10, {1: "window", 2: "window", 3: "unattributed"}),   # gap exactly 10 h is inside
    (9.99, {1: "window", 2: "unattributed", 3: "unattributed"}),
    (1, {1: "unattributed", 2: "unattributed", 3: "unattributed"}),
])
def test_window_is_configurable_and_inclusive(window: float, expected: dict[int, str]) -> None:
    deps = deployments([{"id": 1, "service_id": 1, "at": 0}])
    inc = incidents([{"id": 1, "service_id": 1, "opened": 2},
                     {"id": 2, "service_id": 1, "opened": 10},
                     {"id": 3, "service_id": 1, "opened": 30}])
    attr = attribute(inc, deps, window_hours=window)
    assert {k: v[1] for k, v in _links(attr).items()} == expected


def test_explicit_links_via_change_request_and_commit() -> None:
    deps = deployments([{"id": 1, "service_id": 1, "at": 0, "change_request_id": 70},
                        {"id": 2, "service_id": 1, "at": 5},
                        {"id": 3, "service_id": 1, "at": 100, "change_request_id": 71}])
    chg = changes([(1, 2, -1)])  # commit "c1" shipped by d2
    inc = incidents([
        {"id": 1, "service_id": 1, "opened": 6, "caused_by_cr": 70},    # CR 70 → d1
        {"id": 2, "service_id": 1, "opened": 7, "commit": "c1"},        # commit → d2
        {"id": 3, "service_id": 1, "opened": 8, "caused_by_cr": 71},    # d3 later: still d3
        {"id": 4, "service_id": 1, "opened": 9, "caused_by": 3, "caused_by_cr": 70},
        {"id": 5, "service_id": 1, "opened": 9, "commit": "unknown"},   # unresolvable → window
    ])
    assert _links(attribute(inc, deps, chg)) == {
        1: (1, "explicit"), 2: (2, "explicit"), 3: (3, "explicit"),
        4: (3, "explicit"),  # caused_by_deployment_id comes first
        5: (2, "window")}


def test_environment_must_match_when_several_are_in_scope() -> None:
    deps = deployments([{"id": 1, "service_id": 1, "at": 0, "environment": "staging"},
                        {"id": 2, "service_id": 1, "at": 1}])
    inc = incidents([{"id": 1, "service_id": 1, "opened": 2, "environment": "staging"},
                     {"id": 2, "service_id": 1, "opened": 2}])
    both = attribute(inc, deps, environments=["production", "staging"])
    assert _links(both) == {1: (1, "window"), 2: (2, "window")}
    assert _links(attribute(inc, deps)) == {1: (None, "unattributed"), 2: (2, "window")}


def test_incident_without_service_is_kept_unattributed() -> None:
    deps = deployments([{"id": 1, "service_id": 1, "at": 0}])
    inc = incidents([{"id": 1, "service_id": None, "opened": 1}])
    assert _links(attribute(inc, deps)) == {1: (None, "unattributed")}


@pytest.mark.parametrize(("window", "message"), [
    (0, "window_hours: must be positive"), (-5, "window_hours: must be positive"),
    ("48", "window_hours: expected a number"), (True, "window_hours: expected a number")])
def test_bad_window(window: object, message: str) -> None:
    deps, chg, inc = scenario()
    with pytest.raises(ValueError, match=message):
        attribute(inc, deps, chg, window_hours=window)  # type: ignore[arg-type]


def test_missing_incident_column_is_named() -> None:
    deps, _, inc = scenario()
    with pytest.raises(ValueError, match=r"incidents: missing column\(s\) opened_at"):
        attribute(inc.drop("opened_at"), deps)


def _fill_store(engine: Engine, deps: pl.DataFrame, inc: pl.DataFrame) -> None:
    services = pl.DataFrame([{"id": k, "name": v[0], "team": v[1], "tier": v[2],
                              "criticality": v[3], "source": "test", "external_id": v[0]}
                             for k, v in SERVICES.items()])
    with engine.begin() as conn:
        bulk_insert(conn, "service", services)
        bulk_insert(conn, "deployment", deps.select(
            "id", "service_id", "environment", "finished_at", "status", "is_rollback",
            pl.lit("test").alias("source"), pl.col("id").cast(pl.String).alias("external_id")))
        bulk_insert(conn, "incident", inc.select(
            "id", "service_id", "environment", "severity", "opened_at", "resolved_at",
            "caused_by_deployment_id", pl.lit("test").alias("source"),
            pl.col("id").cast(pl.String).alias("external_id")))


def test_save_attribution_replaces_rows_of_that_window(engine: Engine) -> None:
    deps, chg, inc = scenario()
    _fill_store(engine, deps, inc)
    stamp = datetime(2024, 2, 1, 12)
    with Session(engine) as session:
        counts48 = save_attributions(session=session, attribution=attribute(inc, deps, chg),
                                     window_hours=48, computed_at=stamp)
        save_attributions(session=session, attribution=attribute(inc, deps, chg, window_hours=10),
                          window_hours=10)
        session.commit()
    with Session(engine) as session:  # recompute 48 h: replaces, does not duplicate
        save_attributions(session=session, attribution=attribute(inc, deps, chg),
                          window_hours=48, computed_at=stamp)
        session.commit()
    assert counts48 == {"explicit": 1, "window": 4, "unattributed": 4}
    with engine.connect() as conn:
        per_rule = dict(conn.execute(text(
            "SELECT rule, count(*) FROM incident_attribution WHERE window_hours = 48 "
            "GROUP BY rule")).all())
        total = conn.execute(text("SELECT count(*) FROM incident_attribution")).scalar_one()
        i2 = conn.execute(text("SELECT deployment_id FROM incident_attribution "
                               "WHERE incident_id = 2 AND window_hours = 10")).scalar_one()
    assert per_rule == {"explicit": 1, "window": 4, "unattributed": 4}
    assert total == 18  # 9 incidents × 2 windows
    assert i2 is None  # 11 h gap is outside a 10 h window


def test_save_attribution_is_all_or_nothing(engine: Engine) -> None:
    deps, chg, inc = scenario()
    _fill_store(engine, deps, inc)
    with Session(engine) as session:
        save_attributions(session=session, attribution=attribute(inc, deps, chg), window_hours=48)
        session.commit()
    broken = attribute(inc, deps, chg).with_columns(
        pl.when(pl.col("incident_id") == 9).then(999).otherwise(pl.col("deployment_id"))
        .alias("deployment_id"))  # deployment 999 does not exist: the FK fails on insert
    with pytest.raises(Exception), Session(engine) as session:  # noqa: B017, PT011
        save_attributions(session=session, attribution=broken, window_hours=48)
        session.commit()
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM incident_attribution")).scalar_one()
    assert n == 9  # the delete was rolled back with the failed insert


def test_save_attribution_rejects_unknown_rule(engine: Engine) -> None:
    bad = pl.DataFrame({"incident_id": [1], "deployment_id": [None], "rule": ["guess"]})
    with pytest.raises(ValueError, match="attribution: unknown rule"), Session(engine) as session:
        save_attributions(session=session, attribution=bad, window_hours=48)

