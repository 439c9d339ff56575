"""The desks' lists (segments in display order) and their counts, one ``GROUP BY`` each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, request
from sqlmodel import Session, col

from gateway.clock.calendar import WorkCalendar, default_calendar, local_date
from gateway.constants import VN_TZ, CaseStatus
from gateway.desks import paging
from gateway.exceptions import PageCursorError
from gateway.models import Agency, CallBack, Case

S = CaseStatus
QUEUE_STATUSES = (S.triage, S.forwarded, S.needs_info, S.reopened)
AGENCY_STATUSES = (S.forwarded, S.needs_info)  # a reopened case is superseded by its follow-up
CASE_ID, CALLBACK_ID = col(Case.id), col(CallBack.id)


def start_of_day(day: date) -> datetime:
    """Midnight in Vietnam at the start of ``day``: a due date before it has passed."""
    return datetime.combine(day, time.min, tzinfo=VN_TZ)


def queue_segments(today: date) -> list[paging.Segment]:
    """The coordinator's queue: triage first, then overdue, then the rest (each by its own order)."""
    midnight = start_of_day(today)
    status, due, created = col(Case.status), col(Case.due_at), col(Case.created_at)
    return [
        paging.Segment("t", [status == S.triage], created),
        paging.Segment("o", [status == S.forwarded, due < midnight], due),
        paging.Segment("f", [status == S.forwarded, due >= midnight], due),
        paging.Segment("u", [status == S.forwarded, due.is_(None)]),
        paging.Segment("n", [status == S.needs_info], created),
        paging.Segment("r", [status == S.reopened], created),
    ]


@dataclass(frozen=True)
class QueueCounts:
    """How many cases each part of the queue holds."""

    triage: int = 0
    overdue: int = 0
    forwarded: int = 0
    needs_info: int = 0
    reopened: int = 0

    @property
    def total(self) -> int:
        return self.triage + self.forwarded + self.needs_info + self.reopened


def queue_counts(session: Session, *, today: date) -> QueueCounts:
    """The queue's counts by status (and overdue), one aggregate over the status index."""
    late = sa.case((sa.and_(col(Case.status) == S.forwarded, col(Case.due_at) < start_of_day(today)), 1), else_=0)
    rows = session.execute(sa.select(col(Case.status), sa.func.count(), sa.func.sum(late))
                           .where(col(Case.status).in_(QUEUE_STATUSES)).group_by(col(Case.status))).all()
    found = {S(status): (int(n), int(overdue or 0)) for status, n, overdue in rows}
    return QueueCounts(triage=found.get(S.triage, (0, 0))[0], overdue=found.get(S.forwarded, (0, 0))[1],
                       forwarded=found.get(S.forwarded, (0, 0))[0], needs_info=found.get(S.needs_info, (0, 0))[0],
                       reopened=found.get(S.reopened, (0, 0))[0])


def queue_page(session: Session, *, today: date) -> paging.Page:
    """One page of the queue: (case, agency name) rows."""
    base = sa.select(Case, col(Agency.name)).outerjoin(Agency, col(Agency.id) == col(Case.agency_id))
    return _fetch(session, base, queue_segments(today), CASE_ID)


def agency_segments(agency_id: int | None) -> list[paging.Segment]:
    """An agency's open cases (every agency's: None): by due date, overdue first, per status."""
    owner = col(Case.agency_id) == agency_id if agency_id is not None else col(Case.agency_id).is_not(None)
    due, status = col(Case.due_at), col(Case.status)
    segments = []
    for code, value in (("f", S.forwarded), ("n", S.needs_info)):
        segments.append(paging.Segment(code, [owner, status == value, due.is_not(None)], due))
        segments.append(paging.Segment(code + "u", [owner, status == value, due.is_(None)]))
    return segments


def soon_until(today: date, working_days: int, calendar: WorkCalendar | None = None) -> date:
    """The last due date that is at most ``working_days`` working days away from ``today``."""
    calendar = calendar or default_calendar()
    day = today
    while calendar.working_days_between(today, day + timedelta(days=1)) <= working_days:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class AgencyCounts:
    """The dashboard's headline: open cases, overdue, due soon."""

    total: int = 0
    overdue: int = 0
    soon: int = 0


def agency_counts(session: Session, *, agency_id: int | None, today: date, soon_days: int) -> AgencyCounts:
    """Counted in SQL (one statement, index-only): overdue and soon only for running clocks (forwarded: a paused
    clock is a case waiting for information, ``needs_info``)."""
    midnight, horizon = start_of_day(today), start_of_day(soon_until(today, soon_days) + timedelta(days=1))
    due, status = col(Case.due_at), col(Case.status)
    running = status == S.forwarded
    owner = col(Case.agency_id) == agency_id if agency_id is not None else col(Case.agency_id).is_not(None)
    row = session.execute(sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((sa.and_(running, due < midnight), 1), else_=0)), 0),
        sa.func.coalesce(sa.func.sum(sa.case((sa.and_(running, due >= midnight, due < horizon), 1), else_=0)), 0),
    ).where(owner, status.in_(AGENCY_STATUSES))).one()
    return AgencyCounts(total=int(row[0]), overdue=int(row[1]), soon=int(row[2]))


def agency_page(session: Session, *, agency_id: int | None) -> paging.Page:
    """One page of the dashboard: (case, agency name) rows."""
    base = sa.select(Case, col(Agency.name)).outerjoin(Agency, col(Agency.id) == col(Case.agency_id))
    return _fetch(session, base, agency_segments(agency_id), CASE_ID)


def keyed_today_page(session: Session, *, username: str, now: datetime) -> tuple[paging.Page, int]:
    """The operator's calls keyed today, newest first, and how many."""
    since = start_of_day(local_date(now))
    where = [col(Case.created_by) == username, col(Case.created_at) >= since]
    total = session.execute(sa.select(sa.func.count()).select_from(Case).where(*where)).scalar_one()
    segments = [paging.Segment("k", where, col(Case.created_at), descending=True)]
    return _fetch(session, sa.select(Case), segments, CASE_ID), int(total)


def phone_page(session: Session, *, phone: str) -> tuple[paging.Page, int]:
    """Every case from ``phone``, newest first, and how many."""
    where = [col(Case.phone) == phone]
    total = session.execute(sa.select(sa.func.count()).select_from(Case).where(*where)).scalar_one()
    segments = [paging.Segment("p", where, col(Case.created_at), descending=True)]
    return _fetch(session, sa.select(Case), segments, CASE_ID), int(total)


def callback_segments(recent: datetime) -> list[paging.Segment]:
    """Open call-backs (oldest first), then those done since ``recent``."""
    done = col(CallBack.done_at)
    return [paging.Segment("o", [done.is_(None)], col(CallBack.created_at)),
            paging.Segment("d", [done >= recent], col(CallBack.created_at))]


def callback_counts(session: Session, *, recent: datetime) -> tuple[int, int]:
    """(open, done since ``recent``) in one statement."""
    done = col(CallBack.done_at)
    row = session.execute(sa.select(sa.func.coalesce(sa.func.sum(sa.case((done.is_(None), 1), else_=0)), 0),
                                    sa.func.coalesce(sa.func.sum(sa.case((done >= recent, 1), else_=0)), 0))
                          .where(done.is_(None) | (done >= recent))).one()
    return int(row[0]), int(row[1])


def oldest_open_callbacks(session: Session, *, limit: int) -> list[CallBack]:
    """The first ``limit`` open call-backs, oldest first (the desk's short list)."""
    return list(session.execute(sa.select(CallBack).where(col(CallBack.done_at).is_(None))
                                .order_by(col(CallBack.created_at), CALLBACK_ID).limit(limit)).scalars())


def callback_page(session: Session, *, recent: datetime, size: int = paging.PAGE_SIZE) -> paging.Page:
    """One page of the call-back list: (entry,) rows."""
    return _fetch(session, sa.select(CallBack), callback_segments(recent), CALLBACK_ID, size=size)


def _fetch(session: Session, base: Any, segments: list[paging.Segment], id_column: object,
           size: int = paging.PAGE_SIZE) -> paging.Page:
    """The page the request's ``?after=``/``?before=`` asks for (a bad cursor: 400)."""
    try:
        return paging.fetch(session, base, segments, id_column=id_column, after=request.args.get("after") or None,
                            before=request.args.get("before") or None, size=size)
    except PageCursorError:
        abort(400, description="Liên kết trang không hợp lệ: hãy mở lại danh sách từ trang đầu.")
