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
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('made_sla', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('made_sla')
