"""Alembic environment: the target is SQLModel.metadata; the engine comes from the caller."""

from alembic import context
from sqlmodel import SQLModel

from analytics.store import models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata
config = context.config


def run_migrations_online() -> None:
    """Run against the engine handed over by analytics.store.db.migrate (or DATABASE_URL)."""
    engine = config.attributes.get("engine")
    if engine is None:
        from analytics.settings import get_settings
        from analytics.store.db import get_engine

        engine = get_engine(get_settings().database_url)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        context.run_migrations()


run_migrations_online()
