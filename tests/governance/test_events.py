"""Audit events are typed and documented (the datasette rule: a test fails when one is not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from analytics.governance import events
from analytics.store import audit

README = (Path(events.__file__).parent / "README.md").read_text()


@pytest.mark.parametrize("cls", events.all_events(), ids=lambda c: c.__name__)
def test_every_event_is_documented(cls):
    assert cls.name and cls.entity and cls.__doc__
    assert f"| `{cls.name}` | `{cls.__name__}` | {cls.entity} |" in README


def test_the_issue_s_events_exist():
    names = {c.name for c in events.all_events()}
    assert {"import", "definition.proposed", "definition.approved", "contract.change",
            "role.change", "export", "purge", "snapshot", "login"} <= names
    assert len(names) == len(events.all_events())  # no two classes share a name


def test_record_takes_an_event_and_the_legacy_keywords(engine):
    with Session(engine) as s:
        audit.record(s, events.LoginEvent(actor="ana", entity_id="ana", detail={"via": "sso"}))
        audit.record(s, actor="bo", action="import", entity="import_batch", entity_id="3",
                     detail={"kind": "deployments"})
        s.commit()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, action, entity, entity_id, detail FROM audit_log "
                                 "ORDER BY id")).all()
    assert [tuple(r[:4]) for r in rows] == [("ana", "login", "user", "ana"),
                                            ("bo", "import", "import_batch", "3")]
    assert json.loads(rows[0][4]) == {"via": "sso"}
    assert audit.verify_chain(engine) == (True, None)
