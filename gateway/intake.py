"""Accepting a PAKN: inbound row + case in one transaction, then enqueue."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import redis
from redis.exceptions import LockError
from rq import Queue
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from channels.base import InboundMessage as Received
from channels.sms import Command, Keyword, parse_command
from config.settings import Settings
from gateway import messages
from gateway.cases import record_event
from gateway.constants import CaseStatus, Channel, EventKind
from gateway.exceptions import DuplicateSubmissionError
from gateway.models import Attachment, Case, HotlineCall, InboundMessage, utcnow
from gateway.queue import HANDLE_SMS, PROCESS_CASE, REDIS_ERRORS, enqueue_once
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
    """Keep the evidence of a submission that was refused (no case is created)."""
    session.add(_inbound(message, accepted=False, error=error))
    try:
        session.commit()
    except IntegrityError:  # a replay of something already stored: nothing to add
        session.rollback()


def _existing_case_id(session: Session, message: Received) -> int | None:
    query = select(Case.id).where(Case.channel == message.channel, Case.external_id == message.external_id)
    return session.exec(query).first()


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


def _new_case(message: Received, record: Record, *, created_by: str | None, field_hint: str | None) -> Case:
    return Case(channel=message.channel, external_id=message.external_id, full_name=record.full_name,
                name_key=match_key(record.full_name)[:100], email=record.email, phone=record.phone,
                address=record.address, title=record.title, content=record.content, created_by=created_by,
                field_hint=field_hint)


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
    The caller enqueues ``process_case`` after this returns (see :func:`submit`).
    """
    files = _store_files(storage, message.files, kinds) if storage and message.files else []
    case = _new_case(message, record, created_by=created_by, field_hint=field_hint)
    try:
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
        if isinstance(exc, IntegrityError) and message.external_id:
            existing = _existing_case_id(session, message)
            if existing is not None:
                raise DuplicateSubmissionError(existing) from None
        raise
    return case


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


def submit(session: Session, *, message: Received, settings: Settings, storage: Storage, queue: Queue,
           **extra: Any) -> Submission:
    """Validate, persist (or keep the rejected evidence), then enqueue the case.

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
    assert case.id is not None
    enqueue_once(queue, PROCESS_CASE, case.id, new=True)
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
    session.commit()
    assert inbound.id is not None
    return inbound.id


def _store_command(session: Session, message: Received) -> int | None:
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
        case = accept(session, message=message, record=record)
    except DuplicateSubmissionError as duplicate:
        return SmsReceipt(case_id=duplicate.case_id, duplicate=True)
    return SmsReceipt(case_id=case.id)


def receive_sms(session: Session, *, message: Received, queue: Queue, locks: redis.Redis | None) -> SmsReceipt:
    """Store one text (exactly once per MessageSid) and enqueue what it asks for.

    Free text and ``PA`` open a case (or join the sender's 2-minute thread) in the
    same transaction as the inbound row; commands are stored and carried out by the
    worker (``handle_sms``), which also sends every reply.
    """
    command = parse_command(str(message.fields.get("body", "")))
    message = replace(message, command=command.keyword.value)
    if command.keyword is Keyword.new and not command.too_short and message.sender:
        with _phone_lock(locks, message.sender):
            receipt = _sms_case(session, message=message, command=command)
        if receipt.duplicate:
            return receipt
        if receipt.threaded:
            enqueue_once(queue, HANDLE_SMS, receipt.inbound_id or 0, new=True)
        else:
            enqueue_once(queue, PROCESS_CASE, receipt.case_id or 0, new=True)
        return receipt
    inbound_id = _store_command(session, message)
    if inbound_id is None:
        return SmsReceipt(duplicate=True)
    enqueue_once(queue, HANDLE_SMS, inbound_id, new=True)
    return SmsReceipt(inbound_id=inbound_id)


@contextmanager
def _phone_lock(locks: redis.Redis | None, phone: str) -> Iterator[None]:
    """Serialize one phone's texts (split messages arrive together); degrade without Redis."""
    lock = locks.lock(f"pakn:lock:sms:{phone}", timeout=10, blocking_timeout=5) if locks else None
    held = False
    try:
        held = bool(lock and lock.acquire())
    except REDIS_ERRORS:
        log.warning("SMS thread lock for %s skipped: Redis unreachable", phone)
    try:
        yield
    finally:
        if held and lock is not None:
            with suppress(*REDIS_ERRORS, LockError):
                lock.release()
