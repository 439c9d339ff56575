"""What an agency receives with a case: the due date as iCalendar, the citizen as vCard."""

from __future__ import annotations

from datetime import datetime, timedelta

import vobject
from sqlmodel import Session, select

from channels.base import FileAttachment
from gateway.constants import VN_TZ
from gateway.models import Attachment, Case
from gateway.storage import Storage


def calendar(case: Case, *, answer_url: str, domain: str) -> bytes:
    """A VCALENDAR with a VTODO due at the answer deadline and an all-day VEVENT on that day."""
    assert case.due_at is not None
    due = case.due_at.astimezone(VN_TZ)
    cal = vobject.iCalendar()
    cal.add("prodid").value = "-//PAKN gateway//vi"
    cal.add("method").value = "PUBLISH"
    todo = cal.add("vtodo")
    todo.add("uid").value = f"pakn-{case.code}-todo@{domain}"
    todo.add("sequence").value = str(case.due_sequence)  # a moved due date moves the entry
    todo.add("dtstamp").value = datetime.now(tz=VN_TZ)
    todo.add("summary").value = f"Trả lời PAKN {case.code}: {case.title}"
    todo.add("due").value = due
    todo.add("description").value = f"Hạn trả lời PAKN {case.code}.\nTrả lời tại: {answer_url}"
    todo.add("url").value = answer_url
    event = cal.add("vevent")
    event.add("uid").value = f"pakn-{case.code}-due@{domain}"
    event.add("sequence").value = str(case.due_sequence)
    event.add("dtstamp").value = datetime.now(tz=VN_TZ)
    event.add("dtstart").value = due.date()
    event.add("dtend").value = due.date() + timedelta(days=1)
    event.add("summary").value = f"Hạn trả lời PAKN {case.code}"
    event.add("description").value = answer_url
    return str(cal.serialize()).encode("utf-8")


def calendar_file(case: Case, *, answer_url: str, domain: str) -> FileAttachment:
    """PAKN-<code>.ics as an attachment."""
    ics = calendar(case, answer_url=answer_url, domain=domain)
    return FileAttachment(f"PAKN-{case.code}.ics", "text/calendar", ics)


def contact(case: Case) -> bytes:
    """The citizen's contact card (vCard 3.0)."""
    card = vobject.vCard()
    name = case.full_name or case.phone
    card.add("fn").value = name
    card.add("n").value = vobject.vcard.Name(family="", given=name)
    card.add("tel").value = case.phone
    if case.email:
        card.add("email").value = case.email
    if case.address:
        card.add("adr").value = vobject.vcard.Address(street=case.address, country="Việt Nam")
    card.add("note").value = f"Người gửi PAKN {case.code}"
    return str(card.serialize()).encode("utf-8")


def attachments(session: Session, *, case: Case, storage: Storage, source: str) -> list[FileAttachment]:
    """Stored files of the case from ``source`` (citizen or agency)."""
    rows = session.exec(select(Attachment).where(Attachment.case_id == case.id, Attachment.source == source)).all()
    return [FileAttachment(r.filename, r.content_type, storage.load(r.storage_key)) for r in rows]


def forward_attachments(session: Session, *, case: Case, storage: Storage, answer_url: str,
                        domain: str) -> list[FileAttachment]:
    """The citizen's files, PAKN-<code>.ics and PAKN-<code>.vcf."""
    files = attachments(session, case=case, storage=storage, source="citizen")
    files.append(FileAttachment(f"PAKN-{case.code}.ics", "text/calendar",
                                calendar(case, answer_url=answer_url, domain=domain)))
    files.append(FileAttachment(f"PAKN-{case.code}.vcf", "text/vcard", contact(case)))
    return files
