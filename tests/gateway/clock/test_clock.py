"""The clock follows the case, and one tick applies the rules: on SQLite and PostgreSQL, real SMTP and Twilio fake."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import vobject
from sqlalchemy import Engine
from sqlmodel import Session, select

import worker
from channels.sms import parse_command
from config.settings import Settings
from gateway import commands, routing
from gateway.clock import progress
from gateway.clock.tick import run_tick
from gateway.codes import PaknCode
from gateway.constants import VN_TZ, CaseStatus, Channel, EventKind, OutboundStatus
from gateway.db import new_session
from gateway.models import Case, ClockAlert, CodeCounter, Event, OutboundMessage
from tests.conftest import SmtpServer
from tests.factories import login, make_staff
from tests.gateway.clock.kit import NAME, at, cli_tick, deliver_all, forward, keys, make_agency, make_case, vn
from tests.twilio_fake import TwilioFake

D = date


def _due(case: Case) -> date:
    assert case.due_at is not None
    return case.due_at.astimezone(VN_TZ).date()


def _ics(mail: Any) -> Any:
    part = next(p for p in mail.walk() if (p.get_filename() or "").endswith(".ics"))
    return vobject.readOne(part.get_payload(decode=True).decode())


def test_clock_follows_the_case(db: Session, settings: Settings, smtp: SmtpServer, run_worker: Callable[[], None],
                                app: Any, client: Any) -> None:
    agency, other = make_agency(db), make_agency(db, "bo-xay-dung", "Bộ Xây dựng")
    case = make_case(db, 1)
    # received by the agency on 27/01/2026: +20 days is Giao thừa, the due date moves to Mon 23/02
    forward(db, case, agency, settings, vn(D(2026, 1, 27)))
    assert _due(case) == D(2026, 2, 23) and case.due_sequence == 1
    assert deliver_all(db) == ["sent", "sent"]  # the agency's copy, and the citizen told who handles it
    told = next(m for m in smtp.messages if m["To"] == case.email)
    assert "Bộ Nông nghiệp" in told.get_body(("plain",)).get_content() and "23/02/2026" in str(told.get_content())
    first = _ics(next(m for m in smtp.messages if m["To"] != case.email))
    assert first.vtodo.sequence.value == "1" and first.vevent.dtstart.value == D(2026, 2, 23)

    # the agency asks the citizen on Thu 05/02 (18 days left): the clock pauses
    link = re.search(r"(/agency/answer/\S+)", db.exec(select(OutboundMessage.body).where(
        OutboundMessage.purpose == "forward")).one()).group(1)  # type: ignore[union-attr]
    with at(vn(D(2026, 2, 5), 10)):
        assert client.post(link, data={"action": "needs_info", "question": "ngắn"}).status_code == 400
        assert client.post(link, data={"action": "needs_info",
                                       "question": "Số biên nhận hồ sơ và ngày nộp?"}).status_code == 303
        assert "thời hạn tạm dừng" in client.get(link).text
    db.refresh(case)
    assert case.status == CaseStatus.needs_info and case.remaining_days == 18
    asked = db.exec(select(OutboundMessage).where(OutboundMessage.purpose == "notice",
                                                  OutboundMessage.recipient == case.email)).one()
    assert "Số biên nhận hồ sơ" in asked.body and "Bộ Nông nghiệp" in asked.body
    page = client.post("/lookup", data={"code": case.code, "name": NAME}).text
    assert "23/02/2026" in page and "tạm dừng" in page

    # the supplement arrives on Thu 12/02 (by the lookup page): 12/02 + 18 days = Mon 02/03
    with at(vn(D(2026, 2, 12), 15)):
        reply = client.post("/lookup/supplement", data={"code": case.code, "name": NAME,
                                                        "text": "Biên nhận số 123/BN ngày 05/01/2026."})
        assert reply.status_code == 200
    db.refresh(case)
    assert case.status == CaseStatus.forwarded and case.agency_id == agency.id
    assert _due(case) == D(2026, 3, 2) and case.due_sequence == 2 and case.remaining_days is None
    deliver_all(db)
    moved = [m for m in smtp.messages if "Hạn trả lời mới: 02/03/2026" in str(m["Subject"])]
    assert len(moved) == 1 and "Biên nhận số 123/BN" in moved[0].get_body(("plain",)).get_content()
    second = _ics(moved[0])
    assert second.vtodo.uid.value == first.vtodo.uid.value and second.vevent.uid.value == first.vevent.uid.value
    assert second.vtodo.sequence.value == "2" and second.vevent.dtstart.value == D(2026, 3, 2)

    # rerouted on Fri 13/02: the clock restarts at the new agency (13/02 + 20 = Thu 05/03)
    forward(db, case, other, settings, vn(D(2026, 2, 13)))
    assert _due(case) == D(2026, 3, 5) and case.due_sequence == 3 and case.agency_id == other.id
    notes = [e.note for e in db.exec(select(Event).where(Event.case_id == case.id,
                                                         Event.kind == EventKind.deadline)).all()]
    assert notes[0].startswith("Hạn trả lời: 23/02/2026") and "còn 18 ngày" in notes[1]
    assert "hạn mới 02/03/2026" in notes[2] and notes[3].startswith("Hạn trả lời: 05/03/2026")

    # answered, then disputed on Mon 09/03: the follow-up's own clock starts that day (+20 = Sun 29/03 -> 30/03)
    with at(vn(D(2026, 3, 2))):
        routing.record_answer(db, case=case, text="Đã cấp giấy chứng nhận ngày 01/03/2026.", actor="agency:x",
                              settings=settings, replies=None)
        db.commit()
    db.add(CodeCounter(year=26, value=98))  # past the codes the kit made by hand
    db.commit()
    with at(vn(D(2026, 3, 9))):
        follow = routing.disagree(db, case=case, reason="Chưa nhận được", actor="citizen", settings=settings)
        assert follow.code == str(PaknCode(26, 99)) and follow.status == CaseStatus.registered  # coded at once
        routing.route(db, case=follow, settings=settings, replies=None)
        db.commit()
    db.refresh(follow)
    assert follow.status == CaseStatus.forwarded and follow.agency_id == other.id
    assert _due(follow) == D(2026, 3, 30) and follow.due_sequence == 1


def test_one_tick_applies_every_rule(db: Session, settings: Settings, smtp: SmtpServer, twilio: TwilioFake,
                                     app: Any, client: Any, run_worker: Callable[[], None]) -> None:
    settings_ = settings.with_(coordinator_email="dieuphoi@pakn.example.gov.vn")
    app.extensions["pakn"].settings = settings_  # the CLI's and views' settings
    agency = make_agency(db)
    late = make_case(db, 1)  # web: email
    sms = make_case(db, 2, channel=Channel.sms, email=None, phone="+84987654321")  # SMS, and HUY
    forward(db, late, agency, settings_, vn(D(2026, 1, 27)))  # due Mon 23/02
    forward(db, sms, agency, settings_, vn(D(2026, 1, 27)))
    with at(vn(D(2026, 1, 28))):
        commands.opt_out(db, sender=sms.phone)
        db.commit()

    def tick(day: date, hour: int = 9) -> dict[str, int]:
        return run_tick(db, settings=settings_, at=vn(day, hour))

    # before 08:00, on a Saturday, on Tết: nothing at all
    assert not any(tick(D(2026, 2, 11), 7).values())
    assert not any(tick(D(2026, 2, 14)).values()) and not any(tick(D(2026, 2, 18)).values())
    # 3 working days before 23/02 is Wed 11/02 (13/02, then Tết, then 23/02)
    assert tick(D(2026, 2, 10))["reminders"] == 0
    assert tick(D(2026, 2, 11))["reminders"] == 2
    assert tick(D(2026, 2, 12))["reminders"] == 0 and tick(D(2026, 2, 23))["due_today"] == 2
    with at(vn(D(2026, 2, 25), 10)):  # the agency's interim note (from its dashboard's case page)
        make_staff(db, "agency")
        db.commit()
        login(client, "agency")
        assert client.post(f"/agency/cases/{late.id}", data={"action": "progress", "progress": "Đang xác minh hồ sơ "
                                                             "tại văn phòng đăng ký đất đai."}).status_code == 303
    # overdue: 24/02, 25/02, 26/02, 27/02, 02/03, 03/03, 04/03 -> 7 working days late on Wed 04/03
    for day in (D(2026, 2, 24), D(2026, 2, 25), D(2026, 2, 26), D(2026, 2, 27), D(2026, 3, 2), D(2026, 3, 3)):
        counts = tick(day)
        assert (counts["digests"], counts["updates"], counts["chases"]) == (1, 0, 0), (day, counts)
    assert cli_tick(app, "--at", "2026-03-04T09:30") == {"reminders": 0, "due_today": 0, "chases": 2, "updates": 2,
                                                          "digests": 1, "closures": 0, "alerts": 0}
    assert not any(cli_tick(app, "--at", "2026-03-04T09:30").values())  # the same moment again
    assert not any(cli_tick(app, "--at", "2026-03-04T16:00", "--force").values())  # the rules again: no double
    db.expire_all()
    assert keys(db, like="%-overdue-%") == [f"case-{late.id}-overdue-20260223-1-email",
                                            f"case-{sms.id}-overdue-20260223-1-sms"]
    assert len(keys(db, like="digest-%")) == 7 and len(keys(db, like="%-chase-%")) == 2
    smtp.messages.clear()
    assert sorted(deliver_all(db)) == ["sent"] * (len(keys(db)) - 1) + ["suppressed"]  # HUY
    update = next(m for m in smtp.messages if m["To"] == late.email and "quá hạn" in str(m["Subject"]))
    body = update.get_body(("plain",)).get_content()
    assert "quá hạn trả lời 7 ngày làm việc (hạn 23/02/2026)" in body and "Đang xác minh hồ sơ" in body
    chase = next(m for m in smtp.messages if "Đôn đốc" in str(m["Subject"]) and late.code in str(m["Subject"]))
    text = chase.get_body(("plain",)).get_content()
    assert "/agency/answer/" in text and "Ngày chuyển đến Quý cơ quan: 27/01/2026" in text
    assert "Cập nhật gần nhất của Quý cơ quan (25/02/2026): Đang xác minh hồ sơ" in text
    digests = [m for m in smtp.messages if m["To"] == "dieuphoi@pakn.example.gov.vn"]
    assert len(digests) == 7 and all("Bộ Nông nghiệp và Môi trường: 2 PAKN quá hạn" in str(m["Subject"])
                                     for m in digests)
    last = next(m for m in digests if "04/03/2026" in str(m["Subject"])).get_body(("plain",)).get_content()
    assert f"- {late.code} | hạn 23/02/2026 | quá hạn 7 ngày làm việc" in last
    assert twilio.to(sms.phone) == []  # opted out

    bad = app.test_cli_runner().invoke(args=["clock", "tick", "--at", "04/03/2026"])
    assert bad.exit_code == 2 and "ISO" in bad.output
    days = app.test_cli_runner().invoke(args=["clock", "days", "2026"]).output.splitlines()
    assert "22/08/2026 Sat làm việc  Làm bù cho thứ Hai 31/08/2026" in days and len(days) == 14

    # overdue everywhere: lookup, TC by SMS, the agency's dashboard
    with at(vn(D(2026, 3, 4), 11)):
        page = client.post("/lookup", data={"code": late.code, "name": NAME}).text
        assert "23/02/2026" in page and "quá hạn 7 ngày làm việc" in page and "Đang xác minh hồ sơ" in page
        reply = commands.execute(db, command=parse_command(f"TC {sms.code}"), sender=sms.phone, settings=settings_)
        assert "Hạn trả lời 23/02/2026, quá hạn 7 ngày làm việc" in reply
        login(client, "agency")  # a week later: a new session
        dashboard = client.get("/agency/").text
        assert dashboard.count("quá hạn 7 ngày làm việc") == 2


def test_needs_info_closure_and_the_result_rule(db: Session, settings: Settings, smtp: SmtpServer, app: Any,
                                                client: Any, run_worker: Callable[[], None]) -> None:
    agency = make_agency(db)
    waiting = make_case(db, 1)
    with at(vn(D(2026, 3, 2), 10)):  # the coordinating office asks on Mon 02/03
        routing.ask_for_information(db, case=waiting, settings=settings, replies=None, actor="coordinator1")
        db.commit()
    # 15 working days later: Mon 23/03
    assert run_tick(db, settings=settings, at=vn(D(2026, 3, 20)))["closures"] == 0
    assert run_tick(db, settings=settings, at=vn(D(2026, 3, 23)))["closures"] == 1
    db.refresh(waiting)
    assert waiting.status == CaseStatus.closed
    closed = db.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key ==
                                                   f"case-{waiting.id}-info-closed-email")).one()
    assert "PA <nội dung>" in closed.body and waiting.code in closed.body  # how to come back

    # answered Thu 05/03; the answer must reach the citizen by Mon 09/03
    on_time, undelivered = make_case(db, 2), make_case(db, 3)
    for case in (on_time, undelivered):
        forward(db, case, agency, settings, vn(D(2026, 2, 27)))
        with at(vn(D(2026, 3, 5), 14)):
            routing.record_answer(db, case=case, text="Kết quả: đã cấp giấy chứng nhận.", actor="agency:x",
                                  settings=settings, replies=None)
            db.commit()
    with at(vn(D(2026, 3, 6))):
        answer = db.exec(select(OutboundMessage).where(OutboundMessage.case_id == on_time.id,
                                                       OutboundMessage.purpose == routing.ANSWER_PURPOSE)).one()
        assert worker.deliver(answer.id or 0) == "sent"
    db.expire_all()  # delivered by the worker's own session
    assert run_tick(db, settings=settings, at=vn(D(2026, 3, 9), 16))["alerts"] == 0
    assert run_tick(db, settings=settings, at=vn(D(2026, 3, 10)))["alerts"] == 1
    alert = db.exec(select(ClockAlert)).one()
    assert alert.case_id == undelivered.id and "09/03/2026" in alert.note and "pending" in alert.note
    assert run_tick(db, settings=settings, at=vn(D(2026, 3, 11)))["alerts"] == 0
    with at(vn(D(2026, 3, 10), 10)):
        make_staff(db, "coordinator")
        db.commit()
        login(client, "coordinator")
        queue = client.get("/coordinator/").text
        assert "Cảnh báo thời hạn (1)" in queue and undelivered.code in queue
        assert client.post(f"/coordinator/alerts/{alert.id}/resolve").status_code == 303
        assert "Cảnh báo thời hạn" not in client.get("/coordinator/").text
    db.refresh(alert)
    assert alert.resolved_by == "coordinator1"


def test_progress_note_by_the_answer_link(db: Session, settings: Settings, smtp: SmtpServer, client: Any,
                                          run_worker: Callable[[], None]) -> None:
    agency = make_agency(db)
    case = make_case(db, 1, channel=Channel.sms, email=None)
    forward(db, case, agency, settings, vn(D(2026, 3, 2)))
    link = re.search(r"(/agency/answer/\S+)", db.exec(select(OutboundMessage.body).where(
        OutboundMessage.purpose == "forward")).one()).group(1)  # type: ignore[union-attr]
    with at(vn(D(2026, 3, 3), 10)):
        assert client.post(link, data={"action": "progress", "progress": "ngắn"}).status_code == 400
        assert client.post(link, data={"action": "progress",
                                       "progress": "Đã chuyển Sở Nông nghiệp xác minh."}).status_code == 303
    db.refresh(case)
    assert case.status == CaseStatus.forwarded  # not closed
    assert [n.text for n in progress.notes(db, case_id=case.id or 0)] == ["Đã chuyển Sở Nông nghiệp xác minh."]
    sms = db.exec(select(OutboundMessage).where(OutboundMessage.purpose == progress.PROGRESS_PURPOSE)).one()
    assert sms.channel == Channel.sms and "Da chuyen So Nong nghiep xac minh" in sms.body
    assert sms.status == OutboundStatus.pending and sms.idempotency_key == f"case-{case.id}-progress-1-sms"
    with at(vn(D(2026, 3, 4), 10)):
        assert "Đã chuyển Sở Nông nghiệp" in client.get(link).text
        assert "Đã chuyển Sở Nông nghiệp" in client.post("/lookup", data={"code": case.code,
                                                                                  "name": case.phone}).text


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_ticks_write_each_message_once(db: Session, engine: Engine, settings: Settings) -> None:
    """Two workers (or a worker and an operator) ticking at the same moment: one message per key."""
    agency = make_agency(db)
    for seq in range(1, 21):
        case = make_case(db, seq, channel=Channel.sms if seq % 2 else Channel.web, email=None if seq % 2 else
                         f"c{seq}@example.com", phone=f"+849876543{seq:02d}")
        forward(db, case, agency, settings.with_(coordinator_email="dp@example.gov.vn"), vn(D(2026, 1, 27)))
        if seq % 5 == 0:
            with at(vn(D(2026, 2, 2))):
                routing.ask_for_information(db, case=case, settings=settings, replies=None, actor="x")
                db.commit()
    moment = vn(D(2026, 3, 4), 9)
    barrier = threading.Barrier(3)
    results: list[dict[str, int]] = []

    def tick() -> None:
        with new_session(engine) as session:
            barrier.wait()
            results.append(run_tick(session, settings=settings.with_(coordinator_email="dp@example.gov.vn"),
                                    at=moment, force=True))

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 3
    total = {name: sum(r[name] for r in results) for name in results[0]}
    assert total["updates"] == 16 and total["chases"] == 16 and total["digests"] == 1 and total["closures"] == 4
    rows = db.exec(select(OutboundMessage.idempotency_key)).all()
    assert len(rows) == len(set(rows))
    assert len([k for k in rows if "-overdue-" in k]) == 16 and len([k for k in rows if k.startswith("digest-")]) == 1
