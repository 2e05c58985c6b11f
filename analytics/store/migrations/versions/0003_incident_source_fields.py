"""incident.priority, closed_at, status, category

What an incident's source says, kept as given: its own priority (BPIC 2014 runs 1–5, the
workbench's ``severity`` 1–4), the close time apart from the resolved time, the status and the
category (incident, request for information, …). Null when the source does not say.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 04:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

COLUMNS = ('priority', 'closed_at', 'status', 'category')


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN (nullable, no default) on both databases, as in 0002: a batch
    # rebuild of incident would trip the foreign keys of tickets and attributions; rows present
    # keep their values and get nulls.
    op.add_column('incident', sa.Column('priority', sa.Integer(), nullable=True))
    op.add_column('incident', sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                        nullable=True))
    op.add_column('incident', sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=40),
                                        nullable=True))
    op.add_column('incident', sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=80),
                                        nullable=True))


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.execute(f'ALTER TABLE incident DROP COLUMN {column}')  # SQLite ≥ 3.35 and PostgreSQL
