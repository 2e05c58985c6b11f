"""`init`: create or migrate the schema and seed the KPI catalogue's definitions."""

from __future__ import annotations

import argparse

from analytics.cli.common import engine_from


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `init` command."""
    p = sub.add_parser("init", help="create or migrate the database schema",
                       description="Create the database schema, or migrate it to the newest "
                                   "version (Alembic), and store version 1 of every KPI in the "
                                   "catalogue that has no definition yet.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Migrate, seed the catalogue's KPI definitions and say where."""
    from sqlmodel import Session

    from analytics.settings import get_settings
    from analytics.store.definitions import seed_kpi_definitions

    engine = engine_from(args)
    with Session(engine) as session:
        added = seed_kpi_definitions(session=session, actor=get_settings().user)
        session.commit()
    where = engine.url.render_as_string(hide_password=True)
    print(f"schema is current in {where}; KPI definitions added: {added}")
    return 0
