"""One settings object, read from the environment.

Each setting is declared once, as data with its help text (the datasette pattern), so the README
table and the CLI help come from the same place and a test fails when one is undocumented.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The observation window's one default (REFERENCE §1.1): hours after a deployment in which an
# incident is attributed to it. Metrics take it as a default argument; reports pass the setting.
DEFAULT_WINDOW_HOURS = 48.0
# The longest default period (analytics.reports.periods): no dates given, a page or report covers
# the bulk of the data, at most its last DEFAULT_PERIOD_DAYS days.
DEFAULT_PERIOD_DAYS = 365
# WORKBENCH_MAX_EXPANDED_MB defaults to this multiple of WORKBENCH_UPLOAD_LIMIT_MB.
EXPANSION_FACTOR = 5
# Retention (purge): personal free text is redacted after these many days.
DEFAULT_RETAIN_TICKET_TEXT_DAYS = 365
DEFAULT_RETAIN_SURVEY_COMMENT_DAYS = 180


@dataclass(frozen=True)
class Setting:
    """A setting: environment variable name, default value and help text."""

    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", f"sqlite:///{ROOT / 'data' / 'workbench.db'}",
            "SQLAlchemy URL of the store; SQLite by default, postgresql+psycopg://… for teams."),
    Setting("WORKBENCH_TIMEZONE", "UTC",
            "IANA time zone in which period boundaries (days, weeks, months) are drawn."),
    Setting("WORKBENCH_WINDOW_HOURS", f"{DEFAULT_WINDOW_HOURS:g}",
            "Observation window, hours after a deployment in which an incident is attributed to it."),
    Setting("WORKBENCH_UPLOAD_LIMIT_MB", "200",
            "Largest file the Import page accepts, in megabytes."),
    Setting("WORKBENCH_MAX_EXPANDED_MB", "",
            "Largest size a compressed import file (.gz, Parquet) may expand to, in megabytes "
            "(default 5 times WORKBENCH_UPLOAD_LIMIT_MB)."),
    Setting("WORKBENCH_RECURRENCE_ROOT_CAUSE", "auto",
            "Whether an incident's root-cause category stands in for a missing problem id in "
            "incident recurrence: auto (yes, except for imports whose category is a closure "
            "code, e.g. bpic2014), on, or off (problem id only)."),
    Setting("WORKBENCH_USER", "",
            "Name recorded in the audit log for CLI actions (defaults to the OS user)."),
    Setting("WORKBENCH_ROLE_CLAIM", "groups",
            "OIDC claim (in st.user) whose value(s) WORKBENCH_ROLE_MAP maps to a role."),
    Setting("WORKBENCH_ROLE_MAP", "",
            "Claim value → role (viewer, analyst, admin, auditor), as JSON or TOML, e.g. "
            '{"wb-admins": "admin", "wb-analysts": "analyst"}.'),
    Setting("WORKBENCH_DEFAULT_ROLE", "viewer",
            "Role of a signed-in user none of whose claim values is mapped."),
    Setting("WORKBENCH_LOCAL_ROLE", "admin",
            "Role of the one user in local mode (no sign-in, loopback address only); set "
            "viewer or analyst to see the app as they do."),
    Setting("WORKBENCH_INSECURE", "",
            "Set by serve --insecure: serve a public address without sign-in, everyone as an "
            "anonymous viewer."),
    Setting("WORKBENCH_GATE_POLICY", "",
            "Release gate policy TOML file (thresholds, error-budget rules, change calendar); "
            "default analytics/studies/gate_policy.toml."),
    Setting("WORKBENCH_AUDIT_KEY", "",
            "Secret key (any string) of the audit log's HMAC-SHA256 chain; when empty, the key "
            "file below is used (init creates it with mode 0600)."),
    Setting("WORKBENCH_AUDIT_KEY_FILE", "",
            "File holding the audit key (default: beside the SQLite database as "
            "<db>.audit-key; for PostgreSQL data/<host>-<db>.audit-key)."),
    Setting("WORKBENCH_AUDIT_CHECKPOINT_FILE", "",
            "Append-only file where audit verify records the chain's head (default: the key "
            "file's path with .audit-checkpoints instead of .audit-key)."),
    Setting("WORKBENCH_PSEUDONYM_KEY", "",
            "Secret key (any string) with which imports pseudonymise customer ids "
            "(HMAC-SHA256); when empty, the key file below is used (created with mode 0600)."),
    Setting("WORKBENCH_PSEUDONYM_KEY_FILE", "",
            "File holding the pseudonym key (default: beside the audit key file as "
            "<db>.pseudonym-key)."),
    Setting("WORKBENCH_RETAIN_TICKET_TEXT_DAYS", f"{DEFAULT_RETAIN_TICKET_TEXT_DAYS}",
            "Days after a ticket is opened before purge redacts its text."),
    Setting("WORKBENCH_RETAIN_SURVEY_COMMENT_DAYS", f"{DEFAULT_RETAIN_SURVEY_COMMENT_DAYS}",
            "Days after a survey answer before purge redacts its free-text comment."),
    Setting("WORKBENCH_VALUE_INCIDENT_MINUTE", "50",
            "Improvement ROI: what one minute of incident (restore time) costs, in "
            "WORKBENCH_VALUE_CURRENCY."),
    Setting("WORKBENCH_VALUE_TICKET", "25",
            "Improvement ROI: what handling one support ticket costs."),
    Setting("WORKBENCH_VALUE_SLA_BREACH", "5000",
            "Improvement ROI: what one breached service-month costs beyond its service credits "
            "(escalations, reputation); credits count at their own amount."),
    Setting("WORKBENCH_VALUE_CURRENCY", "EUR",
            "Currency of the WORKBENCH_VALUE_* rates and of improvement costs."),
    Setting("WORKBENCH_READ_COPY_DIR", "",
            "Folder of the columnar read copy (Parquet) the analyses read (default: beside the "
            "SQLite file as <db>.readcopy; for PostgreSQL data/<host>-<port>-<db>.readcopy)."),
    Setting("WORKBENCH_READ_COPY", "on",
            "Whether reads use the columnar copy when it is current (on) or always SQL (off)."),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`get_settings`."""

    database_url: str
    timezone: str = "UTC"
    window_hours: float = DEFAULT_WINDOW_HOURS
    upload_limit_mb: int = 200
    max_expanded_mb: int = 1000
    recurrence_root_cause: str = "auto"
    user: str = field(default_factory=lambda: _os_user({}))
    role_claim: str = "groups"
    role_map: str = ""
    default_role: str = "viewer"
    local_role: str = "admin"
    insecure: bool = False
    audit_key: str = ""
    gate_policy: str = ""
    audit_key_file: str = ""
    audit_checkpoint_file: str = ""
    pseudonym_key: str = ""
    pseudonym_key_file: str = ""
    retain_ticket_text_days: int = DEFAULT_RETAIN_TICKET_TEXT_DAYS
    retain_survey_comment_days: int = DEFAULT_RETAIN_SURVEY_COMMENT_DAYS
    value_incident_minute: float = 50.0
    value_ticket: float = 25.0
    value_sla_breach: float = 5000.0
    value_currency: str = "EUR"
    read_copy_dir: str = ""
    read_copy: bool = True



def _os_user(env: dict[str, str]) -> str:
    """WORKBENCH_USER, else the OS user (never "unknown": audit entries must name someone)."""
    from analytics.auth import os_user

    return os_user(env)[0]


def get_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: the process environment).

    >>> get_settings({"DATABASE_URL": "sqlite://"}).window_hours
    48.0
    """
    env = os.environ if env is None else env
    value = {s.env: env.get(s.env) or s.default for s in SETTINGS}
    return Settings(
        database_url=value["DATABASE_URL"],
        timezone=value["WORKBENCH_TIMEZONE"],
        window_hours=float(value["WORKBENCH_WINDOW_HOURS"]),
        upload_limit_mb=int(value["WORKBENCH_UPLOAD_LIMIT_MB"]),
        # Decompression bombs: a cap on expanded bytes that scales with the upload limit.
        max_expanded_mb=int(value["WORKBENCH_MAX_EXPANDED_MB"]
                            or EXPANSION_FACTOR * int(value["WORKBENCH_UPLOAD_LIMIT_MB"])),
        recurrence_root_cause=value["WORKBENCH_RECURRENCE_ROOT_CAUSE"].strip().lower(),
        user=_os_user(env),
        role_claim=value["WORKBENCH_ROLE_CLAIM"],
        role_map=value["WORKBENCH_ROLE_MAP"],
        default_role=value["WORKBENCH_DEFAULT_ROLE"].strip().lower(),
        local_role=value["WORKBENCH_LOCAL_ROLE"].strip().lower(),
        insecure=value["WORKBENCH_INSECURE"].strip().lower() in ("1", "true", "yes", "on"),
        audit_key=value["WORKBENCH_AUDIT_KEY"],
        gate_policy=value["WORKBENCH_GATE_POLICY"],
        audit_key_file=value["WORKBENCH_AUDIT_KEY_FILE"],
        audit_checkpoint_file=value["WORKBENCH_AUDIT_CHECKPOINT_FILE"],
        pseudonym_key=value["WORKBENCH_PSEUDONYM_KEY"],
        pseudonym_key_file=value["WORKBENCH_PSEUDONYM_KEY_FILE"],
        retain_ticket_text_days=int(value["WORKBENCH_RETAIN_TICKET_TEXT_DAYS"]),
        retain_survey_comment_days=int(value["WORKBENCH_RETAIN_SURVEY_COMMENT_DAYS"]),
        value_incident_minute=float(value["WORKBENCH_VALUE_INCIDENT_MINUTE"]),
        value_ticket=float(value["WORKBENCH_VALUE_TICKET"]),
        value_sla_breach=float(value["WORKBENCH_VALUE_SLA_BREACH"]),
        value_currency=value["WORKBENCH_VALUE_CURRENCY"],
        read_copy_dir=value["WORKBENCH_READ_COPY_DIR"],
        read_copy=value["WORKBENCH_READ_COPY"].strip().lower() not in ("off", "0", "no", "false"),
    )
