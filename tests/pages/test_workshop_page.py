"""Threshold workshop page, headless: the scorecard follows the sliders and Save versions the rule."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import text

from analytics import demo
from analytics.store.db import get_engine
from tests.conftest import DEMO_END


@pytest.fixture
def demo_copy(demo_engine, engine, tmp_path):  # noqa: ANN001, ANN201
    """A private copy of the demo store: Save writes rows the other tests must not see.

    SQLite: an online backup of the demo file; PostgreSQL: the demo loaded into a fresh database."""
    if demo_engine.url.get_backend_name() != "sqlite":
        demo.load(engine, demo.generate(seed=7, end=DEMO_END))
        return engine
    path = tmp_path / "demo.db"
    src, dst = sqlite3.connect(demo_engine.url.database), sqlite3.connect(path)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return get_engine(f"sqlite:///{path}")


def _card(at) -> dict:  # noqa: ANN001
    frame = at.dataframe[0].value
    return {r["measure"]: r for r in frame.to_dict("records")}


def test_workshop_scores_and_saves(demo_copy, app_for, monkeypatch) -> None:  # noqa: ANN001
    from analytics.store.queries import Filters, incidents, sli_samples
    from analytics.studies import thresholds as th

    at = app_for(demo_copy, page="pages/workshop.py")
    assert at.title[0].value == "Threshold workshop"
    service = at.selectbox(key="ws_service").value
    at.slider(key="ws_threshold").set_value(0.2).run()
    assert not at.exception, at.exception

    samples = sli_samples(demo_copy, Filters(services=(service,)))
    inc = incidents(demo_copy, Filters(services=(service,), environment="production"))
    expected = th.replay(th.error_rate_series(samples),
                         th.Rule(0.2, timedelta(minutes=15), timedelta(minutes=5), timedelta(minutes=30)), inc)
    card = _card(at)
    assert card["alerts"]["proposed"] == expected["alerts"]
    assert card["recall"]["proposed"] == pytest.approx(expected["recall"])
    tiles = {m.label: m.value for m in at.metric}
    caught = sum(expected["caught"])
    assert tiles["Incidents caught"] == f"{caught} of {expected['incidents']}"
    assert tiles["Incidents missed"] == str(expected["incidents"] - caught)
    assert tiles["False alarms"] == str(sum(not t for t in expected["true_alert"]))

    monkeypatch.setenv("WORKBENCH_USER", "sre-lead")  # the signed-in (local) user is the actor
    at.text_input(key="ws_reason").input("too many pages at night").run()
    at.button(key="ws_save").click().run()
    assert not at.exception, at.exception
    with demo_copy.connect() as conn:
        row = conn.execute(text("SELECT version, thresholds, changed_by, reason, direction "
                                "FROM kpi_definition WHERE key = :k"),
                           {"k": f"alert_rule.error_rate.{service}"}).one()
        audit = conn.execute(text("SELECT actor, detail FROM audit_log WHERE action = 'kpi_threshold_changed'")).one()
    assert row[0] == 1 and json.loads(row[1])["threshold"] == 0.2 and row[2:] == ("sre-lead", "too many pages at night", "lower")
    detail = json.loads(audit[1])
    # Saved through store.definitions.save_definition, whose "old" is the previous stored
    # version: none here (the page's default rule was never stored).
    assert audit[0] == "sre-lead" and detail["old"] is None and detail["new"]["threshold"] == 0.2
    at.run()
    assert any("version 1" in c.value for c in at.caption)


def test_workshop_rollback_trigger_matches_report(demo_engine, app_for) -> None:  # noqa: ANN001
    from analytics.reports.thresholds import rollback_replay

    at = app_for(demo_engine, page="pages/workshop.py")
    service = at.selectbox(key="ws_service").value
    at.number_input(key="ws_rb_threshold").set_value(0.02).run()
    assert not at.exception, at.exception
    expected = rollback_replay(demo_engine, service=service, threshold=0.02, within=timedelta(minutes=15))
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Failures caught"] == f"{expected['caught']} of {expected['caught'] + expected['missed']}"
    assert tiles["False rollbacks"] == str(expected["false rollback"])
    assert tiles["Impact minutes saved"] == f"{expected['impact_minutes_saved']:,.0f}"
