"""Accepting a PAKN: inbound row + case in one transaction, then enqueue."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rq import Queue
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from channels.base import InboundMessage as Received
from config.settings import Settings
from gateway import messages
from gateway.cases import record_event
from gateway.constants import CaseStatus, EventKind
from gateway.exceptions import DuplicateSubmissionError
from gateway.models import Attachment, Case, InboundMessage
from gateway.queue import PROCESS_CASE, enqueue_once
from gateway.storage import Storage
from normalizer.attachment import Kind, check_all, safe_name
from normalizer.record import Record, normalize
from normalizer.text import match_key

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


def _store_files(storage: Storage, message: Received, kinds: Sequence[Kind]) -> list[Attachment]:
    rows = []
    for raw, kind in zip(message.files, kinds, strict=True):
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


def accept(
    session: Session,
    *,
    message: Received,
    record: Record,
    kinds: Sequence[Kind] = (),
    storage: Storage | None = None,
) -> Case:
    """Persist the inbound row, the case (``received``) and its files atomically.

    Raises DuplicateSubmissionError when the channel's external id was already accepted.
    The caller enqueues ``process_case`` after this returns (see :func:`submit`).
    """
    files = _store_files(storage, message, kinds) if storage and message.files else []
    case = Case(
        channel=message.channel,
        external_id=message.external_id,
        full_name=record.full_name,
        name_key=match_key(record.full_name)[:100],
        email=record.email,
        phone=record.phone,
        address=record.address,
        title=record.title,
        content=record.content,
    )
    try:
        session.add(case)
        session.flush()
        inbound = _inbound(message, accepted=True)
        inbound.case_id = case.id
        session.add(inbound)
        for row in files:
            row.case_id = case.id  # type: ignore[assignment]
            session.add(row)
        record_event(session, case=case, actor=message.channel.value, kind=EventKind.status,
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


def submit(session: Session, *, message: Received, settings: Settings, storage: Storage, queue: Queue) -> Submission:
    """Validate, persist (or keep the rejected evidence), then enqueue the case."""
    record, kinds, errors = validate(message, settings)
    if errors or record is None:
        reject(session, message=message, error=json.dumps(errors, ensure_ascii=False))
        return Submission(errors=errors)
    try:
        case = accept(session, message=message, record=record, kinds=kinds, storage=storage)
    except DuplicateSubmissionError as duplicate:
        existing = session.get(Case, duplicate.case_id)
        return Submission(case=existing, duplicate=True)
    assert case.id is not None
    enqueue_once(queue, PROCESS_CASE, case.id, new=True)
    return Submission(case=case)
