"""Accepting a PAKN: inbound row + case + event in one transaction (one statement on PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session, col, select

from channels.base import InboundMessage as Received
from channels.sms import Command, Keyword, parse_command
from config.settings import Settings
from gateway import fastwrite, messages
from gateway.cases import record_event
from gateway.constants import CaseStatus, Channel, EventKind
from gateway.exceptions import DuplicateSubmissionError
from gateway.models import Attachment, Case, HotlineCall, InboundMessage, new_token, utcnow
from gateway.storage import Storage
from normalizer.attachment import Kind, check_all, safe_name
from normalizer.record import FIELD_RULES, Record, normalize
from normalizer.text import clean_line, match_key

log = logging.getLogger(__name__)
MAX_RAW_FIELD = 20_000  # raw values are cut to this before storage


def _payload(message: Received) -> str:
    fields: dict[str, Any] = {}
    for name, value in message.fields.items():
        fields[name] = value[:MAX_RAW_FIELD] if isinstance(value, str) else repr(value)[:MAX_RAW_FIELD]
    files = [
        {"name": safe_name(f.filename), "size": len(f.data), "sha256": hashlib.sha256(f.data).hexdigest()}
        for f in message.files
    ]
    return json.dumps({"fields": fields, "files": files}, ensure_ascii=False)


def _inbound(message: Received, *, accepted: bool, error: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel=message.channel,
        external_id=message.external_id,
        remote_addr=message.remote_addr,
        payload=_payload(message),
        accepted=accepted,
        error=error,
        sender=message.sender,
        command=message.command,
    )


def reject(session: Session, *, message: Received, error: str) -> None:
    """Keep the evidence of a submission that was refused (no case is created).

    Its external id does not block a later, valid attempt with the same id: only an
    accepted row holds it (a partial unique index).
    """
    session.add(_inbound(message, accepted=False, error=error))
    session.commit()


def existing_case_id(session: Session, *, channel: Channel, external_id: str) -> int | None:
    """The case an external id was accepted for: its own, or the thread it joined (SMS)."""
    found = session.exec(select(Case.id).where(Case.channel == channel, Case.external_id == external_id)).first()
    if found is not None:
        return found
    return session.exec(select(InboundMessage.case_id).where(
        InboundMessage.channel == channel, InboundMessage.external_id == external_id,
        col(InboundMessage.accepted).is_(True))).first()


def store_files(session: Session, *, case: Case, files: Sequence[Any], kinds: Sequence[Kind], storage: Storage,
                source: str) -> None:
    """Store checked files for ``case`` (the caller commits)."""
    for row in _store_files(storage, files, kinds):
        row.case_id, row.source = case.id, source  # type: ignore[assignment]
        session.add(row)


def _store_files(storage: Storage, files: Sequence[Any], kinds: Sequence[Kind]) -> list[Attachment]:
    rows = []
    for raw, kind in zip(files, kinds, strict=True):
        rows.append(
            Attachment(
                case_id=0,
                filename=safe_name(raw.filename),
                storage_key=storage.save(raw.data),
                content_type=kind.mime,
                size=len(raw.data),
                sha256=hashlib.sha256(raw.data).hexdigest(),
            )
        )
    return rows


def _case_values(message: Received, record: Record, *, created_by: str | None,
                 field_hint: str | None) -> dict[str, Any]:
    """The columns of a new case that come from the submission."""
    return {"channel": message.channel, "external_id": message.external_id, "full_name": record.full_name,
            "name_key": match_key(record.full_name)[:100], "email": record.email, "phone": record.phone,
            "address": record.address, "title": record.title, "content": record.content,
            "created_by": created_by, "field_hint": field_hint, "publish_consent": record.publish}


def _new_case(message: Received, record: Record, *, created_by: str | None, field_hint: str | None) -> Case:
    return Case(**_case_values(message, record, created_by=created_by, field_hint=field_hint))


def accept(
    session: Session,
    *,
    message: Received,
    record: Record,
    kinds: Sequence[Kind] = (),
    storage: Storage | None = None,
    created_by: str | None = None,
    field_hint: str | None = None,
    call: HotlineCall | None = None,
) -> Case:
    """Persist the inbound row, the case (``received``) and its files atomically.

    Raises DuplicateSubmissionError when the channel's external id was already accepted.
    The case is pending work as soon as this commits: the worker's dispatcher finds it.
    On PostgreSQL the returned case is a transient copy of the row written (not in the session).
    """
    files = _store_files(storage, message.files, kinds) if storage and message.files else []
    try:
        if fastwrite.supported(session):
            values = _case_values(message, record, created_by=created_by, field_hint=field_hint)
            case_id = _accept_in_one_statement(session, values=values, message=message, files=files, call=call,
                                               actor=created_by or message.channel.value)
            return _written_case(case_id, values)
        case = _new_case(message, record, created_by=created_by, field_hint=field_hint)
        session.add(case)
        session.flush()
        if call is not None:
            call.case_id = case.id
            session.add(call)
        inbound = _inbound(message, accepted=True)
        inbound.case_id, inbound.handled_at = case.id, utcnow()
        session.add(inbound)
        for row in files:
            row.case_id = case.id  # type: ignore[assignment]
            session.add(row)
        record_event(session, case=case, actor=created_by or message.channel.value, kind=EventKind.status,
                     to_status=CaseStatus.received)
        session.commit()
    except BaseException as exc:
        session.rollback()
        for row in files:
            storage.delete(row.storage_key)  # type: ignore[union-attr]
        _raise_if_duplicate(session, message, exc)
        raise
    return case


def _written_case(case_id: int, values: dict[str, Any]) -> Case:
    """A transient Case holding the row just written (not in any session).

    Built without the model's ``__init__`` (validation and instrumented sets cost ~0.5 ms
    a request): the values go straight into the instance's state; columns the intake
    does not set read None, as in the row, except the counters.
    """
    configure_mappers()  # new_instance() does not configure them (no-op once done)
    case: Case = Case._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    case.__dict__.update(values, id=case_id, status=CaseStatus.received, attempts=0, due_sequence=0)
    return case


def _raise_if_duplicate(session: Session, message: Received, exc: BaseException) -> None:
    """After a rolled-back write: DuplicateSubmissionError when its external id was accepted already."""
    if isinstance(exc, IntegrityError) and message.external_id:
        existing = existing_case_id(session, channel=message.channel, external_id=message.external_id)
        if existing is not None:
            raise DuplicateSubmissionError(existing) from None


def _accept_in_one_statement(session: Session, *, values: dict[str, Any], message: Received,
                             files: list[Attachment], call: HotlineCall | None, actor: str) -> int:
    """PostgreSQL: case, inbound row, event (and the dispatcher's notification) in one statement.

    Alone (no files, no hotline call, no transaction open) it commits by itself: one
    round trip. Otherwise it joins the session's transaction with the extra rows.
    Completes ``values`` (receipt, timestamps) and returns the new case's id.
    """
    now = utcnow()
    values.update(receipt=new_token(), created_at=now, updated_at=now)
    inbound = fastwrite.InboundRow(remote_addr=message.remote_addr, payload=_payload(message),
                                   sender=message.sender, command=message.command)
    alone = not files and call is None and not session.in_transaction()
    lock_key = message.sender if message.channel is Channel.sms else None
    case_id = fastwrite.insert_case(session, values=values, inbound=inbound, actor=actor, at=now, autocommit=alone,
                                    lock_key=lock_key)
    if alone:
        return case_id
    if call is not None:
        call.case_id = case_id
        session.add(call)
    for row in files:
        row.case_id = case_id
        session.add(row)
    session.commit()
    return case_id


def _accept_text(session: Session, *, message: Received, record: Record) -> int:
    """:func:`accept` for an SMS case, returning only its id (no case object on PostgreSQL)."""
    if not fastwrite.supported(session):
        case_id = accept(session, message=message, record=record).id
        assert case_id is not None
        return case_id
    values = _case_values(message, record, created_by=None, field_hint=None)
    try:
        return _accept_in_one_statement(session, values=values, message=message, files=[], call=None,
                                        actor=message.channel.value)
    except IntegrityError as exc:
        session.rollback()
        _raise_if_duplicate(session, message, exc)
        raise


@dataclass
class Submission:
    """Outcome of :func:`submit`: the case, or Vietnamese messages per field."""

    case: Case | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    duplicate: bool = False


def validate(message: Received, settings: Settings) -> tuple[Record | None, list[Kind], dict[str, list[str]]]:
    """Normalize the fields and check the files; messages are Vietnamese."""
    result = normalize(message.fields)
    errors: dict[str, list[str]] = {}
    for problem in result.errors:
        errors.setdefault(problem.field, []).append(messages.field_error(problem.field, problem.code, problem.limit))
    kinds, file_problems = check_all(
        [(f.filename, f.data) for f in message.files],
        max_files=settings.max_files, max_bytes=settings.max_file_bytes, max_total=settings.max_total_bytes,
    )
    for file_problem in file_problems:
        errors.setdefault("attachments", []).append(
            messages.file_error(file_problem.filename, file_problem.code, file_problem.limit)
        )
    return result.record, kinds, errors


def submit(session: Session, *, message: Received, settings: Settings, storage: Storage,
           **extra: Any) -> Submission:
    """Validate, then persist the case (or keep the rejected evidence); the worker takes it from there.

    ``extra`` goes to :func:`accept` (``created_by``, ``field_hint``, ``call``).
    """
    record, kinds, errors = validate(message, settings)
    if errors or record is None:
        reject(session, message=message, error=json.dumps(errors, ensure_ascii=False))
        return Submission(errors=errors)
    try:
        case = accept(session, message=message, record=record, kinds=kinds, storage=storage, **extra)
    except DuplicateSubmissionError as duplicate:
        existing = session.get(Case, duplicate.case_id)
        return Submission(case=existing, duplicate=True)
    return Submission(case=case)


# --- SMS 8088 ----------------------------------------------------------------------

THREAD_WINDOW = timedelta(minutes=2)
THREAD_STATUSES = (CaseStatus.received, CaseStatus.registered, CaseStatus.triage)  # not yet forwarded
SMS_TITLE_CHARS = 80


@dataclass
class SmsReceipt:
    """What the webhook did with one text."""

    inbound_id: int | None = None
    case_id: int | None = None
    threaded: bool = False
    duplicate: bool = False


def sms_title(text: str) -> str:
    """A title for an SMS case: its first words (SMS have no subject)."""
    first_line = clean_line(text.split("\n", 1)[0])
    if len(first_line) <= SMS_TITLE_CHARS:
        return first_line
    return first_line[:SMS_TITLE_CHARS].rsplit(" ", 1)[0] + " …"


def _thread(session: Session, *, sender: str, now: datetime) -> Case | None:
    """The sender's SMS case whose last free text came within THREAD_WINDOW, if still open."""
    query = (
        select(Case)
        .join(InboundMessage, col(InboundMessage.case_id) == col(Case.id))
        .where(InboundMessage.sender == sender, InboundMessage.channel == Channel.sms,
               InboundMessage.command == Keyword.new.value, col(InboundMessage.received_at) >= now - THREAD_WINDOW,
               Case.channel == Channel.sms, col(Case.status).in_(THREAD_STATUSES))
        .order_by(col(InboundMessage.received_at).desc())
        .limit(1)
    )
    return session.exec(query).first()


def _append(session: Session, *, case: Case, message: Received, text: str) -> int:
    inbound = _inbound(message, accepted=True)
    inbound.case_id = case.id
    case.content = f"{case.content}\n{text}"
    case.updated_at = utcnow()
    session.add_all([inbound, case])
    session.flush()
    record_event(session, case=case, actor="sms", kind=EventKind.supplement, note="Tin nhắn nối tiếp trong 2 phút")
    fastwrite.notify(session, "sms")  # the text is pending work (its reply)
    session.commit()
    assert inbound.id is not None
    return inbound.id


def _store_command(session: Session, message: Received) -> int | None:
    if fastwrite.supported(session):
        row = fastwrite.InboundRow(remote_addr=message.remote_addr, payload=_payload(message),
                                   sender=message.sender, command=message.command)
        return fastwrite.insert_command(session, channel=message.channel.value, external_id=message.external_id,
                                        inbound=row, at=utcnow())
    inbound = _inbound(message, accepted=True)
    session.add(inbound)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return inbound.id


def _sms_case(session: Session, *, message: Received, command: Command) -> SmsReceipt:
    assert message.sender is not None
    if not command.explicit:
        thread = _thread(session, sender=message.sender, now=utcnow())
        if thread is not None and len(thread.content) + len(command.text) < FIELD_RULES["content"][1]:
            try:
                return SmsReceipt(inbound_id=_append(session, case=thread, message=message, text=command.text),
                                  case_id=thread.id, threaded=True)
            except IntegrityError:
                session.rollback()
                return SmsReceipt(duplicate=True)
    record = Record(full_name="", phone=message.sender, address="", title=sms_title(command.text),
                    content=command.text)
    try:
        case_id = _accept_text(session, message=message, record=record)
    except DuplicateSubmissionError as duplicate:
        return SmsReceipt(case_id=duplicate.case_id, duplicate=True)
    return SmsReceipt(case_id=case_id)


def receive_sms(session: Session, *, message: Received) -> SmsReceipt:
    """Store one text (exactly once per MessageSid); the worker carries out what it asks for.

    Free text and ``PA`` open a case (or join the sender's 2-minute thread) in the
    same transaction as the inbound row; commands are stored and carried out by the
    worker (``handle_sms``), which also sends every reply.
    """
    command = parse_command(str(message.fields.get("body", "")))
    message = replace(message, command=command.keyword.value)
    if command.keyword is Keyword.new and not command.too_short and message.sender:
        if not command.explicit:  # free text may join a thread: look for it under the phone's lock
            _lock_phone(session, message.sender)
        return _sms_case(session, message=message, command=command)  # a new case takes the lock itself
    inbound_id = _store_command(session, message)
    if inbound_id is None:
        return SmsReceipt(duplicate=True)
    return SmsReceipt(inbound_id=inbound_id)


def _lock_phone(session: Session, phone: str) -> None:
    """Serialize one phone's texts until commit (split messages arrive together).

    PostgreSQL: a transaction-scoped advisory lock on the number. SQLite: the
    transaction already holds the database's one write lock (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:phone, 0))"), {"phone": phone})
