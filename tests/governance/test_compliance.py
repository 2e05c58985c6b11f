"""Compliance lists: against plain SQL on the demo, and rule by rule on hand-built stores."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from analytics.cli import main
from analytics.reports.compliance import CHANGE_RULE, compliance
from analytics.store.models import AuditLog
from analytics.store.queries import Filters
from analytics.store.validations import validate_emergency
from tests.governance import builders as b

T0 = datetime(2026, 3, 2, 10)


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_outages_without_postmortem_match_plain_sql(demo_engine):
    got = compliance(demo_engine)
    with demo_engine.connect() as conn:
        ids = conn.execute(text(
            "SELECT id FROM incident WHERE customer_facing AND outage AND environment = 'production' "
            "AND (postmortem_url IS NULL OR trim(postmortem_url) = '') ORDER BY opened_at, id")).scalars().all()
    assert got.outages_without_postmortem["id"].to_list() == ids
    assert len(ids) > 0  # the demo plants a few (every 25th severe incident)


def test_period_narrows_the_outage_list(demo_engine):
    f = Filters(start=date(2026, 9, 1), end=date(2026, 9, 30), environment="production")
    got = compliance(demo_engine, f).outages_without_postmortem
    with demo_engine.connect() as conn:
        n = conn.execute(text(
            "SELECT count(*) FROM incident WHERE customer_facing AND outage AND postmortem_url IS NULL "
            "AND opened_at >= '2026-09-01' AND opened_at < '2026-10-01'")).scalar_one()
    assert got.height == n


def test_emergency_overdue_late_pending_and_validated(engine):
    b.services(engine)
    at = T0 + timedelta(days=10)
    b.deployment(engine, 1, 2, T0, emergency=True)                       # overdue: never validated
    b.deployment(engine, 2, 2, T0, emergency=True)                       # validated in 24 h: fine
    b.deployment(engine, 3, 2, T0, emergency=True)                       # validated after 80 h: late
    b.deployment(engine, 4, 2, at - timedelta(hours=10), emergency=True)  # pending, not yet due
    b.deployment(engine, 5, 2, T0)                                       # not an emergency
    with Session(engine) as s:
        validate_emergency(session=s, deployment_id=2, by="ana", note="tests rerun",
                           at=T0 + timedelta(hours=24))
        validate_emergency(session=s, deployment_id=3, by="bo", note="reviewed",
                           at=T0 + timedelta(hours=80))
        s.commit()
    got = compliance(engine, at=at)
    rows = {r["id"]: r["status"] for r in got.emergency_unvalidated.to_dicts()}
    assert rows == {1: "overdue", 3: "late"}
    assert (got.emergency_pending, got.emergency_total) == (1, 4)
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action, entity_id FROM audit_log ORDER BY id")).all()
    assert [tuple(a) for a in actions] == [("validate_emergency", "2"), ("validate_emergency", "3")]


def test_validation_refuses_bad_input_and_writes_nothing(engine):
    b.services(engine)
    b.deployment(engine, 1, 2, T0, emergency=True)
    b.deployment(engine, 2, 2, T0)
    with Session(engine) as s:
        for kw, message in [({"deployment_id": 9}, "no deployment with id 9"),
                            ({"deployment_id": 2}, "not an emergency fix"),
                            ({"deployment_id": 1, "by": " "}, "name .--by. must not be empty")]:
            with pytest.raises(ValueError, match=message):
                validate_emergency(session=s, **({"by": "ana", "note": "n"} | kw))
        validate_emergency(session=s, deployment_id=1, by="ana", note="ok")
        s.commit()
        with pytest.raises(ValueError, match="already validated by ana"):
            validate_emergency(session=s, deployment_id=1, by="bo", note="again")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM emergency_validation")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1


def test_change_approval_rule(engine):
    b.services(engine)
    b.change_request(engine, 1, T0 - timedelta(days=2), outcome="successful")
    b.change_request(engine, 2, T0 - timedelta(days=2), outcome="Rejected")
    b.change_request(engine, 3, T0 + timedelta(hours=1), outcome="successful")
    b.deployment(engine, 1, 1, T0, change_request_id=1)       # gold, approved: fine
    b.deployment(engine, 2, 1, T0)                            # gold, no CR
    b.deployment(engine, 3, 1, T0, change_request_id=2)       # gold, refused
    b.deployment(engine, 4, 3, T0, change_request_id=3)       # criticality 1, CR raised afterwards
    b.deployment(engine, 5, 2, T0)                            # silver crit 2: not required
    b.deployment(engine, 6, 1, T0, is_rollback=True)          # a rollback: a remediation
    b.deployment(engine, 7, 1, T0, environment="staging")     # not production
    got = compliance(engine, at=T0)
    reasons = {r["id"]: r["reason"] for r in got.unapproved_changes.to_dicts()}
    assert reasons == {2: "no change request", 3: "change request refused",
                       4: "change request opened after the deployment started"}
    assert got.changes_required == 4  # deployments 1–4
    assert "tier gold" in CHANGE_RULE.sentence() and "criticality ≤ 1" in got.rule


def test_a_period_reads_only_the_band_of_change_requests_it_links_to(engine):
    import polars as pl

    from analytics.store import queries

    b.services(engine)
    for i, outcome in enumerate(["Rejected", "successful", "successful", "successful",
                                 "Rejected", "Rejected"], start=1):
        b.change_request(engine, i, T0 - timedelta(days=40), outcome=outcome)
    b.deployment(engine, 1, 1, T0 - timedelta(days=30), change_request_id=1)  # before the period
    b.deployment(engine, 2, 1, T0, change_request_id=3)   # approved
    b.deployment(engine, 3, 1, T0, change_request_id=5)   # refused (inside the band)
    period = Filters(start=(T0 - timedelta(days=5)).date(), end=T0.date(), environment="production")
    got = compliance(engine, period, at=T0)
    assert {r["id"]: r["reason"] for r in got.unapproved_changes.to_dicts()} == {
        3: "change request refused"}
    # The band: ids from the least to the greatest linked (nulls ignored); nothing linked: no row.
    band = queries.change_requests(engine, "id AS change_request_id", pl.Series([3, None, 5]))
    assert band["change_request_id"].to_list() == [3, 4, 5]
    assert queries.change_requests(engine, "id", pl.Series([None], dtype=pl.Int64)).height == 0
    # The whole store judged with every change request read gives the same reasons.
    assert {r["id"]: r["reason"] for r in compliance(engine, at=T0).unapproved_changes.to_dicts()} == {
        1: "change request refused", 3: "change request refused"}


def test_cli_lists_and_validate(engine, capsys):
    b.services(engine)
    b.deployment(engine, 1, 2, T0, emergency=True)
    b.incident(engine, 1, 1, T0, T0 + timedelta(hours=1), customer_facing=True, outage=True,
               severity=1, title="=cmd|' /C calc'!A0")
    b.incident(engine, 2, 1, T0, T0 + timedelta(hours=1), customer_facing=True, outage=True,
               severity=1, postmortem_url="https://wiki/pm/2")
    url = _url(engine)
    assert main(["--db", url, "compliance", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"] == {"outages_without_postmortem": 1, "emergency_unvalidated": 1,
                             "unapproved_changes": 0}
    assert out["outages_without_postmortem"][0]["external_id"] == "INC1"
    assert main(["--db", url, "compliance", "validate", "--deployment", "1", "--by", "ana",
                 "--note", "smoke tests green", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["validated_by"] == "ana"
    assert main(["--db", url, "compliance", "validate", "--deployment", "1", "--by", "ana",
                 "--note", "again"]) == 2
    assert "already validated" in capsys.readouterr().err
    with Session(engine) as s:
        assert s.get(AuditLog, 1).action == "validate_emergency"
    assert main(["--db", url, "compliance", "--format", "json"]) == 0
    # Validated today, months after T0 + 72 h: it stays on the list, now as late.
    late = json.loads(capsys.readouterr().out)["emergency_unvalidated"]
    assert [(r["id"], r["status"], r["validated_by"]) for r in late] == [(1, "late", "ana")]


@pytest.mark.parametrize(("picked", "expected"), [(12, 12), ("12", 12), ("d13", 13), (" d13 ", 13),
                                                  ("d99", None), ("", None)])
def test_picked_deployment_resolves_an_option_or_a_typed_id(picked, expected):
    """The validation form's choice: an option is the id itself; a typed text is matched
    against the overdue rows' ids and external ids, nothing else."""
    import polars as pl

    from analytics.reports.compliance import picked_deployment

    rows = pl.DataFrame({"id": [12, 13], "external_id": ["d12", "d13"]})
    if expected is None:
        with pytest.raises(ValueError, match="No overdue emergency fix"):
            picked_deployment(rows, picked)
    else:
        assert picked_deployment(rows, picked) == expected
