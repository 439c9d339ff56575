"""The figures of a period, computed by SQL aggregates (the same on PostgreSQL and SQLite).

A case belongs to the period it was received in (``created_at``, Vietnam time).
Follow-ups of disputed answers are not new PAKN: they count as disagreements of the
case they follow, not as received. Definitions:

- **out of scope**: the case passed through ``out_of_scope`` (complaint, denunciation,
  legal advice);
- **not yet classified**: still ``received``/``registered`` and never forwarded;
- **in scope**: the rest. They split into *forwarded* (sent to an agency at least once),
  *awaiting information* (``needs_info`` now), *triage* (``triage`` now) and *closed
  without forwarding* (duplicates, no supplement);
- per agency (the agency that has the case now): *answered* (an answer recorded) on time
  (no later than the due date) or late; *being handled* (no answer yet), of which
  *overdue* (due date passed at ``as_of``); median working days from receipt to answer
  (Vietnam dates, counted as the clock counts them: the day of receipt not counted);
  ratings (count, average) and disagreements (cases reopened by their citizen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gateway.clock.calendar import WorkCalendar, default_calendar, local_date
from gateway.constants import VN_TZ, CaseStatus, Channel, PublicationStatus
from gateway.fields import all_fields
from gateway.models import Agency, Case, Event, Publication, utcnow
from gateway.stats.periods import Period

CHANNEL_LABELS = {Channel.web: "Cổng thông tin (web)", Channel.api: "Kết nối hệ thống (API)",
                  Channel.sms: "Tin nhắn 8088", Channel.hotline: "Đường dây nóng 19001547",
                  Channel.email: "Thư điện tử"}
TYPE_LABELS = {"hanh_vi": "hành vi hành chính", "quy_dinh": "quy định hành chính", "sang_kien": "sáng kiến"}
UNKNOWN = "chưa xác định"
WEEK_SECONDS = 7 * 86400


@dataclass(frozen=True)
class Count:
    """One row of a breakdown: key, Vietnamese label, count and its share of the base (percent)."""

    key: str
    label: str
    count: int
    share: float | None = None


@dataclass(frozen=True)
class AgencyRow:
    """How one agency handled the period's cases."""

    code: str
    name: str
    forwarded: int
    answered: int
    on_time: int
    late: int
    pending: int
    overdue: int
    median_days: float | None
    rated: int
    rating_avg: float | None
    disagreements: int


@dataclass
class Stats:
    """Every figure of the quarterly report for one period."""

    period: Period
    as_of: datetime
    received: int = 0
    by_channel: list[Count] = field(default_factory=list)
    out_of_scope: int = 0
    unclassified: int = 0
    in_scope: int = 0
    by_type: list[Count] = field(default_factory=list)
    by_field: list[Count] = field(default_factory=list)
    forwarded: int = 0
    needs_info: int = 0
    triage: int = 0
    closed_unforwarded: int = 0
    answered: int = 0
    on_time: int = 0
    late: int = 0
    pending: int = 0
    overdue: int = 0
    median_days: float | None = None
    rated: int = 0
    rating_avg: float | None = None
    disagreements: int = 0
    published: int = 0
    agencies: list[AgencyRow] = field(default_factory=list)
    weeks: list[Count] = field(default_factory=list)


def share(part: int, whole: int) -> float | None:
    """``part`` as a percentage of ``whole`` (None when the whole is 0)."""
    return round(100 * part / whole, 2) if whole else None


# --- SQL building blocks ------------------------------------------------------------

CASE: sa.Table = Case.__table__  # type: ignore[attr-defined]
EVENT: sa.Table = Event.__table__  # type: ignore[attr-defined]
PUBLICATION: sa.Table = Publication.__table__  # type: ignore[attr-defined]
AGENCY: sa.Table = Agency.__table__  # type: ignore[attr-defined]


def _ever(status: CaseStatus) -> sa.ColumnElement[int]:
    passed = sa.exists().where(EVENT.c.case_id == CASE.c.id, EVENT.c.to_status == status)
    return sa.case((passed, 1), else_=0)


EPOCH_MONDAY = date(1970, 1, 5)  # day number 0 of the working-day arithmetic below


def _day_number(dialect: str, moment: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """Days from EPOCH_MONDAY to the Vietnam date of a timestamp (Vietnam is UTC+7 all year)."""
    if dialect == "postgresql":
        local = sa.cast(sa.func.timezone(VN_TZ.key, moment), sa.Date)
        return sa.cast(local - sa.literal(EPOCH_MONDAY, sa.Date), sa.Integer)
    text_date = sa.func.date(moment, "+7 hours")
    return sa.cast(sa.func.julianday(text_date) - sa.func.julianday(EPOCH_MONDAY.isoformat()), sa.Integer)


def _weekdays_to(n: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """Mondays to Fridays among day numbers 0..n (n ≥ 0): five a week, then the part week."""
    rest = n % 7 + 1
    return 5 * (n // 7) + sa.case((rest < 5, rest), else_=5)


def _moved_days(calendar: WorkCalendar, first: date, last: date) -> list[tuple[int, int]]:
    """(day number, +1 for a weekend day worked, -1 for a weekday off) from ``first`` to ``last``:
    the calendar's own list of the days that break the Monday-to-Friday rule."""
    return [((day - EPOCH_MONDAY).days, 1 if worked else -1)
            for year in range(first.year, last.year + 1) for day, _name, worked in calendar.year(year)
            if first <= day <= last]


def _working_days(dialect: str, period: Period, as_of: datetime, later: sa.ColumnElement[Any],
                  earlier: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """Working days in (earlier, later], Vietnam dates (the clock's count): Mondays to Fridays by
    arithmetic, corrected by the holidays and moved days of the calendar (a few rows a year)."""
    a, b = _day_number(dialect, earlier), _day_number(dialect, later)
    count = _weekdays_to(b) - _weekdays_to(a)
    # Answers are not bounded by as_of (a past as_of, a clock a little behind): the moved days
    # run a year past the latest of the period's end, as_of and now.
    last = local_date(max(as_of, period.end, utcnow())) + timedelta(days=366)
    moved = _moved_days(default_calendar(), local_date(period.start), last)
    if not moved:
        return count
    rows = [sa.select(sa.literal(n, sa.Integer).label("n"), sa.literal(d, sa.Integer).label("delta")) for n, d in moved]
    table = sa.union_all(*rows).subquery("moved")  # not VALUES: SQLite cannot name a VALUES list's columns
    shift = sa.select(sa.func.coalesce(sa.func.sum(table.c.delta), 0)).where(table.c.n > a, table.c.n <= b)
    return count + shift.scalar_subquery()


def _seconds_since(dialect: str, moment: sa.ColumnElement[Any], origin: datetime) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.extract("epoch", moment - sa.literal(origin, CASE.c.created_at.type))
    return (sa.func.julianday(moment) - sa.func.julianday(sa.literal(origin, CASE.c.created_at.type))) * 86400.0


def _base(period: Period) -> sa.Subquery:
    """One row per case received in the period, with its flags."""
    published = sa.exists().where(PUBLICATION.c.case_id == CASE.c.id,
                                  PUBLICATION.c.status == PublicationStatus.published)
    return (
        sa.select(
            CASE.c.id, CASE.c.channel, CASE.c.status, CASE.c.case_type, CASE.c.field, CASE.c.agency_id,
            CASE.c.created_at, CASE.c.due_at, CASE.c.answered_at, CASE.c.rating,
            _ever(CaseStatus.out_of_scope).label("oos"),
            _ever(CaseStatus.forwarded).label("fwd"),
            _ever(CaseStatus.reopened).label("disputed"),
            sa.case((published, 1), else_=0).label("pub"),
        )
        .where(CASE.c.created_at >= period.start, CASE.c.created_at < period.end, CASE.c.follows_id.is_(None))
        .subquery("b")
    )


def _flags(b: sa.Subquery, as_of: datetime) -> dict[str, sa.ColumnElement[Any]]:
    unclassified = sa.and_(b.c.oos == 0, b.c.fwd == 0, b.c.status.in_([CaseStatus.received, CaseStatus.registered]))
    in_scope = sa.and_(b.c.oos == 0, sa.not_(unclassified))
    answered = b.c.answered_at.is_not(None)
    return {
        "unclassified": unclassified,
        "in_scope": in_scope,
        "forwarded": sa.and_(in_scope, b.c.fwd == 1),
        "needs_info": sa.and_(in_scope, b.c.fwd == 0, b.c.status == CaseStatus.needs_info),
        "triage": sa.and_(in_scope, b.c.fwd == 0, b.c.status == CaseStatus.triage),
        "answered": sa.and_(b.c.fwd == 1, answered),
        "on_time": sa.and_(b.c.fwd == 1, answered, b.c.answered_at <= b.c.due_at),
        "late": sa.and_(b.c.fwd == 1, answered, b.c.answered_at > b.c.due_at),
        "pending": sa.and_(b.c.fwd == 1, sa.not_(answered)),
        "overdue": sa.and_(b.c.fwd == 1, sa.not_(answered), b.c.due_at < sa.literal(as_of, CASE.c.due_at.type)),
    }


def _sum(condition: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _medians(session: Session, b: sa.Subquery, dialect: str, period: Period,
             as_of: datetime) -> dict[int | None, float]:
    """Median working days to answer per agency id, and overall under the key None (window functions)."""
    days = _working_days(dialect, period, as_of, b.c.answered_at, b.c.created_at)
    out: dict[int | None, float] = {}
    for partition in (b.c.agency_id, None):
        keys = [partition] if partition is not None else []
        ranked = (
            sa.select(
                (partition if partition is not None else sa.literal(None, sa.Integer)).label("agency_id"),
                days.label("days"),
                sa.func.row_number().over(partition_by=keys, order_by=days).label("rn"),
                sa.func.count().over(partition_by=keys).label("n"),
            )
            .where(b.c.fwd == 1, b.c.answered_at.is_not(None))
            .subquery("r")
        )
        # Floor division: SQLAlchemy 2 renders "/" between integers as true division, which
        # would miss the lower middle row of an even count.
        middle = sa.or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
        query = sa.select(ranked.c.agency_id, sa.func.avg(ranked.c.days)).where(middle).group_by(ranked.c.agency_id)
        for agency_id, value in session.execute(query):
            out[agency_id if partition is not None else None] = round(float(value), 1)
    return out


def _counts(rows: Sequence[Any], labels: dict[str, str], base: int, order: Sequence[str] = ()) -> list[Count]:
    found = {(key.value if hasattr(key, "value") else key) or "": int(n) for key, n in rows}
    keys = [k for k in order if k in found] + sorted((k for k in found if k not in order),
                                                      key=lambda k: (-found[k], k))
    return [Count(k or "", labels.get(k, UNKNOWN) if k else UNKNOWN, found[k], share(found[k], base)) for k in keys]


def compute(session: Session, *, period: Period, as_of: datetime | None = None) -> Stats:
    """Every figure for ``period``; ``as_of`` (default now) decides what is overdue."""
    as_of = as_of or utcnow()
    dialect = session.get_bind().dialect.name
    b = _base(period)
    f = _flags(b, as_of)
    stats = Stats(period=period, as_of=as_of)
    totals = session.execute(sa.select(
        sa.func.count(), _sum(b.c.oos == 1), *(_sum(f[name]) for name in (
            "unclassified", "in_scope", "forwarded", "needs_info", "triage", "answered", "on_time", "late",
            "pending", "overdue")),
        sa.func.count(b.c.rating), sa.func.avg(b.c.rating), _sum(b.c.disputed == 1), _sum(b.c.pub == 1),
    )).one()
    (stats.received, stats.out_of_scope, stats.unclassified, stats.in_scope, stats.forwarded, stats.needs_info,
     stats.triage, stats.answered, stats.on_time, stats.late, stats.pending, stats.overdue) = map(int, totals[:12])
    stats.rated = int(totals[12])
    stats.rating_avg = round(float(totals[13]), 2) if totals[13] is not None else None
    stats.disagreements, stats.published = int(totals[14]), int(totals[15])
    stats.closed_unforwarded = stats.in_scope - stats.forwarded - stats.needs_info - stats.triage

    by_channel = session.execute(sa.select(b.c.channel, sa.func.count()).group_by(b.c.channel)).all()
    stats.by_channel = _counts(by_channel, {c.value: label for c, label in CHANNEL_LABELS.items()}, stats.received,
                               [c.value for c in CHANNEL_LABELS])
    by_type = session.execute(sa.select(b.c.case_type, sa.func.count()).where(f["in_scope"])
                              .group_by(b.c.case_type)).all()
    stats.by_type = _counts(by_type, TYPE_LABELS, stats.in_scope, list(TYPE_LABELS))
    by_field = session.execute(sa.select(b.c.field, sa.func.count()).where(f["in_scope"]).group_by(b.c.field)).all()
    stats.by_field = _counts(by_field, {x.code: x.name for x in all_fields()}, stats.in_scope)

    medians = _medians(session, b, dialect, period, as_of)
    stats.median_days = medians.get(None)
    per_agency = session.execute(
        sa.select(AGENCY.c.id, AGENCY.c.code, AGENCY.c.name, sa.func.count(),
                  *(_sum(f[name]) for name in ("answered", "on_time", "late", "pending", "overdue")),
                  sa.func.count(b.c.rating), sa.func.avg(b.c.rating), _sum(b.c.disputed == 1))
        .join(AGENCY, AGENCY.c.id == b.c.agency_id)
        .where(b.c.fwd == 1)
        .group_by(AGENCY.c.id, AGENCY.c.code, AGENCY.c.name)
        .order_by(sa.func.count().desc(), AGENCY.c.name)
    ).all()
    stats.agencies = [
        AgencyRow(code=row[1], name=row[2], forwarded=int(row[3]), answered=int(row[4]), on_time=int(row[5]),
                  late=int(row[6]), pending=int(row[7]), overdue=int(row[8]), median_days=medians.get(row[0]),
                  rated=int(row[9]), rating_avg=round(float(row[10]), 2) if row[10] is not None else None,
                  disagreements=int(row[11]))
        for row in per_agency
    ]
    week = sa.cast(sa.func.floor(_seconds_since(dialect, b.c.created_at, period.start) / WEEK_SECONDS), sa.Integer)
    weeks = dict(session.execute(sa.select(week, sa.func.count()).group_by(week)).all())
    total_weeks = max(1, -(-int((period.end - period.start).total_seconds()) // WEEK_SECONDS))
    stats.weeks = [Count(str(n + 1), _week_label(period, n), int(weeks.get(n, 0))) for n in range(total_weeks)]
    return stats


def _week_label(period: Period, number: int) -> str:
    first = (period.start + timedelta(days=7 * number)).astimezone(VN_TZ)
    last = min(first + timedelta(days=6), (period.end - timedelta(seconds=1)).astimezone(VN_TZ))
    return f"{first:%d/%m}–{last:%d/%m}"
