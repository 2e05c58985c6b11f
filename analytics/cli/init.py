"""`init`: create or migrate the schema, seed the KPI catalogue's definitions, create the audit
and pseudonym key files, restore any dropped append-only trigger and bring the read copy up to
date."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from analytics.cli.common import engine_from

if TYPE_CHECKING:
    from sqlalchemy import Engine


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `init` command."""
    p = sub.add_parser("init", help="create or migrate the database schema",
                       description="Create the database schema, or migrate it to the newest "
                                   "version (Alembic), and store version 1 of every KPI in the "
                                   "catalogue that has no definition yet. Creates the audit key "
                                   "file (mode 0600) when no key exists, and recreates any "
                                   "append-only trigger that was dropped, saying which.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Migrate, seed the catalogue's KPI definitions, key the audit log and say where."""
    from sqlmodel import Session

    from analytics.governance.events import KeySwitchEvent
    from analytics.settings import get_settings
    from analytics.ingest import pseudonym
    from analytics.store import audit
    from analytics.store.definitions import fill_owner_teams, seed_kpi_definitions

    engine = engine_from(args)
    restored = audit.restore_triggers(engine)
    fresh_key = audit.load_key(engine) is None
    key_file = audit.ensure_key(engine)
    pseudonym_path = pseudonym.key_path(engine)
    fresh_pseudonym = (not get_settings().pseudonym_key and pseudonym_path is not None
                       and not pseudonym_path.exists())
    pseudonym_file = pseudonym.ensure_key(engine)
    with Session(engine) as session:
        through = audit.legacy_through(session.connection())
        head = session.connection().exec_driver_sql("SELECT max(id) FROM audit_log").scalar()
        if through and head == through:
            # A store from before keyed entries: the first keyed entry seals the legacy prefix.
            audit.record(session, KeySwitchEvent(actor=get_settings().user,
                                                 entity_id=str(through),
                                                 detail={"legacy_through": through}))
        added = seed_kpi_definitions(session=session, actor=get_settings().user)
        fill_owner_teams(session=session)
        session.commit()
    where = engine.url.render_as_string(hide_password=True)
    print(f"schema is current in {where}; KPI definitions added: {added}")
    if fresh_key and key_file is not None:
        print(f"audit key created in {key_file} (mode 0600): keep it, and a copy, outside the "
              "database")
    if fresh_pseudonym and pseudonym_file is not None:
        print(f"pseudonym key created in {pseudonym_file} (mode 0600): imports replace customer "
              "ids with keyed pseudonyms; keep the key, and a copy, outside the database")
    if restored:
        print(f"restored dropped append-only triggers: {', '.join(restored)}")
    _bring_copy_up_to_date(engine)
    return 0


def _bring_copy_up_to_date(engine: Engine) -> None:
    """Rewrite the read copy's files that are missing or stale (a store written by another
    version, a restored backup, a deleted copy): without them every report reads SQL, which at a
    million deployments takes minutes and gigabytes per page. Files whose rows are unchanged
    are kept, so this is quick when only the manifest is behind."""
    from analytics.settings import get_settings
    from analytics.store.copyscan import current_file
    from analytics.store.readcopy import TABLES, copy_dir, manifest, refresh_quietly, stored_rows

    if not get_settings().read_copy or copy_dir(engine) is None:
        return
    if all(current_file(engine, name) is not None for name in TABLES):
        return
    if manifest(engine) is None and stored_rows(engine) == 0:
        return  # a new, empty store: its first import or demo load writes the copy
    started = time.perf_counter()
    found = refresh_quietly(engine, set())
    if found is None:
        print("read copy: not brought up to date (see the log); reports read the store until "
              "the next import")
        return
    print(f"read copy brought up to date in {time.perf_counter() - started:.1f} s "
          f"({found['rows']:,} rows; rewritten: {', '.join(found['rewritten']) or 'none'})")
