"""The case state machine: every status change goes through here and leaves an Event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from gateway import codes
from gateway.constants import CaseStatus, EventKind
from gateway.exceptions import InvalidTransitionError
from gateway.models import Case, Event, utcnow

S = CaseStatus
ALLOWED: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.received: frozenset({S.registered}),
    S.registered: frozenset({S.needs_info, S.out_of_scope, S.triage, S.forwarded}),
    S.needs_info: frozenset({S.registered, S.triage, S.forwarded, S.closed}),
    S.out_of_scope: frozenset({S.triage, S.closed}),
    S.triage: frozenset({S.forwarded, S.needs_info, S.out_of_scope, S.closed}),
    S.forwarded: frozenset({S.answered, S.triage, S.forwarded, S.closed}),
    S.answered: frozenset({S.published, S.reopened, S.closed}),
    S.published: frozenset({S.reopened, S.closed}),
    S.reopened: frozenset({S.forwarded, S.answered, S.closed}),
    S.closed: frozenset(),
}


def record_event(
    session: Session,
    *,
    case: Case,
    actor: str,
    kind: EventKind,
    note: str | None = None,
    from_status: CaseStatus | None = None,
    to_status: CaseStatus | None = None,
) -> Event:
    """Add an audit event for ``case`` to the session (the caller commits)."""
    assert case.id is not None
    event = Event(
        case_id=case.id, actor=actor, kind=kind, note=note, from_status=from_status, to_status=to_status
    )
    session.add(event)
    return event


def transition(session: Session, *, case: Case, to: CaseStatus, actor: str, note: str | None = None) -> Event:
    """Move ``case`` to status ``to`` (checked) and record who did it and why."""
    if to not in ALLOWED[case.status]:
        raise InvalidTransitionError(f"{case.status.value} → {to.value}")
    previous = case.status
    case.status = to
    case.updated_at = utcnow()
    session.add(case)
    return record_event(
        session, case=case, actor=actor, kind=EventKind.status, from_status=previous, to_status=to, note=note
    )


def timeline(session: Session, *, case_id: int) -> Sequence[Event]:
    """The case's events, oldest first."""
    query = select(Event).where(Event.case_id == case_id).order_by(col(Event.at), col(Event.id))
    return session.exec(query).all()


def by_receipt(session: Session, *, receipt: str) -> Case | None:
    """The case behind a receipt token."""
    return session.exec(select(Case).where(Case.receipt == receipt)).first()


def by_code(session: Session, *, code: str) -> Case | None:
    """The case with this (canonical) PAKN code."""
    return session.exec(select(Case).where(Case.code == code)).first()


def register(session: Session, *, case_id: int, at: datetime, actor: str = "worker") -> bool:
    """Give a ``received`` case its PAKN code, once, whatever the concurrency.

    The code is allocated and written in the caller's transaction, guarded by ``code IS
    NULL``: if another worker got there first, this rolls back (giving the number back)
    and returns False. The caller commits, together with what registration entails (the
    acknowledgment), so that a crash in between leaves the case ``received``.
    """
    code = codes.allocate(session, at=at)
    updated = session.execute(
        update(Case)
        .where(col(Case.id) == case_id, col(Case.code).is_(None), col(Case.status) == CaseStatus.received)
        .values(code=str(code), status=CaseStatus.registered, registered_at=at, updated_at=at)
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    case = session.get(Case, case_id)
    assert case is not None
    session.refresh(case)
    record_event(session, case=case, actor=actor, kind=EventKind.status, from_status=CaseStatus.received,
                 to_status=CaseStatus.registered, note=f"Mã PAKN {code}")
    return True
