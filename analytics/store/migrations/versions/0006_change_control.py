"""change control and SLO versions: definition_proposal, slo_version, owner teams

- ``definition_proposal``: proposed changes to a KPI definition, its thresholds, an SLO or an
  alert/rollback rule (old → new, who, why), decided by a second admin with an effective date;
- ``slo_version``: every version of every SLO (re-imports add one instead of overwriting);
- ``kpi_definition.owner_team`` and ``effective_from``; ``slo.owner_team`` and ``slo.version``.
  An SLO without ``slo_version`` rows is version 1; its first change stores both versions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 06:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('definition_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('old', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('new', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('proposed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('proposed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('effective_from', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('definition_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_proposal_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_definition_proposal_status'), ['status'], unique=False)
    op.create_table('slo_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slo_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('effective_from', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slo_name', 'version')
    )
    with op.batch_alter_table('slo_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slo_version_slo_name'), ['slo_name'], unique=False)
    with op.batch_alter_table('kpi_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_team', sqlmodel.sql.sqltypes.AutoString(length=80),
                                      nullable=True))
        batch_op.add_column(sa.Column('effective_from', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    with op.batch_alter_table('slo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_team', sqlmodel.sql.sqltypes.AutoString(length=80),
                                      nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('slo', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('owner_team')
    with op.batch_alter_table('kpi_definition', schema=None) as batch_op:
        batch_op.drop_column('effective_from')
        batch_op.drop_column('owner_team')
    with op.batch_alter_table('slo_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slo_version_slo_name'))
    op.drop_table('slo_version')
    with op.batch_alter_table('definition_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_proposal_status'))
        batch_op.drop_index(batch_op.f('ix_definition_proposal_key'))
    op.drop_table('definition_proposal')
