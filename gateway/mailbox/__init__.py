"""Mail that comes back: agencies' replies, citizens' replies, auto-replies and bounces.

``poll_mailbox()`` (run by the worker's dispatcher every ~30 s) reads the IMAP mailbox of
``IMAP_URL``. Each message becomes one ``inbound_message`` row (channel ``email``, external
id = digest of its Message-ID, unique once accepted) in the same transaction as what it
does to its case; only after that commit is the message moved to the done folder. A crash
between reading and committing leaves the message in the inbox (read again next time); a
crash between committing and moving finds the row and only moves it. So every message
acts once.

What a message does:

- from one of the case's agency's addresses, in reply to the forward (``pakn+<code>@``
  Reply-To, or In-Reply-To/References naming one of our Message-IDs) → the agency's
  answer; with ``TIẾN ĐỘ`` in the subject → a progress note (the case stays open);
- from the citizen's address → a supplement;
- anything else (unknown sender, no code, auto-replies, a case no longer waiting) → kept,
  not acted on, with the reason, on the coordinator's desk;
- a bounce (delivery status notification) → the returned message is marked failed and
  the citizen is reached another way (SMS to a mobile, else the call-back list).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from channels.email import ImapMailbox
from config.settings import Settings
from gateway import cases, codes, notices, routing
from gateway.clock import progress
from gateway.constants import STATUS_LABELS_VI, CaseStatus, Channel, EventKind, OutboundStatus
from gateway.db import new_session
from gateway.exceptions import CodeError
from gateway.intake import store_files
from gateway.mailbox.parse import Mail, is_progress, read
from gateway.models import Agency, Case, InboundMessage, OutboundMessage, utcnow
from gateway.storage import Storage
from normalizer.attachment import check

log = logging.getLogger(__name__)
BATCH = 50  # messages per poll; the rest wait for the next one
OUR_ID = re.compile(r"^<pakn\.(\d+)\.([0-9a-f]{12})@", re.IGNORECASE)
OPEN = (CaseStatus.forwarded,)  # a reopened case is answered through its follow-up (routing.disagree)
MIN_ANSWER = 20  # as on the agency's answer page
MAX_TEXT = 20_000


class Outcome:
    """What a message did (stored in the inbound row's ``command``, ≤ 10 characters)."""

    answer = "answer"
    progress = "progress"
    supplement = "supplement"
    ignored = "ignored"
    bounce = "bounce"
    duplicate = "duplicate"  # already stored: not stored again


NOT_ACTED = (Outcome.ignored, Outcome.bounce)


@dataclass
class Taken:
    """The outcome for one message, its reason when not acted on, and its case."""

    outcome: str
    reason: str | None = None
    case_id: int | None = None


# --- matching a message to a case ------------------------------------------------------

def _our_row(session: Session, message_id: str) -> OutboundMessage | None:
    """The outbound row behind one of our Message-IDs (``<pakn.<id>.<digest>@…>``), checked."""
    match = OUR_ID.match(message_id)
    if not match:
        return None
    row = session.get(OutboundMessage, int(match.group(1)))
    if row is None or hashlib.sha256(row.idempotency_key.encode()).hexdigest()[:12] != match.group(2).lower():
        return None
    return row


def _case_of(session: Session, mail: Mail) -> Case | None:
    for text in mail.codes():
        try:
            case = cases.by_code(session, code=str(codes.parse(text)))
        except CodeError:
            continue
        if case is not None:
            return case
    for message_id in mail.references:
        row = _our_row(session, message_id)
        if row is not None and row.case_id is not None:
            return session.get(Case, row.case_id)
    return None


def _answers_our_mail(session: Session, mail: Mail, case: Case) -> bool:
    """The message replies to one of our emails about this case (a Message-ID nobody can guess)."""
    rows = (_our_row(session, message_id) for message_id in mail.references)
    return any(row is not None and row.case_id == case.id for row in rows)


def _agency_addresses(agency: Agency | None) -> set[str]:
    return {str(a).strip().lower() for a in json.loads(agency.emails)} if agency else set()


# --- acting -----------------------------------------------------------------------------

def _files(session: Session, *, case: Case, mail: Mail, storage: Storage, settings: Settings,
           source: str) -> list[str]:
    """Store the files that pass the web upload checks; return notes on the others."""
    accepted, kinds, refused = [], [], []
    for raw in mail.files[: settings.max_files]:
        kind = check(raw.filename, raw.data, settings.max_file_bytes)
        if isinstance(kind, str):
            refused.append(f"{raw.filename} ({kind})")
        else:
            accepted.append(raw)
            kinds.append(kind)
    refused += [f"{raw.filename} (too_many)" for raw in mail.files[settings.max_files:]]
    store_files(session, case=case, files=accepted, kinds=kinds, storage=storage, source=source)
    return refused


def _from_agency(session: Session, *, case: Case, agency: Agency, mail: Mail, settings: Settings,
                 storage: Storage, replies: redis.Redis | None) -> Taken:
    if case.status not in OPEN:
        state = STATUS_LABELS_VI[CaseStatus(case.status)]
        return Taken(Outcome.ignored, f"PAKN {case.code} không còn chờ trả lời ({state})", case.id)
    actor = f"agency:{agency.code}"
    if is_progress(mail.subject):
        if not mail.text:
            return Taken(Outcome.ignored, "Thư báo tiến độ không có nội dung", case.id)
        refused = _files(session, case=case, mail=mail, storage=storage, settings=settings, source="agency")
        progress.add_note(session, case=case, agency=agency, author=actor, settings=settings, replies=replies,
                          text=_with_refused(mail.text[:2000], refused))  # stored, shown, told to the citizen
        return Taken(Outcome.progress, case_id=case.id)
    if len(mail.text) < MIN_ANSWER:
        return Taken(Outcome.ignored, f"Thư trả lời quá ngắn (dưới {MIN_ANSWER} ký tự)", case.id)
    refused = _files(session, case=case, mail=mail, storage=storage, settings=settings, source="agency")
    routing.record_answer(session, case=case, text=mail.text[:MAX_TEXT], actor=actor, settings=settings,
                          replies=replies)
    if refused:
        cases.record_event(session, case=case, actor=actor, kind=EventKind.message_failed,
                           note=_with_refused("Tệp đính kèm không nhận", refused))
    return Taken(Outcome.answer, case_id=case.id)


def _with_refused(text: str, refused: Sequence[str]) -> str:
    return text + (f"\n[Tệp không nhận: {', '.join(refused)}]" if refused else "")


def _from_citizen(session: Session, *, case: Case, mail: Mail, settings: Settings, storage: Storage) -> Taken:
    if not mail.text and not mail.files:
        return Taken(Outcome.ignored, "Thư bổ sung không có nội dung", case.id)
    refused = _files(session, case=case, mail=mail, storage=storage, settings=settings, source="citizen")
    text = _with_refused(mail.text[:MAX_TEXT] or "(tệp đính kèm)", refused)
    if not routing.supplement(session, case=case, text=text, actor="email", via="email", settings=settings):
        return Taken(Outcome.ignored, f"PAKN {case.code} đã kết thúc, không nhận bổ sung", case.id)
    return Taken(Outcome.supplement, case_id=case.id)


def _bounce(session: Session, *, mail: Mail, settings: Settings, replies: redis.Redis | None) -> Taken:
    """Mark the returned message failed and reach the citizen another way."""
    for message_id in mail.bounced_ids:
        row = _our_row(session, message_id)
        if row is None:
            continue
        if row.status in (OutboundStatus.sent, OutboundStatus.delivered, OutboundStatus.pending):
            row.status, row.last_error = OutboundStatus.failed, f"bounced: {mail.subject}"[:500]
            session.add(row)
            case = session.get(Case, row.case_id) if row.case_id else None
            if case is not None:
                cases.record_event(session, case=case, actor="email", kind=EventKind.message_failed,
                                   note=f"Email {row.purpose} → {row.recipient} bị trả lại: {mail.subject}"[:500])
            notices.fall_back(session, row=row, error="email bounced", settings=settings, replies=replies)
        return Taken(Outcome.bounce, f"Thư báo lỗi gửi tới {row.recipient} ({row.purpose})", row.case_id)
    return Taken(Outcome.bounce, "Thư báo lỗi gửi không khớp thư nào của hệ thống")


def decide(session: Session, *, mail: Mail, settings: Settings, storage: Storage,
           replies: redis.Redis | None) -> Taken:
    """Act on one message in the caller's transaction (the caller stores it and commits)."""
    if mail.bounce:
        return _bounce(session, mail=mail, settings=settings, replies=replies)
    if mail.auto_reply:
        return Taken(Outcome.ignored, "Thư trả lời tự động (Auto-Submitted)")
    if mail.spoofed:
        return Taken(Outcome.ignored, f"Địa chỉ người gửi {mail.sender} không được xác thực (DMARC fail)")
    case = _case_of(session, mail)
    if case is None:
        return Taken(Outcome.ignored, "Không tìm thấy mã PAKN (địa chỉ pakn+mã hoặc thư được trả lời)")
    agency = session.get(Agency, case.agency_id) if case.agency_id else None
    if mail.sender and mail.sender in _agency_addresses(agency):
        assert agency is not None
        if not (mail.authenticated or _answers_our_mail(session, mail, case)):
            # A From header alone is easy to forge: an agency's mail acts on a case only as a
            # reply to our own email about it, or when our mail server authenticated the sender.
            return Taken(Outcome.ignored, f"Thư từ {mail.sender} không trả lời thư của hệ thống về PAKN "
                                          f"{case.code} và không được xác thực (DKIM/DMARC)", case.id)
        return _from_agency(session, case=case, agency=agency, mail=mail, settings=settings, storage=storage,
                            replies=replies)
    if mail.sender and case.email and mail.sender == case.email.lower():
        return _from_citizen(session, case=case, mail=mail, settings=settings, storage=storage)
    return Taken(Outcome.ignored, f"Người gửi {mail.sender or '?'} không phải cơ quan xử lý hay người gửi PAKN",
                 case.id)


def _payload(mail: Mail) -> str:
    fields = {"message_id": mail.message_id, "from": mail.sender, "from_name": mail.sender_name,
              "to": list(mail.recipients), "subject": mail.subject, "text": mail.text[:MAX_TEXT],
              "references": list(mail.references)[:20]}
    files = [{"name": f.filename, "size": len(f.data), "sha256": hashlib.sha256(f.data).hexdigest()}
             for f in mail.files]
    return json.dumps({"fields": fields, "files": files}, ensure_ascii=False)


def seen(session: Session, key: str) -> bool:
    """True when the message with this key has been stored already."""
    return session.exec(select(InboundMessage.id).where(
        InboundMessage.channel == Channel.email, InboundMessage.external_id == key,
        col(InboundMessage.accepted).is_(True))).first() is not None


class _Recording:
    """Storage that remembers what it saved, to remove it if the transaction fails."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.saved: list[str] = []

    def save(self, data: bytes) -> str:
        key = self.inner.save(data)
        self.saved.append(key)
        return key

    def load(self, key: str) -> bytes:
        return self.inner.load(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


def take(session: Session, *, raw: bytes, settings: Settings, storage: Storage,
         replies: redis.Redis | None) -> Taken:
    """Store one received message and do what it says, once; commits."""
    try:
        mail = read(raw)
    except Exception as exc:  # a message no parser can read must not block the others
        log.warning("mailbox: unreadable message (%d bytes): %s", len(raw), exc)
        return _unreadable(session, raw=raw, error=f"{type(exc).__name__}: {exc}")
    if seen(session, mail.key):
        return Taken(Outcome.duplicate)
    recording = _Recording(storage)
    try:
        taken = decide(session, mail=mail, settings=settings, storage=recording, replies=replies)
        session.add(InboundMessage(channel=Channel.email, external_id=mail.key, payload=_payload(mail),
                                   accepted=True, handled_at=utcnow(), case_id=taken.case_id,
                                   command=taken.outcome, error=taken.reason))
        session.commit()
    except BaseException as exc:
        session.rollback()
        for key in recording.saved:
            storage.delete(key)
        if isinstance(exc, IntegrityError):  # another poller stored it first
            return Taken(Outcome.duplicate)
        raise
    return taken


def _unreadable(session: Session, *, raw: bytes, error: str) -> Taken:
    """Keep a message that cannot be parsed (by a digest of its bytes) for the coordinator."""
    key = hashlib.sha256(raw).hexdigest()
    if seen(session, key):
        return Taken(Outcome.duplicate)
    reason = f"Thư không đọc được ({error})"[:500]
    payload = json.dumps({"fields": {"size": len(raw), "head": raw[:2000].decode("utf-8", "replace")}, "files": []},
                         ensure_ascii=False)
    session.add(InboundMessage(channel=Channel.email, external_id=key, payload=payload, accepted=True,
                               handled_at=utcnow(), command=Outcome.ignored, error=reason))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return Taken(Outcome.duplicate)
    return Taken(Outcome.ignored, reason)


def poll(*, settings: Settings, engine: Engine, storage: Storage, replies: redis.Redis | None,
         limit: int = BATCH) -> dict[str, int]:
    """Read what is waiting in the mailbox; every message acts once, then moves to the done folder."""
    counts: dict[str, int] = {}
    if not settings.imap_url:
        return counts
    with ImapMailbox(settings.imap_url, settings.imap_done_folder) as box:
        for uid in box.pending(limit):
            raw = box.fetch(uid)
            if raw is None:
                continue
            with new_session(engine) as session:
                taken = take(session, raw=raw, settings=settings, storage=storage, replies=replies)
            box.done(uid)  # only after the row is committed
            counts[taken.outcome] = counts.get(taken.outcome, 0) + 1
    if counts:
        log.info("mailbox: %s", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return counts


def poll_mailbox() -> dict[str, Any]:
    """The periodic job (every ~30 s): returns at once when IMAP_URL is unset."""
    from worker import context  # the worker's job context (settings, engine, storage, Redis)

    ctx = context()
    if not ctx.settings.imap_url:
        return {"skipped": "IMAP_URL is not set"}
    return dict(poll(settings=ctx.settings, engine=ctx.engine, storage=ctx.storage, replies=ctx.redis))


def not_acted_on(session: Session, *, limit: int = 50) -> Sequence[InboundMessage]:
    """Recent messages kept for the coordinator: not acted on, with the reason."""
    return session.exec(select(InboundMessage).where(
        InboundMessage.channel == Channel.email, col(InboundMessage.command).in_(NOT_ACTED))
        .order_by(col(InboundMessage.received_at).desc()).limit(limit)).all()
