"""An import's own record: the ``import_batch`` row (started, then totalled and marked done) and
its entry in the audit log's hash chain, both inside the import's transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text
from sqlmodel import Session, SQLModel

from analytics.governance.events import ImportEvent
from analytics.store import audit

if TYPE_CHECKING:
    from analytics.ingest.batch import ImportResult

AUDIT_LOCK_KEY = 0x534C57  # pg_advisory_xact_lock key guarding the audit chain's tail ("SLW")


def start(conn: Connection, kind: str, source: str, actor: str,
          files: list[dict[str, Any]]) -> int:
    """Insert the ``import_batch`` row of a running import; its id."""
    table = SQLModel.metadata.tables["import_batch"]
    res = conn.execute(table.insert().values(
        kind=kind, source=source, actor=actor, started_at=now(), files=json.dumps(files),
        inserted=0, updated=0, unchanged=0, rejected=0, status="running"))
    return int(res.inserted_primary_key[0])


def finish(conn: Connection, r: ImportResult, source: str, actor: str) -> None:
    """Total the counts into ``r``, mark the batch done and append its audit entry."""
    for name, counts in r.tables.items():
        if name == "services created":  # reported per table, not as rows of the imported kind
            continue
        r.inserted += counts.get("inserted", 0)
        r.updated += counts.get("updated", 0)
        r.unchanged += counts.get("unchanged", 0)
    table = SQLModel.metadata.tables["import_batch"]
    conn.execute(table.update().where(table.c.id == r.batch_id).values(
        finished_at=now(), inserted=r.inserted, updated=r.updated, unchanged=r.unchanged,
        rejected=r.rejected, status="done"))
    if conn.dialect.name == "postgresql":
        # The audit log is a hash chain: concurrent imports must append one after the other, or
        # two entries name the same predecessor. Held until commit, taken last (no deadlock).
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    with Session(bind=conn) as session:
        audit.record(session, ImportEvent(
            actor=actor, entity_id=str(r.batch_id),
            detail={"kind": r.kind, "source": source, "files": r.files, "tables": r.tables,
                    "rejected": r.rejected, "warnings": r.warnings[:20]}))


def now() -> datetime:
    """The current UTC second, aware."""
    # Core binds of the schema's UTCDateTime columns need aware datetimes.
    return datetime.now(UTC).replace(microsecond=0)
