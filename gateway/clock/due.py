"""The clock follows the case: starts at the agency, pauses for the citizen, resumes, restarts.

Every change of the due date bumps ``Case.due_sequence`` (the SEQUENCE of the agency's
.ics, so calendar programs move the entry) and leaves a ``deadline`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from gateway import cases
from gateway.clock.calendar import WorkCalendar, default_calendar, end_of_day, local_date
from gateway.clock.rules import Rules, default_rules
from gateway.constants import CaseStatus, EventKind
from gateway.models import Case


def dmy(day: date) -> str:
    """A date as Vietnamese write it: dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y")


def due_date(case: Case) -> date | None:
    """The case's due date in Vietnam (None before the clock started)."""
    return local_date(case.due_at) if case.due_at else None


def _set_due(session: Session, *, case: Case, due: date, actor: str, note: str) -> date:
    case.due_at = end_of_day(due)
    case.due_sequence = (case.due_sequence or 0) + 1
    session.add(case)
    cases.record_event(session, case=case, actor=actor, kind=EventKind.deadline, note=note)
    return due


def start(session: Session, *, case: Case, at: datetime, actor: str, rules: Rules | None = None,
          calendar: WorkCalendar | None = None) -> date:
    """Start (or restart) the clock: the agency receives the case at ``at``."""
    rules, calendar = rules or default_rules(), calendar or default_calendar()
    received = local_date(at)
    due = calendar.statutory_due(received, days=rules.answer_days, kind=rules.answer_kind)
    case.paused_at, case.remaining_days = None, None
    kind = "ngày" if rules.answer_kind == "calendar" else "ngày làm việc"
    return _set_due(session, case=case, due=due, actor=actor,
                    note=f"Hạn trả lời: {dmy(due)} ({rules.answer_days} {kind} kể từ ngày {dmy(received)})")


def pause(session: Session, *, case: Case, at: datetime, actor: str) -> None:
    """The case waits for the citizen: remember when, and (if the clock ran) the days it had left."""
    case.paused_at = at
    due = due_date(case)
    if due is not None and case.status == CaseStatus.forwarded and case.remaining_days is None:
        case.remaining_days = (due - local_date(at)).days
        cases.record_event(session, case=case, actor=actor, kind=EventKind.deadline,
                           note=f"Tạm dừng thời hạn chờ bổ sung (còn {case.remaining_days} ngày)")
    session.add(case)


def resume(session: Session, *, case: Case, at: datetime, actor: str,
           calendar: WorkCalendar | None = None) -> date | None:
    """The supplement arrived: the clock goes on with the days it had left (None if it never ran)."""
    remaining = case.remaining_days
    case.paused_at, case.remaining_days = None, None
    session.add(case)
    if remaining is None or case.due_at is None:
        return None
    calendar = calendar or default_calendar()
    resumed = local_date(at)
    due = resumed + timedelta(days=remaining)
    if remaining >= 0:
        due = calendar.next_working_day(due)
    return _set_due(session, case=case, due=due, actor=actor,
                    note=f"Tiếp tục thời hạn từ {dmy(resumed)} (còn {remaining} ngày): hạn mới {dmy(due)}")


@dataclass(frozen=True)
class Standing:
    """Where a case stands against its due date on a given day."""

    due: date
    left: int  # working days left (0: due today; negative: working days late)
    overdue: bool  # the due date has passed (on a day off after it, ``left`` may still be 0)

    @property
    def late(self) -> int:
        """Working days late (0 when not late)."""
        return max(0, -self.left)

    @property
    def label(self) -> str:
        """Vietnamese: còn N ngày làm việc / đến hạn hôm nay / quá hạn N ngày làm việc."""
        if self.overdue:
            return f"quá hạn {self.late} ngày làm việc" if self.late else "quá hạn"
        if self.left > 0:
            return f"còn {self.left} ngày làm việc"
        return "đến hạn hôm nay"


def standing(case: Case, *, today: date, calendar: WorkCalendar | None = None) -> Standing | None:
    """The case's standing on ``today`` (None when its clock is not running: not at an agency, or paused)."""
    due = due_date(case)
    if due is None or case.paused_at is not None or case.status != CaseStatus.forwarded:
        return None
    left = (calendar or default_calendar()).working_days_between(today, due)
    return Standing(due=due, left=left, overdue=today > due)
