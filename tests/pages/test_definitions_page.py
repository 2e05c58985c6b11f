"""Definitions page, headless from app.py: proposals decided through the store functions (four
eyes, audited), history, and the KPI retirement aid."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from analytics.governance import changes
from analytics.store.definitions import seed_kpi_definitions

PAGE = "pages/definitions.py"


def _propose(engine, who="ana"):
    with Session(engine) as s:
        seed_kpi_definitions(session=s)
        changes.propose(session=s, kind="threshold", key="change_failure_rate",
                        new={"warn": 0.12}, reason="customers notice at 12%", actor=who)
        s.commit()


def _captions(at) -> str:
    # Captions of user data are Markdown-escaped (ui.plain): compare without the backslashes.
    return "\n".join(c.value.replace("\\", "") for c in at.caption)


def _decide(at, button):
    next(x for x in at.button if x.label == button).click().run()
    assert not at.exception


def test_a_second_admin_approves_and_the_caption_names_the_version(engine, app_for, monkeypatch):
    _propose(engine)
    monkeypatch.setenv("WORKBENCH_USER", "bo")
    at = app_for(engine, PAGE)
    assert at.title[0].value == "Definitions"
    assert [h.value for h in at.header] == ["Proposals to approve", "History",
                                            "Do our KPIs still track customers?"]
    assert "Definitions: cfr v1, csat v1," in _captions(at)
    pending = at.dataframe[0].value
    assert pending["key"].tolist() == ["change_failure_rate"]
    _decide(at, "Approve")
    assert any("Proposal 1 approved" in s.value for s in at.success)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status, decided_by, version FROM definition_proposal")
                            ).one() == ("approved", "bo", 2)
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                 "'definition.approved' AND actor = 'bo'")).scalar_one() == 1
    at.run()
    assert "Definitions: cfr v2" in _captions(at)


def test_the_proposer_cannot_approve_their_own_change(engine, app_for, monkeypatch):
    _propose(engine)
    monkeypatch.setenv("WORKBENCH_USER", "ana")
    at = app_for(engine, PAGE)
    _decide(at, "Approve")
    assert any("another admin must decide it" in e.value for e in at.error)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM definition_proposal")).scalar_one() == "pending"
    # With no deployments the retirement aid says so instead of drawing an empty chart.
    assert at.info and not at.get("arrow_vega_lite_chart")
