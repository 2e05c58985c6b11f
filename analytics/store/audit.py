"""The append-only, keyed audit log.

Each entry carries the hash of the previous one and its own HMAC-SHA256 over (previous hash,
time, actor, action, entity, id, detail), keyed with a secret kept OUTSIDE the database
(``WORKBENCH_AUDIT_KEY`` or the key file ``init`` creates with mode 0600). Someone who can
write to the database but not read the key cannot edit a row and recompute the chain. Database
triggers refuse UPDATE and DELETE (``init`` restores them when dropped), and ``audit verify``
appends the head to a checkpoint file outside the store, so deleting the newest entries is
detected as a missing tail.

Stores created before migration 0004 have a plain SHA-256 chain: ``audit_key_switch`` records
the last such entry (``legacy_through``); those entries verify with the old digest, every later
one with the key, and the first keyed entry chains the last legacy hash, so a rewritten legacy
prefix no longer links up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from analytics.governance.events import Event, event_class
from analytics.store import keyfile
from analytics.settings import ROOT, get_settings
from analytics.store.models import AuditLog

# Tables the database keeps append-only. import_batch rows may be finished once (the importer
# inserts a "running" row, then sets finished_at); a finished batch is frozen.
PROTECTED = ("audit_log", "import_batch", "snapshot", "audit_key_switch")
_MEMORY_KEYS: dict[int, bytes] = {}  # in-memory SQLite stores: a key that lives as long as they do


class AuditKeyError(RuntimeError):
    """The audit key is missing (or unreadable) while keyed entries exist."""


def _payload(prev_hash: str, at: datetime, actor: str, action: str, entity: str,
             entity_id: str | None, detail: str) -> bytes:
    return "|".join([prev_hash, at.isoformat(), actor, action, entity, entity_id or "",
                     detail]).encode()


def _digest(prev_hash: str, at: datetime, actor: str, action: str, entity: str,
            entity_id: str | None, detail: str) -> str:
    """The legacy (unkeyed) SHA-256 of an entry, for chains written before migration 0004."""
    return hashlib.sha256(_payload(prev_hash, at, actor, action, entity, entity_id,
                                   detail)).hexdigest()


def _mac(key: bytes, prev_hash: str, at: datetime, actor: str, action: str, entity: str,
         entity_id: str | None, detail: str) -> str:
    return hmac.new(key, _payload(prev_hash, at, actor, action, entity, entity_id, detail),
                    hashlib.sha256).hexdigest()


def key_path(engine: Engine) -> Path | None:
    """Where the audit key file of ``engine``'s store lives (None: in-memory SQLite)."""
    configured = get_settings().audit_key_file
    if configured:
        return Path(configured)
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        db = Path(url.database)
        return db.with_name(db.name + ".audit-key")
    return ROOT / "data" / f"{url.host or 'local'}-{url.port or 5432}-{url.database}.audit-key"


def checkpoint_path(engine: Engine) -> Path | None:
    """Where ``audit verify`` appends the chain's head (None: in-memory SQLite)."""
    configured = get_settings().audit_checkpoint_file
    if configured:
        return Path(configured)
    key = key_path(engine)
    return None if key is None else key.with_name(key.name.replace(".audit-key", "")
                                                  + ".audit-checkpoints")


def ensure_key(engine: Engine) -> Path | None:
    """Create the key file (mode 0600) when no key is configured and none exists; return its
    path (None when the key comes from ``WORKBENCH_AUDIT_KEY`` or the store is in memory)."""
    if get_settings().audit_key:
        return None
    path = key_path(engine)
    if path is None:
        _MEMORY_KEYS.setdefault(id(engine), secrets.token_bytes(32))
        return None
    return keyfile.create(path)


def load_key(engine: Engine) -> bytes | None:
    """The audit key, or None when none exists yet."""
    secret = get_settings().audit_key
    if secret:
        return secret.encode()
    path = key_path(engine)
    if path is None:
        return _MEMORY_KEYS.get(id(engine))
    return path.read_text().strip().encode() if path.exists() else None


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind  # type: ignore[return-value]


def legacy_through(conn: Connection) -> int:
    """Id of the last entry hashed with plain SHA-256 (0: the whole chain is keyed)."""
    value = conn.execute(text("SELECT max(legacy_through) FROM audit_key_switch")).scalar()
    return int(value or 0)


def record(session: Session, event: Event | None = None, *, actor: str | None = None,
           action: str | None = None, entity: str | None = None, entity_id: str | None = None,
           detail: dict[str, Any] | None = None) -> AuditLog:
    """Append ``event`` to the audit log in the caller's transaction and return the entry.

    The keyword form (``actor=``, ``action=``, …) is kept for older call sites: an ``action``
    naming a known event is recorded as that event."""
    if event is None:
        cls = event_class(action or "")
        if cls is not None and entity in (None, cls.entity):
            event = cls(actor=actor or "unknown", entity_id=entity_id, detail=detail or {})
        else:  # an action no event class declares (legacy callers and tests)
            event = Event(actor=actor or "unknown", entity_id=entity_id, detail=detail or {})
    name, kind = (event.name, event.entity) if event.name else (action or "", entity or "")
    engine = _engine_of(session)
    last = session.exec(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).first()  # type: ignore[union-attr]
    key = load_key(engine)
    if key is None:
        if last is not None and last.id > legacy_through(session.connection()):
            raise AuditKeyError(f"the audit key is missing ({key_path(engine)}): entries up to "
                                f"#{last.id} were keyed with it; restore the key file")
        ensure_key(engine)
        key = load_key(engine)
        assert key is not None
    prev = last.hash if last else ""
    at = datetime.now(UTC).replace(microsecond=0)
    body = json.dumps(event.detail, sort_keys=True, default=str)
    entry = AuditLog(at=at, actor=event.actor, action=name, entity=kind,
                     entity_id=event.entity_id, detail=body, prev_hash=prev,
                     hash=_mac(key, prev, at, event.actor, name, kind, event.entity_id, body))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Verdict:
    """What verifying the chain found: ``ok``, the head (id, hash), entries, and the problem."""

    ok: bool
    entries: int
    head_id: int | None
    head_hash: str
    bad_id: int | None = None
    problem: str = ""


def verify_chain(engine: Engine) -> tuple[bool, int | None]:
    """Check the keyed hash chain; return (intact, id of the first broken entry or None)."""
    v = check(engine)
    return v.ok, v.bad_id


def check(engine: Engine) -> Verdict:
    """Walk the chain from the first entry: each must link to the previous hash and carry the
    right digest (SHA-256 up to the switch point, HMAC-SHA256 with the key after it)."""
    key = load_key(engine)
    prev, n, head = "", 0, None
    with Session(engine) as session:
        through = legacy_through(session.connection())
        for e in session.exec(select(AuditLog).order_by(AuditLog.id)):  # type: ignore[arg-type]
            fields = (prev, e.at, e.actor, e.action, e.entity, e.entity_id, e.detail)
            if e.prev_hash != prev:
                return Verdict(False, n, head, prev, e.id, f"entry #{e.id} does not link to the "
                               "entry before it (an entry was removed or edited)")
            if e.id <= through:
                expected = _digest(*fields)
            elif key is None:
                return Verdict(False, n, head, prev, e.id, f"entry #{e.id} is keyed but the "
                               f"audit key is missing ({key_path(engine)})")
            else:
                expected = _mac(key, *fields)
            if not hmac.compare_digest(e.hash, expected):
                return Verdict(False, n, head, prev, e.id, f"entry #{e.id} ({e.action}, "
                               f"{e.at:%Y-%m-%d %H:%M}) does not match its hash: it was edited")
            prev, n, head = e.hash, n + 1, e.id
    return Verdict(True, n, head, prev)


def last_checkpoint(engine: Engine) -> dict[str, Any] | None:
    """The newest checkpoint recorded for this store, or None."""
    path = checkpoint_path(engine)
    if path is None or not path.exists():
        return None
    where = engine.url.render_as_string(hide_password=True)
    found = None
    for line in path.read_text().splitlines():
        if line.strip():
            point = json.loads(line)
            if point.get("database") == where:
                found = point
    return found


def verify(engine: Engine, *, checkpoint: bool = True) -> Verdict:
    """:func:`check`, then compare the head with the last checkpoint (a missing tail is a
    failure) and, when all is well, append the current head to the checkpoint file."""
    v = check(engine)
    if not v.ok:
        return v
    point = last_checkpoint(engine)
    if point is not None:
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT hash FROM audit_log WHERE id = :i"),
                                {"i": point["seq"]}).scalar()
        if kept is None:
            return Verdict(False, v.entries, v.head_id, v.head_hash, point["seq"],
                           f"missing tail: entries after #{v.head_id or 0} up to #{point['seq']}"
                           f" (checkpointed {point['at']}) are gone from the store")
        if kept != point["hash"]:
            return Verdict(False, v.entries, v.head_id, v.head_hash, point["seq"],
                           f"entry #{point['seq']} differs from its checkpoint of {point['at']}")
    path = checkpoint_path(engine)
    if checkpoint and path is not None and v.head_id is not None and (
            point is None or (point["seq"], point["hash"]) != (v.head_id, v.head_hash)):
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"database": engine.url.render_as_string(hide_password=True),
                           "seq": v.head_id, "hash": v.head_hash,
                           "at": datetime.now(UTC).isoformat(timespec="seconds")})
        with open(path, "a") as f:  # append-only by construction
            f.write(line + "\n")
    return v


def count(engine: Engine) -> int:
    """Number of audit entries."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()


def _trigger_ddl(dialect: str, table: str) -> dict[str, list[str]]:
    """Trigger name → the statements creating it, per protected table."""
    only_open = table == "import_batch"
    if dialect == "postgresql":
        allow = ("IF TG_OP = 'UPDATE' AND OLD.finished_at IS NULL THEN RETURN NEW; END IF; "
                 if only_open else "")
        return {f"{table}_append_only": [
            f"CREATE OR REPLACE FUNCTION {table}_reject_change() RETURNS trigger AS $$ BEGIN "
            f"{allow}RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_reject_change()"]}
    when = {"UPDATE": " WHEN OLD.finished_at IS NOT NULL" if only_open else "", "DELETE": ""}
    return {f"{table}_no_{verb.lower()}": [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}{when[verb]} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"]
        for verb in ("UPDATE", "DELETE")}


def _existing_triggers(conn: Connection) -> set[str]:
    if conn.dialect.name == "postgresql":
        return set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
                   .scalars())
    return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
               .scalars())


def install_triggers(conn: Connection, tables: tuple[str, ...] = PROTECTED) -> list[str]:
    """Create the append-only triggers of ``tables`` that are missing; return their names."""
    have = _existing_triggers(conn)
    made = []
    for table in tables:
        for name, statements in _trigger_ddl(conn.dialect.name, table).items():
            if name not in have:
                for stmt in statements:
                    conn.execute(text(stmt))
                made.append(name)
    return made


def restore_triggers(engine: Engine) -> list[str]:
    """Recreate any dropped append-only trigger (``init`` calls this); return their names."""
    with engine.begin() as conn:
        return install_triggers(conn)
