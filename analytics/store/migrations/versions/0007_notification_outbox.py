"""notification outbox

One row per notification of a signal per channel, unique on (dedup_key, channel)
(analytics/store/models/loop.py).

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-05 06:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=240), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('channel_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('rules_version', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedup_key', 'channel')
    )
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_outbox_dedup_key'), ['dedup_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_outbox_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_outbox_team'), ['team'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_outbox_team'))
        batch_op.drop_index(batch_op.f('ix_notification_outbox_kind'))
        batch_op.drop_index(batch_op.f('ix_notification_outbox_dedup_key'))
    op.drop_table('notification_outbox')
