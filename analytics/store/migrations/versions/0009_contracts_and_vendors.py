"""contracts and vendors: vendor, service_component, agreement, agreement_support,
monitoring_rule, vendor_report, vendor_outage, billed_credit (issue 19,
analytics/store/models/contracts.py).

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-05 05:52:27.795268
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billed_credit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('contract', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('amount', sa.Float(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract', 'month')
    )
    op.create_table('vendor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_name'), ['name'], unique=True)

    op.create_table('service_component',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=True),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service', 'name')
    )
    with op.batch_alter_table('service_component', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_component_service'), ['service'], unique=False)

    op.create_table('agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('customer', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('component_id', sa.Integer(), nullable=True),
    sa.Column('vendor_id', sa.Integer(), nullable=True),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('sli', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('target_pct', sa.Float(), nullable=False),
    sa.Column('window', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('calendar', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('credits', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('credit_cap_pct', sa.Float(), nullable=False),
    sa.Column('monthly_fee', sa.Float(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.Column('renewal_on', sa.Date(), nullable=True),
    sa.Column('end_on', sa.Date(), nullable=True),
    sa.Column('data_source', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('audit_rights', sa.Boolean(), nullable=False),
    sa.Column('liability_cap', sa.Float(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sla_contract', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.ForeignKeyConstraint(['component_id'], ['service_component.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['agreement.id'], ),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_name'), ['name'], unique=True)

    op.create_table('vendor_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('uptime_pct', sa.Float(), nullable=False),
    sa.Column('downtime_minutes', sa.Float(), nullable=False),
    sa.Column('incidents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['service_component.id'], ),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vendor_id', 'component_id', 'month')
    )
    op.create_table('agreement_support',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('supports_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], ),
    sa.ForeignKeyConstraint(['supports_id'], ['agreement.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agreement_id', 'supports_id')
    )
    op.create_table('monitoring_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('slo', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agreement_id', 'name')
    )
    op.create_table('vendor_outage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('outage_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['service_component.id'], ),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.ForeignKeyConstraint(['outage_id'], ['outage.id'], ),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'vendor_id'),
    sa.UniqueConstraint('outage_id', 'vendor_id')
    )


def downgrade() -> None:
    op.drop_table('vendor_outage')
    op.drop_table('monitoring_rule')
    op.drop_table('agreement_support')
    op.drop_table('vendor_report')
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_name'))

    op.drop_table('agreement')
    with op.batch_alter_table('service_component', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_component_service'))

    op.drop_table('service_component')
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_name'))

    op.drop_table('vendor')
    op.drop_table('billed_credit')
