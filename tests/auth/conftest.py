"""AppTest of app.py as a given identity: local mode with a role, OIDC with a seeded st.user,
or a public address (insecure / refused)."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.auth.roles_helpers import APP, AUTH


@pytest.fixture
def address():
    """Set the address the app believes it serves on; restored afterwards."""
    before = config.get_option("server.address")

    def set_(host: str | None) -> None:
        config.set_option("server.address", host)

    yield set_
    config.set_option("server.address", before)


@pytest.fixture
def app_as(monkeypatch, address):
    """``app_as(engine, role=..., query=..., page=..., user=None)``: an AppTest of app.py (run
    once). With ``user`` (a claims dict) the app has [auth] and st.user is that user; else it
    is in local mode on 127.0.0.1 with WORKBENCH_LOCAL_ROLE=role."""

    def make(engine, *, role: str = "admin", query: dict | None = None, page: str | None = None,
             user: dict | None = None, host: str = "127.0.0.1") -> AppTest:
        monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
        monkeypatch.setenv("WORKBENCH_LOCAL_ROLE", role)
        address(host)
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(APP, default_timeout=120)
        if user is not None:
            at.secrets["auth"] = AUTH
            at.user = user
        if query:
            at.query_params.update(query)
        at.run()
        assert not at.exception, at.exception
        if page:
            at.switch_page(page).run()
            assert not at.exception, at.exception
        return at

    return make

