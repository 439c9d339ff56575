"""A simulated year: 320 cases through 2025 on PostgreSQL, the clock ticking every day.

The expected days come from an oracle written here by hand from the 2025 decision
(weekdays off and the Saturday worked), independent of the `holidays` package and of
gateway/clock/calendar.py. Agencies answer early, on time, late and never; some cases
wait for information (resumed, or closed); some citizens opted out by HUY; a landline
caller goes on the call-back list. Every day the tick runs at 08:30 (Asia/Ho_Chi_Minh)
directly, as the CLI runs it (Mondays), or as an RQ job through the real worker (the
first working day of each month); the day's actions follow at 10:00.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from rq import SimpleWorker
from sqlalchemy import Engine
from sqlmodel import Session, col, select

import worker
from config.settings import Settings
from gateway import commands, routing
from gateway.clock import progress
from gateway.clock.tick import run_tick
from gateway.constants import VN_TZ, CaseStatus, Channel, OutboundStatus
from gateway.db import new_session
from gateway.dispatch import schedule
from gateway.models import Agency, CallBack, Case, ClockAlert, Event, OutboundMessage, utcnow
from tests.gateway.clock.kit import at, make_agency, make_case, vn

D = date
YEAR = 2025
# The 2025 decision, by hand: weekdays off (Tết 27-31/01, Giỗ Tổ 07/04, 30/4, 1/5, 2/5 swapped, 1/9, 2/9, 1/1)
OFF = {D(2025, 1, 1), *(D(2025, 1, d) for d in range(27, 32)), D(2025, 4, 7), D(2025, 4, 30), D(2025, 5, 1),
       D(2025, 5, 2), D(2025, 9, 1), D(2025, 9, 2)}
WORKED = {D(2025, 4, 26)}  # the Saturday worked in exchange for Fri 02/05
DIGEST_TO = "dieuphoi@pakn.example.gov.vn"
CASES = 320
CLOCK = tuple(p for p in schedule.SCHEDULE if p.job == "gateway.clock.jobs.tick")  # as registered
AGENCIES = 4


def working(day: date) -> bool:
    """The oracle (past the year's end only used to find that a day lies beyond it)."""
    return day in WORKED or (day.weekday() < 5 and day not in OFF)


def next_working(day: date) -> date:
    while not working(day):
        day += timedelta(days=1)
    return day


def add_working(day: date, n: int) -> date:
    step = 1 if n > 0 else -1
    for _ in range(abs(n)):
        day += timedelta(days=step)
        while not working(day):
            day += timedelta(days=step)
    return day


DAYS = [D(YEAR, 1, 1) + timedelta(days=i) for i in range(365)]
WORKING = [d for d in DAYS if working(d)]
LAST = DAYS[-1]


@dataclass
class Plan:
    """One case's life, and what the rules must make of it."""

    i: int
    forward: date
    kind: str  # early, on_time, late, never, resumed, closed, noted
    due: date  # the due date the overdue rules run against (after a resumption for "resumed")
    answer: date | None = None
    pause: date | None = None
    resume: date | None = None
    note: date | None = None
    delivered: bool = True  # the answer reaches the citizen at once (else an alert is due)

    @property
    def open_until(self) -> date:
        """The last 08:30 tick that sees it open and at its agency."""
        return self.answer or LAST


def plans() -> list[Plan]:
    kinds = ["early", "early", "on_time", "on_time", "late", "late", "never", "resumed", "closed", "noted"]
    result = []
    for i in range(CASES):
        forward = WORKING[1 + i // 2]  # two cases a working day from 03/01 to late August
        due = next_working(forward + timedelta(days=20))
        plan = Plan(i=i, forward=forward, kind=kinds[i % 10], due=due, delivered=i % 4 != 0)
        if plan.kind == "early":
            plan.answer = add_working(forward, 5)
        elif plan.kind == "on_time":
            plan.answer = due
        elif plan.kind == "late":
            plan.answer = add_working(due, 10)
        elif plan.kind == "noted":
            plan.note, plan.answer = add_working(due, 2), add_working(due, 20)
        elif plan.kind in ("resumed", "closed"):
            plan.pause = add_working(forward, 3)
            if plan.kind == "resumed":
                plan.resume = add_working(plan.pause, 6)
                plan.due = next_working(plan.resume + timedelta(days=(due - plan.pause).days))
        result.append(plan)
    return result


def expected_updates(plan: Plan) -> set[tuple[int, int, date]]:
    """(case index, n, day) of every overdue update: every 7 working days past the due date."""
    found: set[tuple[int, int, date]] = set()
    n = 1
    while plan.kind != "closed" and (day := add_working(plan.due, 7 * n)) <= plan.open_until:
        found.add((plan.i, n, day))
        n += 1
    return found


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with the coordinating office's address (for the digests)."""
    return settings.with_(coordinator_email=DIGEST_TO)


def _channel(i: int) -> tuple[Channel, str, str | None]:
    if i % 13 == 5:
        return Channel.hotline, "+842438253536", None  # a landline without email: the call-back list
    if i % 7 == 3:
        return Channel.sms, f"+8498{i:07d}", None
    return Channel.web, f"+8491{i:07d}", f"cong.dan{i}@example.com"


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_year_of_cases(db: Session, engine: Engine, settings: Settings, app: Any,
                         run_worker: Callable[[], None]) -> None:
    agencies = [make_agency(db, f"bo-so-{k}", f"Bộ số {k}") for k in range(AGENCIES)]
    lives = plans()
    cases: list[Case] = []
    with at(vn(D(2025, 1, 2), 8)):
        for plan in lives:
            channel, phone, email = _channel(plan.i)
            cases.append(make_case(db, plan.i + 1, channel=channel, phone=phone, email=email,
                                   status=CaseStatus.triage))  # the coordinator forwards each on its day
        opted_out = {c.phone for c in cases if c.channel == Channel.sms and c.id and c.id % 2 == 0}
        for phone in opted_out:
            commands.opt_out(db, sender=phone)
        db.commit()
    by_day: dict[date, list[tuple[str, Plan]]] = {}
    for plan in lives:
        for what, day in (("forward", plan.forward), ("answer", plan.answer), ("pause", plan.pause),
                          ("resume", plan.resume), ("note", plan.note)):
            if day is not None and day <= LAST:
                by_day.setdefault(day, []).append((what, plan))
    months_first = {min(d for d in WORKING if d.month == m) for m in range(1, 13)}
    ways = Counter[str]()

    for day in DAYS:
        moment = vn(day, 8, 30)
        if day in months_first:  # the dispatcher's schedule claims the period and enqueues the job; RQ runs it
            with time_machine.travel(moment, tick=True), new_session(engine) as session:
                ctx = worker.context()
                assert schedule.run_due(session, ctx.queue, now=utcnow(), seen={}, schedule=CLOCK) == ["clock"]
                if day.month in (2, 3):
                    run_worker()  # the whole worker: also delivers everything pending (SMTP, Twilio fake)
                else:
                    SimpleWorker([ctx.queue], connection=ctx.redis).work(burst=True, logging_level="WARNING")
            ways["rq"] += 1
        elif day.weekday() == 0:  # as an operator would: flask --app wsgi clock tick (now = 08:30)
            with at(moment):
                result = app.test_cli_runner().invoke(args=["clock", "tick"])
                assert result.exit_code == 0, result.output
            ways["cli"] += 1
        else:
            with at(moment), new_session(engine) as session:
                run_tick(session, settings=settings, at=moment)
            ways["direct"] += 1
        actions = by_day.get(day, [])
        if not actions:
            continue
        db.expire_all()
        with at(vn(day, 10)):
            answered: list[Case] = []
            for what, plan in actions:
                case, agency = cases[plan.i], agencies[plan.i % AGENCIES]
                if what == "forward":
                    routing.forward(db, case=case, agency=agency, settings=settings, actor="coordinator1")
                elif what == "answer":
                    routing.record_answer(db, case=case, text=f"Trả lời PAKN {case.code}: đã giải quyết xong.",
                                          actor=f"agency:{agency.code}", settings=settings, replies=None)
                    if plan.delivered:
                        answered.append(case)
                elif what == "pause":
                    routing.ask_for_information(db, case=case, settings=settings, replies=None, agency=agency,
                                                actor=f"agency:{agency.code}", note="Số biên nhận hồ sơ là gì?")
                elif what == "resume":
                    assert routing.supplement(db, case=case, text="Biên nhận số 12/BN.", actor="citizen",
                                              via="SMS", settings=settings)
                elif what == "note":
                    progress.add_note(db, case=case, agency=agency, author=f"agency:{agency.code}",
                                      text="Đang xác minh tại địa phương.", settings=settings, replies=None)
            db.commit()
            for case in answered:  # the dispatcher delivers the answer right away (SMTP, Twilio fake) ...
                row = db.exec(select(OutboundMessage).where(OutboundMessage.case_id == case.id,
                                                            OutboundMessage.purpose == routing.ANSWER_PURPOSE)).first()
                if row is not None:
                    assert worker.deliver(row.id or 0) in ("sent", "suppressed")
                else:  # ... or an operator reads it to the landline caller
                    call = db.exec(select(CallBack).where(CallBack.key == f"case-{case.id}-answer-call")).one()
                    call.done_at = utcnow()
                    db.add(call)
            db.commit()

    db.expire_all()
    rows = db.exec(select(OutboundMessage)).all()
    calls = db.exec(select(CallBack)).all()
    index = {c.id: n for n, c in enumerate(cases)}

    def local(moment: Any) -> date:
        return moment.astimezone(VN_TZ).date()

    # --- overdue updates to the citizen: every one on its day, none twice, none on a day off
    sent_updates: list[tuple[int, int, date]] = []
    for key, created in [(r.idempotency_key, r.created_at) for r in rows] + [(c.key, c.created_at) for c in calls]:
        if m := re.fullmatch(r"case-(\d+)-overdue-(\d{8})-(\d+)-(sms|email|call)", key):
            sent_updates.append((index[int(m.group(1))], int(m.group(3)), local(created)))
    want_updates = set().union(*(expected_updates(p) for p in lives))
    assert len(sent_updates) == len(set(sent_updates)), "an update was sent twice"
    assert set(sent_updates) == want_updates
    assert all(working(d) for _, _, d in sent_updates)

    # --- the agency: reminders 3 working days before, on the due date, chases every 7 working days overdue
    reminders, due_day, chases = set(), set(), set()
    for row in rows:
        if m := re.fullmatch(r"case-(\d+)-a(\d+)-(\d{8})-(remind-3|remind-due|chase-(\d+))", row.idempotency_key):
            i, day = index[int(m.group(1))], local(row.created_at)
            assert row.recipient == f"pakn@bo-so-{i % AGENCIES}.gov.example" and "/agency/answer/" in row.body
            {"remind-3": reminders, "remind-due": due_day}.get(m.group(4), chases).add(
                (i, day) if not m.group(5) else (i, int(m.group(5)), day))
    want_reminders = {(p.i, add_working(p.due, -3)) for p in lives if p.kind != "closed"
                      and (p.answer is None or add_working(p.due, -3) <= p.answer)
                      and add_working(p.due, -3) > (p.resume or p.forward)}
    want_due = {(p.i, p.due) for p in lives if p.kind not in ("closed", "early")}
    assert reminders == want_reminders and due_day == want_due and chases == want_updates

    # --- one digest per agency per working day with overdue cases, to the coordinating office
    digests = Counter((r.idempotency_key, local(r.created_at)) for r in rows if r.purpose == "digest")
    assert all(n == 1 for n in digests.values()) and all(r.recipient == DIGEST_TO for r in rows
                                                         if r.purpose == "digest")
    want_digests = {(f"digest-a{agencies[p.i % AGENCIES].id}-{d:%Y%m%d}", d) for p in lives
                    if p.kind != "closed" for d in WORKING if p.due < d <= p.open_until}
    assert set(digests) == want_digests

    # --- the needs_info pause to the day, and the closures after 15 working days
    for plan in lives:
        case = cases[plan.i]
        db.refresh(case)
        if plan.kind == "resumed":
            assert case.due_at is not None and local(case.due_at) == plan.due and case.due_sequence == 2
        if plan.kind == "closed":
            assert case.status == CaseStatus.closed
            closed = db.exec(select(Event).where(Event.case_id == case.id, Event.to_status == CaseStatus.closed)).one()
            assert local(closed.at) == add_working(plan.pause, 15) and closed.actor == "clock"  # type: ignore[arg-type]
    closures = db.exec(select(Event).where(Event.to_status == CaseStatus.closed)).all()
    assert len(closures) == sum(p.kind == "closed" for p in lives)

    # --- the 2-working-day result rule: the answers not delivered in time, and only they, are on the
    # coordinator's desk (a held-back answer still goes out if the whole worker drains before its deadline)
    drains = {d for d in months_first if d.month in (2, 3)}
    alerts = {(index[a.case_id], local(a.created_at)) for a in db.exec(select(ClockAlert)).all()}
    assert alerts == {(p.i, add_working(p.answer, 3)) for p in lives
                      if p.answer is not None and not p.delivered and add_working(p.answer, 3) <= LAST
                      and not any(p.answer < d <= add_working(p.answer, 2) for d in drains)}

    # --- HUY: the overdue updates to opted-out phones are written, and suppressed at delivery
    huy = [r for r in rows if r.recipient in opted_out and r.purpose == "notice-overdue"]
    assert huy and {worker.deliver(r.id or 0) for r in huy} == {"suppressed"}
    assert all(working(local(r.created_at)) for r in rows if r.case_id and r.purpose != "forward")

    counts = Counter(r.purpose for r in rows)
    agency_rows = db.exec(select(Agency)).all()
    print(f"\nsimulated {YEAR}: {len(cases)} cases at {len(agency_rows)} agencies; ticks {dict(ways)}; "
          f"overdue updates {len(sent_updates)} ({sum(1 for c in calls if '-overdue-' in c.key)} by call-back, "
          f"{len(huy)} suppressed by HUY); reminders before {len(reminders)}, on the due date {len(due_day)}, "
          f"chases {len(chases)}; digests {len(digests)}; closures {len(closures)}; result alerts {len(alerts)}; "
          f"outbound by purpose {dict(sorted(counts.items()))}")
    assert db.exec(select(OutboundMessage).where(col(OutboundMessage.status) == OutboundStatus.failed)).first() is None
