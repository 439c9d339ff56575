"""dispatch and recovery: pending work found in the database, external ids accepted once

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 06:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import gateway.models


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ACCEPTED = sa.text("accepted")
PENDING_INBOUND = sa.text("accepted AND handled_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table('pakn_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', gateway.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.create_index('ix_pakn_case_pending', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pakn_case_follows_id'), ['follows_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pakn_case_duplicate_of_id'), ['duplicate_of_id'], unique=False)

    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', gateway.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_constraint('uq_inbound_channel_external', type_='unique')
    op.create_index('uq_inbound_accepted_external', 'inbound_message', ['channel', 'external_id'], unique=True,
                    postgresql_where=ACCEPTED, sqlite_where=ACCEPTED)
    op.create_index('ix_inbound_pending', 'inbound_message', ['next_attempt_at'], unique=False,
                    postgresql_where=PENDING_INBOUND, sqlite_where=PENDING_INBOUND)

    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', gateway.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbound_pending', ['status', 'next_attempt_at'], unique=False)

    op.create_table(
        'scheduled_run',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column('slot', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('claimed_at', gateway.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('job_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.PrimaryKeyConstraint('name', 'slot'),
    )


def downgrade() -> None:
    op.drop_table('scheduled_run')
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_pending')
        batch_op.drop_column('next_attempt_at')
    op.drop_index('ix_inbound_pending', table_name='inbound_message')
    op.drop_index('uq_inbound_accepted_external', table_name='inbound_message')
    # Refused attempts may now share an accepted row's id: keep the accepted one's.
    op.execute("UPDATE inbound_message SET external_id = NULL WHERE NOT accepted AND external_id IS NOT NULL")
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_inbound_channel_external', ['channel', 'external_id'])
        batch_op.drop_column('attempts')
        batch_op.drop_column('next_attempt_at')
    with op.batch_alter_table('pakn_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pakn_case_duplicate_of_id'))
        batch_op.drop_index(batch_op.f('ix_pakn_case_follows_id'))
        batch_op.drop_index('ix_pakn_case_pending')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')
        batch_op.drop_column('next_attempt_at')
