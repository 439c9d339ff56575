"""Public lookup of a case by code and sender name; reveals nothing on a mismatch."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, select

from gateway import cases, codes
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, EventKind
from gateway.exceptions import CodeCheckDigitError, CodeFormatError
from gateway.models import Case
from gateway.routing import can_disagree
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


def find(session: Session, *, code_text: str, name: str) -> Result:
    """Find the case whose code is ``code_text`` and whose sender is ``name``."""
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
    return Result(Outcome.found, case)


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


def public_view(session: Session, *, case: Case) -> dict[str, Any]:
    """What anyone holding the code and name may see (no personal data)."""
    assert case.id is not None
    steps = [
        {"at": _local(e.at), "status": e.to_status.value, "label": STATUS_LABELS_VI[e.to_status]}
        for e in cases.timeline(session, case_id=case.id)
        if e.kind == EventKind.status and e.to_status is not None
    ]
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
        "follows": _code_of(session, case.follows_id),
        "follow_ups": [c.code for c in session.exec(select(Case).where(Case.follows_id == case.id)).all()],
    }


def _code_of(session: Session, case_id: int | None) -> str | None:
    other = session.get(Case, case_id) if case_id else None
    return other.code if other else None
