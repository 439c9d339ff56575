"""Outbound messages: queued once per idempotency key, delivered by the worker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from gateway.constants import Channel, OutboundStatus
from gateway.models import OutboundMessage, utcnow


def put(
    session: Session,
    *,
    key: str,
    channel: Channel,
    purpose: str,
    recipient: str,
    body: str,
    subject: str | None = None,
    case_id: int | None = None,
    html: str | None = None,
) -> OutboundMessage:
    """Insert the message unless its key exists (insert-or-ignore); return the stored row."""
    values = dict(
        idempotency_key=key, channel=channel, purpose=purpose, recipient=recipient, body=body,
        subject=subject, case_id=case_id, status=OutboundStatus.pending, attempts=0, created_at=utcnow(), html=html,
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OutboundMessage).values(**values).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    ).returning(OutboundMessage)
    inserted = session.scalars(statement).first()  # one round trip when new
    if inserted is not None:
        return inserted
    return session.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).one()


def pending_for_case(session: Session, *, case_id: int) -> Sequence[OutboundMessage]:
    """Messages of a case that still have to go out."""
    query = select(OutboundMessage).where(
        OutboundMessage.case_id == case_id, OutboundMessage.status == OutboundStatus.pending
    )
    return session.exec(query).all()


def pending_ids(session: Session, *, case_id: int) -> list[int]:
    """Ids of the case's messages still to deliver."""
    return [m.id for m in pending_for_case(session, case_id=case_id) if m.id is not None]


def supersede(session: Session, *, case_id: int, purpose: str, note: str) -> int:
    """Stop pending messages of a case that no longer apply (e.g. a forward after a reroute)."""
    rows = session.exec(select(OutboundMessage).where(
        OutboundMessage.case_id == case_id, OutboundMessage.purpose == purpose,
        OutboundMessage.status == OutboundStatus.pending)).all()
    for row in rows:
        row.status, row.last_error = OutboundStatus.suppressed, note
        session.add(row)
    return len(rows)


def stalled(session: Session, *, older_than: timedelta, now: datetime | None = None) -> Sequence[int]:
    """Ids of messages still pending after ``older_than``.

    Their delivery job may have been lost (Redis down at enqueue, or restarted while a
    retry was scheduled); the caller re-enqueues them unless the job is still alive.
    """
    cutoff = (now or utcnow()) - older_than
    query = select(OutboundMessage.id).where(
        OutboundMessage.status == OutboundStatus.pending,
        col(OutboundMessage.created_at) < cutoff,
    )
    return [i for i in session.exec(query).all() if i is not None]
