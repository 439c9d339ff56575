"""Carrying out SMS commands (worker side); each returns the reply text (with diacritics)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, delete, select

from channels.sms import Command, Keyword
from config.settings import Settings
from gateway import cases, codes, messages, routing
from gateway.constants import STATUS_LABELS_VI, VN_TZ, CaseStatus, EventKind
from gateway.exceptions import CodeCheckDigitError, CodeError
from gateway.models import Case, InboundMessage, SmsOptOut, utcnow

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
    return _t("status", settings, code=case.code, label=_status_line(case), received=received)


def supplement(session: Session, *, command: Command, sender: str, settings: Settings) -> str:
    """BS <code> <text>: add to the case; ends ``needs_info``."""
    case = _own_case(session, command=command, sender=sender, settings=settings)
    if isinstance(case, str):
        return case
    if case.status in routing.FINISHED:
        return _t("supplement_closed", settings, code=case.code)
    if not command.text.strip():
        return _t("supplement_empty", settings, code=case.code)
    routing.supplement(session, case=case, text=command.text, actor=f"sms:{sender}", via="SMS")
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
    if not (value.isdigit() and 1 <= int(value) <= 5):
        return _t("rating_bad", settings, code=case.code)
    case.rating, case.rated_at = int(value), utcnow()
    session.add(case)
    cases.record_event(session, case=case, actor=f"sms:{sender}", kind=EventKind.rating, note=f"{value}/5")
    return _t("rating_ok", settings, code=case.code, rating=value)


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
    routing.disagree(session, case=case, reason=command.text[:2000], actor=f"sms:{sender}", settings=settings)
    return _t("disagree_ok", settings, code=case.code)


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
    if command.keyword is Keyword.stop:
        opt_out(session, sender=sender)
        return _t("stop_ok", settings)
    if command.keyword is Keyword.start:
        opt_in(session, sender=sender)
        return _t("start_ok", settings)
    if command.keyword is Keyword.new and command.too_short:
        return _t("too_short", settings)
    return _t("help", settings)
