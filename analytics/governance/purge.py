"""The retention policy: personal free text is redacted (set to NULL) once it is old enough.

One :class:`Policy` per table and column, with its age in days from a setting. ``plan`` counts
what a purge would redact; ``apply`` redacts it in one transaction together with a ``purge``
audit entry carrying the counts and cut-offs. Numbers do not change: no report reads these
columns (and snapshot digests leave them out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, text
from sqlmodel import Session

from analytics.governance.events import PurgeEvent
from analytics.settings import Settings, get_settings
from analytics.store import audit


@dataclass(frozen=True)
class Policy:
    """Redact ``column`` of ``table`` for rows whose ``at`` is more than ``days`` old."""

    table: str
    column: str
    at: str
    days: int
    setting: str

    def cutoff(self, now: datetime) -> datetime:
        """Rows strictly before this instant (naive UTC) are redacted."""
        return (now - timedelta(days=self.days)).astimezone(UTC).replace(tzinfo=None)


def policies(settings: Settings | None = None) -> tuple[Policy, ...]:
    """The retention policies, with ages from the settings.

    >>> [(p.table, p.column, p.days) for p in policies(Settings(database_url="sqlite://"))]
    [('ticket', 'text', 365), ('csat_response', 'comment', 180)]
    """
    s = settings or get_settings()
    return (Policy("ticket", "text", "opened_at", s.retain_ticket_text_days,
                   "WORKBENCH_RETAIN_TICKET_TEXT_DAYS"),
            Policy("csat_response", "comment", "responded_at", s.retain_survey_comment_days,
                   "WORKBENCH_RETAIN_SURVEY_COMMENT_DAYS"))


def _bind(conn: Connection, cutoff: datetime) -> object:
    # SQLite stores UTC datetimes as text in this form; PostgreSQL takes an aware instant.
    if conn.dialect.name == "sqlite":
        return cutoff.strftime("%Y-%m-%d %H:%M:%S.%f")
    return cutoff.replace(tzinfo=UTC)


def _where(p: Policy) -> str:
    return f"{p.at} < :cutoff AND {p.column} IS NOT NULL"


def plan(engine: Engine, *, now: datetime | None = None) -> list[dict[str, object]]:
    """Per policy: table, column, age in days, cut-off and how many rows would be redacted."""
    now = now or datetime.now(UTC)
    rows = []
    with engine.connect() as conn:
        for p in policies():
            n = conn.execute(text(f"SELECT count(*) FROM {p.table} WHERE {_where(p)}"),
                             {"cutoff": _bind(conn, p.cutoff(now))}).scalar_one()
            rows.append({"table": p.table, "column": p.column, "days": p.days,
                         "cutoff": p.cutoff(now).isoformat(), "rows": int(n)})
    return rows


def apply(engine: Engine, *, actor: str, now: datetime | None = None) -> list[dict[str, object]]:
    """Redact every row the policies select, with one ``purge`` audit entry; return the counts."""
    now = now or datetime.now(UTC)
    rows = []
    with Session(engine) as session:
        conn = session.connection()
        for p in policies():
            n = conn.execute(text(f"UPDATE {p.table} SET {p.column} = NULL WHERE {_where(p)}"),
                             {"cutoff": _bind(conn, p.cutoff(now))}).rowcount
            rows.append({"table": p.table, "column": p.column, "days": p.days,
                         "cutoff": p.cutoff(now).isoformat(), "rows": int(n)})
        audit.record(session, PurgeEvent(actor=actor, detail={"redacted": rows}))
        session.commit()
    from analytics.store.readcopy import refresh_quietly

    refresh_quietly(engine, {p.table for p in policies()})  # the redacted text must leave the copy too
    return rows
