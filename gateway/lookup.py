"""Public lookup of a case by code and sender name; reveals nothing on a mismatch."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from gateway import cases, codes
from gateway.clock.calendar import local_date
from gateway.clock.due import due_date, standing
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, EventKind
from gateway.exceptions import CodeCheckDigitError, CodeFormatError
from gateway.models import Agency, Attachment, Case, Event, ProgressNote, UTCDateTime, utcnow
from gateway.routing import REOPEN_WINDOW, can_disagree
from gateway.signing.service import SOURCE as SIGNED_FILE
from normalizer.phone import to_e164
from normalizer.text import match_key

AGENCY_FILES = "agency"  # Attachment.source of the files an agency answered with


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


@dataclass(frozen=True, slots=True)
class Step:
    """A status change of the case, as the lookup page reads it."""

    at: datetime
    from_status: CaseStatus | None
    to_status: CaseStatus
    actor: str
    note: str | None


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file the citizen may download: the agency's answer files and the signed answer."""

    id: int
    filename: str
    size: int


@dataclass
class Parts:
    """Everything a lookup shows besides the case row itself, read by one statement."""

    steps: list[Step] = field(default_factory=list)
    notes: list[tuple[datetime, str]] = field(default_factory=list)
    related: list[tuple[int, str]] = field(default_factory=list)  # (id, code), by id
    files: list[FileRef] = field(default_factory=list)
    signed: FileRef | None = None
    agency: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """The public view of a case and, for the page only, its signed answer (the API shows no files)."""

    view: dict[str, Any]
    signed: FileRef | None


def _step_label(step: Step) -> str:
    """A timeline step's words: leaving "needs info" is the supplement arriving, not a new receipt."""
    if step.from_status == CaseStatus.needs_info and step.to_status in (CaseStatus.registered, CaseStatus.forwarded):
        return SUPPLEMENTED_LABEL
    return STATUS_LABELS_VI[step.to_status]


def _question(steps: Sequence[Step]) -> str | None:
    """The question a person (agency or coordinator) asked the citizen, while it waits for the answer."""
    asked = [s for s in steps if s.to_status == CaseStatus.needs_info]
    last = asked[-1] if asked else None
    return last.note if last is not None and last.actor != "worker" and last.note else None


def _text(column: Any) -> Any:
    """A column read as plain text: the union's first branch sets the result types, and enums must stay strings."""
    return sa.type_coerce(column, sa.String)


def _none(type_: Any) -> Any:
    return sa.cast(sa.null(), type_)


def _parts_statement() -> sa.CompoundSelect:
    """One UNION ALL over the status events, progress notes, the agency, related cases and files of a case.

    Columns: part, id, at, a, b, c, d, n. Each branch is an index range on its table's
    ``case_id`` (or a primary key): ``tests/test_explain.py`` plans it at 20,000 cases.
    """
    case_id, follows_id, agency_id = (sa.bindparam(n, type_=sa.Integer) for n in ("case_id", "follows_id",
                                                                                     "agency_id"))
    text, integer, at = sa.Text, sa.Integer, UTCDateTime()
    return sa.union_all(
        sa.select(sa.literal_column("'event'", text).label("part"), col(Event.id).label("id"),
                  col(Event.at).label("at"), _text(Event.from_status).label("a"), _text(Event.to_status).label("b"),
                  _text(Event.actor).label("c"), _text(Event.note).label("d"), _none(integer).label("n"))
        .where(col(Event.case_id) == case_id, col(Event.kind) == EventKind.status, col(Event.to_status).is_not(None)),
        sa.select(sa.literal_column("'note'", text), col(ProgressNote.id), col(ProgressNote.created_at),
                  _text(ProgressNote.text), _none(text), _none(text), _none(text), _none(integer))
        .where(col(ProgressNote.case_id) == case_id),
        sa.select(sa.literal_column("'agency'", text), col(Agency.id), _none(at), _text(Agency.name), _none(text),
                  _none(text), _none(text), _none(integer))
        .where(col(Agency.id) == agency_id),
        sa.select(sa.literal_column("'related'", text), col(Case.id), _none(at), _text(Case.code), _none(text),
                  _none(text), _none(text), _none(integer))
        .where((col(Case.follows_id) == case_id) | (col(Case.id) == follows_id)),
        sa.select(sa.literal_column("'file'", text), col(Attachment.id), _none(at), _text(Attachment.filename),
                  _text(Attachment.source), _none(text), _none(text), col(Attachment.size))
        .where(col(Attachment.case_id) == case_id, col(Attachment.source).in_((AGENCY_FILES, SIGNED_FILE))),
    )


_PARTS = _parts_statement()
_EPOCH = datetime(1970, 1, 1, tzinfo=VN_TZ)  # sorts before any time; rows without one sort after all of them


def read_parts(session: Session, *, case: Case) -> Parts:
    """The timeline, progress notes, agency name, related codes and files of ``case``: one statement."""
    rows = session.execute(_PARTS, {"case_id": case.id, "follows_id": case.follows_id,
                                    "agency_id": case.agency_id}).all()
    parts = Parts()
    for part, id_, at, a, b, c, d, n in sorted(rows, key=lambda r: (r.at is None, r.at or _EPOCH, r.id)):
        if part == "event":
            parts.steps.append(Step(at, CaseStatus(a) if a else None, CaseStatus(b), c, d))
        elif part == "note":
            parts.notes.append((at, a))
        elif part == "agency":
            parts.agency = a
        elif part == "related":
            parts.related.append((id_, a))
        elif b == SIGNED_FILE:
            parts.signed = FileRef(id_, a, n)
        else:
            parts.files.append(FileRef(id_, a, n))
    return parts


def page(session: Session, *, case: Case) -> Page:
    """The lookup page's view of ``case`` (see :func:`public_view`) and its signed answer: two statements in all,
    the case (by :func:`find`) and :func:`read_parts`."""
    parts = read_parts(session, case=case)
    return Page(_view(case, parts), parts.signed)


def public_view(session: Session, *, case: Case) -> dict[str, Any]:
    """What anyone holding the code and name may see (no personal data)."""
    return _view(case, read_parts(session, case=case))


def _view(case: Case, parts: Parts) -> dict[str, Any]:
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
        "timeline": [{"at": _local(s.at), "status": s.to_status.value, "label": _step_label(s)} for s in parts.steps],
        "answer": case.answer,
        "answered_at": _local(case.answered_at),
        "rating": case.rating,
        "can_disagree": can_disagree(case),
        "due_date": due.strftime("%d/%m/%Y") if due else None,  # Asia/Ho_Chi_Minh
        "clock_paused": case.status == CaseStatus.needs_info and case.remaining_days is not None,
        "working_days_late": stand.late if stand else 0,
        "progress": [{"at": _local(at), "text": text} for at, text in parts.notes],
        "follows": next((code for id_, code in parts.related if id_ == case.follows_id), None),
        "follow_ups": [code for id_, code in parts.related if id_ != case.follows_id],
        "agency": parts.agency,
        "question": _question(parts.steps) if case.status == CaseStatus.needs_info else None,
        "rated_at": _local(case.rated_at),
        "disagree_until": _local(case.answered_at + REOPEN_WINDOW) if case.answered_at else None,
        "answer_files": [{"id": f.id, "filename": f.filename, "size": f.size} for f in parts.files],
    }


def answer_file(session: Session, *, case: Case, attachment_id: int) -> Attachment | None:
    """One of the agency's answer files of ``case`` (None for any other file)."""
    row = session.get(Attachment, attachment_id)
    return row if row is not None and row.case_id == case.id and row.source == AGENCY_FILES else None
