"""signed answers: at most one signed answer document per case

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-23 07:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SIGNED = sa.text("source = 'signed'")


def upgrade() -> None:
    op.create_index('uq_attachment_signed_answer', 'attachment', ['case_id'], unique=True,
                    postgresql_where=SIGNED, sqlite_where=SIGNED)


def downgrade() -> None:
    op.drop_index('uq_attachment_signed_answer', table_name='attachment')
