"""Signals page, headless from app.py: counts per kind, owner teams and the outbox's delivery
state per signal, user text shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from analytics.loop import channels as ch
from analytics.loop import outbox, signals_rules
from analytics.reports.signals import open_signals
from tests.loop.test_notify_support import AT, audit_files, plant  # noqa: F401 (fixtures)

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "pages/signals.py"


@pytest.fixture
def page_for(monkeypatch, loopback):
    def make(engine) -> AppTest:
        monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(APP, default_timeout=120).run()
        at.switch_page(PAGE).run()
        assert not at.exception, at.exception
        return at
    return make


def test_page_lists_signals_with_owner_and_delivery_state(engine, page_for):
    plant(engine)
    config = ch.parse({"version": 1, "channel": {"hook": {"type": "webhook",
                                                           "url": "http://127.0.0.1:9/x"}},
                       "team": {"payments": {"channels": ["hook"]}}}, env={})
    with Session(engine) as s:  # queue (not deliver): payments' signals are pending
        outbox.enqueue(session=s, report=open_signals(engine, signals_rules.load(), at=AT),
                       config=config)
        s.commit()
    at = page_for(engine)
    assert at.title[0].value == "Signals"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["SLA at risk"] == "1" and metrics["Burn during a deployment"] == "1"
    assert sum(int(v) for v in metrics.values()) == 6
    table = at.dataframe[0].value
    delivery = dict(zip(table["subject"], table["delivery"], strict=True))
    assert delivery["acme:pay"] == "hook: pending"
    assert delivery["acme:idp"] == "not queued"  # identity has no route in this config
    teams = dict(zip(table["subject"], table["team"], strict=True))
    assert teams["idp:change_failure_rate"] == "identity"
    # Each signal's kind in words, the label its metric tile has (not the rule's key).
    kinds = dict(zip(table["subject"], table["kind"], strict=True))
    assert kinds["acme:pay"] in metrics and "_" not in "".join(kinds.values())
    assert [h.value for h in at.header] == ["Open signals", "Delivery"]
