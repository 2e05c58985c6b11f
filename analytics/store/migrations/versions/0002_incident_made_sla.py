"""incident.made_sla

The source tool's own "SLA met" flag for an incident (ServiceNow and the UCI event log record
one), kept beside the workbench's SLA timers so the two can be compared. Null when the source
does not say.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch (copy-and-move) rebuild of incident would
    # trip the foreign keys of tickets and attributions that point at it.
    op.add_column('incident', sa.Column('made_sla', sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.execute('ALTER TABLE incident DROP COLUMN made_sla')  # SQLite ≥ 3.35 and PostgreSQL
