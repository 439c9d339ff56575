"""Kinds of pending work, found in the database and claimed with a lease."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from gateway.constants import CaseStatus, Channel, OutboundStatus
from gateway.models import Case, InboundMessage, OutboundMessage, utcnow

BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 3600
ERROR_CHARS = 2000


@dataclass(frozen=True)
class WorkKind:
    """One kind of pending row and the job that does it.

    ``lease``: how long a claimed row is left to its job before it is claimed again.
    It bounds how long the work of a dead worker waits.
    """

    name: str
    job: str
    table: sa.Table
    lease: timedelta
    pending: Callable[[sa.Table], ColumnElement[bool]]


def _case_pending(t: sa.Table) -> ColumnElement[bool]:
    """Cases to code (received) or to route (registered)."""
    return t.c.status.in_([CaseStatus.received.value, CaseStatus.registered.value])


def _sms_pending(t: sa.Table) -> ColumnElement[bool]:
    """Accepted texts not yet carried out; the terms match the partial index's (SQLite needs that)."""
    return sa.and_(t.c.accepted, t.c.handled_at.is_(None), t.c.channel == Channel.sms.value)


def _message_pending(t: sa.Table) -> ColumnElement[bool]:
    """Messages still to send."""
    return t.c.status == OutboundStatus.pending.value


CASES = WorkKind("case", "worker.process_case", Case.__table__, timedelta(seconds=30),  # type: ignore[attr-defined]
                 _case_pending)
TEXTS = WorkKind("sms", "worker.handle_sms", InboundMessage.__table__,  # type: ignore[attr-defined]
                 timedelta(seconds=30), _sms_pending)
# A delivery may wait on SMTP (30 s) or Twilio (15 s) timeouts: its lease covers them.
MESSAGES = WorkKind("message", "worker.deliver", OutboundMessage.__table__,  # type: ignore[attr-defined]
                    timedelta(seconds=60), _message_pending)
KINDS: tuple[WorkKind, ...] = (TEXTS, CASES, MESSAGES)


def _ready(t: sa.Table, now: datetime) -> ColumnElement[bool]:
    return sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now)


def claim(session: Session, kind: WorkKind, *, now: datetime, limit: int, ids: list[int] | None = None) -> list[int]:
    """Lease up to ``limit`` ready rows of ``kind`` (oldest first, or among ``ids``) and return their ids.

    One statement: concurrent dispatchers never claim the same row (PostgreSQL skips
    rows another transaction holds; SQLite has one writer). The caller commits.
    """
    if limit <= 0 or ids == []:
        return []
    t = kind.table
    chosen = sa.select(t.c.id).where(kind.pending(t), _ready(t, now))
    if ids is not None:
        chosen = chosen.where(t.c.id.in_(ids))
    chosen = chosen.order_by(t.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    statement = (sa.update(t).where(t.c.id.in_(chosen.scalar_subquery()))
                 .values(next_attempt_at=now + kind.lease).returning(t.c.id))
    return sorted(int(i) for i in session.execute(statement).scalars())


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 10 s, 20 s, 40 s … up to an hour."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def record_failure(session: Session, kind: WorkKind, *, row_id: int, error: str, now: datetime | None = None) -> int:
    """Count a failed job on its row and push its next claim out by the backoff; returns attempts."""
    t = kind.table
    values: dict[str, object] = {"attempts": t.c.attempts + 1}
    if "last_error" in t.c:
        values["last_error"] = error[:ERROR_CHARS]
    attempts = session.execute(sa.update(t).where(t.c.id == row_id).values(**values)
                               .returning(t.c.attempts)).scalar()
    if attempts is None:
        return 0
    session.execute(sa.update(t).where(t.c.id == row_id)
                    .values(next_attempt_at=(now or utcnow()) + backoff(int(attempts))))
    session.commit()
    return int(attempts)


def pending_counts(session: Session, *, now: datetime | None = None) -> dict[str, tuple[int, float]]:
    """Per kind: how many rows are pending, and how long the longest-waiting *ready* one has waited.

    A row waiting out its retry backoff is not late; one whose lease or backoff ended
    (or that never had one) waits since then, or since it was created.
    """
    now = now or utcnow()
    out: dict[str, tuple[int, float]] = {}
    for kind in KINDS:
        t = kind.table
        created = t.c.created_at if "created_at" in t.c else t.c.received_at
        count = session.execute(sa.select(sa.func.count()).where(kind.pending(t))).scalar_one()
        since = sa.func.coalesce(t.c.next_attempt_at, created)
        oldest = session.execute(sa.select(sa.func.min(since)).where(kind.pending(t), _ready(t, now))).scalar()
        age = (now - _aware(_as_datetime(oldest))).total_seconds() if oldest is not None else 0.0
        out[kind.name] = (int(count), max(age, 0.0))
    return out


def _as_datetime(value: datetime | str) -> datetime:
    # SQLite returns coalesce() of two timestamps as text: the type is lost in the function.
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
