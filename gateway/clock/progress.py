"""Progress notes: the agency's interim updates, told to the citizen and shown on the lookup page."""

from __future__ import annotations

from collections.abc import Sequence

import redis
from sqlmodel import Session, col, select

from config.settings import Settings
from gateway import cases, messages, notices
from gateway.constants import EventKind
from gateway.models import Agency, Case, ProgressNote

PROGRESS_PURPOSE = "notice-progress"  # a notice: HUY stops it by SMS
MIN_NOTE = 10
MAX_NOTE = 2000


def add_note(session: Session, *, case: Case, agency: Agency | None, author: str, text: str, settings: Settings,
             replies: redis.Redis | None) -> ProgressNote:
    """Store the note, record it on the case and tell the citizen over the originating channel."""
    assert case.id is not None
    note = ProgressNote(case_id=case.id, agency_id=agency.id if agency else None, author=author[:100],
                        text=text.strip()[:MAX_NOTE])
    session.add(note)
    session.flush()
    cases.record_event(session, case=case, actor=author, kind=EventKind.progress, note=note.text[:500])
    name = agency.name if agency else "Cơ quan giải quyết"
    notices.tell_citizen(session, case=case, key=f"case-{case.id}-progress-{note.id}",
                         text=messages.text("clock", "progress", code=case.code, agency=name, text=note.text),
                         settings=settings, replies=replies,
                         subject=messages.text("clock", "progress_subject", code=case.code), purpose=PROGRESS_PURPOSE)
    return note


def notes(session: Session, *, case_id: int) -> Sequence[ProgressNote]:
    """The case's progress notes, oldest first."""
    return session.exec(select(ProgressNote).where(ProgressNote.case_id == case_id)
                        .order_by(col(ProgressNote.created_at), col(ProgressNote.id))).all()


def latest(session: Session, *, case_id: int) -> ProgressNote | None:
    """The case's most recent progress note."""
    return session.exec(select(ProgressNote).where(ProgressNote.case_id == case_id)
                        .order_by(col(ProgressNote.created_at).desc(), col(ProgressNote.id).desc()).limit(1)).first()
