"""`init`: create or migrate the schema."""

from __future__ import annotations

import argparse

from analytics.cli.common import engine_from


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `init` command."""
    p = sub.add_parser("init", help="create or migrate the database schema",
                       description="Create the database schema, or migrate it to the newest version (Alembic).")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Migrate and say where."""
    engine = engine_from(args)
    print(f"schema is current in {engine.url.render_as_string(hide_password=True)}")
    return 0
