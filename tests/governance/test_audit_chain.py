"""The audit trail cannot be quietly rewritten: triggers refuse edits, the chain is keyed (HMAC
with a key outside the database) and checkpoints catch a deleted tail. Runs on SQLite and, in
CI, on PostgreSQL (every test here uses the `engine` fixture: marker `store`)."""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from analytics.governance.events import ExportEvent, LoginEvent
from analytics.store import audit
from analytics.store.models import AuditLog, ImportBatch


def _entries(engine, n: int) -> None:
    with Session(engine) as s:
        for i in range(n):
            audit.record(s, LoginEvent(actor=f"user{i}", entity_id=f"user{i}"))
        s.commit()


def _drop_triggers(engine, table: str) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
        else:
            for verb in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER {table}_no_{verb}"))


def _refused(engine, stmt: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(stmt))


def _plain_sha256(prev, at, actor, action, entity, entity_id, detail) -> str:
    """What someone without the key can compute: the payload's plain SHA-256 (written out here
    rather than calling the module, as a second, independent construction)."""
    stamp = at.isoformat() if isinstance(at, datetime) else at
    payload = "|".join([prev, stamp, actor, action, entity, entity_id or "", detail])
    return hashlib.sha256(payload.encode()).hexdigest()


def test_update_and_delete_are_refused(engine):
    _entries(engine, 2)
    now = datetime.now(UTC)
    with Session(engine) as s:
        running = ImportBatch(kind="deployments", source="csv", actor="ana", started_at=now)
        s.add(running)
        s.commit()
        # An open batch may be finished once (the importer does exactly this) …
        running.finished_at, running.status = now, "done"
        s.commit()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM import_batch")).scalar_one() == "done"
    for table, stmt in [("audit_log", "UPDATE audit_log SET actor = 'mallory'"),
                        ("audit_log", "DELETE FROM audit_log"),
                        ("import_batch", "UPDATE import_batch SET inserted = 99"),
                        ("import_batch", "DELETE FROM import_batch"),
                        ("audit_key_switch", "UPDATE audit_key_switch SET legacy_through = 99"),
                        ("audit_key_switch", "DELETE FROM audit_key_switch")]:
        _refused(engine, stmt)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 2
        assert conn.execute(text("SELECT inserted FROM import_batch")).scalar_one() == 0


def test_edited_row_with_recomputed_hashes_fails_verify(engine, cli, capsys):
    _entries(engine, 4)
    assert cli(engine, "audit", "verify") == 0
    assert "head #4" in capsys.readouterr().out
    _drop_triggers(engine, "audit_log")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
    with Session(engine) as s:  # the ORM gives `at` back exactly as record() hashed it
        rows = list(s.exec(select(AuditLog).order_by(AuditLog.id)))
    prev = rows[0].hash
    with engine.begin() as conn:  # re-chain from the edited row on with the plain digest: no key
        for r in rows[1:]:
            h = _plain_sha256(prev, r.at, r.actor, r.action, r.entity, r.entity_id, r.detail)
            conn.execute(text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :i"),
                         {"p": prev, "h": h, "i": r.id})
            prev = h
    assert cli(engine, "audit", "verify") == 1
    err = capsys.readouterr().err
    assert "entry #2 " in err and "edited" in err
    # init restores the dropped triggers and says so.
    assert cli(engine, "init") == 0
    assert "restored dropped append-only triggers" in capsys.readouterr().out
    _refused(engine, "DELETE FROM audit_log")


def test_edited_row_alone_is_named(engine, cli, capsys):
    _entries(engine, 4)
    _drop_triggers(engine, "audit_log")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"))
    assert cli(engine, "audit", "verify") == 1
    assert "entry #3 " in capsys.readouterr().err


def test_deleted_tail_is_detected_by_the_checkpoint(engine, cli, capsys, audit_files):
    _entries(engine, 5)
    assert cli(engine, "audit", "verify") == 0
    assert audit_files["checkpoints"].read_text().count('"seq": 5') == 1
    _drop_triggers(engine, "audit_log")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id > 3"))
    # The remaining chain is intact on its own …
    assert audit.check(engine).ok
    # … but the checkpoint names the missing tail.
    assert cli(engine, "audit", "verify") == 1
    err = capsys.readouterr().err
    assert "missing tail" in err and "after #3 up to #5" in err


def test_key_file_is_private_and_needed(engine, cli, capsys, audit_files):
    assert cli(engine, "init") == 0
    mode = stat.S_IMODE(audit_files["key"].stat().st_mode)
    assert mode == 0o600
    _entries(engine, 1)
    audit_files["key"].unlink()
    with Session(engine) as s, pytest.raises(audit.AuditKeyError, match="missing"):
        audit.record(s, ExportEvent(actor="ana"))
    assert cli(engine, "audit", "verify") == 1
    assert "key" in capsys.readouterr().err


def test_key_from_the_setting(engine, monkeypatch):
    monkeypatch.setenv("WORKBENCH_AUDIT_KEY", "s3cret")
    _entries(engine, 2)
    assert audit.check(engine).ok
    monkeypatch.setenv("WORKBENCH_AUDIT_KEY", "another")
    verdict = audit.check(engine)
    assert (verdict.ok, verdict.bad_id) == (False, 1)
