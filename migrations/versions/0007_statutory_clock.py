"""statutory clock: due-date sequence, paused clock, progress notes, clock alerts

Revision ID: 0007
Revises: 0010 (written on 0006; re-chained after main's 0008-0011)
Create Date: 2026-11-23 06:20:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import gateway.models


revision: str = '0007'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('pakn_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_sequence', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('paused_at', gateway.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('remaining_days', sa.Integer(), nullable=True))
    # Cases already waiting for the citizen: waiting since their last change (for the closure rule).
    op.execute("UPDATE pakn_case SET paused_at = updated_at WHERE status = 'needs_info'")

    op.create_table(
        'progress_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=True),
        sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', gateway.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id']),
        sa.ForeignKeyConstraint(['case_id'], ['pakn_case.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_progress_note_case_id'), 'progress_note', ['case_id'], unique=False)

    op.create_table(
        'clock_alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', gateway.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', gateway.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['pakn_case.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.create_index(op.f('ix_clock_alert_case_id'), 'clock_alert', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_clock_alert_case_id'), table_name='clock_alert')
    op.drop_table('clock_alert')
    op.drop_index(op.f('ix_progress_note_case_id'), table_name='progress_note')
    op.drop_table('progress_note')
    with op.batch_alter_table('pakn_case', schema=None) as batch_op:
        batch_op.drop_column('remaining_days')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('due_sequence')
