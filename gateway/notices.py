"""What the citizen is told, composed into outbound rows (sent later by the worker)."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import redis
from phonenumbers import NumberParseException
from sqlmodel import Session, col, func, select

from channels.sms import parse_command
from config.settings import Settings
from gateway import cases, messages, outbox, ratelimit
from gateway.constants import VN_TZ, Channel, EventKind, OutboundStatus
from gateway.models import Agency, CallBack, Case, InboundMessage, OutboundMessage
from normalizer.phone import is_mobile
from normalizer.text import fit, nfc, to_gsm7

log = logging.getLogger(__name__)

SUMMARY_CHARS = 400
READBACK_TITLE = 60


def summary(content: str, limit: int = SUMMARY_CHARS) -> str:
    """The first ``limit`` characters of ``content``, cut at a word boundary."""
    if len(content) <= limit:
        return content
    cut = content[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + " …"


def lookup_url(settings: Settings, code: str) -> str:
    """Public lookup link for a code (the citizen adds the name)."""
    return f"{settings.public_base_url}/lookup?{urlencode({'code': code})}"


def queue_acknowledgment(session: Session, *, case: Case, settings: Settings,
                         replies: redis.Redis | None = None) -> None:
    """Queue the 'received, here is your code' message over the case's channel (once).

    A follow-up of a disputed answer gets none: the disagreement was confirmed already.
    """
    if case.follows_id is not None:
        return
    if case.channel == Channel.sms:
        _sms_acknowledgment(session, case=case, settings=settings, replies=replies)
    elif case.channel == Channel.hotline:
        _hotline_readback(session, case=case, settings=settings, replies=replies)
    elif not case.email and is_mobile_number(case.phone):  # a web submitter who gave only a mobile number
        _web_sms_acknowledgment(session, case=case, settings=settings, replies=replies)
    else:
        _email_acknowledgment(session, case=case, settings=settings)


def _web_sms_acknowledgment(session: Session, *, case: Case, settings: Settings,
                            replies: redis.Redis | None) -> None:
    """The code by SMS too, for a form or API submission without an email address."""
    if not case.code:
        return
    text = messages.text("sms", "ack_web", code=case.code, short_code=settings.sms_short_code,
                         url=lookup_url(settings, case.code))
    queue_sms(session, key=sms_ack_key(case.id or 0), case=case, phone=case.phone, text=text, purpose="ack",
              settings=settings, replies=replies)


def _hotline_readback(session: Session, *, case: Case, settings: Settings, replies: redis.Redis | None) -> None:
    """The caller's code: by SMS to a mobile, else by email, else an operator calls back."""
    if not case.code:
        return
    if is_mobile_number(case.phone):
        title = case.title if len(case.title) <= READBACK_TITLE else case.title[:READBACK_TITLE].rsplit(" ", 1)[0] + "…"
        text = messages.text("sms", "readback", code=case.code, title=title, hotline=settings.hotline_number,
                             short_code=settings.sms_short_code)
        queue_sms(session, key=sms_ack_key(case.id or 0), case=case, phone=case.phone, text=text, purpose="ack",
                  settings=settings, replies=replies)
    elif case.email:
        _email_acknowledgment(session, case=case, settings=settings)
    else:
        add_callback(session, key=f"case-{case.id}-readback", case=case, phone=case.phone,
                     reason=f"Báo mã PAKN {case.code} cho người gọi (số máy bàn, không có email)")


ACK_EMAIL_KEY = "case-{id}-ack-email"


def _ack_params(case: Case, settings: Settings, agency: Agency | None) -> dict[str, str | None]:
    received = case.created_at.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")
    if agency is not None and case.due_at is not None:
        handling = messages.text("email_ack", "routed", agency=agency.name,
                                 due=case.due_at.astimezone(VN_TZ).strftime("%d/%m/%Y"))
    else:
        handling = messages.text("email_ack", "not_routed")
    return dict(
        code=case.code, title=case.title, full_name=case.full_name, received=received,
        summary=summary(case.content), lookup_url=lookup_url(settings, case.code or ""),
        short_code=settings.sms_short_code, hotline=settings.hotline_number, handling=handling,
    )


def _email_acknowledgment(session: Session, *, case: Case, settings: Settings) -> None:
    if not case.email or not case.code:
        return
    agency = session.get(Agency, case.agency_id) if case.agency_id else None
    params = _ack_params(case, settings, agency)
    outbox.put(
        session,
        key=ACK_EMAIL_KEY.format(id=case.id),
        channel=Channel.email,
        purpose="ack",
        recipient=case.email,
        subject=messages.text("email_ack", "subject", **params),
        body=messages.text("email_ack", "body", **params),
        case_id=case.id,
    )


def tell_forwarded(session: Session, *, case: Case, agency: Agency, settings: Settings, n: int) -> None:
    """The citizen learns which agency handles the case and its due date (email only).

    The acknowledgment still waiting to be sent (routed in the same job) names them
    itself; once it is gone, a short notice follows each forward. A follow-up of a
    disputed answer is not announced again (the citizen was told its code then).
    """
    if not case.email or case.follows_id is not None or case.due_at is None:
        return
    ack = session.exec(select(OutboundMessage).where(
        OutboundMessage.idempotency_key == ACK_EMAIL_KEY.format(id=case.id))).first()
    if ack is not None and ack.status == OutboundStatus.pending and ack.sending_since is None:
        ack.body = messages.text("email_ack", "body", **_ack_params(case, settings, agency))
        session.add(ack)
        return
    params = _ack_params(case, settings, agency)
    outbox.put(session, key=f"case-{case.id}-forwarded-{n}", channel=Channel.email, purpose="notice-forwarded",
               recipient=case.email, subject=messages.text("email_ack", "forwarded_subject", **params),
               body=messages.text("email_ack", "forwarded_body", **params), case_id=case.id)


def sms_ack_key(case_id: int) -> str:
    """Idempotency key of a case's acknowledgment by SMS (SMS and hotline cases)."""
    return f"case-{case_id}-ack-sms"


def is_mobile_number(phone: str) -> bool:
    """True for a valid mobile number (read-back by SMS is possible)."""
    try:
        return phone.startswith("+") and is_mobile(phone)
    except NumberParseException:  # such a number gets no SMS
        return False


def sms_text(text: str, settings: Settings, *, tail: str = "") -> str:
    """Reply text as sent: unaccented GSM-7 by default, at most 2 segments."""
    body = nfc(text) if settings.sms_diacritics else to_gsm7(text)
    return fit(body, max_segments=2, tail=tail if settings.sms_diacritics else to_gsm7(tail))


def may_reply(replies: redis.Redis | None, *, phone: str, settings: Settings) -> bool:
    """Per-phone reply budget: a flood is stored but not answered beyond it."""
    if replies is None:
        return True
    return ratelimit.hit(replies, scope="sms-reply", who=phone, limit=settings.sms_reply_limit)


def queue_sms(session: Session, *, key: str, case: Case | None, phone: str, text: str, purpose: str,
              settings: Settings, replies: redis.Redis | None, link: str | None = None) -> OutboundMessage | None:
    """Queue one SMS (idempotent by ``key``) unless the phone is over its reply budget.

    A ``link`` always ends the text (kept whole when the text is cut); without one, a cut
    text ends with the case's lookup link.
    """
    if session.exec(select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key)).first():
        return None  # already queued by an earlier run: do not spend the budget twice
    if not may_reply(replies, phone=phone, settings=settings):
        log.warning("SMS reply to %s not sent: over the per-phone limit", phone)
        if case is not None:
            cases.record_event(session, case=case, actor="worker", kind=EventKind.message_failed,
                               note=f"Không trả lời SMS {purpose}: vượt giới hạn tin nhắn/giờ của số {phone}")
        return None
    if link:  # always there: whole text + link, or the text cut + link
        body = sms_text(f"{text}\n{link}", settings, tail=link)
    else:
        body = sms_text(text, settings, tail=lookup_url(settings, case.code) if case is not None and case.code else "")
    return outbox.put(session, key=key, channel=Channel.sms, purpose=purpose, recipient=phone,
                      body=body, case_id=case.id if case else None)


def _sms_acknowledgment(session: Session, *, case: Case, settings: Settings, replies: redis.Redis | None) -> None:
    if not case.code:
        return
    texts = session.exec(
        select(func.count()).select_from(InboundMessage).where(col(InboundMessage.case_id) == case.id)
    ).one()
    first = session.exec(select(InboundMessage).where(InboundMessage.case_id == case.id)
                         .order_by(col(InboundMessage.id)).limit(1)).first()
    explicit = parse_command(body_of(first)).explicit if first else True
    parts = messages.text("sms", "ack_parts", parts=texts) if texts > 1 else ""
    text = messages.text("sms", "ack", code=case.code, parts=parts, short_code=settings.sms_short_code,
                         url=lookup_url(settings, case.code))
    if not explicit:
        text += messages.text("sms", "ack_hint", short_code=settings.sms_short_code)
    queue_sms(session, key=sms_ack_key(case.id or 0), case=case, phone=case.phone, text=text, purpose="ack",
              settings=settings, replies=replies)


def body_of(inbound: InboundMessage) -> str:
    """The text of a stored SMS."""
    return str(json.loads(inbound.payload).get("fields", {}).get("body", ""))


def fall_back(session: Session, *, row: OutboundMessage, error: str, settings: Settings | None = None,
              replies: redis.Redis | None = None) -> None:
    """A message that cannot be delivered: reach the citizen another way.

    A failed SMS: email it if the case has an email, else call back. A bounced email to
    the citizen (``settings`` given): SMS to a mobile, else call back. An agency's copy
    that bounced has no citizen fallback (the coordinator sees the bounce).
    """
    case = session.get(Case, row.case_id) if row.case_id else None
    if row.channel == Channel.email:
        if case is None or settings is None or row.recipient.lower() != (case.email or "").lower():
            return
        if is_mobile_number(case.phone):
            queue_sms(session, key=f"{row.idempotency_key}-sms", case=case, phone=case.phone, text=row.body,
                      purpose=f"{row.purpose}-fallback"[:40], settings=settings, replies=replies)
        else:
            add_callback(session, key=f"outbound-{row.id}", case=case, phone=case.phone,
                         reason=f"Email ({row.purpose}) bị trả lại: {error}")
        return
    if case is not None and case.email:
        outbox.put(session, key=f"{row.idempotency_key}-email", channel=Channel.email,
                   purpose=f"{row.purpose}-fallback", recipient=case.email,
                   subject=f"[PAKN {case.code}] Thông báo", body=row.body, case_id=case.id)
        return
    add_callback(session, key=f"outbound-{row.id}", case=case, phone=row.recipient,
                 reason=f"Không gửi được SMS ({row.purpose}): {error}")


def add_callback(session: Session, *, key: str, case: Case | None, phone: str, reason: str) -> None:
    """Put someone on the operators' call-back list, once per ``key``."""
    if session.exec(select(CallBack.id).where(CallBack.key == key)).first():
        return
    session.add(CallBack(key=key, phone=phone, case_id=case.id if case else None, reason=reason[:200]))
    if case is not None:
        cases.record_event(session, case=case, actor="worker", kind=EventKind.callback,
                           note=f"Đưa vào danh sách gọi lại: {phone}")


def tell_citizen(session: Session, *, case: Case, key: str, text: str, settings: Settings,
                 replies: redis.Redis | None, subject: str, purpose: str = "notice",
                 sms_link: str | None = None, email_note: str | None = None,
                 email_text: str | None = None) -> None:
    """Say ``text`` to the citizen over the channel the case came in on.

    SMS cases: SMS (cut to 2 segments with ``sms_link``, default the lookup link). Web and
    API: email (``email_text`` if given, else ``text``; ``email_note`` before the lookup link),
    else SMS to a mobile. Hotline: SMS to a mobile, else email, else the call-back list.
    """
    mobile = is_mobile_number(case.phone)
    if case.channel == Channel.sms or (case.channel == Channel.hotline and mobile) or (not case.email and mobile):
        queue_sms(session, key=f"{key}-sms", case=case, phone=case.phone, text=text, purpose=purpose,
                  settings=settings, replies=replies, link=sms_link)
    elif case.email:
        note = f"\n\n{email_note}" if email_note else ""
        body = f"{email_text or text}{note}\n\nTra cứu: {lookup_url(settings, case.code or '')}"
        outbox.put(session, key=f"{key}-email", channel=Channel.email, purpose=purpose, recipient=case.email,
                   subject=subject, body=body, case_id=case.id)
    else:
        add_callback(session, key=f"{key}-call", case=case, phone=case.phone, reason=f"Báo cho người gửi: {text}")
