"""ticket.first_response_at

The first answer to the customer on a ticket: the event that stops the business-hours response
timer (REFERENCE §3). Null while a ticket has no response yet or its source does not record one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 07:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Adding a nullable column is a plain ALTER TABLE on SQLite too, so the batch does not
    # rebuild ticket (a rebuild would trip ticket_wait's foreign key).
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))


def downgrade() -> None:
    op.execute('ALTER TABLE ticket DROP COLUMN first_response_at')  # SQLite ≥ 3.35 and PostgreSQL
