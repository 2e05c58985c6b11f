"""Notification channels as data (``channels.toml``) and how each one sends.

Channel types: ``webhook`` (generic JSON: the signal record), ``slack`` (a Slack-compatible
incoming webhook: ``{"text": …, "blocks": […]}``, plain text only), ``email`` (SMTP with the
standard library), ``servicenow`` (POST ``{base_url}/api/now/table/incident``, Table API
incident fields) and ``jira`` (POST ``{base_url}/rest/api/2/issue``, ``{"fields": …}``).

Routing: ``[team.<name>] channels = [...]`` (optionally ``kinds = [...]`` and ``email = [...]``
recipients); ``[team."*"]`` is used for a team with no table of its own. Secrets never sit in
the file: a key ending in ``_env`` names the environment variable holding the value
(``password_env``, ``token_env``, ``url_env``). Every problem is a :class:`ConfigError`.
"""

from __future__ import annotations

import base64
import json
import os
import smtplib
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from analytics.loop.signals_rules import KINDS, ConfigError

PATH = Path(__file__).with_name("channels.toml")
TYPES = ("webhook", "slack", "email", "servicenow", "jira")
# Per type: keys it needs (a key or its ``_env`` twin) and keys it may have.
NEEDS = {"webhook": ("url",), "slack": ("url",), "email": ("host", "from"),
         "servicenow": ("base_url",), "jira": ("base_url", "project")}
MAY = {"webhook": (), "slack": (), "email": ("port", "user", "password", "starttls", "to"),
       "servicenow": ("user", "password", "caller_id", "category"),
       "jira": ("issue_type", "user", "token", "labels")}
URGENCY = {"page": "1", "ticket": "2", "info": "3"}  # ServiceNow urgency/impact 1 high … 3 low


class DeliveryError(RuntimeError):
    """One attempt to deliver failed (HTTP status, connection refused, SMTP refusal)."""


@dataclass(frozen=True)
class Channel:
    """One configured channel with its secrets resolved."""

    name: str
    type: str
    settings: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        """A setting of the channel."""
        return self.settings.get(key, default)


@dataclass(frozen=True)
class Retry:
    """Delivery attempts per notification and the exponential backoff between them."""

    attempts: int = 4
    base_delay: float = 1.0
    factor: float = 2.0
    timeout: float = 10.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based).

        >>> [Retry(base_delay=0.5).delay(k) for k in (1, 2, 3)]
        [0.5, 1.0, 2.0]
        """
        return self.base_delay * self.factor ** (attempt - 1)


@dataclass(frozen=True)
class Route:
    """Which channels a team's signals go to (``kinds`` empty: every kind)."""

    channels: tuple[str, ...]
    kinds: tuple[str, ...] = ()
    email: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelConfig:
    """A channels file: channels, routes per team, retry policy."""

    version: int
    channels: dict[str, Channel]
    routes: dict[str, Route]
    retry: Retry = field(default_factory=Retry)

    def route(self, team: str, kind: str) -> tuple[Route | None, tuple[Channel, ...]]:
        """The route and channels a signal of ``kind`` owned by ``team`` goes to."""
        route = self.routes.get(team) or self.routes.get("*")
        if route is None or (route.kinds and kind not in route.kinds):
            return route, ()
        return route, tuple(self.channels[c] for c in route.channels)


def _secret(where: str, key: str, raw: dict[str, Any], env: dict[str, str]) -> Any:
    if f"{key}_env" in raw:
        var = raw[f"{key}_env"]
        if not isinstance(var, str) or not env.get(var):
            raise ConfigError(f"{where}: field '{key}_env': environment variable {var!r} is "
                              "not set")
        return env[var]
    return raw.get(key)


def _channel(name: str, raw: Any, env: dict[str, str]) -> Channel:
    where = f"channel {name!r}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    kind = raw.get("type")
    if kind not in TYPES:
        raise ConfigError(f"{where}: field 'type': unknown channel type {kind!r} "
                          f"(use one of {', '.join(TYPES)})")
    allowed = {"type", *NEEDS[kind], *MAY[kind]}
    for key in raw:
        if key.removesuffix("_env") not in allowed:
            raise ConfigError(f"{where}: field {key!r} is not a setting of a {kind} channel")
    settings = {k.removesuffix("_env"): _secret(where, k.removesuffix("_env"), raw, env)
                for k in raw if k != "type"}
    for key in NEEDS[kind]:
        value = settings.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: field {key!r} is missing (or empty)")
    for key in ("url", "base_url"):
        if key in settings and not str(settings[key]).startswith(("http://", "https://")):
            raise ConfigError(f"{where}: field {key!r} must be an http(s) URL")
    return Channel(name=name, type=kind, settings=settings)


def _route(team: str, raw: Any, channels: dict[str, Channel]) -> Route:
    where = f"team {team!r}"
    if not isinstance(raw, dict) or not isinstance(raw.get("channels"), list):
        raise ConfigError(f"{where}: field 'channels' must be a list of channel names")
    for c in raw["channels"]:
        if c not in channels:
            raise ConfigError(f"{where}: field 'channels': unknown channel {c!r}")
    kinds = raw.get("kinds", [])
    for k in kinds:
        if k not in KINDS:
            raise ConfigError(f"{where}: field 'kinds': unknown signal kind {k!r}")
    unknown = sorted(set(raw) - {"channels", "kinds", "email"})
    if unknown:
        raise ConfigError(f"{where}: field {unknown[0]!r} is not a route setting")
    return Route(channels=tuple(raw["channels"]), kinds=tuple(kinds),
                 email=tuple(raw.get("email", [])))


def parse(data: dict[str, Any], env: dict[str, str] | None = None) -> ChannelConfig:
    """Validate a decoded channels file (secrets read from ``env``, default the process's)."""
    env = dict(os.environ) if env is None else env
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"channels: field 'version' must be a positive integer, got {version!r}")
    channels = {n: _channel(n, c, env) for n, c in (data.get("channel") or {}).items()}
    routes = {t: _route(t, r, channels) for t, r in (data.get("team") or {}).items()}
    raw = data.get("retry", {})
    try:
        retry = Retry(attempts=int(raw.get("attempts", 4)),
                      base_delay=float(raw.get("base_delay_seconds", 1.0)),
                      factor=float(raw.get("factor", 2.0)),
                      timeout=float(raw.get("timeout_seconds", 10.0)))
    except (TypeError, ValueError):
        raise ConfigError("retry: attempts, base_delay_seconds, factor and timeout_seconds "
                          "must be numbers") from None
    if retry.attempts < 1 or retry.base_delay < 0 or retry.factor < 1 or retry.timeout <= 0:
        raise ConfigError("retry: attempts ≥ 1, base_delay_seconds ≥ 0, factor ≥ 1, "
                          "timeout_seconds > 0")
    return ChannelConfig(version=version, channels=channels, routes=routes, retry=retry)


def load(path: str | Path | None = None, env: dict[str, str] | None = None) -> ChannelConfig:
    """Read and validate a channels file (default ``channels.toml`` beside this module)."""
    p = Path(path) if path else PATH
    try:
        data = tomllib.loads(p.read_text())
    except OSError as exc:
        raise ConfigError(f"channels: cannot read {p}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"channels: {p} is not valid TOML: {exc}") from None
    return parse(data, env)


def _evidence_lines(signal: dict[str, Any]) -> list[str]:
    return [f"{k}: {json.dumps(v, default=str) if isinstance(v, (list, dict)) else v}"
            for k, v in (signal.get("evidence") or {}).items()]


def body_text(signal: dict[str, Any]) -> str:
    """The plain-text message: summary, owner, evidence, dedup key."""
    return "\n".join([signal["summary"], "", f"Owner team: {signal['team']}",
                      f"Rule: {signal['rule']} ({signal['kind']}, {signal['severity']})",
                      *_evidence_lines(signal), "", f"Dedup key: {signal['dedup_key']}"])


def http_request(channel: Channel, signal: dict[str, Any]) -> tuple[str, dict[str, Any],
                                                                     dict[str, str]]:
    """(URL, JSON body, extra headers) a webhook, Slack, ServiceNow or Jira channel posts."""
    headers: dict[str, str] = {}
    title = f"[{signal['severity']}] {signal['title']}"
    if channel.type == "webhook":
        return channel.get("url"), {"source": "service-level-workbench", **signal}, headers
    if channel.type == "slack":
        fields = [{"type": "plain_text", "text": f"{k}: {v}"} for k, v in
                  (("team", signal["team"]), ("kind", signal["kind"]),
                   ("subject", signal["subject"]), ("period", signal["period"]))]
        return channel.get("url"), {
            "text": f"{title}\n{signal['summary']}",
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                       {"type": "section", "text": {"type": "plain_text",
                                                    "text": signal["summary"]}},
                       {"type": "section", "fields": fields}]}, headers
    user, secret = channel.get("user"), channel.get("password") or channel.get("token")
    if user and secret:
        headers["Authorization"] = "Basic " + base64.b64encode(
            f"{user}:{secret}".encode()).decode()
    elif secret:
        headers["Authorization"] = f"Bearer {secret}"
    base = channel.get("base_url").rstrip("/")
    if channel.type == "servicenow":
        level = URGENCY[signal["severity"]]
        return f"{base}/api/now/table/incident", {
            "short_description": signal["title"][:160], "description": body_text(signal),
            "urgency": level, "impact": level, "assignment_group": signal["team"],
            "category": channel.get("category", "software"),
            "caller_id": channel.get("caller_id", "service-level-workbench"),
            "cmdb_ci": signal.get("service") or "", "correlation_id": signal["dedup_key"],
            "correlation_display": "Service Level Workbench"}, headers
    labels = [*channel.get("labels", ["service-level-workbench"]), signal["kind"]]
    return f"{base}/rest/api/2/issue", {"fields": {
        "project": {"key": channel.get("project")}, "summary": signal["title"][:250],
        "description": body_text(signal),
        "issuetype": {"name": channel.get("issue_type", "Task")},
        "labels": [lbl.replace(" ", "-") for lbl in labels]}}, headers


def email_message(channel: Channel, signal: dict[str, Any], to: tuple[str, ...]) -> EmailMessage:
    """The e-mail of one signal to ``to`` (the route's ``email`` or the channel's ``to``)."""
    msg = EmailMessage()
    msg["Subject"] = f"[{signal['severity']}] {signal['title']}"
    msg["From"] = channel.get("from")
    msg["To"] = ", ".join(to)
    msg["X-Workbench-Dedup-Key"] = signal["dedup_key"]
    msg.set_content(body_text(signal))
    return msg


def send(channel: Channel, signal: dict[str, Any], *, to: tuple[str, ...] = (),
         timeout: float = 10.0) -> str:
    """One delivery attempt; returns a short receipt, raises :class:`DeliveryError`."""
    if channel.type == "email":
        recipients = to or tuple(channel.get("to") or ())
        if not recipients:
            raise DeliveryError(f"no recipient for team {signal['team']} (route email or "
                                "channel to)")
        msg = email_message(channel, signal, recipients)
        try:
            with smtplib.SMTP(channel.get("host"), int(channel.get("port", 25)),
                              timeout=timeout) as smtp:
                if channel.get("starttls"):
                    smtp.starttls()
                if channel.get("user") and channel.get("password"):
                    smtp.login(channel.get("user"), channel.get("password"))
                refused = smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {exc}") from None
        if refused:
            raise DeliveryError(f"SMTP refused {', '.join(refused)}")
        return f"mail to {', '.join(recipients)}"
    url, body, headers = http_request(channel, signal)
    req = urllib.request.Request(url, data=json.dumps(body, default=str).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http(s) only)
            return f"HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"cannot reach {url}: {reason}") from None
