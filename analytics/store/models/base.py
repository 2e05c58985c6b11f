"""What every table shares: the natural key of imported rows, services, import batches and
the allowed values that importers validate against (defined in :mod:`analytics.store.choices`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from analytics.store.choices import (DEPLOYMENT_STATUSES, EXCLUSION_KINDS,  # noqa: F401
                                     OUTAGE_CAUSES, TIERS)


def natural_key(table: str) -> Index:
    """The unique ``(source, external_id)`` index of an imported table.

    A named unique index rather than a table constraint, so a bulk load into an empty table can
    drop and rebuild it (SQLite cannot drop a constraint's index); ON CONFLICT works the same.
    """
    return Index(f"ux_{table}_natural_key", "source", "external_id", unique=True)


class Imported(SQLModel):
    """Columns every imported row carries: its natural key and the batch that last wrote it."""

    source: str = Field(default="manual", max_length=64)
    external_id: str = Field(max_length=255)
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")


class Service(Imported, table=True):
    """A service customers use; owned by a team, in a tier, with a criticality 1 (most) – 4."""

    __tablename__ = "service"
    __table_args__ = (natural_key("service"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    team: str = Field(default="unassigned", max_length=120, index=True)
    tier: str = Field(default="bronze", max_length=16)
    criticality: int = Field(default=3, ge=1, le=4)
    customer_facing: bool = True
    timezone: str = Field(default="UTC", max_length=64)
    # False for services an importer created from data; the Data page flags them until confirmed.
    confirmed: bool = True


class ImportBatch(SQLModel, table=True):
    """One import invocation: who, when, which files (with sha256) and what it did."""

    __tablename__ = "import_batch"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    source: str = Field(max_length=64)
    actor: str = Field(max_length=120)
    started_at: datetime
    finished_at: datetime | None = None
    files: str = "[]"  # JSON list of {"path", "sha256", "bytes"}
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    status: str = Field(default="running", max_length=16)
