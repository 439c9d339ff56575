"""publication of answered cases, audit log of exports, the citizen's publication choice

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-23 06:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import gateway.models


revision: str = '0008'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('pakn_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publish_consent', sa.Boolean(), nullable=True))

    op.create_table(
        'publication',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('proposed', 'published', 'declined', 'withdrawn', name='publicationstatus',
                                    native_enum=False, length=20), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('proposed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('proposed_at', gateway.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('decided_at', gateway.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('published_at', gateway.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['pakn_case.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id'),
    )
    op.create_index(op.f('ix_publication_status'), 'publication', ['status'], unique=False)
    op.create_index(op.f('ix_publication_published_at'), 'publication', ['published_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # Full-text search over the folded text (gateway/publication/search.py); declared in
        # the models with ddl_if(dialect="postgresql").
        op.execute("CREATE INDEX ix_publication_fts ON publication "
                   "USING gin (to_tsvector('simple', search_text))")

    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', gateway.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_publication_fts")
    op.drop_index(op.f('ix_publication_published_at'), table_name='publication')
    op.drop_index(op.f('ix_publication_status'), table_name='publication')
    op.drop_table('publication')
    with op.batch_alter_table('pakn_case', schema=None) as batch_op:
        batch_op.drop_column('publish_consent')
