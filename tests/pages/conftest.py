"""AppTest helpers: every page test starts from app.py against a given store."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app_for(monkeypatch, loopback):
    """Build an AppTest of app.py whose store is the given engine (caches cleared first)."""

    def make(engine, page: str | None = None, role: str | None = None) -> AppTest:
        monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
        if role:  # honoured in local mode only (no [auth]): the role of the one local user
            monkeypatch.setenv("WORKBENCH_LOCAL_ROLE", role)
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(APP, default_timeout=120).run()
        assert not at.exception, at.exception
        if page:
            at.switch_page(page).run()
            assert not at.exception, at.exception
        return at

    return make
