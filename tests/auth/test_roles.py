"""Roles are data: every page declares its action, each role's navigation holds exactly the pages
its actions allow, a page reached another way refuses, and a public address without sign-in is
refused unless --insecure (then everyone is a viewer)."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from analytics.auth import access_mode, parse_role_map, policy, role_from_claims
from analytics.cli import serve
from tests.auth.roles_helpers import ROOT, navigation

PAGES = sorted(p.stem for p in (ROOT / "pages").glob("*.py"))
AGGREGATE_PAGES = {"overview", "delivery", "slos", "slas", "customer", "voice_of_customer",
                   "experiments", "release_impact", "weekday", "signals",
                   "contracts", "review", "improvements", "definitions"}
# Written out by hand (not derived from roles.toml), so a change to the table shows up here.
EXPECTED = {
    "viewer": AGGREGATE_PAGES,
    "analyst": AGGREGATE_PAGES | {"workshop", "governance", "data", "import_data"},
    "auditor": AGGREGATE_PAGES | {"governance", "data"},
    "admin": AGGREGATE_PAGES | {"workshop", "governance", "data", "import_data"},
}


def test_every_page_declares_an_action_and_guards_itself():
    declared = policy().pages
    assert sorted(declared) == PAGES, "each pages/*.py needs an entry in analytics/auth/roles.toml [pages]"
    routed = {Path(node.args[0].value).stem for node in ast.walk(ast.parse((ROOT / "app.py").read_text()))
              if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"}
    assert routed == set(PAGES), "app.py PAGES and pages/ disagree"
    for name in PAGES:
        source = (ROOT / "pages" / f"{name}.py").read_text()
        assert "access.guard(__file__)" in source, f"pages/{name}.py must call access.guard(__file__)"


def test_roles_are_sets_of_declared_actions():
    p = policy()
    assert list(p.roles) == ["admin", "auditor", "analyst", "viewer"]  # most privileged first
    assert p.roles["viewer"] == {"view-aggregates"}
    assert p.roles["admin"] == set(p.actions)
    assert "view-person-level" in p.roles["analyst"] and "view-person-level" in p.roles["auditor"]
    assert "import" not in p.roles["auditor"] and "approve-definitions" not in p.roles["analyst"]
    with pytest.raises(KeyError):
        p.can("viewer", "no-such-action")


def test_claims_map_to_the_most_privileged_role():
    mapping = parse_role_map(json.dumps({"wb-analysts": "analyst", "wb-admins": "admin"}))
    assert role_from_claims({"groups": ["wb-analysts", "wb-admins"]}, "groups", mapping, "viewer") == "admin"
    assert role_from_claims({"groups": ["wb-analysts"]}, "groups", mapping, "viewer") == "analyst"
    assert role_from_claims({"groups": "other"}, "groups", mapping, "viewer") == "viewer"
    assert role_from_claims({"email": "a@b"}, "groups", mapping, "viewer") == "viewer"
    assert parse_role_map('"wb-auditors" = "auditor"') == {"wb-auditors": "auditor"}
    with pytest.raises(ValueError, match="unknown roles"):
        parse_role_map('{"x": "superuser"}')


@pytest.mark.parametrize(("host", "auth", "insecure", "mode"), [
    ("127.0.0.1", False, False, "local"), ("::1", False, False, "local"),
    ("localhost", False, False, "local"), ("0.0.0.0", False, False, None),
    ("192.168.1.5", False, False, None), ("", False, False, None),
    ("0.0.0.0", False, True, "insecure"), ("0.0.0.0", True, False, "oidc"),
    ("127.0.0.1", True, False, "oidc")])
def test_access_mode(host, auth, insecure, mode):
    assert access_mode(host, auth_configured=auth, insecure=insecure) == mode


def test_serve_refuses_a_public_address_without_sign_in(capsys, monkeypatch):
    monkeypatch.setattr(serve, "_auth_in_secrets", lambda: False)
    monkeypatch.delenv("WORKBENCH_INSECURE", raising=False)
    args = argparse.Namespace(host="0.0.0.0", port=8601, insecure=False, db=None)
    assert serve.run(args) == 2  # returns before any server starts
    err = capsys.readouterr().err
    assert err.startswith("error: Refusing to serve on 0.0.0.0 without sign-in") and "--insecure" in err
    assert serve.refuse("0.0.0.0", insecure=True, auth_configured=False) is None
    assert serve.refuse("0.0.0.0", insecure=False, auth_configured=True) is None
    assert serve.refuse("127.0.0.1", insecure=False, auth_configured=False) is None
    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    assert parser.parse_args(["serve", "--insecure"]).insecure is True


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_navigation_holds_exactly_the_pages_of_the_role(role, engine, app_as):
    at = app_as(engine, role=role)
    assert navigation(at) == EXPECTED[role]
    assert any("Local mode: you are" in i.value and f", {role}; no login" in i.value
               for i in at.sidebar.info)
    for name in set(PAGES) - EXPECTED[role]:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"pages/{name}.py")


@pytest.mark.parametrize("name", ["import_data", "workshop", "governance", "data"])
def test_a_page_run_without_the_router_refuses_a_viewer(name, engine, monkeypatch, address):
    """Streamlit's legacy pages/ folder mode (e.g. `streamlit run app.py`) runs a page file
    without app.py: the page's own guard still refuses."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("WORKBENCH_LOCAL_ROLE", "viewer")
    address("127.0.0.1")
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=60).run()
    assert [e.value for e in at.error] == [
        f"Your role (viewer) may not open this page: it needs {policy().actions[policy().pages[name]]}."]
    assert not at.title and not at.dataframe and not at.button


def test_public_address_is_refused_or_insecure_viewer(engine, app_as, monkeypatch):
    at = app_as(engine, host="0.0.0.0")
    assert at.error[0].value.startswith("Refusing to serve on 0.0.0.0 without sign-in")
    assert not at.title and not at.metric  # stopped before the navigation: no page ran
    monkeypatch.setenv("WORKBENCH_INSECURE", "1")
    at = app_as(engine, host="0.0.0.0", role="admin")  # the local role does not apply
    assert navigation(at) == EXPECTED["viewer"]
    assert "everyone is an anonymous viewer" in at.sidebar.warning[0].value


def test_oidc_sign_in_screen_then_role_from_claims_and_a_login_entry(engine, app_as, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ROLE_MAP", '{"wb-auditors": "auditor", "wb-analysts": "analyst"}')
    at = app_as(engine, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in"]
    assert [t.value for t in at.title] == ["Service Level Workbench"] and not at.metric
    at = app_as(engine, user={"is_logged_in": True, "email": "ana@example.org",
                              "groups": ["staff", "wb-auditors"]})
    assert navigation(at) == EXPECTED["auditor"]
    assert "Signed in as ana@example.org (auditor)" in [c.value for c in at.sidebar.caption]
    at.run()  # a second run of the same session: no second login entry
    at = app_as(engine, user={"is_logged_in": True, "email": "bo@example.org", "groups": ["x"]})
    assert navigation(at) == EXPECTED["viewer"]  # unmapped: WORKBENCH_DEFAULT_ROLE
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, action, detail FROM audit_log ORDER BY id")).all()
    assert [(a, act, json.loads(d)["role"]) for a, act, d in rows] == [
        ("ana@example.org", "login", "auditor"), ("bo@example.org", "login", "viewer")]
