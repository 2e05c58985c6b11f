"""Who is using the app and what they may see: the one place pages ask (``can``/``require``).

app.py calls :func:`identify` on every run (sign-in with OIDC, local or insecure mode, see
analytics/auth), then shows only the pages the role may use (:func:`allowed`). Every page
starts with :func:`guard`, asks :func:`can` / :func:`person_level` before person-level rows,
and uses :func:`actor` as the audit actor. The identity is resolved again on each call
(:func:`resolve`), so nothing stored between runs can go stale or be planted. Everything is decided on the server: nothing the browser sends (URL, query
parameters, widget values) sets the identity or the role.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from analytics.auth import (INSECURE_ROLE, Identity, access_mode, os_user, parse_role_map, policy,
                            record_login, refusal, role_from_claims)
from analytics.settings import get_settings

LOGGED = "_workbench_login_recorded"  # session_state: the user whose login was audited
PERSON_LEVEL = "view-person-level"
_LOG = logging.getLogger(__name__)


def auth_section() -> Mapping | None:
    """The ``[auth]`` table of .streamlit/secrets.toml, or None when OIDC is not configured."""
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):  # no secrets.toml
        return None
    return section if isinstance(section, Mapping) and section else None


class Denied(Exception):
    """Nobody may use the app in this request: why (a refusal), or None (not signed in yet)."""

    def __init__(self, why: str | None, section: Mapping | None = None) -> None:
        super().__init__(why or "not signed in")
        self.why, self.section = why, section


def resolve() -> Identity:
    """Who makes this request, from the server's own state only (st.user from the signed
    cookie, the settings, the OS user); raises :class:`Denied`. Draws nothing, so pages can
    call it on every run: nothing is remembered between runs that could go stale."""
    settings = get_settings()
    section = auth_section()
    address = st.get_option("server.address")
    mode = access_mode(address, auth_configured=section is not None, insecure=settings.insecure)
    if mode is None:
        raise Denied(refusal(address))
    if mode == "insecure":
        return Identity(user="anonymous", role=INSECURE_ROLE, mode="insecure", source="no sign-in")
    if mode == "local":
        user, source = os_user()
        if settings.local_role not in policy().roles:
            raise Denied(f"WORKBENCH_LOCAL_ROLE={settings.local_role!r} is not a role "
                         f"({', '.join(policy().roles)}).")
        return Identity(user=user, role=settings.local_role, mode="local", source=source)
    claims = st.user.to_dict()
    if not claims.get("is_logged_in"):
        raise Denied(None, section)
    user = str(claims.get("email") or claims.get("preferred_username") or claims.get("sub")
               or claims.get("name") or "")
    if not user:
        raise Denied("The identity provider sent no email, preferred_username or sub claim.")
    try:
        role_map = parse_role_map(settings.role_map)
    except ValueError as exc:
        raise Denied(str(exc)) from None
    default = settings.default_role if settings.default_role in policy().roles else "viewer"
    role = role_from_claims(claims, settings.role_claim, role_map, default)
    return Identity(user=user, role=role, mode="oidc", source="identity provider")


def identify() -> Identity:
    """This request's identity, for app.py: draws the sign-in screen (and stops) when nobody
    is signed in, a refusal (and stops) on a public address without sign-in unless
    serve --insecure; audits a sign-in once per session; shows the banner."""
    try:
        identity = resolve()
    except Denied as denied:
        if denied.why is None:
            _login_screen(denied.section or {})
        else:
            st.error(denied.why)
        st.stop()
    if identity.mode == "oidc" and st.session_state.get(LOGGED) != (identity.user, identity.role):
        # Once per browser session (and again if the user or role changes): a typed audit entry.
        from sqlmodel import Session

        from analytics import ui

        with Session(ui.engine()) as session:
            record_login(session=session, identity=identity,
                         provider=st.user.to_dict().get("provider"))
            session.commit()
        st.session_state[LOGGED] = (identity.user, identity.role)
    _banner(identity)
    return identity


def providers(section: Mapping) -> list[str]:
    """Named providers (``[auth.<name>]`` tables); empty for the one unnamed provider."""
    return [name for name, value in section.items() if isinstance(value, Mapping)]


def _login_screen(section: Mapping) -> None:
    st.title("Service Level Workbench")
    st.write("Sign in to see the workbench; your role comes from your identity provider.")
    names = providers(section)
    for name in names or [None]:
        label = f"Sign in with {name}" if name else "Sign in"
        if st.button(label, key=f"login_{name or 'default'}", type="primary"):
            st.login(name) if name else st.login()


def _banner(identity: Identity) -> None:
    """Say who the app thinks you are, on every page (sidebar, under the navigation)."""
    if identity.mode == "local":
        st.sidebar.info(f"Local mode: you are {identity.user}, {identity.role}; no login "
                        "(loopback address only).", icon=":material/person:")
    elif identity.mode == "insecure":
        st.sidebar.warning("Insecure mode: a public address without sign-in; everyone is an "
                           f"anonymous {identity.role} (aggregates only).", icon=":material/warning:")
    else:
        st.sidebar.caption(f"Signed in as {identity.user} ({identity.role})")
        if st.sidebar.button("Sign out", key="logout"):
            st.logout()


def current() -> Identity:
    """This request's identity (resolved again: cheap, and never stale); stops when none."""
    try:
        return resolve()
    except Denied as denied:
        st.error(denied.why or "Sign in first.")
        st.stop()
        raise  # not reached: st.stop raises


def guard(page_file: str) -> Identity:
    """First line of every page: stop unless the role has the page's action (roles.toml).

    The navigation already leaves such pages out; this also holds when a page script runs
    without the router (Streamlit's legacy pages/ folder mode, e.g. `streamlit run app.py`)."""
    identity = current()
    name = Path(page_file).stem
    action = policy().page_action(name)
    if action is None:
        st.error(f"Page {name} is not declared in analytics/auth/roles.toml: refused.")
        st.stop()
    if not identity.can(action):
        st.error(f"Your role ({identity.role}) may not open this page: it needs "
                 f"{policy().actions[action]}.")
        st.stop()
    return identity


def can(action: str) -> bool:
    """Whether the current user's role grants ``action`` (declared in analytics/auth/roles.toml)."""
    return current().can(action)


def require(action: str) -> None:
    """Stop the page with a sentence when the current role lacks ``action``."""
    identity = current()
    if not identity.can(action):
        st.error(f"Your role ({identity.role}) may not {policy().actions[action]}.")
        st.stop()


def person_level(what: str) -> bool:
    """Whether person-level rows may be shown; if not, says so in place of ``what``."""
    if can(PERSON_LEVEL):
        return True
    st.info(f"{what}: person-level, shown to analysts, auditors and admins only "
            f"(you are a {current().role}).", icon=":material/lock:")
    return False


def actor() -> str:
    """The audit actor: the signed-in (or local) user, never typed in by hand."""
    return current().user


def page_name(page) -> str:
    """The file name (without .py) of a st.Page, the key of roles.toml's [pages] table."""
    source = getattr(page, "_page", None)
    return Path(source).stem if isinstance(source, str | Path) else page.url_path


def allowed(pages: dict[str, list], identity: Identity) -> dict[str, list]:
    """The navigation sections with only the pages ``identity`` may use.

    A page without an entry in roles.toml [pages] is refused for everyone (and logged), so a
    new page is never open by accident."""
    out: dict[str, list] = {}
    for section, entries in pages.items():
        kept = []
        for page in entries:
            action = policy().page_action(page_name(page))
            if action is None:
                _LOG.warning("page %s has no action in analytics/auth/roles.toml: refused",
                             page_name(page))
            elif identity.can(action):
                kept.append(page)
        if kept:
            out[section] = kept
    return out
