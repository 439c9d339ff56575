"""Public lookup of a case by code and sender name; reveals nothing on a mismatch."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from gateway import cases, codes
from gateway.clock import progress
from gateway.clock.calendar import local_date
from gateway.clock.due import due_date, standing
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, EventKind
from gateway.exceptions import CodeCheckDigitError, CodeFormatError
from gateway.models import Agency, Attachment, Case, Event, utcnow
from gateway.routing import REOPEN_WINDOW, can_disagree
from normalizer.phone import to_e164
from normalizer.text import match_key


class Outcome(StrEnum):
    """Why a lookup did or did not find a case."""

    found = "found"
    bad_format = "code_format"
    bad_check = "code_check"
    no_name = "lookup_name_required"
    not_found = "lookup_not_found"


@dataclass
class Result:
    """The outcome and, when found, the case."""

    outcome: Outcome
    case: Case | None = None


def find(session: Session, *, code_text: str, name: str, published_on: str | None = None) -> Result:
    """Find the case whose code is ``code_text`` and whose sender is ``name``.

    ``published_on`` (optional, ``YYYY-MM-DD`` or ``DD/MM/YYYY``): the case must also have
    been published that day (Vietnam time), as on the seed's lookup form.
    """
    try:
        code = codes.parse(code_text)
    except CodeCheckDigitError:
        return Result(Outcome.bad_check)
    except CodeFormatError:
        return Result(Outcome.bad_format)
    if not match_key(name):
        return Result(Outcome.no_name)
    case = cases.by_code(session, code=str(code))
    if case is None or not _sender_matches(case, name):
        return Result(Outcome.not_found)
    if published_on and published_on.strip() and not _published_on(session, case, published_on.strip()):
        return Result(Outcome.not_found)
    return Result(Outcome.found, case)


def _published_on(session: Session, case: Case, text: str) -> bool:
    from gateway.publication.service import published_on

    try:
        day = date.fromisoformat(text) if "-" in text else datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        return False
    return bool(published_on(session, case=case) == day)


def _sender_matches(case: Case, typed: str) -> bool:
    """The sender's name (case, spacing, diacritics ignored), or the sender's phone number.

    SMS cases have no name: their senders prove themselves with the number they wrote from.
    """
    if case.name_key and hmac.compare_digest(case.name_key.encode(), match_key(typed)[:100].encode()):
        return True
    phone = to_e164(typed) if any(ch.isdigit() for ch in typed) else None
    return phone is not None and hmac.compare_digest(phone.encode(), case.phone.encode())


def _local(value: datetime | None) -> str | None:
    return value.astimezone(VN_TZ).isoformat(timespec="minutes") if value else None


def shown(value: str | None) -> str:
    """An ISO time of :func:`public_view` as people read it: ``dd/mm/yyyy HH:MM`` (Vietnam time, as in the emails)."""
    return datetime.fromisoformat(value).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if value else ""


SUPPLEMENTED_LABEL = "Đã nhận thông tin bổ sung"


def _step_label(event: Event) -> str:
    """A timeline step's words: leaving "needs info" is the supplement arriving, not a new receipt."""
    assert event.to_status is not None
    if event.from_status == CaseStatus.needs_info and event.to_status in (CaseStatus.registered, CaseStatus.forwarded):
        return SUPPLEMENTED_LABEL
    return STATUS_LABELS_VI[event.to_status]


def _question(events: Sequence[Event]) -> str | None:
    """The question a person (agency or coordinator) asked the citizen, while it waits for the answer."""
    asked = [e for e in events if e.kind == EventKind.status and e.to_status == CaseStatus.needs_info]
    last = asked[-1] if asked else None
    return last.note if last is not None and last.actor != "worker" and last.note else None


def public_view(session: Session, *, case: Case) -> dict[str, Any]:
    """What anyone holding the code and name may see (no personal data)."""
    assert case.id is not None
    events = cases.timeline(session, case_id=case.id)
    steps = [
        {"at": _local(e.at), "status": e.to_status.value, "label": _step_label(e)}
        for e in events
        if e.kind == EventKind.status and e.to_status is not None
    ]
    agency = session.get(Agency, case.agency_id) if case.agency_id else None
    due = due_date(case) if case.status in (CaseStatus.forwarded, CaseStatus.needs_info) else None
    stand = standing(case, today=local_date(utcnow()))
    return {
        "code": case.code,
        "title": case.title,
        "channel": case.channel.value,
        "status": case.status.value,
        "status_label": STATUS_LABELS_VI[CaseStatus(case.status)],
        "received_at": _local(case.created_at),
        "registered_at": _local(case.registered_at),
        "timeline": steps,
        "answer": case.answer,
        "answered_at": _local(case.answered_at),
        "rating": case.rating,
        "can_disagree": can_disagree(case),
        "due_date": due.strftime("%d/%m/%Y") if due else None,  # Asia/Ho_Chi_Minh
        "clock_paused": case.status == CaseStatus.needs_info and case.remaining_days is not None,
        "working_days_late": stand.late if stand else 0,
        "progress": [{"at": _local(n.created_at), "text": n.text} for n in progress.notes(session, case_id=case.id)],
        **_related(session, case),
        "agency": agency.name if agency else None,
        "question": _question(events) if case.status == CaseStatus.needs_info else None,
        "rated_at": _local(case.rated_at),
        "disagree_until": _local(case.answered_at + REOPEN_WINDOW) if case.answered_at else None,
        "answer_files": [{"id": a.id, "filename": a.filename, "size": a.size}
                         for a in session.exec(select(Attachment).where(
                             Attachment.case_id == case.id, Attachment.source == AGENCY_FILES)
                             .order_by(col(Attachment.id))).all()],
    }


AGENCY_FILES = "agency"  # Attachment.source of the files an agency answered with


def answer_file(session: Session, *, case: Case, attachment_id: int) -> Attachment | None:
    """One of the agency's answer files of ``case`` (None for any other file)."""
    row = session.get(Attachment, attachment_id)
    return row if row is not None and row.case_id == case.id and row.source == AGENCY_FILES else None


def _related(session: Session, case: Case) -> dict[str, Any]:
    """The code of the case this one follows, and those of its follow-ups: one statement, two index ranges
    (the primary key and ``ix_pakn_case_follows_id``), codes only."""
    condition = col(Case.follows_id) == case.id
    if case.follows_id is not None:
        condition = condition | (col(Case.id) == case.follows_id)
    rows = session.execute(select(col(Case.id), col(Case.code)).where(condition).order_by(col(Case.id))).all()
    return {"follows": next((code for id_, code in rows if id_ == case.follows_id), None),
            "follow_ups": [code for id_, code in rows if id_ != case.follows_id]}
