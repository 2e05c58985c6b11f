"""improvement register: risk score, Plan–Do–Check–Act dates, root-cause notes, links, lessons

Extends the ``improvement`` table for the continual-improvement register (issue 18 points 3–5,
analytics/loop/improvements.py).

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-05 06:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString
_TS = sqlmodel.sql.sqltypes.UTCDateTime


def _columns() -> list[sa.Column]:
    return [
        sa.Column('services', _STR(), nullable=False, server_default='[]'),
        sa.Column('kpis', _STR(), nullable=False, server_default='[]'),
        sa.Column('expected_impact', sa.Float(), nullable=True),
        sa.Column('business_impact', sa.Integer(), nullable=True),
        sa.Column('recurrence', sa.Integer(), nullable=True),
        sa.Column('remediation_cost', sa.Integer(), nullable=True),
        sa.Column('risk_score', sa.Float(), nullable=True),
        sa.Column('priority', _STR(length=16), nullable=True),
        sa.Column('intervention_at', _TS(), nullable=True),
        sa.Column('do_at', _TS(), nullable=True),
        sa.Column('check_at', _TS(), nullable=True),
        sa.Column('act_at', _TS(), nullable=True),
        sa.Column('whys', _STR(), nullable=False, server_default='[]'),
        sa.Column('fishbone', _STR(), nullable=False, server_default='{}'),
        sa.Column('links', _STR(), nullable=False, server_default='{}'),
        sa.Column('lessons', _STR(), nullable=True),
        sa.Column('outcome', _STR(length=20), nullable=True),
        sa.Column('cost', sa.Float(), nullable=True),
        sa.Column('origin', _STR(length=40), nullable=False, server_default='manual'),
        sa.Column('updated_at', _TS(), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table('improvement', schema=None) as batch_op:
        for column in _columns():
            batch_op.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table('improvement', schema=None) as batch_op:
        for column in reversed(_columns()):
            batch_op.drop_column(column.name)
