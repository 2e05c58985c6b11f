"""Signal rules as data: ``signals.toml`` beside this module (or a file given with ``--rules``).

A file has ``version`` (a positive integer) and ``[[rule]]`` tables. Every problem is a
:class:`ConfigError` naming the rule and the field, so ``notify run`` can print one line and
exit 2.

>>> rules = parse({"version": 2, "rule": [{"name": "r", "kind": "budget_exhausted"}]})
>>> rules.version, rules.rules[0].kind, rules.rules[0].severity
(2, 'budget_exhausted', 'ticket')
>>> parse({"version": 1, "rule": [{"name": "x", "kind": "weather"}]})
Traceback (most recent call last):
...
analytics.loop.signals_rules.ConfigError: rule 'x': field 'kind': unknown kind 'weather' (use one of slo_burn_during_deploy, sla_at_risk, sla_breached, kpi_worsening, budget_exhausted, outage_without_postmortem)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("signals.toml")
SEVERITIES = ("page", "ticket", "info")

# Per kind: parameter → (type, default, check sentence). Numbers must be positive.
KINDS: dict[str, dict[str, tuple[type, Any]]] = {
    "slo_burn_during_deploy": {"alert_severity": (str, "page"), "lookback_days": (int, 7)},
    "sla_at_risk": {},
    "sla_breached": {},
    "kpi_worsening": {"periods": (int, 3), "alpha": (float, 0.05)},
    "budget_exhausted": {},
    "outage_without_postmortem": {"after_days": (int, 5), "lookback_days": (int, 90)},
}
COMMON = ("name", "kind", "severity", "enabled")


class ConfigError(ValueError):
    """A rules or channels file is wrong; the message names the rule/channel and the field."""


@dataclass(frozen=True)
class Rule:
    """One rule: its name (part of every dedup key), kind, severity and kind parameters."""

    name: str
    kind: str
    severity: str = "ticket"
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)

    def param(self, key: str) -> Any:
        """A parameter of the rule's kind (its default when the file leaves it out)."""
        return self.params.get(key, KINDS[self.kind][key][1])


@dataclass(frozen=True)
class Rules:
    """A rules file: its version and its rules in file order."""

    version: int
    rules: tuple[Rule, ...]
    path: str = ""

    def enabled(self) -> tuple[Rule, ...]:
        """The rules that are switched on."""
        return tuple(r for r in self.rules if r.enabled)


def _check_param(rule: str, key: str, value: Any, kind: type) -> Any:
    ok = (isinstance(value, int) and not isinstance(value, bool) if kind is int
          else isinstance(value, (int, float)) and not isinstance(value, bool) if kind is float
          else isinstance(value, kind))
    if not ok:
        raise ConfigError(f"rule {rule!r}: field {key!r} must be {kind.__name__}, got {value!r}")
    if kind is float and not 0 < value < 1:
        raise ConfigError(f"rule {rule!r}: field {key!r} must be between 0 and 1, got {value!r}")
    if kind is int and value < 1:
        raise ConfigError(f"rule {rule!r}: field {key!r} must be at least 1, got {value!r}")
    if key == "alert_severity" and value not in ("page", "ticket"):
        raise ConfigError(f"rule {rule!r}: field {key!r} must be page or ticket, got {value!r}")
    return float(value) if kind is float else value


def _rule(i: int, raw: Any) -> Rule:
    if not isinstance(raw, dict):
        raise ConfigError(f"rule #{i + 1}: must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or "|" in name:
        raise ConfigError(f"rule #{i + 1}: field 'name' must be a non-empty string without '|'")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"rule {name!r}: field 'kind': unknown kind {kind!r} "
                          f"(use one of {', '.join(KINDS)})")
    severity = raw.get("severity", "ticket")
    if severity not in SEVERITIES:
        raise ConfigError(f"rule {name!r}: field 'severity' must be one of "
                          f"{', '.join(SEVERITIES)}, got {severity!r}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"rule {name!r}: field 'enabled' must be true or false")
    allowed = KINDS[kind]
    params = {}
    for key, value in raw.items():
        if key in COMMON:
            continue
        if key not in allowed:
            raise ConfigError(f"rule {name!r}: field {key!r} is not a parameter of {kind} "
                              f"(parameters: {', '.join(allowed) or 'none'})")
        params[key] = _check_param(name, key, value, allowed[key][0])
    return Rule(name=name, kind=kind, severity=severity, enabled=enabled, params=params)


def parse(data: dict[str, Any], path: str = "") -> Rules:
    """Validate a decoded rules file."""
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"rules: field 'version' must be a positive integer, got {version!r}")
    unknown = sorted(set(data) - {"version", "rule"})
    if unknown:
        raise ConfigError(f"rules: unknown field {unknown[0]!r} (a file has version and [[rule]])")
    raw = data.get("rule", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError("rules: no [[rule]] table")
    rules = tuple(_rule(i, r) for i, r in enumerate(raw))
    names = [r.name for r in rules]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ConfigError(f"rule {dup!r}: field 'name' is used twice")
    return Rules(version=version, rules=rules, path=path)


def load(path: str | Path | None = None) -> Rules:
    """Read and validate a rules file (default: ``signals.toml`` beside this module)."""
    p = Path(path) if path else PATH
    try:
        data = tomllib.loads(p.read_text())
    except OSError as exc:
        raise ConfigError(f"rules: cannot read {p}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rules: {p} is not valid TOML: {exc}") from None
    return parse(data, str(p))
