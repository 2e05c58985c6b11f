"""Identity and roles, without Streamlit: the role table (roles.toml), claim → role mapping,
the access mode a server runs in, and the login audit entry.

Three modes (analytics/access.py applies them on every page run):

- ``oidc``: ``[auth]`` is configured in ``.streamlit/secrets.toml``; the user signs in with
  ``st.login()`` and the role comes from a claim (WORKBENCH_ROLE_CLAIM, WORKBENCH_ROLE_MAP).
- ``local``: no ``[auth]``, the server listens on a loopback address; the OS user running the
  server is the one user, as WORKBENCH_LOCAL_ROLE (default admin).
- ``insecure``: no ``[auth]``, a public address and ``serve --insecure``; everyone is an
  anonymous viewer (aggregates only), since anyone who reaches the port gets in.

>>> access_mode("127.0.0.1", auth_configured=False, insecure=False)
'local'
>>> access_mode("0.0.0.0", auth_configured=False, insecure=False) is None
True
>>> role_from_claims({"groups": ["staff", "wb-auditors"]}, "groups", {"wb-auditors": "auditor"}, "viewer")
'auditor'
"""

from __future__ import annotations

import getpass
import ipaddress
import json
import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ROLES_FILE = Path(__file__).with_name("roles.toml")
INSECURE_ROLE = "viewer"  # anyone who reaches a public port without login: aggregates only


@dataclass(frozen=True)
class Policy:
    """The declared actions, each role's actions (most privileged role first) and page actions."""

    actions: dict[str, str]
    roles: dict[str, frozenset[str]]
    pages: dict[str, str]

    def can(self, role: str, action: str) -> bool:
        """Whether ``role`` may do ``action``; an undeclared action is a programming error."""
        if action not in self.actions:
            raise KeyError(f"undeclared action {action!r} (analytics/auth/roles.toml)")
        return action in self.roles.get(role, frozenset())

    def page_action(self, page: str) -> str | None:
        """The action page file ``page`` (name without .py) needs; None when undeclared."""
        return self.pages.get(page)


@lru_cache(maxsize=1)
def policy() -> Policy:
    """The role table of roles.toml, checked: every role's and page's action is declared.

    >>> sorted(policy().roles)
    ['admin', 'analyst', 'auditor', 'viewer']
    >>> policy().can("viewer", "view-person-level")
    False
    """
    data = tomllib.loads(ROLES_FILE.read_text())
    actions = dict(data["actions"])
    roles = {name: frozenset(r["actions"]) for name, r in data["roles"].items()}
    pages = dict(data["pages"])
    unknown = {a for acts in roles.values() for a in acts} | set(pages.values())
    if unknown - set(actions):
        raise ValueError(f"roles.toml uses undeclared actions: {sorted(unknown - set(actions))}")
    return Policy(actions=actions, roles=roles, pages=pages)


@dataclass(frozen=True)
class Identity:
    """Who is using the app: the audit actor, the role and how both were found."""

    user: str
    role: str
    mode: str  # oidc | local | insecure
    source: str = ""  # where the user name came from, for the banner and the CLI

    def can(self, action: str) -> bool:
        """Whether this identity's role grants ``action``."""
        return policy().can(self.role, action)


def parse_role_map(text: str) -> dict[str, str]:
    """WORKBENCH_ROLE_MAP as a dict claim value → role; JSON or TOML, unknown roles refused.

    >>> parse_role_map('{"wb-admins": "admin"}')
    {'wb-admins': 'admin'}
    >>> parse_role_map('"wb-analysts" = "analyst"')
    {'wb-analysts': 'analyst'}
    """
    text = text.strip()
    if not text:
        return {}
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError:
        mapping = tomllib.loads(text)
    bad = {v for v in mapping.values() if v not in policy().roles}
    if bad:
        raise ValueError(f"WORKBENCH_ROLE_MAP names unknown roles: {sorted(bad)}")
    return {str(k): str(v) for k, v in mapping.items()}


def role_from_claims(claims: dict[str, Any], claim: str, role_map: dict[str, str],
                     default: str) -> str:
    """The most privileged role any value of ``claims[claim]`` maps to, else ``default``.

    A claim may hold one value or a list (groups); roles.toml lists roles most privileged first.

    >>> role_from_claims({"roles": "wb-admin"}, "roles", {"wb-admin": "admin"}, "viewer")
    'admin'
    >>> role_from_claims({}, "groups", {"wb-admin": "admin"}, "viewer")
    'viewer'
    """
    value = claims.get(claim)
    values = value if isinstance(value, list | tuple) else [] if value is None else [value]
    mapped = {role_map[str(v)] for v in values if str(v) in role_map}
    return next((r for r in policy().roles if r in mapped), default)


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is a loopback address (only this machine can connect).

    An empty host means every interface, so it is not loopback.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback(""), is_loopback(None)
    (False, False, False)
    """
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def access_mode(host: str | None, *, auth_configured: bool, insecure: bool) -> str | None:
    """The mode a server on ``host`` runs in, or None when it must refuse to serve.

    >>> access_mode("0.0.0.0", auth_configured=True, insecure=False)
    'oidc'
    >>> access_mode("0.0.0.0", auth_configured=False, insecure=True)
    'insecure'
    """
    if auth_configured:
        return "oidc"
    if is_loopback(host):
        return "local"
    return "insecure" if insecure else None


def refusal(host: str | None) -> str:
    """The sentence `serve` and the app say when they refuse a public address without login."""
    return (f"Refusing to serve on {host or 'every interface'} without sign-in: anyone who reaches "
            "the port would see ticket text and customer ids. Configure OIDC ([auth] in "
            ".streamlit/secrets.toml, see README 'Sign-in and roles'), serve on 127.0.0.1, or "
            f"pass --insecure (everyone is then an anonymous {INSECURE_ROLE}: aggregates only).")


def os_user(env: dict[str, str] | None = None) -> tuple[str, str]:
    """The CLI's audit actor and where it came from: WORKBENCH_USER, else the OS user.

    >>> os.environ["WORKBENCH_USER"] = "ana"; os_user()
    ('ana', 'WORKBENCH_USER')
    >>> del os.environ["WORKBENCH_USER"]
    """
    env = os.environ if env is None else env
    if env.get("WORKBENCH_USER"):
        return env["WORKBENCH_USER"], "WORKBENCH_USER"
    try:
        return getpass.getuser(), "OS user"
    except (KeyError, OSError):  # a container uid without a passwd entry
        return f"uid-{os.getuid()}", "OS user id"


def record_login(*, session: Any, identity: Identity, provider: str | None = None) -> None:
    """Append a ``login`` audit entry for a user who started a signed-in session."""
    from analytics.governance.events import LoginEvent
    from analytics.store import audit

    audit.record(session, LoginEvent(actor=identity.user, entity_id=identity.user,
                                     detail={"role": identity.role, "mode": identity.mode,
                                             "provider": provider or "default"}))
