"""Provider delivery reports (Twilio status callbacks) applied to outbound rows."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from gateway import cases, notices
from gateway.constants import EventKind, OutboundStatus
from gateway.models import Case, OutboundMessage

log = logging.getLogger(__name__)
# Twilio's message statuses in the order they can happen; a report never moves backwards.
RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
        "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "read": 5}
FAILED = frozenset({"undelivered", "failed", "canceled"})


def record_provider_status(session: Session, *, provider_id: str, status: str,
                           error_code: str | None = None) -> None:
    """Apply one status report; idempotent. A failure queues the fallback (sent by the worker)."""
    row = session.exec(select(OutboundMessage).where(OutboundMessage.provider_id == provider_id)).first()
    state = status.strip().lower()
    if row is None or state not in RANK:
        log.warning("status %r for unknown message %s ignored", status, provider_id)
        return
    if row.provider_status is not None and RANK[state] <= RANK.get(row.provider_status, -1):
        return  # a repeat, or a late report of an earlier stage
    row.provider_status = state
    if state in ("delivered", "read"):
        row.status = OutboundStatus.delivered
    elif state in FAILED:
        row.status, row.last_error = OutboundStatus.failed, f"Twilio {state} (error {error_code or '-'})"
        _failed(session, row)
    session.add(row)
    session.commit()


def _failed(session: Session, row: OutboundMessage) -> None:
    case = session.get(Case, row.case_id) if row.case_id else None
    if case is not None:
        cases.record_event(session, case=case, actor="twilio", kind=EventKind.message_failed,
                           note=f"{row.purpose} → {row.recipient}: {row.last_error}")
    notices.fall_back(session, row=row, error=row.last_error or "")
