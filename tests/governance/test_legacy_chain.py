"""A store whose chain was plain SHA-256 (before migration 0004) keeps verifying: the legacy
prefix with the old digest, then keyed entries; init seals the prefix with a keyed entry, so a
re-hashed legacy edit no longer links up."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from analytics.store import audit
from analytics.store.db import MIGRATIONS, get_engine, migrate


def _legacy_entry(conn, prev: str, actor: str) -> str:
    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    payload = "|".join([prev, at.isoformat(), actor, "import", "import_batch", "", "{}"])
    h = hashlib.sha256(payload.encode()).hexdigest()  # the pre-0004 digest, written out
    conn.execute(text("INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, "
                      "prev_hash, hash) VALUES (:at, :a, 'import', 'import_batch', NULL, '{}', "
                      ":p, :h)"), {"at": at.strftime("%Y-%m-%d %H:%M:%S.%f"), "a": actor,
                                   "p": prev, "h": h})
    return h


def test_legacy_prefix_then_keyed(tmp_path, cli, capsys):
    engine = get_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, "0002")
    with engine.begin() as conn:
        prev = ""
        for actor in ("ana", "bo", "cy"):
            prev = _legacy_entry(conn, prev, actor)
    migrate(engine)
    with engine.connect() as conn:
        assert audit.legacy_through(conn) == 3
    assert audit.check(engine).ok
    assert cli(engine, "init") == 0
    with engine.connect() as conn:
        last = conn.execute(text("SELECT id, action, prev_hash, detail FROM audit_log "
                                 "ORDER BY id DESC")).first()
    assert (last.id, last.action, last.prev_hash) == (4, "audit.key_switch", prev)
    assert json.loads(last.detail) == {"legacy_through": 3}
    assert cli(engine, "audit", "verify") == 0
    capsys.readouterr()

    # Rewrite legacy entry 2 and re-hash the legacy chain with the old digest: the keyed switch
    # entry no longer links to it.
    with engine.begin() as conn:
        for verb in ("update", "delete"):
            conn.execute(text(f"DROP TRIGGER audit_log_no_{verb}"))
        conn.execute(text("DELETE FROM audit_log WHERE id IN (2, 3)"))
        prev = conn.execute(text("SELECT hash FROM audit_log WHERE id = 1")).scalar_one()
        _legacy_entry(conn, _legacy_entry(conn, prev, "mallory"), "cy")
        conn.execute(text("UPDATE audit_log SET id = id - 3 WHERE id > 4"))
    assert cli(engine, "audit", "verify") == 1
    assert "entry #4 does not link" in capsys.readouterr().err
