"""Carrying out SMS commands (worker side); each returns the reply text (with diacritics)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, delete, select

from channels.sms import Command, Keyword
from config.settings import Settings
from gateway import cases, codes, messages, routing
from gateway.clock.calendar import local_date
from gateway.clock.due import dmy, due_date, standing
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, EventKind
from gateway.exceptions import CodeCheckDigitError, CodeError
from gateway.models import Case, InboundMessage, SmsOptOut, utcnow
from normalizer import bounds

RECENT_CASES = 3
DISAGREE_DAYS = 30
ANSWERED = (CaseStatus.answered, CaseStatus.published)


def _t(key: str, settings: Settings, **params: object) -> str:
    return messages.text("sms", key, short_code=settings.sms_short_code, **params)


def _own_case(session: Session, *, command: Command, sender: str, settings: Settings) -> Case | str:
    """The case named by the command's code if it belongs to ``sender``; else the reply."""
    try:
        code = codes.parse(command.code or "")
    except CodeCheckDigitError:
        return _t("code_check", settings, code=command.code)
    except CodeError:
        return _t("code_format", settings)
    case = cases.by_code(session, code=str(code))
    if case is None or case.phone != sender:  # someone else's case reads like no case at all
        return _t("not_found", settings, code=str(code))
    return case


def _status_line(case: Case) -> str:
    return STATUS_LABELS_VI[CaseStatus(case.status)]


def status(session: Session, *, command: Command, sender: str, settings: Settings) -> str:
    """TC <code>: one case; TC: this phone's recent cases."""
    if command.code is None:
        query = (select(Case).where(Case.phone == sender, col(Case.code).is_not(None))
                 .order_by(col(Case.created_at).desc()).limit(RECENT_CASES))
        found = session.exec(query).all()
        if not found:
            return _t("no_cases", settings)
        items = "; ".join(_t("status_list_item", settings, code=c.code, label=_status_line(c)) for c in found)
        return _t("status_list", settings, items=items)
    case = _own_case(session, command=command, sender=sender, settings=settings)
    if isinstance(case, str):
        return case
    received = case.created_at.astimezone(VN_TZ).strftime("%d/%m/%Y")
    return _t("status", settings, code=case.code, label=_status_line(case), received=received,
              due=_due_part(case, settings))


def _due_part(case: Case, settings: Settings) -> str:
    """' Hạn trả lời dd/mm/yyyy[, quá hạn N ngày làm việc].' for a case at an agency."""
    due = due_date(case) if case.status == CaseStatus.forwarded else None
    if due is None:
        return ""
    stand = standing(case, today=local_date(utcnow()))
    if stand is not None and stand.late:
        return _t("status_late", settings, due=dmy(due), late=stand.late)
    return _t("status_due", settings, due=dmy(due))


def supplement(session: Session, *, command: Command, sender: str, settings: Settings) -> str:
    """BS <code> <text>: add to the case; ends ``needs_info``."""
    case = _own_case(session, command=command, sender=sender, settings=settings)
    if isinstance(case, str):
        return case
    if case.status in routing.FINISHED:
        return _t("supplement_closed", settings, code=case.code)
    if not command.text.strip():
        return _t("supplement_empty", settings, code=case.code)
    routing.supplement(session, case=case, text=command.text, actor=f"sms:{sender}", via="SMS", settings=settings)
    return _t("supplement_ok", settings, code=case.code)


def _answered_case(session: Session, command: Command, sender: str, settings: Settings,
                   not_answered: str) -> Case | str:
    case = _own_case(session, command=command, sender=sender, settings=settings)
    if isinstance(case, str):
        return case
    if case.status not in ANSWERED:
        return _t(not_answered, settings, code=case.code)
    return case


def rate(session: Session, *, command: Command, sender: str, settings: Settings) -> str:
    """DG <code> <1-5>: rate the answer."""
    case = _answered_case(session, command, sender, settings, "rating_not_answered")
    if isinstance(case, str):
        return case
    first = command.text.split()[0] if command.text.split() else ""
    value = first.split("/", 1)[0].strip(".,;:!")  # "5", "5.", "5/5"
    rating = bounds.ascii_int(value, maximum=5)  # "²" passes str.isdigit() and then fails int()
    if rating is None or rating < 1:
        return _t("rating_bad", settings, code=case.code)
    case.rating, case.rated_at = rating, utcnow()
    session.add(case)
    cases.record_event(session, case=case, actor=f"sms:{sender}", kind=EventKind.rating, note=f"{rating}/5")
    return _t("rating_ok", settings, code=case.code, rating=rating)


def _answered_at(session: Session, case: Case) -> datetime | None:
    events = [e for e in cases.timeline(session, case_id=case.id or 0) if e.to_status in ANSWERED]
    return events[0].at if events else None


def disagree(session: Session, *, command: Command, sender: str, settings: Settings) -> str:
    """KDY <code> <reason>: reopen an answered case within 30 days."""
    case = _answered_case(session, command, sender, settings, "disagree_not_answered")
    if isinstance(case, str):
        return case
    if not command.text.strip():
        return _t("disagree_no_reason", settings, code=case.code)
    answered_at = case.answered_at or _answered_at(session, case)
    if answered_at and utcnow() - answered_at > timedelta(days=DISAGREE_DAYS):
        return _t("disagree_late", settings, code=case.code, days=DISAGREE_DAYS)
    follow = routing.disagree(session, case=case, reason=command.text[:2000], actor=f"sms:{sender}",
                              settings=settings)
    return _t("disagree_ok", settings, code=case.code, follow_code=follow.code)


def no_publish(session: Session, *, command: Command, sender: str, settings: Settings) -> str:
    """KCK <code>: the citizen does not want this case published (a published one is taken down)."""
    from gateway.publication.service import refuse

    case = _own_case(session, command=command, sender=sender, settings=settings)
    if isinstance(case, str):
        return case
    withdrawn = refuse(session, case=case, actor=f"sms:{sender}", via="SMS KCK")
    return _t("no_publish_withdrawn" if withdrawn else "no_publish_ok", settings, code=case.code)


def opt_out(session: Session, *, sender: str) -> None:
    """HUY: no more notifications to ``sender`` (idempotent)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(SmsOptOut).values(phone=sender, at=utcnow()).on_conflict_do_nothing())


def opt_in(session: Session, *, sender: str) -> None:
    """DK: notifications again (idempotent)."""
    session.execute(delete(SmsOptOut).where(col(SmsOptOut.phone) == sender))


def is_opted_out(session: Session, *, phone: str) -> bool:
    """True when ``phone`` sent HUY (and not DK since)."""
    return session.get(SmsOptOut, phone) is not None


def appended(session: Session, *, inbound: InboundMessage, settings: Settings, acknowledged: bool) -> str | None:
    """A text joined to its thread: say so, unless the acknowledgment will count it."""
    case = session.get(Case, inbound.case_id)
    if case is None or not acknowledged:
        return None
    return _t("appended", settings, code=case.code)


def case_for(session: Session, *, command: Command, sender: str) -> Case | None:
    """The sender's own case named by the command, for linking the reply (or None)."""
    if command.code is None:
        return None
    try:
        code = codes.parse(command.code)
    except CodeError:
        return None
    case = cases.by_code(session, code=str(code))
    return case if case is not None and case.phone == sender else None


def execute(session: Session, *, command: Command, sender: str, settings: Settings) -> str:
    """Carry out one command and return the reply (the caller commits)."""
    if command.keyword is Keyword.status:
        return status(session, command=command, sender=sender, settings=settings)
    if command.keyword is Keyword.supplement:
        return supplement(session, command=command, sender=sender, settings=settings)
    if command.keyword is Keyword.rate:
        return rate(session, command=command, sender=sender, settings=settings)
    if command.keyword is Keyword.disagree:
        return disagree(session, command=command, sender=sender, settings=settings)
    if command.keyword is Keyword.no_publish:
        return no_publish(session, command=command, sender=sender, settings=settings)
    if command.keyword is Keyword.stop:
        opt_out(session, sender=sender)
        return _t("stop_ok", settings)
    if command.keyword is Keyword.start:
        opt_in(session, sender=sender)
        return _t("start_ok", settings)
    if command.keyword is Keyword.new and command.too_short:
        return _t("too_short", settings)
    return _t("help", settings)
