"""compliance ledgers: emergency_validation and source_validation

Retroactive validations of emergency fixes (one per deployment) and quarterly data-source
sign-offs (analytics/store/models/compliance.py).

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-05 04:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('emergency_validation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('validated_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('validated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('deployment_id')
    )
    op.create_table('source_validation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('quarter', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('signed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('signed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('findings', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('checklist', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('source_validation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_validation_source'), ['source'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('source_validation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_validation_source'))
    op.drop_table('source_validation')
    op.drop_table('emergency_validation')
