"""SMS 8088 end to end: signed webhooks, commands, replies through the local Twilio fake."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

import worker
from config.settings import ROOT, Settings
from gateway import cases, create_app
from gateway.codes import parse
from gateway.constants import CaseStatus, Channel, EventKind, OutboundStatus
from gateway.dispatch import dispatch_once
from gateway.models import CallBack, Case, Event, InboundMessage, OutboundMessage, SmsOptOut, utcnow
from normalizer.text import is_gsm7, segments
from tests.conftest import SmtpServer
from tests.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, TwilioFake

PHONE = "+84912345678"
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
PA_TEXT = "PA Cán bộ một cửa phường Láng Hạ hẹn trả sổ đỏ 3 lần vẫn chưa có, đề nghị kiểm tra"


def _params(body: str, sender: str = PHONE, sid: str | None = None) -> dict[str, str]:
    return {"MessageSid": sid or f"SM{uuid.uuid4().hex}", "AccountSid": ACCOUNT_SID, "From": sender,
            "To": "8088", "Body": body, "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}


def _signed_post(client: Any, url: str, path: str, params: Any, token: str = AUTH_TOKEN) -> Any:
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def text(client: Any, settings: Settings) -> Callable[..., Any]:
    """Send a text to 8088 as Twilio would (signed)."""

    def send(body: str, *, sender: str = PHONE, sid: str | None = None) -> Any:
        response = _signed_post(client, settings.public_base_url + "/sms/inbound", "/sms/inbound",
                                _params(body, sender, sid))
        assert response.status_code == 200, response.text
        assert response.text == TWIML and response.mimetype == "text/xml"
        return response

    return send


def _last_reply(twilio: TwilioFake, phone: str = PHONE) -> str:
    replies = twilio.to(phone)
    assert replies, "no SMS was sent"
    return replies[-1].body


def _case(db: Session) -> Case:
    return db.exec(select(Case).order_by(Case.id.desc())).first()  # type: ignore[union-attr]


# --- signatures -------------------------------------------------------------------

def test_twilio_published_vectors() -> None:
    """The vectors from twilio-python's own tests (auth token 12345)."""
    validator = RequestValidator("12345")
    uri = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309", "To": "+18005551212",
              "Caller": "+14158675309"}
    assert validator.compute_signature(uri, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.validate(uri, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert validator.validate(uri.replace(".com", ".com:1234"), params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert validator.validate(uri, params, "kvajT1Ptam85bY51eRf/AJRuM3w=")  # signed with :443
    duplicates = MultiDict([("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")])
    assert validator.compute_signature(uri, duplicates) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    body = '{"property": "value", "boolean": true}'
    body_hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    assert validator.compute_hash(body) == body_hash
    assert validator.validate(uri + "&bodySHA256=" + body_hash, body, "a9nBmqA0ju/hNViExpshrM61xv4=")


@pytest.mark.parametrize(
    ("public", "signed_as", "query", "repeated"),
    [
        ("https://pakn.example.gov.vn", "https://pakn.example.gov.vn", "", False),
        ("https://pakn.example.gov.vn", "https://pakn.example.gov.vn:443", "", False),  # Twilio added the port
        ("https://pakn.example.gov.vn:8443", "https://pakn.example.gov.vn:8443", "", False),  # explicit port
        ("https://gw.example.gov.vn/pakn", "https://gw.example.gov.vn/pakn", "", False),  # proxy path prefix
        ("https://pakn.example.gov.vn", "https://pakn.example.gov.vn", "?tenant=hn&v=2", False),
        ("https://pakn.example.gov.vn", "https://pakn.example.gov.vn", "", True),
    ],
)
def test_signed_requests_behind_a_proxy_are_accepted(settings: Settings, db: Session, public: str, signed_as: str,
                                                     query: str, repeated: bool) -> None:
    app = create_app(settings.with_(public_base_url=public))
    params: Any = _params(PA_TEXT)
    if repeated:
        params = MultiDict([*params.items(), ("MediaUrl0", "https://a/1"), ("MediaUrl0", "https://a/0")])
    response = _signed_post(app.test_client(), f"{signed_as}/sms/inbound{query}", f"/sms/inbound{query}", params)
    assert response.status_code == 200
    assert db.exec(select(Case)).one().channel == Channel.sms
    app.extensions["pakn"].engine.dispose()


def test_bad_signatures_are_refused_and_nothing_is_stored(client: Any, settings: Settings, db: Session) -> None:
    url = settings.public_base_url + "/sms/inbound"
    params = _params(PA_TEXT)
    assert client.post("/sms/inbound", data=params).status_code == 403  # no header
    assert _signed_post(client, url, "/sms/inbound", params, token="wrong-token").status_code == 403
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    tampered = {**params, "Body": "PA noi dung da bi sua doi tren duong truyen"}
    assert client.post("/sms/inbound", data=tampered, headers={"X-Twilio-Signature": signature}).status_code == 403
    http_url = url.replace("https://", "http://")  # signed for another URL
    assert _signed_post(client, http_url, "/sms/inbound", params).status_code == 403
    assert _signed_post(client, url + "?x=1", "/sms/inbound", params).status_code == 403
    assert db.exec(select(InboundMessage)).all() == [] and db.exec(select(Case)).all() == []


# --- the main path ------------------------------------------------------------------

def test_text_in_code_out_then_status(text: Callable[..., Any], run_worker: Callable[[], None], twilio: TwilioFake,
                                      db: Session, settings: Settings) -> None:
    text(PA_TEXT)
    case = _case(db)
    assert (case.channel, case.phone, case.status) == (Channel.sms, PHONE, CaseStatus.received)
    assert case.title.startswith("Cán bộ một cửa phường Láng Hạ") and case.content == PA_TEXT[3:]
    run_worker()
    db.refresh(case)
    code = case.code or ""
    assert str(parse(code)) == code
    [sms] = twilio.to(PHONE)
    assert sms.from_ == "8088" and sms.status_callback == "https://pakn.example.gov.vn/sms/status"
    assert code in sms.body and f"TC {code}" in sms.body and "lookup?code=" + code in sms.body
    assert sms.body.startswith("Da tiep nhan PAKN") and sms.encoding == "GSM-7" and sms.segments <= 2
    outbound = db.exec(select(OutboundMessage)).one()
    assert (outbound.status, outbound.provider_id) == (OutboundStatus.sent, sms.sid)
    for spelling in (code, code.replace("-", ""), code.replace("-", "."), "PAKN " + code.replace("-", " ")):
        text(f"tc {spelling}")
        run_worker()
        reply = _last_reply(twilio)
        assert reply.startswith(f"PAKN {code}: Dang phan loai."), reply
        assert is_gsm7(reply) and segments(reply) == 1
    assert len(twilio.to(PHONE)) == 5


def test_a_command_is_answered_by_its_own_job(text: Callable[..., Any], run_worker: Callable[[], None],
                                              twilio: TwilioFake, db: Session, settings: Settings,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """No second job for the reply: it is at Twilio when handle_sms returns, and a rerun sends nothing.
    Before Twilio is called, the reply is committed as being sent (a kill then cannot send it twice)."""
    text(PA_TEXT)
    run_worker()
    code = _case(db).code
    text(f"TC {code}")
    inbound_id = db.exec(select(InboundMessage.id).where(InboundMessage.command == "TC")).one()
    ctx = worker.configure(settings)
    ctx.queue.empty()
    sms_sender, marks = ctx.senders[Channel.sms], []
    real_send = sms_sender.send

    def send_and_look(message: Any) -> Any:
        with Session(db.get_bind()) as other:  # what a second worker would see now
            marks.append(other.exec(select(OutboundMessage.sending_since)
                                    .where(OutboundMessage.purpose == "reply")).one())
        return real_send(message)

    monkeypatch.setattr(sms_sender, "send", send_and_look)
    assert worker.handle_sms(inbound_id or 0) == "handled"
    assert len(marks) == 1 and marks[0] is not None
    assert _last_reply(twilio).startswith(f"PAKN {code}: ") and ctx.queue.count == 0
    reply = db.exec(select(OutboundMessage).where(OutboundMessage.purpose == "reply")).one()
    assert reply.status == OutboundStatus.sent and reply.attempts == 1
    assert worker.handle_sms(inbound_id or 0) == "done" and len(twilio.to(PHONE)) == 2  # ack + one reply
    ctx.engine.dispose()


def test_old_eleven_digit_number_is_renumbered(text: Callable[..., Any], run_worker: Callable[[], None],
                                               twilio: TwilioFake, db: Session) -> None:
    text(PA_TEXT, sender="+841623456789")
    run_worker()
    assert _case(db).phone == "+84323456789"
    assert len(twilio.to("+84323456789")) == 1


def test_free_text_threads_for_two_minutes(text: Callable[..., Any], run_worker: Callable[[], None],
                                           twilio: TwilioFake, db: Session) -> None:
    text("Đường Nguyễn Trãi đoạn trước số 200 bị đào lên từ tháng 8")
    text("mà đến nay vẫn chưa hoàn trả mặt đường, xe máy ngã liên tục")  # the gateway split the text
    run_worker()
    case = db.exec(select(Case)).one()
    assert "tháng 8\nmà đến nay" in case.content
    [ack] = twilio.to(PHONE)
    assert "(gom 2 tin nhan)" in ack.body and "Lan sau soan: PA <noi dung> gui 8088." in ack.body
    assert segments(ack.body) <= 2
    text("Xin gửi thêm: đoạn đường này gần trường tiểu học")  # after the acknowledgment
    run_worker()
    assert _last_reply(twilio) == f"Da ghi them noi dung vao PAKN {case.code}."
    assert len(db.exec(select(Case)).all()) == 1
    text("PA Một việc khác: đèn đường ngõ 5 Tây Sơn hỏng cả tháng nay")  # explicit PA: a new case
    assert len(db.exec(select(Case)).all()) == 2
    for row in db.exec(select(InboundMessage)).all():  # three minutes later
        row.received_at = row.received_at - timedelta(minutes=3)
        db.add(row)
    db.commit()
    text("Thêm một phản ánh mới về việc thu phí trông xe ở chợ")
    assert len(db.exec(select(Case)).all()) == 3
    events = db.exec(select(Event).where(Event.kind == EventKind.supplement)).all()
    assert len(events) == 2


def test_ten_copies_at_once_make_one_case_one_sms(app: Any, run_worker: Callable[[], None], twilio: TwilioFake,
                                                  db: Session, settings: Settings) -> None:
    params = _params(PA_TEXT, sid="SM" + "d" * 32)
    url = settings.public_base_url + "/sms/inbound"
    statuses: list[int] = []

    def post() -> None:
        statuses.append(_signed_post(app.test_client(), url, "/sms/inbound", params).status_code)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 10
    run_worker()
    assert len(db.exec(select(Case)).all()) == 1
    assert len(db.exec(select(InboundMessage)).all()) == 1
    assert len(twilio.to(PHONE)) == 1
    _signed_post(app.test_client(), url, "/sms/inbound", params)  # Twilio retries later
    run_worker()
    assert len(twilio.to(PHONE)) == 1


def test_redis_down_during_the_webhook(settings: Settings, private_redis: Any, twilio: TwilioFake,
                                       db: Session) -> None:
    own = settings.with_(redis_url=private_redis.url)
    app = create_app(own)
    private_redis.stop()
    for body in (PA_TEXT, "HD"):
        response = _signed_post(app.test_client(), own.public_base_url + "/sms/inbound", "/sms/inbound",
                                _params(body))
        assert response.status_code == 200  # stored; Twilio is answered
    private_redis.start()
    ctx = worker.configure(own)
    assert dispatch_once(ctx.engine, ctx.queue) == {"case": 1, "sms": 1}
    worker.drain(ctx)
    replies = twilio.to(PHONE)
    assert len(replies) == 2 and any(_case(db).code in r.body for r in replies)
    assert any(r.body.startswith("PAKN 8088: PA <noi dung>") for r in replies)
    ctx.engine.dispose()
    app.extensions["pakn"].engine.dispose()


def test_worker_killed_while_twilio_answers_sends_once(text: Callable[..., Any], twilio: TwilioFake,
                                                       settings: Settings, db: Session, redis_conn: Any) -> None:
    text(PA_TEXT)
    twilio.delay_next(60)  # Twilio takes the message, then the worker dies waiting for the answer
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url or "",
               SECRET_KEY=settings.secret_key, INSTANCE_PATH=str(settings.instance_path),
               SMTP_URL=settings.smtp_url or "", PUBLIC_BASE_URL=settings.public_base_url,
               TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_API_BASE=twilio.url)
    proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "--burst"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if twilio.sent:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert len(twilio.sent) == 1
    row = db.exec(select(OutboundMessage)).one()
    assert row.status == OutboundStatus.pending and row.sending_since is not None
    ctx = worker.configure(settings)
    assert worker.deliver(row.id or 0) == "busy"  # as far as anyone can tell, it is still being sent
    row.sending_since = (row.sending_since or utcnow()) - worker.SEND_STALE  # a minute later: the sender died
    db.add(row)
    db.commit()
    assert worker.deliver(row.id or 0) == "sent"  # the retry asks Twilio instead of sending again
    db.refresh(row)
    assert len(twilio.sent) == 1
    assert (row.status, row.provider_id, row.sending_since) == (OutboundStatus.sent, twilio.sent[0].sid, None)
    ctx.engine.dispose()


# --- Twilio failures --------------------------------------------------------------

@pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, 20500), (503, 20503)])
def test_transient_twilio_errors_are_retried(text: Callable[..., Any], run_worker: Callable[[], None],
                                             twilio: TwilioFake, db: Session, status: int, code: int,
                                             time_passes: Callable[[], None]) -> None:
    twilio.fail_next(status, code)
    text(PA_TEXT)
    run_worker()
    row = db.exec(select(OutboundMessage)).one()
    assert row.status == OutboundStatus.pending and row.attempts == 1 and str(status) in (row.last_error or "")
    time_passes()
    run_worker()
    db.refresh(row)
    assert row.status == OutboundStatus.sent and row.attempts == 2
    assert len(twilio.to(PHONE)) == 1


def test_permanent_failure_goes_to_the_callback_list(text: Callable[..., Any], run_worker: Callable[[], None],
                                                     twilio: TwilioFake, db: Session) -> None:
    twilio.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    text(PA_TEXT)
    run_worker()
    row = db.exec(select(OutboundMessage)).one()
    assert row.status == OutboundStatus.failed and row.attempts == 1
    entry = db.exec(select(CallBack)).one()
    assert entry.phone == PHONE and entry.case_id == row.case_id and "21610" in entry.reason
    kinds = [e.kind for e in db.exec(select(Event))]
    assert EventKind.message_failed in kinds and EventKind.callback in kinds


def test_permanent_failure_falls_back_to_email(text: Callable[..., Any], run_worker: Callable[[], None],
                                               twilio: TwilioFake, smtp: SmtpServer, db: Session) -> None:
    text(PA_TEXT)
    case = _case(db)
    case.email = "citizen@example.com"  # e.g. given to a hotline operator
    db.add(case)
    db.commit()
    twilio.fail_next(400, 21211, "Invalid 'To' Phone Number")
    run_worker()
    db.refresh(case)
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "citizen@example.com"
    assert case.code in smtp.messages[0].get_payload(decode=True).decode()
    assert db.exec(select(CallBack)).all() == []


# --- delivery status callbacks -------------------------------------------------

def test_status_callbacks_move_forward_only(client: Any, text: Callable[..., Any], run_worker: Callable[[], None],
                                            twilio: TwilioFake, db: Session, settings: Settings) -> None:
    text(PA_TEXT)
    run_worker()
    sid = twilio.sent[0].sid
    url = settings.public_base_url + "/sms/status"

    def report(state: str, message_sid: str = sid, error: str | None = None) -> int:
        params = {"MessageSid": message_sid, "MessageStatus": state, "AccountSid": ACCOUNT_SID, "To": PHONE}
        if error:
            params["ErrorCode"] = error
        return int(_signed_post(client, url, "/sms/status", params).status_code)

    assert client.post("/sms/status", data={"MessageSid": sid, "MessageStatus": "failed"}).status_code == 403
    row = db.exec(select(OutboundMessage)).one()
    for state, expected in [("sent", "sent"), ("delivered", "delivered"), ("sent", "delivered"),
                            ("queued", "delivered"), ("delivered", "delivered")]:
        assert report(state) == 204
        db.refresh(row)
        assert (row.provider_status, row.status) == (expected, OutboundStatus.delivered if expected == "delivered"
                                                     else OutboundStatus.sent)
    assert report("delivered", message_sid="SM" + "0" * 32) == 204  # unknown message: ignored
    text("TC")
    run_worker()
    assert report("undelivered", message_sid=twilio.sent[-1].sid, error="30005") == 204
    assert report("undelivered", message_sid=twilio.sent[-1].sid, error="30005") == 204  # repeated
    reply = db.exec(select(OutboundMessage).where(OutboundMessage.provider_id == twilio.sent[-1].sid)).one()
    assert reply.status == OutboundStatus.failed and "30005" in (reply.last_error or "")
    assert len(db.exec(select(CallBack)).all()) == 1


# --- commands ---------------------------------------------------------------------

def _coded_case(text: Callable[..., Any], run_worker: Callable[[], None], db: Session) -> Case:
    text(PA_TEXT)
    run_worker()
    return _case(db)


def test_status_errors_and_lists(text: Callable[..., Any], run_worker: Callable[[], None], twilio: TwilioFake,
                                 db: Session) -> None:
    text("TC")
    run_worker()
    assert _last_reply(twilio).startswith("So dien thoai nay chua gui PAKN nao.")
    case = _coded_case(text, run_worker, db)
    code = case.code or ""
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    for body, expected in [
        (f"TC {mistyped}", f"Ma {mistyped} co ve bi go nham"),
        ("TC 26-0000", "Ma PAKN khong dung dang."),
        (f"TC {code[:3]}{int(code[3:9]) + 1:06d}-0", "Ma "),
        ("TC", f"PAKN cua so nay: {code} Dang phan loai"),
    ]:
        text(body)
        run_worker()
        assert _last_reply(twilio).startswith(expected), (body, _last_reply(twilio))
    text(f"TC {code}", sender="+84987654321")  # someone else's case reads like no case
    run_worker()
    assert _last_reply(twilio, "+84987654321") == f"Khong tim thay PAKN {code} gui tu so dien thoai nay."


def test_supplement(text: Callable[..., Any], run_worker: Callable[[], None], twilio: TwilioFake,
                    db: Session) -> None:
    case = _coded_case(text, run_worker, db)
    cases.transition(db, case=case, to=CaseStatus.needs_info, actor="coordinator", note="Thiếu địa chỉ")
    db.commit()
    text(f"BS {case.code} Địa chỉ: số 8 ngõ 12 Láng Hạ, Đống Đa")
    run_worker()
    db.refresh(case)
    assert _last_reply(twilio) == f"Da bo sung noi dung vao PAKN {case.code}."
    assert case.status == CaseStatus.triage and "số 8 ngõ 12 Láng Hạ" in case.content  # back in, routed again
    text(f"BS {case.code}")
    run_worker()
    assert _last_reply(twilio).startswith("Vui long nhap noi dung bo sung")
    cases.transition(db, case=case, to=CaseStatus.closed, actor="t")  # it was routed to triage
    db.commit()
    text(f"BS {case.code} thêm nội dung")
    run_worker()
    assert _last_reply(twilio).startswith(f"PAKN {case.code} da ket thuc, khong the bo sung.")


def _answered(db: Session, case: Case) -> None:
    for status in (CaseStatus.forwarded, CaseStatus.answered):
        cases.transition(db, case=case, to=status, actor="test")
    db.commit()


def test_rating_and_disagreement(text: Callable[..., Any], run_worker: Callable[[], None], twilio: TwilioFake,
                                 db: Session) -> None:
    case = _coded_case(text, run_worker, db)
    code = case.code
    text(f"DG {code} 5")
    run_worker()
    assert _last_reply(twilio) == f"PAKN {code} chua co ket qua tra loi de danh gia."
    _answered(db, case)
    for body, expected in [(f"DG {code} 9", "Diem danh gia phai tu 1 den 5"), (f"DG {code}", "Diem danh gia"),
                           (f"DG {code} ²", "Diem danh gia phai tu 1 den 5"),  # isdigit() but not int()
                           (f"dg {code} 4/5", f"Cam on Ong/Ba da danh gia 4/5 cho ket qua PAKN {code}."),
                           (f"KDY {code}", "Vui long neu ly do"),
                           (f"KDY {code} Tra loi chua dung quy dinh ve thoi han", "Da ghi nhan y kien khong dong y")]:
        text(body)
        run_worker()
        assert _last_reply(twilio).startswith(expected), body
    db.refresh(case)
    assert case.rating == 4 and case.status == CaseStatus.reopened
    note = db.exec(select(Event).where(Event.to_status == CaseStatus.reopened)).one().note or ""
    assert "Tra loi chua dung quy dinh" in note


def test_disagreement_after_thirty_days_is_refused(text: Callable[..., Any], run_worker: Callable[[], None],
                                                    twilio: TwilioFake, db: Session) -> None:
    case = _coded_case(text, run_worker, db)
    _answered(db, case)
    answered = db.exec(select(Event).where(Event.to_status == CaseStatus.answered)).one()
    answered.at = answered.at - timedelta(days=31)
    db.add(answered)
    db.commit()
    text(f"KDY {case.code} khong dong y")
    run_worker()
    assert _last_reply(twilio).startswith("Da qua 30 ngay")
    db.refresh(case)
    assert case.status == CaseStatus.answered


def test_stop_and_start_notifications(text: Callable[..., Any], run_worker: Callable[[], None],
                                      twilio: TwilioFake, db: Session, settings: Settings) -> None:
    case = _coded_case(text, run_worker, db)
    text("HUY")
    run_worker()
    assert _last_reply(twilio).startswith("Da dung gui tin bao PAKN toi so nay.")
    assert db.get(SmsOptOut, PHONE) is not None
    from gateway import outbox
    notice = outbox.put(db, key="test-notice-1", channel=Channel.sms, purpose="notice-overdue", recipient=PHONE,
                        body="PAKN dang duoc xu ly", case_id=case.id)
    db.commit()
    sent_before = len(twilio.sent)
    worker.configure(settings)
    assert worker.deliver(notice.id or 0) == "suppressed"
    assert len(twilio.sent) == sent_before
    text(f"TC {case.code}")  # the citizen still gets answers to what they ask
    run_worker()
    assert _last_reply(twilio).startswith(f"PAKN {case.code}:")
    text("DK")
    run_worker()
    assert _last_reply(twilio) == "Da dang ky lai nhan tin bao PAKN qua tin nhan."
    second = outbox.put(db, key="test-notice-2", channel=Channel.sms, purpose="notice-overdue", recipient=PHONE,
                        body="PAKN dang duoc xu ly", case_id=case.id)
    db.commit()
    assert worker.deliver(second.id or 0) == "sent"


def test_a_flood_is_stored_but_not_all_answered(app: Any, run_worker: Callable[[], None], twilio: TwilioFake,
                                                settings: Settings, db: Session) -> None:
    limited = settings.with_(sms_reply_limit=(3, 3600))
    worker.configure(limited)
    client = app.test_client()
    for _ in range(6):
        _signed_post(client, settings.public_base_url + "/sms/inbound", "/sms/inbound", _params("HD"))
    worker.drain(worker.context())
    assert len(db.exec(select(InboundMessage)).all()) == 6
    assert len(twilio.to(PHONE)) == 3
    assert all(row.handled_at is not None for row in db.exec(select(InboundMessage)))


@pytest.mark.parametrize("body", ["", "   ", "ok"])
def test_empty_or_tiny_texts_get_help(text: Callable[..., Any], run_worker: Callable[[], None], twilio: TwilioFake,
                                      db: Session, body: str) -> None:
    text(body)
    run_worker()
    assert db.exec(select(Case)).all() == []
    reply = _last_reply(twilio)
    assert reply.startswith("PAKN 8088: PA <noi dung>") or reply.startswith("Noi dung qua ngan")
    assert segments(reply) <= 2


def test_the_longest_text_twilio_delivers(text: Callable[..., Any], run_worker: Callable[[], None],
                                          twilio: TwilioFake, db: Session) -> None:
    body = "PA " + ("Hồ sơ chuyển mục đích sử dụng đất của gia đình tôi bị trả lại nhiều lần. " * 30)[:1597]
    assert len(body) == 1600
    text(body)
    run_worker()
    case = _case(db)
    assert case.content == body[3:].strip()  # nothing lost
    assert len(case.title) <= 82 and case.title.endswith(" …")
    ack = _last_reply(twilio)
    assert case.code in ack and segments(ack) <= 2
    assert re.search(r"https://pakn\.example\.gov\.vn/lookup\?code=\d{2}-\d{6}-\d", ack)
