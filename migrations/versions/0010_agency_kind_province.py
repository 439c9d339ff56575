"""agency kind and province: ministries by field, People's Committees by province

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-23 06:10:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('province', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_agency_province'), ['province'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_province'))
        batch_op.drop_column('province')
        batch_op.drop_column('kind')
