"""desk and lookup indexes: every list a page filters and sorts is one index range

The desks page with keyset pagination (``?after=``/``?before=``, docs/operations.md):
each segment of a list (e.g. the coordinator's triage cases by arrival, the overdue
cases by due date) is one range of one of these indexes, so a page costs the same at a
million cases as at a hundred. tests/test_explain.py fails on a sequential scan of the
big tables in any statement a public page or desk issues.

On a large live database, create them beforehand with ``CREATE INDEX CONCURRENTLY``
(same names, docs/operations.md): the upgrade skips an index that exists, and so does
not lock writes to the case table while it builds.

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-23 09:00:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0012'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES: tuple[tuple[str, str, list[str], dict[str, list[str]]], ...] = tuple((*spec, {})[:4] for spec in (
    ('ix_pakn_case_status_created', 'pakn_case', ['status', 'created_at', 'id']),
    ('ix_pakn_case_status_due', 'pakn_case', ['status', 'due_at', 'id'], {'postgresql_include': ['agency_id']}),
    ('ix_pakn_case_agency_status_due', 'pakn_case', ['agency_id', 'status', 'due_at', 'id']),
    ('ix_pakn_case_created_by', 'pakn_case', ['created_by', 'created_at', 'id']),
    ('ix_pakn_case_phone_created', 'pakn_case', ['phone', 'created_at', 'id']),
    ('ix_inbound_channel_command', 'inbound_message', ['channel', 'command', 'received_at']),
    ('ix_event_kind_at', 'event', ['kind', 'at', 'id']),
    ('ix_callback_open', 'callback', ['done_at', 'created_at', 'id']),
))  # (name, table, columns, PostgreSQL options: the INCLUDE column makes the desks' counts index-only)


def upgrade() -> None:
    for name, table, columns, options in INDEXES:
        op.create_index(name, table, columns, unique=False, if_not_exists=True, **options)


def downgrade() -> None:
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
