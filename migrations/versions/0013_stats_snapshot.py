"""stats_snapshot: the figures of a period, computed by the worker, read by the statistics pages

At a million cases computing a quarter's figures takes seconds (issue #9); the public
pages read one row of this table instead (gateway/stats/store.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 09:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import gateway.models


revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'stats_snapshot',
        sa.Column('period_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('period_start', gateway.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('period_end', gateway.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('computed_at', gateway.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('figures', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('period_key'),
    )


def downgrade() -> None:
    op.drop_table('stats_snapshot')
