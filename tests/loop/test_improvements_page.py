"""The Improvements page, headless from app.py on the demo: register rows, the validation
panel's verdicts (the same sentences the report gives), candidates and learning tiles."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from analytics.reports.improvements import validate
from analytics.reports.learning import major_incidents
from analytics.store.queries import Filters

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_page_shows_register_validation_and_learning(demo_engine, monkeypatch, loopback):
    monkeypatch.setenv("DATABASE_URL", demo_engine.url.render_as_string(hide_password=False))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("pages/improvements.py").run()
    assert not at.exception, at.exception
    from datetime import date
    # The last 90 days of data, picked on the page (the default period is the whole demo year).
    at.date_input(key="period").set_value((date(2026, 8, 25), date(2026, 11, 22))).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Improvements"
    assert [h.value for h in at.header] == ["Register", "Did it work?", "Candidates",
                                            "Post-incident learning"]
    texts = [t.value for t in at.text]
    assert texts == validate(demo_engine, 1, with_roi=False).verdicts  # the canary, first
    assert any("fell by" in t and "consistent with the expected −50%" in t for t in texts)
    major = next(m for m in at.metric if m.label == "Major incidents").value
    # The period picked: the last 90 days of data (2026-08-25 – 2026-11-22).
    rows = major_incidents(demo_engine, Filters(start=date(2026, 8, 25), end=date(2026, 11, 22),
                                                environment="production"))
    assert major == f"{int(rows['major'].sum()):,}" != "0"
