"""Routing a case: classify, forward to the field's agency, answer, reopen; the agency loop."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import redis
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import escape
from sqlmodel import Session, col, func, select

from config.settings import Settings
from gateway import cases, labels, messages, notices, outbox
from gateway.classifier import service as classifier
from gateway.clock import due as clock
from gateway.constants import VN_TZ, CaseStatus, Channel, EventKind, OutboundStatus
from gateway.fields import all_fields
from gateway.models import Agency, Case, Event, OutboundMessage, utcnow
from gateway.signing import service as signing

ANSWER_PURPOSE = "notice-answer"  # a notice: HUY stops it by SMS; TC still tells the answer
ANSWER_LINK_DAYS = 60  # the link in the agency's email works this long
TOKEN_SALT = "pakn-agency-answer"
REOPEN_WINDOW = timedelta(days=30)
PROGRESS_WORD = "TIẾN ĐỘ"  # an emailed reply with this in its subject is a progress note (gateway/mailbox)


# --- answer links ---------------------------------------------------------------

def answer_token(settings: Settings, *, case_id: int, agency_id: int) -> str:
    """A signed token bound to one case and one agency."""
    return URLSafeTimedSerializer(settings.secret_key, salt=TOKEN_SALT).dumps({"c": case_id, "a": agency_id})


def read_answer_token(settings: Settings, token: str) -> tuple[int, int] | None:
    """(case id, agency id) of a valid, unexpired token; None for a forged or old one."""
    try:
        data = URLSafeTimedSerializer(settings.secret_key, salt=TOKEN_SALT).loads(
            token, max_age=ANSWER_LINK_DAYS * 86400)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int) or not isinstance(data.get("a"), int):
        return None
    return data["c"], data["a"]


def answer_url(settings: Settings, *, case: Case, agency: Agency) -> str:
    """The link an agency answers through, without an account."""
    assert case.id is not None and agency.id is not None
    return f"{settings.public_base_url}/agency/answer/{answer_token(settings, case_id=case.id, agency_id=agency.id)}"


# --- routing ----------------------------------------------------------------------

def _field_name(code: str | None) -> str:
    return next((f.name for f in all_fields() if f.code == code), code or "chưa xác định")


def _forward_body(case: Case, agency: Agency, url: str) -> tuple[str, str]:
    due = case.due_at.astimezone(VN_TZ).strftime("%d/%m/%Y") if case.due_at else "?"
    lines = [
        f"Kính gửi {agency.name},", "",
        f"Văn phòng điều phối chuyển đến Quý cơ quan phản ánh, kiến nghị mã {case.code}.",
        f"Hạn trả lời: {due} (20 ngày kể từ ngày Quý cơ quan nhận được; hạn rơi vào ngày nghỉ thì chuyển sang "
        "ngày làm việc tiếp theo).", "",
        f"Lĩnh vực: {_field_name(case.field)}", f"Kênh tiếp nhận: {labels.vi(case.channel, 'channel')}",
        f"Ngày tiếp nhận: {case.created_at.astimezone(VN_TZ):%d/%m/%Y %H:%M}",
        f"Người gửi: {case.full_name or '(không nêu tên)'} – {case.phone}" + (f" – {case.email}" if case.email else ""),
        f"Địa chỉ: {case.address or '(không nêu)'}", "", f"Tiêu đề: {case.title}", "", case.content, "",
        "Quý cơ quan có thể trả lời bằng cách trả lời (Reply) thư này: nội dung thư trả lời (kèm tệp JPG, PDF,"
        " DOC, DOCX, XLS, XLSX) là kết quả giải quyết gửi người dân. Để báo tiến độ mà chưa kết thúc,"
        f" ghi \"{PROGRESS_WORD}\" vào tiêu đề thư.", "",
        f"Trả lời hoặc chuyển lại (nếu không thuộc thẩm quyền) tại: {url}",
        "Đính kèm: tệp của người gửi, lịch hạn trả lời (.ics), danh bạ người gửi (.vcf).",
    ]
    text = "\n".join(lines)
    html = "<div>" + "".join(f"<p>{escape(line)}</p>" if line else "<br>" for line in lines[:-2])
    html += f'<p><a href="{escape(url)}">Trả lời PAKN {escape(case.code or "")}</a></p></div>'
    return text, html


def forward(session: Session, *, case: Case, agency: Agency, settings: Settings, actor: str,
            note: str | None = None) -> None:
    """Send the case to ``agency``; status forwarded, the clock (re)started, the agency's email queued."""
    assert case.id is not None and agency.id is not None
    forwards = session.exec(select(func.count()).select_from(Event).where(  # forwards before this one
        Event.case_id == case.id, Event.to_status == CaseStatus.forwarded)).one()
    previous = session.get(Agency, case.agency_id) if case.agency_id and case.agency_id != agency.id else None
    clock.start(session, case=case, at=utcnow(), actor=actor)  # the agency receives it now: 20 days from today
    # An earlier agency's unsent copy must not go out now: it would carry this agency's link.
    if forwards:  # (a case never forwarded has no copy to stop)
        outbox.supersede(session, case_id=case.id, purpose="forward", note=f"rerouted to {agency.code}")
    if previous is not None:
        _tell_withdrawn(session, case=case, previous=previous, to=agency, n=forwards)
    case.agency_id = agency.id
    cases.transition(session, case=case, to=CaseStatus.forwarded, actor=actor,
                     note=note or f"Chuyển {agency.name}")
    url = answer_url(settings, case=case, agency=agency)
    text, html = _forward_body(case, agency, url)
    # One email per forward (retried jobs do not forward again); the n-th forward of the
    # case gets its own key, so sending a case back to an agency that had it works.
    n = forwards + 1
    outbox.put(session, key=f"case-{case.id}-forward-{n}-{agency.id}", channel=Channel.email, purpose="forward",
               recipient=", ".join(json.loads(agency.emails)), case_id=case.id, body=text, html=html,
               subject=messages.text("routing", "forward_subject", code=case.code, title=case.title)[:300])
    notices.tell_forwarded(session, case=case, agency=agency, settings=settings, n=n)


WITHDRAWN_PURPOSE = "withdrawn"


def _tell_withdrawn(session: Session, *, case: Case, previous: Agency, to: Agency, n: int) -> None:
    """Tell ``previous`` the case was taken from it (only if its forwarding email went out); ``n``: the
    case's forwards so far."""
    recipient = ", ".join(json.loads(previous.emails))
    received = session.exec(select(OutboundMessage.id).where(
        OutboundMessage.case_id == case.id, OutboundMessage.purpose == "forward",
        OutboundMessage.recipient == recipient,
        col(OutboundMessage.status).in_((OutboundStatus.sent, OutboundStatus.delivered))).limit(1)).first()
    if received is None:  # its copy was never sent (superseded): nothing to withdraw
        return
    outbox.put(session, key=f"case-{case.id}-withdrawn-{n}-{previous.id}", channel=Channel.email,
               purpose=WITHDRAWN_PURPOSE, recipient=recipient, case_id=case.id,
               subject=messages.text("routing", "withdrawn_subject", code=case.code, title=case.title)[:300],
               body=messages.text("routing", "withdrawn_body", agency=previous.name, code=case.code, title=case.title,
                                  new_agency=to.name))


OUT_OF_SCOPE_REASONS = ("complaint", "denunciation", "legal_advice")


def close_out_of_scope(session: Session, *, case: Case, reason: str, settings: Settings,
                       replies: redis.Redis | None, actor: str = "worker") -> None:
    """Not a PAKN: the citizen gets the standard guidance for ``reason`` and the case is closed."""
    if reason not in OUT_OF_SCOPE_REASONS:
        raise ValueError(f"unknown out-of-scope reason {reason!r}")
    cases.transition(session, case=case, to=CaseStatus.out_of_scope, actor=actor, note=reason)
    text = messages.text("routing", reason, code=case.code)
    notices.tell_citizen(session, case=case, key=f"case-{case.id}-out-of-scope", text=text, settings=settings,
                         replies=replies, subject=messages.text("routing", "notice_subject", code=case.code))
    cases.transition(session, case=case, to=CaseStatus.closed, actor=actor, note="Không thuộc phạm vi")


def ask_for_information(session: Session, *, case: Case, settings: Settings, replies: redis.Redis | None,
                        actor: str = "worker", note: str | None = None, agency: Agency | None = None) -> None:
    """needs_info: the clock stops; the citizen is asked for what is missing.

    A person's question (the agency's, or the coordinator's: any ``note`` not from the
    worker) reaches the citizen word for word; the classifier's reasons are internal and
    the citizen gets the standard request instead.
    """
    clock.pause(session, case=case, at=utcnow(), actor=actor)
    cases.transition(session, case=case, to=CaseStatus.needs_info, actor=actor, note=note)
    question = note if note and actor != "worker" else None
    if question and agency is not None:
        text = messages.text("clock", "agency_needs_info", code=case.code, agency=agency.name, question=question,
                             short_code=settings.sms_short_code)
    elif question:
        text = messages.text("routing", "coordinator_needs_info", code=case.code, question=question,
                             short_code=settings.sms_short_code)
    else:
        text = messages.text("routing", "needs_info", code=case.code, short_code=settings.sms_short_code)
    notices.tell_citizen(session, case=case, key=f"case-{case.id}-needs-info-{utcnow():%Y%m%d%H%M%S}", text=text,
                         settings=settings, replies=replies,
                         subject=messages.text("routing", "notice_subject", code=case.code))


def route(session: Session, *, case: Case, settings: Settings, replies: redis.Redis | None) -> None:
    """Classify a registered case and act: out of scope, ask, forward, or triage.

    A follow-up of a disputed answer goes straight back to the agency that answered.
    """
    original = session.get(Case, case.follows_id) if case.follows_id else None
    agency = session.get(Agency, original.agency_id) if original and original.agency_id else None
    if agency is not None:
        forward(session, case=case, agency=agency, settings=settings, actor="worker",
                note=f"Xem xét lại PAKN {original.code if original else ''}")
        return
    agencies = session.exec(select(Agency).where(col(Agency.active).is_(True))).all()
    decision = classifier.classify_case(case.title, case.content, address=case.address, field_hint=case.field_hint,
                                        directory=classifier.directory_of(agencies))
    case.classification = json.dumps(decision.stored(), ensure_ascii=False, default=str)
    case.case_type = decision.case_type
    note = "; ".join(decision.why)
    if decision.scope == "needs_info" and decision.confident:
        ask_for_information(session, case=case, settings=settings, replies=replies, note=note)
        return
    if decision.scope == "out" and decision.confident:
        close_out_of_scope(session, case=case, reason=decision.reason or "complaint", settings=settings,
                           replies=replies)
        return
    chosen = decision.agency.code if decision.scope == "in" and decision.confident and decision.agency else None
    agency = next((a for a in agencies if a.code == chosen), None) if chosen else None
    if agency is not None:
        case.field = decision.field
        forward(session, case=case, agency=agency, settings=settings, actor="worker",
                note=f"Chuyển {agency.name} ({_route_note(decision.route, decision.field)})")
        return
    cases.transition(session, case=case, to=CaseStatus.triage, actor="worker",
                     note=note or "Chưa xác định được lĩnh vực")


def _route_note(route: str | None, field: str | None) -> str:
    if route == "province":
        return "hành vi, tình hình tại địa phương"
    return _field_name(field)


def suggested_agency(session: Session, case: Case) -> Agency | None:
    """The agency the classifier suggested for ``case`` (for the coordinator's one click)."""
    data = json.loads(case.classification) if case.classification else {}
    code = data.get("agency") if data.get("scope") == "in" else None
    return session.exec(select(Agency).where(Agency.code == code)).first() if code else None


# --- the agency's answer ------------------------------------------------------

def record_answer(session: Session, *, case: Case, text: str, actor: str, settings: Settings,
                  replies: redis.Redis | None) -> None:
    """Store the answer and send it to the citizen over the channel the case came in on."""
    case.answer, case.answered_at = text, utcnow()
    cases.transition(session, case=case, to=CaseStatus.answered, actor=actor, note="Cơ quan đã trả lời")
    body = messages.text("routing", "answered", code=case.code, answer=text)
    # An agency with a certificate: the worker signs the answer as an official letter before
    # sending (gateway.signing); the SMS carries its short link, the email the file itself.
    signed = signing.can_sign(settings, session.get(Agency, case.agency_id) if case.agency_id else None)
    sms_link = signing.document_url(settings, case_id=case.id or 0) if signed else None
    note = messages.text("routing", "answered_signed_note", verify_url=signing.verify_url(settings, case.code))
    notices.tell_citizen(session, case=case, key=f"case-{case.id}-answer", text=body, settings=settings,
                         replies=replies, subject=messages.text("routing", "answered_subject", code=case.code),
                         purpose=ANSWER_PURPOSE, sms_link=sms_link, email_note=note if signed else None,
                         email_text=answer_email(session, case=case, settings=settings))


def answer_email(session: Session, *, case: Case, settings: Settings) -> str:
    """The answer as emailed: greeting by name, the agency, the answer, the rights to rate and to disagree."""
    agency = session.get(Agency, case.agency_id) if case.agency_id else None
    answered = case.answered_at or utcnow()
    return messages.text(
        "routing", "answered_email", full_name=case.full_name or "Ông/Bà", code=case.code, title=case.title,
        agency=agency.name if agency else "Cơ quan có thẩm quyền", answer=case.answer or "",
        answered=f"{answered.astimezone(VN_TZ):%d/%m/%Y}", days=REOPEN_WINDOW.days,
        until=f"{(answered + REOPEN_WINDOW).astimezone(VN_TZ):%d/%m/%Y}", short_code=settings.sms_short_code,
        lookup_url=notices.lookup_url(settings, case.code or ""))


def return_to_coordinator(session: Session, *, case: Case, actor: str, reason: str) -> None:
    """'Not ours': the case goes back to triage with the agency's reason."""
    outbox.supersede(session, case_id=case.id or 0, purpose="forward", note="returned by the agency")
    case.agency_id = None
    cases.transition(session, case=case, to=CaseStatus.triage, actor=actor, note=f"Không thuộc thẩm quyền: {reason}")


def can_disagree(case: Case, now: datetime | None = None) -> bool:
    """Within 30 days of the answer."""
    return (case.status in (CaseStatus.answered, CaseStatus.published) and case.answered_at is not None
            and (now or utcnow()) - case.answered_at <= REOPEN_WINDOW)


def disagree(session: Session, *, case: Case, reason: str, actor: str, settings: Settings,
             replies: redis.Redis | None = None, tell: bool = False) -> Case:
    """Reopen: a linked follow-up case goes back to the same agency with a new 20-day clock.

    The follow-up gets its PAKN code here, in the caller's transaction, so that the
    citizen can be told it at once (``tell``: on the case's channel; the SMS command
    puts it in its own reply instead); the worker then routes it.
    """
    cases.transition(session, case=case, to=CaseStatus.reopened, actor=actor, note=f"Không đồng ý: {reason}")
    follow = Case(channel=case.channel, full_name=case.full_name, name_key=case.name_key, email=case.email,
                  phone=case.phone, address=case.address, title=f"Không đồng ý với kết quả PAKN {case.code}"[:200],
                  content=f"{reason}\n\n--- Kết quả đã trả lời ---\n{case.answer or ''}", follows_id=case.id,
                  field=case.field, case_type=case.case_type, created_by=actor)
    session.add(follow)
    session.flush()
    cases.record_event(session, case=follow, actor=actor, kind=EventKind.status,
                       to_status=CaseStatus.received, note=f"Theo PAKN {case.code}")
    assert follow.id is not None
    cases.register(session, case_id=follow.id, at=utcnow(), actor=actor)
    session.refresh(follow)
    if tell:
        text = messages.text("routing", "disagreed", code=case.code, follow_code=follow.code,
                             short_code=settings.sms_short_code)
        notices.tell_citizen(session, case=follow, key=f"case-{follow.id}-disagreed", text=text, settings=settings,
                             replies=replies, subject=messages.text("routing", "notice_subject", code=follow.code))
    return follow


FINISHED = (CaseStatus.closed, CaseStatus.out_of_scope)


def supplement(session: Session, *, case: Case, text: str, actor: str, via: str,
               settings: Settings | None = None) -> bool:
    """Add the citizen's supplement; a case waiting for information goes on. False if finished.

    A case the agency asked about goes back to that agency with the days it had left
    (and an updated .ics); any other goes through routing again.
    """
    if case.status in FINISHED:
        return False
    case.content = f"{case.content}\n\n[Bổ sung qua {via} {utcnow().astimezone(VN_TZ):%d/%m/%Y %H:%M}]\n{text}"
    case.updated_at = utcnow()
    session.add(case)
    cases.record_event(session, case=case, actor=actor, kind=EventKind.supplement, note=text[:500])
    agency = session.get(Agency, case.agency_id) if case.agency_id else None
    if case.status == CaseStatus.needs_info and case.remaining_days is not None and agency and settings:
        cases.transition(session, case=case, to=CaseStatus.forwarded, actor=actor,
                         note="Công dân đã bổ sung thông tin; tiếp tục thời hạn giải quyết")
        clock.resume(session, case=case, at=utcnow(), actor=actor)
        reason = messages.text("clock", "resumed_reason", date=f"{utcnow().astimezone(VN_TZ):%d/%m/%Y}", text=text)
        tell_agency_due(session, case=case, agency=agency, settings=settings, reason=reason)
    elif case.status == CaseStatus.needs_info:
        clock.resume(session, case=case, at=utcnow(), actor=actor)
        cases.transition(session, case=case, to=CaseStatus.registered, actor=actor,
                         note="Công dân đã bổ sung thông tin")
    return True


DUE_CHANGE_PURPOSE = "due-change"  # the worker attaches the case's .ics (same UID, next SEQUENCE)


def tell_agency_due(session: Session, *, case: Case, agency: Agency, settings: Settings, reason: str) -> None:
    """Email the agency the case's new due date (with the updated .ics), once per due-date change."""
    due = case.due_at.astimezone(VN_TZ).strftime("%d/%m/%Y") if case.due_at else "?"
    outbox.put(session, key=f"case-{case.id}-due-{case.due_sequence}", channel=Channel.email,
               purpose=DUE_CHANGE_PURPOSE, recipient=", ".join(json.loads(agency.emails)), case_id=case.id,
               subject=messages.text("clock", "due_change_subject", code=case.code, due=due)[:300],
               body=messages.text("clock", "due_change_body", agency=agency.name, reason=reason, code=case.code,
                                  title=case.title, due=due, url=answer_url(settings, case=case, agency=agency)))

