"""AppTest helpers: every page test starts from app.py against a given store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app_for(monkeypatch, loopback):
    """Build an AppTest of app.py whose store is the given engine (caches cleared first)."""

    def make(engine, page: str | None = None, role: str | None = None,
             period: tuple[str, str] | None = None) -> AppTest:
        """``period`` (first and last day, ISO) opens the app with it in the URL, as a shared
        link would; without it the page shows the default period."""
        monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
        if role:  # honoured in local mode only (no [auth]): the role of the one local user
            monkeypatch.setenv("WORKBENCH_LOCAL_ROLE", role)
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(APP, default_timeout=120)
        if period:
            at.query_params["period"] = list(period)
        at.run()
        assert not at.exception, at.exception
        if page:
            at.switch_page(page).run()
            assert not at.exception, at.exception
            if period:  # the period picked on the page itself, as the user would
                at.date_input(key="period").set_value(
                    tuple(date.fromisoformat(d) for d in period)).run()
                assert not at.exception, at.exception
        return at

    return make
