"""The case state machine: every status change goes through here and leaves an Event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from gateway import codes, webhooks
from gateway.constants import CaseStatus, EventKind
from gateway.exceptions import InvalidTransitionError
from gateway.models import CallBack, Case, Event, OutboundMessage, utcnow
from normalizer import bounds

S = CaseStatus
ALLOWED: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.received: frozenset({S.registered}),
    S.registered: frozenset({S.needs_info, S.out_of_scope, S.triage, S.forwarded}),
    S.needs_info: frozenset({S.registered, S.triage, S.forwarded, S.closed}),
    S.out_of_scope: frozenset({S.triage, S.closed}),
    S.triage: frozenset({S.forwarded, S.needs_info, S.out_of_scope, S.closed}),
    S.forwarded: frozenset({S.answered, S.triage, S.forwarded, S.needs_info, S.closed}),
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


WORKER_STATUSES = (CaseStatus.received, CaseStatus.registered)  # pending work: the dispatcher finds these


def transition(session: Session, *, case: Case, to: CaseStatus, actor: str, note: str | None = None) -> Event:
    """Move ``case`` to status ``to`` (checked) and record who did it and why."""
    if to not in ALLOWED[case.status]:
        raise InvalidTransitionError(f"{case.status.value} → {to.value}")
    previous = case.status
    case.status = to
    case.updated_at = utcnow()
    if to in WORKER_STATUSES:  # work for the worker again: dispatch it now, not when an old lease ends
        case.next_attempt_at, case.attempts = None, 0
    session.add(case)
    event = record_event(
        session, case=case, actor=actor, kind=EventKind.status, from_status=previous, to_status=to, note=note
    )
    webhooks.on_status(session, case=case, to=to)  # subscribers' deliveries, in this same transaction
    return event


def timeline(session: Session, *, case_id: int) -> Sequence[Event]:
    """The case's events, oldest first."""
    query = select(Event).where(Event.case_id == case_id).order_by(col(Event.at), col(Event.id))
    return session.exec(query).all()


def by_receipt(session: Session, *, receipt: str) -> Case | None:
    """The case behind a receipt token (anything that cannot be one finds nothing, unqueried)."""
    if not bounds.is_token(receipt, max_len=bounds.MAX_RECEIPT):
        return None
    return session.exec(select(Case).where(Case.receipt == receipt)).first()


_BY_CODE = select(Case).where(col(Case.code) == sa.bindparam("code"))  # built once: lookups are the hot read


def by_code(session: Session, *, code: str) -> Case | None:
    """The case with this (canonical) PAKN code."""
    return session.exec(_BY_CODE, params={"code": code}).first()


def start_registration(session: Session, *, case: Case, at: datetime, stand_in: str, actor: str = "worker") -> None:
    """Register a locked ``received`` case in memory: status, event, webhooks; its code is ``stand_in`` for now.

    Nothing is written yet and no number is taken: what follows in the transaction (the
    acknowledgment, routing) may use ``case.code``; :func:`finish_registration`, the
    transaction's last statement, allocates the real code and puts it in their place.
    """
    set_committed_value(case, "code", stand_in)  # seen by the code below, never flushed
    case.status, case.registered_at, case.updated_at = CaseStatus.registered, at, at
    session.add(case)
    record_event(session, case=case, actor=actor, kind=EventKind.status, from_status=CaseStatus.received,
                 to_status=CaseStatus.registered, note=f"Mã PAKN {stand_in}")
    webhooks.on_status(session, case=case, to=CaseStatus.registered)  # "coded", in this same transaction


def finish_registration(session: Session, *, case: Case, at: datetime, stand_in: str) -> bool:
    """Flush, then allocate the code in one statement (see codes.assign); the caller commits next.

    False (rolled back, no number taken) when the case got a code meanwhile.
    """
    assert case.id is not None
    session.flush()
    code = codes.assign(session, case_id=case.id, at=at, stand_in=stand_in)
    if code is None:
        session.rollback()
        return False
    set_committed_value(case, "code", str(code))
    for obj in list(session.identity_map.values()):  # rows written with the stand-in: read afresh when used
        if isinstance(obj, (Event, OutboundMessage, CallBack)) and obj.case_id == case.id:
            session.expire(obj)
    return True


def register(session: Session, *, case_id: int, at: datetime, actor: str = "worker") -> bool:
    """Give a ``received`` case its PAKN code, once, whatever the concurrency (the caller commits).

    The case row is locked, registered in memory, and the code is allocated by the
    last statement. False when the case is not ``received`` or has a code already.
    """
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None or case.code is not None or case.status != CaseStatus.received:
        return False
    stand_in = codes.placeholder()
    start_registration(session, case=case, at=at, stand_in=stand_in, actor=actor)
    return finish_registration(session, case=case, at=at, stand_in=stand_in)
