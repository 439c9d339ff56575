"""One tick of the statutory clock's scheduled rules, as of a moment.

What a tick does, on a working day from ``send_from_hour`` (Asia/Ho_Chi_Minh) on:

- agency reminders: N working days before the due date, on the due date, and every
  ``chase_every`` working days overdue (email with the answer link);
- overdue updates to the citizen every ``update_every`` working days past the due date,
  over the originating channel, with the agency's latest progress note;
- one digest per agency per day of its overdue cases to the coordinating office;
- cases waiting for information with no supplement after ``close_after`` working days
  are closed, with a notice that says how to come back;
- answers that did not reach the citizen within ``result_within`` working days become
  alerts on the coordinating office's desk.

Idempotent: every message carries a key naming its case and period (its due date and
the number of the period), so a second tick for the same moment writes nothing. The
n-th overdue update is written by the first tick at least n periods late, so a tick
missed during downtime is caught up by the next one (without sending earlier periods
again). A finished day is recorded in ``scheduled_run`` (name ``clock-day``), which
makes later ticks that day cost one query.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from config.settings import Settings
from gateway import cases, messages, notices, outbox, routing
from gateway.clock.calendar import WorkCalendar, default_calendar, end_of_day, local_date
from gateway.clock.due import dmy
from gateway.clock.rules import Rules, default_rules
from gateway.constants import VN_TZ, CaseStatus, Channel, EventKind, OutboundStatus
from gateway.models import (
    Agency,
    CallBack,
    Case,
    ClockAlert,
    Event,
    OutboundMessage,
    ProgressNote,
    ScheduledRun,
    utcnow,
)

log = logging.getLogger(__name__)

DAY_RUN = "clock-day"
LOCK_KEY = 0x70616B6E636C6B  # PostgreSQL advisory lock: one tick at a time across all workers
ACTOR = "clock"
CHASE_PURPOSE = "chase"  # emails to agencies (HUY concerns SMS notices only)
DIGEST_PURPOSE = "digest"
DUE_CHANGE_PURPOSE = "due-change"
OVERDUE_PURPOSE = "notice-overdue"  # a notice: HUY stops it by SMS
CLOSED_PURPOSE = "notice-closed"
RESULT_WINDOW = timedelta(days=45)  # answers older than this are not checked any more
CHUNK = 500
COUNTERS = ("reminders", "due_today", "chases", "updates", "digests", "closures", "alerts")
DELIVERED = (OutboundStatus.sent, OutboundStatus.delivered)
UNDELIVERED_PROVIDER = ("failed", "undelivered")


def overdue_key(case_id: int, due: date, n: int) -> str:
    """Idempotency key (before the channel suffix) of the n-th overdue update to the citizen."""
    return f"case-{case_id}-overdue-{due:%Y%m%d}-{n}"


def agency_key(case_id: int, agency_id: int, due: date, what: str) -> str:
    """Idempotency key of a reminder to the agency: ``remind-<n>``, ``remind-due`` or ``chase-<n>``."""
    return f"case-{case_id}-a{agency_id}-{due:%Y%m%d}-{what}"


def digest_key(agency_id: int, day: date) -> str:
    """Idempotency key of an agency's daily digest to the coordinating office."""
    return f"digest-a{agency_id}-{day:%Y%m%d}"


@dataclass
class _Tick:
    session: Session
    settings: Settings
    rules: Rules
    calendar: WorkCalendar
    today: date
    moment: datetime
    counts: dict[str, int]
    known: set[str] = field(default_factory=set)  # idempotency keys already written for these cases
    _forwarded: dict[int, datetime] | None = None  # when each open case last reached its agency
    _notes: dict[int, ProgressNote] | None = None  # each open case's latest progress note
    _open_ids: list[int] = field(default_factory=list)

    # --- helpers -------------------------------------------------------------------

    def _load_keys(self, case_ids: Sequence[int]) -> None:
        for start in range(0, len(case_ids), CHUNK):
            ids = case_ids[start:start + CHUNK]
            self.known.update(self.session.exec(select(OutboundMessage.idempotency_key).where(
                col(OutboundMessage.case_id).in_(ids))).all())
            self.known.update(self.session.exec(select(CallBack.key).where(col(CallBack.case_id).in_(ids))).all())

    def _told(self, key: str) -> bool:
        return any(f"{key}-{suffix}" in self.known for suffix in ("sms", "email", "call"))

    def _mail_agency(self, *, case: Case, agency: Agency, key: str, subject: str, body: str) -> bool:
        emails = json.loads(agency.emails)
        if key in self.known or not emails:
            return False
        outbox.put(self.session, key=key, channel=Channel.email, purpose=CHASE_PURPOSE, recipient=", ".join(emails),
                   subject=subject[:300], body=body, case_id=case.id)
        self.known.add(key)
        return True

    # --- open cases: reminders, chasing, overdue updates ----------------------------

    def open_cases(self) -> None:
        horizon = self.calendar.add_working_days(self.today, max(self.rules.remind_before, default=0))
        rows = self.session.exec(
            select(Case, Agency).join(Agency, col(Case.agency_id) == col(Agency.id))
            .where(Case.status == CaseStatus.forwarded, col(Case.paused_at).is_(None),
                   col(Case.due_at).is_not(None), col(Case.due_at) <= end_of_day(horizon))
            .order_by(col(Case.due_at), col(Case.id))).all()
        self._open_ids = [c.id for c, _ in rows if c.id is not None]
        self._load_keys(self._open_ids)
        overdue: dict[int, list[tuple[Case, int]]] = {}
        agencies: dict[int, Agency] = {}
        for case, agency in rows:
            assert case.id is not None and agency.id is not None and case.due_at is not None
            due = local_date(case.due_at)
            left = self.calendar.working_days_between(self.today, due)
            if self.today < due:
                n = min((n for n in self.rules.remind_before if n >= left), default=None)
                if n is not None and self._remind(case, agency, due, f"remind-{n}", "before", left=left):
                    self.counts["reminders"] += 1
            elif self.today == due:
                if self._remind(case, agency, due, "remind-due", "due"):
                    self.counts["due_today"] += 1
            else:
                late = -left
                overdue.setdefault(agency.id, []).append((case, late))
                agencies[agency.id] = agency
                if late >= self.rules.chase_every and self._remind(
                        case, agency, due, f"chase-{late // self.rules.chase_every}", "overdue", late=late):
                    self.counts["chases"] += 1
                if late >= self.rules.update_every and self._update(case, agency, due, late):
                    self.counts["updates"] += 1
        self.session.commit()
        for agency_id, late_cases in overdue.items():
            if self._digest(agencies[agency_id], late_cases):
                self.counts["digests"] += 1
        self.session.commit()

    def _forwarded_on(self, case: Case) -> date | None:
        if self._forwarded is None:  # loaded once per tick, when the first message needs it
            self._forwarded = {}
            for start in range(0, len(self._open_ids), CHUNK):
                query = (select(Event.case_id, func.max(Event.at))
                         .where(col(Event.case_id).in_(self._open_ids[start:start + CHUNK]),
                                Event.to_status == CaseStatus.forwarded).group_by(col(Event.case_id)))
                self._forwarded.update((case_id, at) for case_id, at in self.session.exec(query).all())
        at = self._forwarded.get(case.id or 0)
        return local_date(at) if at else None

    def _progress_line(self, case: Case, template: str) -> str:
        if self._notes is None:
            self._notes = {}
            for start in range(0, len(self._open_ids), CHUNK):
                query = select(ProgressNote).where(col(ProgressNote.case_id).in_(self._open_ids[start:start + CHUNK]))
                for row in self.session.exec(query.order_by(col(ProgressNote.created_at), col(ProgressNote.id))):
                    self._notes[row.case_id] = row  # the last one wins
        note = self._notes.get(case.id or 0)
        if note is None:
            return ""
        return messages.text("clock", template, date=dmy(local_date(note.created_at)), text=note.text)

    def _remind(self, case: Case, agency: Agency, due: date, what: str, kind: str, *, left: int = 0,
                late: int = 0) -> bool:
        assert case.id is not None and agency.id is not None
        key = agency_key(case.id, agency.id, due, what)
        if key in self.known:
            return False
        params = dict(code=case.code, due=dmy(due), left=left, late=late)
        forwarded = self._forwarded_on(case)
        body = messages.text(
            "clock", "remind_body", agency=agency.name, situation=messages.text("clock", f"remind_{kind}", **params),
            code=case.code, title=case.title, received=dmy(forwarded) if forwarded else "?",
            due=dmy(due), progress=self._progress_line(case, "remind_progress"),
            url=routing.answer_url(self.settings, case=case, agency=agency))
        return self._mail_agency(case=case, agency=agency, key=key, body=body,
                                 subject=messages.text("clock", f"remind_{kind}_subject", **params))

    def _update(self, case: Case, agency: Agency, due: date, late: int) -> bool:
        assert case.id is not None
        key = overdue_key(case.id, due, late // self.rules.update_every)
        if self._told(key):
            return False
        text = messages.text("clock", "overdue", code=case.code, late=late, due=dmy(due), agency=agency.name,
                             progress=self._progress_line(case, "overdue_progress"))
        notices.tell_citizen(self.session, case=case, key=key, text=text, settings=self.settings, replies=None,
                             subject=messages.text("clock", "overdue_subject", code=case.code),
                             purpose=OVERDUE_PURPOSE)
        self.known.update({f"{key}-sms", f"{key}-email", f"{key}-call"})
        return True

    def _digest(self, agency: Agency, late_cases: list[tuple[Case, int]]) -> bool:
        if not self.settings.coordinator_email:
            return False
        assert agency.id is not None
        key = digest_key(agency.id, self.today)
        if self.session.exec(select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key)).first():
            return False
        params = dict(agency=agency.name, count=len(late_cases), today=dmy(self.today))
        lines = [messages.text("clock", "digest_intro", **params), ""]
        for case, late in sorted(late_cases, key=lambda item: (-item[1], item[0].id or 0)):
            assert case.due_at is not None
            lines.append(messages.text("clock", "digest_line", code=case.code, due=dmy(local_date(case.due_at)),
                                       late=late, title=case.title,
                                       url=f"{self.settings.public_base_url}/coordinator/cases/{case.id}"))
        outbox.put(self.session, key=key, channel=Channel.email, purpose=DIGEST_PURPOSE, body="\n".join(lines),
                   recipient=self.settings.coordinator_email,
                   subject=messages.text("clock", "digest_subject", **params))
        return True

    # --- cases waiting for information ---------------------------------------------

    def closures(self) -> None:
        cutoff = end_of_day(self.calendar.add_working_days(self.today, -self.rules.close_after))
        waiting = self.session.exec(
            select(Case).where(Case.status == CaseStatus.needs_info, col(Case.paused_at).is_not(None),
                               col(Case.paused_at) <= cutoff)
            .order_by(col(Case.id)).with_for_update(skip_locked=True)).all()
        for case in waiting:
            assert case.paused_at is not None
            if self.calendar.working_days_between(local_date(case.paused_at), self.today) < self.rules.close_after:
                continue
            self._close(case)
            self.counts["closures"] += 1
            self.session.commit()

    def _close(self, case: Case) -> None:
        days = self.rules.close_after
        agency = session_agency(self.session, case) if case.remaining_days is not None else None
        case.remaining_days = None
        cases.transition(self.session, case=case, to=CaseStatus.closed, actor=ACTOR,
                         note=f"Đóng: {days} ngày làm việc không nhận được thông tin bổ sung")
        notices.tell_citizen(self.session, case=case, key=f"case-{case.id}-info-closed", settings=self.settings,
                             text=messages.text("clock", "info_closed", code=case.code, days=days,
                                                short_code=self.settings.sms_short_code),
                             replies=None, subject=messages.text("clock", "info_closed_subject", code=case.code),
                             purpose=CLOSED_PURPOSE)
        if agency is not None:
            outbox.put(self.session, key=f"case-{case.id}-info-closed-agency", channel=Channel.email,
                       purpose=CHASE_PURPOSE, recipient=", ".join(json.loads(agency.emails)), case_id=case.id,
                       subject=messages.text("clock", "info_closed_subject", code=case.code),
                       body=messages.text("clock", "info_closed_agency", code=case.code, title=case.title, days=days))

    # --- the result reaches the citizen in time -------------------------------------

    def results(self) -> None:
        answered = self.session.exec(
            select(Case).where(col(Case.answered_at) >= self.moment - RESULT_WINDOW,
                               col(Case.answered_at) <= self.moment).order_by(col(Case.id))).all()
        due = {case.id: self.calendar.add_working_days(local_date(case.answered_at), self.rules.result_within)
               for case in answered if case.answered_at is not None}
        late = [case for case in answered if case.id is not None and due[case.id] < self.today]
        if not late:
            return
        ids = [case.id for case in late if case.id is not None]
        alerted = set(self.session.exec(select(ClockAlert.case_id).where(
            col(ClockAlert.case_id).in_(ids), col(ClockAlert.kind) == "result_late")).all())
        ids = [i for i in ids if i not in alerted]
        purposes = (routing.ANSWER_PURPOSE, f"{routing.ANSWER_PURPOSE}-fallback")
        rows: dict[int, list[OutboundMessage]] = {}
        calls: dict[str, CallBack] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            for row in self.session.exec(select(OutboundMessage).where(col(OutboundMessage.case_id).in_(chunk),
                                                                       col(OutboundMessage.purpose).in_(purposes))):
                rows.setdefault(row.case_id or 0, []).append(row)
            answer_calls = [f"case-{i}-answer-call" for i in chunk]
            calls.update((c.key, c) for c in self.session.exec(select(CallBack).where(
                col(CallBack.key).in_(answer_calls))))
        for case in late:
            assert case.id is not None
            if case.id in alerted:
                continue
            why = _undelivered(rows.get(case.id, []), calls.get(f"case-{case.id}-answer-call"), deadline=due[case.id])
            if why is None:
                continue
            note = messages.text("clock", "result_late", code=case.code, days=self.rules.result_within,
                                 deadline=dmy(due[case.id]), why=why)
            if raise_alert(self.session, case=case, key=f"case-{case.id}-result-late", kind="result_late", note=note):
                self.counts["alerts"] += 1
        self.session.commit()


def session_agency(session: Session, case: Case) -> Agency | None:
    """The agency the case is at (None if none)."""
    return session.get(Agency, case.agency_id) if case.agency_id else None


def _undelivered(rows: list[OutboundMessage], called: CallBack | None, *, deadline: date) -> str | None:
    """Why the answer (``rows``, or the operators' call-back) did not reach the citizen by the end of ``deadline``."""
    limit = end_of_day(deadline)
    for row in rows:
        if row.status == OutboundStatus.suppressed:
            return None  # the citizen opted out (HUY); the answer is on the lookup page
        if (row.status in DELIVERED and row.sent_at is not None and row.sent_at <= limit
                and row.provider_status not in UNDELIVERED_PROVIDER):
            return None
    if called is not None and called.done_at is not None and called.done_at <= limit:
        return None
    if not rows:
        return "chưa gọi lại được cho người gửi" if called is not None else "không có kênh nào để gửi"
    return "; ".join(_row_state(row) for row in rows)


def _row_state(row: OutboundMessage) -> str:
    if row.status in DELIVERED and row.sent_at is not None:
        when = row.sent_at.astimezone(VN_TZ).strftime("%d/%m/%Y")
        return f"{row.channel.value} gửi ngày {when}" + (f" ({row.provider_status})" if row.provider_status else "")
    return f"{row.channel.value} {row.status.value}" + (f": {row.last_error}" if row.last_error else "")


def raise_alert(session: Session, *, case: Case, key: str, kind: str, note: str) -> bool:
    """Put an alert on the coordinating office's desk, once per ``key``; True if it is new."""
    assert case.id is not None
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = session.execute(insert(ClockAlert).values(key=key, case_id=case.id, kind=kind, note=note,
                                                       created_at=utcnow()).on_conflict_do_nothing())
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    cases.record_event(session, case=case, actor=ACTOR, kind=EventKind.alert, note=note[:500])
    return True


def _mark_done(session: Session, day: date) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(ScheduledRun).values(name=DAY_RUN, slot=day.isoformat(), claimed_at=utcnow())
                    .on_conflict_do_nothing())
    session.commit()


@contextmanager
def _exclusive(session: Session) -> Iterator[bool]:
    """True if this process may tick now: on PostgreSQL no other tick holds the advisory lock."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name != "postgresql":
        yield True  # SQLite: one host, and writes are serialized by the database anyway
        return
    with engine.connect() as conn:  # its own connection: the session's may change at each commit
        mine = bool(conn.execute(select(func.pg_try_advisory_lock(LOCK_KEY))).scalar())
        try:
            yield mine
        finally:
            if mine:
                conn.execute(select(func.pg_advisory_unlock(LOCK_KEY)))


def run_tick(session: Session, *, settings: Settings, at: datetime | None = None, rules: Rules | None = None,
             calendar: WorkCalendar | None = None, force: bool = False) -> dict[str, int]:
    """Run every rule as of ``at`` (default now); the counts of what was written.

    Nothing happens on a day off or before ``send_from_hour``; after a complete tick
    the day is marked done and later ticks that day return at once (``force`` runs the
    rules again, still without writing anything twice). On PostgreSQL one tick runs at
    a time (an advisory lock); a tick that finds another running returns at once.
    """
    rules, calendar = rules or default_rules(), calendar or default_calendar()
    moment = at or utcnow()
    local = moment.astimezone(VN_TZ)
    counts = dict.fromkeys(COUNTERS, 0)
    if local.hour < rules.send_from_hour or not calendar.is_working_day(local.date()):
        return counts
    if not force and session.get(ScheduledRun, (DAY_RUN, local.date().isoformat())) is not None:
        return counts
    with _exclusive(session) as mine:
        if not mine:  # another worker is ticking right now: it does this day's work
            return counts
        tick = _Tick(session, settings, rules, calendar, local.date(), moment, counts)
        tick.open_cases()
        tick.closures()
        tick.results()
        _mark_done(session, local.date())
    if any(counts.values()):
        log.info("clock tick %s: %s", local.isoformat(timespec="minutes"), counts)
    return counts

