"""gate_bypass: the release gate's emergency bypasses (each owes a validation within 72 h)

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-05 06:05:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gate_bypass',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('gate_bypass', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gate_bypass_service'), ['service'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gate_bypass', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gate_bypass_service'))
    op.drop_table('gate_bypass')
