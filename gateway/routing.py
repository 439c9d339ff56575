"""Routing a case: classify, forward to the field's agency, answer, reopen; the agency loop."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta

import redis
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import escape
from sqlmodel import Session

from config.settings import Settings
from gateway import cases, directory, messages, notices, outbox
from gateway.constants import ANSWER_DAYS, VN_TZ, CaseStatus, Channel, EventKind
from gateway.fields import all_fields, rules
from gateway.models import Agency, Case, utcnow
from normalizer.classify import Scope, classify

ANSWER_PURPOSE = "notice-answer"  # a notice: HUY stops it by SMS; TC still tells the answer
ANSWER_LINK_DAYS = 60  # the link in the agency's email works this long
TOKEN_SALT = "pakn-agency-answer"
REOPEN_WINDOW = timedelta(days=30)


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
        f"Hạn trả lời: {due} (20 ngày kể từ ngày tiếp nhận).", "",
        f"Lĩnh vực: {_field_name(case.field)}", f"Kênh tiếp nhận: {case.channel.value}",
        f"Ngày tiếp nhận: {case.created_at.astimezone(VN_TZ):%d/%m/%Y %H:%M}",
        f"Người gửi: {case.full_name or '(không nêu tên)'} – {case.phone}" + (f" – {case.email}" if case.email else ""),
        f"Địa chỉ: {case.address or '(không nêu)'}", "", f"Tiêu đề: {case.title}", "", case.content, "",
        f"Trả lời hoặc chuyển lại (nếu không thuộc thẩm quyền) tại: {url}",
        "Đính kèm: tệp của người gửi, lịch hạn trả lời (.ics), danh bạ người gửi (.vcf).",
    ]
    text = "\n".join(lines)
    html = "<div>" + "".join(f"<p>{escape(line)}</p>" if line else "<br>" for line in lines[:-2])
    html += f'<p><a href="{escape(url)}">Trả lời PAKN {escape(case.code or "")}</a></p></div>'
    return text, html


def forward(session: Session, *, case: Case, agency: Agency, settings: Settings, actor: str,
            note: str | None = None, restart_clock: bool = False) -> None:
    """Send the case to ``agency``; status forwarded, due date set, the agency's email queued."""
    assert case.id is not None and agency.id is not None
    if case.due_at is None or restart_clock:
        case.due_at = (utcnow() if restart_clock else case.created_at) + timedelta(days=ANSWER_DAYS)
    # An earlier agency's unsent copy must not go out now: it would carry this agency's link.
    outbox.supersede(session, case_id=case.id, purpose="forward", note=f"rerouted to {agency.code}")
    case.agency_id = agency.id
    cases.transition(session, case=case, to=CaseStatus.forwarded, actor=actor,
                     note=note or f"Chuyển {agency.name}")
    url = answer_url(settings, case=case, agency=agency)
    text, html = _forward_body(case, agency, url)
    # One email per forward (retried jobs do not forward again); the n-th forward of the
    # case gets its own key, so sending a case back to an agency that had it works.
    n = sum(1 for e in cases.timeline(session, case_id=case.id) if e.to_status == CaseStatus.forwarded)
    outbox.put(session, key=f"case-{case.id}-forward-{n}-{agency.id}", channel=Channel.email, purpose="forward",
               recipient=", ".join(json.loads(agency.emails)), case_id=case.id, body=text, html=html,
               subject=messages.text("routing", "forward_subject", code=case.code, title=case.title)[:300])


def _out_of_scope(session: Session, *, case: Case, reason: str, settings: Settings,
                  replies: redis.Redis | None) -> None:
    cases.transition(session, case=case, to=CaseStatus.out_of_scope, actor="worker", note=reason)
    text = messages.text("routing", reason, code=case.code)
    notices.tell_citizen(session, case=case, key=f"case-{case.id}-out-of-scope", text=text, settings=settings,
                         replies=replies, subject=messages.text("routing", "notice_subject", code=case.code))
    cases.transition(session, case=case, to=CaseStatus.closed, actor="worker", note="Không thuộc phạm vi")


def ask_for_information(session: Session, *, case: Case, settings: Settings, replies: redis.Redis | None,
                        actor: str = "worker", note: str | None = None) -> None:
    """needs_info: the clock stops; the citizen is asked for what is missing."""
    cases.transition(session, case=case, to=CaseStatus.needs_info, actor=actor, note=note)
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
        forward(session, case=case, agency=agency, settings=settings, actor="worker", restart_clock=True,
                note=f"Xem xét lại PAKN {original.code if original else ''}")
        return
    result = classify(case.title, case.content, rules())
    case.classification = json.dumps({**asdict(result), "scope": result.scope.value}, ensure_ascii=False,
                                     default=str)
    case.case_type = result.case_type.value if result.case_type else None
    if result.scope is Scope.out_of_scope:
        _out_of_scope(session, case=case, reason=result.scope_reason or "complaint", settings=settings,
                      replies=replies)
        return
    if result.scope is Scope.needs_info:
        ask_for_information(session, case=case, settings=settings, replies=replies, note="; ".join(result.reasons))
        return
    field = case.field_hint or (result.field if result.confident else None)
    agencies = directory.for_field(session, field_code=field) if field else []
    if len(agencies) == 1:
        case.field = field
        forward(session, case=case, agency=agencies[0], settings=settings, actor="worker",
                note=f"Chuyển {agencies[0].name} ({_field_name(field)})")
        return
    cases.transition(session, case=case, to=CaseStatus.triage, actor="worker",
                     note="; ".join(result.reasons) or "Chưa xác định được lĩnh vực")


# --- the agency's answer ------------------------------------------------------

def record_answer(session: Session, *, case: Case, text: str, actor: str, settings: Settings,
                  replies: redis.Redis | None) -> None:
    """Store the answer and send it to the citizen over the channel the case came in on."""
    case.answer, case.answered_at = text, utcnow()
    cases.transition(session, case=case, to=CaseStatus.answered, actor=actor, note="Cơ quan đã trả lời")
    body = messages.text("routing", "answered", code=case.code, answer=text)
    notices.tell_citizen(session, case=case, key=f"case-{case.id}-answer", text=body, settings=settings,
                         replies=replies, subject=messages.text("routing", "answered_subject", code=case.code),
                         purpose=ANSWER_PURPOSE)


def return_to_coordinator(session: Session, *, case: Case, actor: str, reason: str) -> None:
    """'Not ours': the case goes back to triage with the agency's reason."""
    outbox.supersede(session, case_id=case.id or 0, purpose="forward", note="returned by the agency")
    case.agency_id = None
    cases.transition(session, case=case, to=CaseStatus.triage, actor=actor, note=f"Không thuộc thẩm quyền: {reason}")


def can_disagree(case: Case, now: datetime | None = None) -> bool:
    """Within 30 days of the answer."""
    return (case.status in (CaseStatus.answered, CaseStatus.published) and case.answered_at is not None
            and (now or utcnow()) - case.answered_at <= REOPEN_WINDOW)


def disagree(session: Session, *, case: Case, reason: str, actor: str, settings: Settings) -> Case:
    """Reopen: a linked follow-up case goes back to the same agency with a new 20-day clock."""
    cases.transition(session, case=case, to=CaseStatus.reopened, actor=actor, note=f"Không đồng ý: {reason}")
    follow = Case(channel=case.channel, full_name=case.full_name, name_key=case.name_key, email=case.email,
                  phone=case.phone, address=case.address, title=f"Không đồng ý với kết quả PAKN {case.code}"[:200],
                  content=f"{reason}\n\n--- Kết quả đã trả lời ---\n{case.answer or ''}", follows_id=case.id,
                  field=case.field, case_type=case.case_type, created_by=actor)
    session.add(follow)
    session.flush()
    cases.record_event(session, case=follow, actor=actor, kind=EventKind.status,
                       to_status=CaseStatus.received, note=f"Theo PAKN {case.code}")
    return follow


FINISHED = (CaseStatus.closed, CaseStatus.out_of_scope)


def supplement(session: Session, *, case: Case, text: str, actor: str, via: str) -> bool:
    """Add the citizen's supplement; a case waiting for information goes on. False if finished."""
    if case.status in FINISHED:
        return False
    case.content = f"{case.content}\n\n[Bổ sung qua {via} {utcnow().astimezone(VN_TZ):%d/%m/%Y %H:%M}]\n{text}"
    case.updated_at = utcnow()
    session.add(case)
    cases.record_event(session, case=case, actor=actor, kind=EventKind.supplement, note=text[:500])
    if case.status == CaseStatus.needs_info:
        cases.transition(session, case=case, to=CaseStatus.registered, actor=actor,
                         note="Công dân đã bổ sung thông tin")
    return True

