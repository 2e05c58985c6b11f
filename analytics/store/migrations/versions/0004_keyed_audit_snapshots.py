"""keyed audit chain, snapshots, protected import batches

- ``audit_key_switch``: one row recording the last audit entry written with the plain SHA-256
  chain (``legacy_through``); later entries are HMAC-SHA256 keyed with a secret kept outside the
  database (analytics/store/audit.py).
- ``snapshot``: month snapshots of the reports (analytics/governance/snapshots.py).
- append-only triggers on ``snapshot`` and ``audit_key_switch``; ``import_batch`` rows may be
  finished once and are frozen after that (UPDATE/DELETE refused).

Revision ID: 0004
Revises: 0002 (re-chained onto 0003 at merge: change down_revision only)
Create Date: 2026-12-05 04:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from analytics.store.audit import install_triggers

    op.create_table('audit_key_switch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('legacy_through', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('taken_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('taken_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('reports', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('definitions', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('batch_ids', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('inputs', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('input_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_snapshot_month'), 'snapshot', ['month'], unique=False)
    # Entries already in the log were chained with plain SHA-256: they keep verifying that way.
    op.execute("INSERT INTO audit_key_switch (legacy_through, at) "
               "SELECT COALESCE(MAX(id), 0), CURRENT_TIMESTAMP FROM audit_log")
    install_triggers(op.get_bind(), ("import_batch", "snapshot", "audit_key_switch"))


def downgrade() -> None:
    bind = op.get_bind()
    for table in ("import_batch", "snapshot", "audit_key_switch"):
        if bind.dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_reject_change()")
        else:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    op.drop_index(op.f('ix_snapshot_month'), table_name='snapshot')
    op.drop_table('snapshot')
    op.drop_table('audit_key_switch')
