"""integrations: webhook subscriptions (deliveries are outbound_message rows, channel webhook)

Channel values ``open311`` and ``webhook`` and the event kind ``progress`` need no change:
enums are stored as strings of length 20.

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-23 06:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import gateway.models


revision: str = '0011'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'webhook_subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('events', sa.Text(), nullable=False),
        sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('paused_at', gateway.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('failing_since', gateway.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_success_at', gateway.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', gateway.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('webhook_subscription')
