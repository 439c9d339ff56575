"""Issue 8's reproducers: external ids accepted once, retries with one effect, double posts, frozen Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from config.settings import Settings
from gateway import cases, create_app
from gateway.constants import CaseStatus, Channel
from gateway.models import Case, Event, InboundMessage, OutboundMessage, SmsOptOut
from gateway.queue import breaker_for
from tests.conftest import SmtpServer
from tests.factories import CALL, fields, login, make_staff
from tests.test_sms import PA_TEXT, PHONE, _params, _signed_post
from tests.twilio_fake import TwilioFake

KEY = {"X-Api-Key": "test-key-1"}


def _count(db: Session, model: Any) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


# --- a refused attempt does not take the external id ------------------------------

def test_hotline_call_saved_after_a_validation_error(client: Any, db: Session) -> None:
    make_staff(db, "operator")
    login(client, "operator")
    refused = client.post("/hotline/calls/new", data={"call_id": "1700000000.7", "caller": "0912345678",
                                                      **{**CALL, "transcript": ""}})
    assert refused.status_code == 400 and CALL["caller_name"] in refused.text  # the typing is kept
    saved = client.post("/hotline/calls/new", data={"call_id": "1700000000.7", "caller": "0912345678", **CALL})
    assert saved.status_code == 303
    again = client.post("/hotline/calls/new", data={"call_id": "1700000000.7", "caller": "0912345678", **CALL})
    assert again.status_code == 409  # accepted once: the second save links to the first
    assert _count(db, Case) == 1
    evidence = db.exec(select(InboundMessage).where(InboundMessage.external_id == "1700000000.7")).all()
    assert sorted(row.accepted for row in evidence) == [False, True]  # the refusal is kept as evidence


def test_api_idempotency_key_refused_once_then_accepted(client: Any, db: Session) -> None:
    headers = {**KEY, "Idempotency-Key": "order-778"}
    bad = client.post("/api/v1/reports", json=fields(content="ngắn"), headers=headers)
    assert bad.status_code == 400 and "content" in bad.json["fields"]
    good = client.post("/api/v1/reports", json=fields(), headers=headers)
    assert good.status_code == 202
    replay = client.post("/api/v1/reports", json=fields(), headers=headers)
    assert replay.status_code == 200 and replay.json["duplicate"] and replay.json["receipt"] == good.json["receipt"]
    assert _count(db, Case) == 1


def test_call_log_import_run_again_after_fixing_a_row(app: Any, db: Session, tmp_path: Any) -> None:
    header = "call_id,started_at,caller,caller_name,address,email,title,transcript\n"
    good = ('1700000001.1,2026-11-22 08:00:00,0912345678,Trần Văn Bình,"Số 3 Hàng Bài, Hà Nội",,'
            'Chậm cấp phép xây dựng,"Tôi nộp hồ sơ xin phép xây dựng từ tháng 8 nhưng chưa có kết quả"\n')
    broken = '1700000001.2,2026-11-22 08:05:00,0987654321,Lê Thị Cúc,"Hà Nội",,Đường ngập,"quá ngắn"\n'
    fixed = broken.replace("quá ngắn", "Đường ngõ 12 ngập nặng mỗi khi mưa, đề nghị kiểm tra hệ thống thoát nước")
    runner = app.test_cli_runner()
    first = tmp_path / "calls.csv"
    first.write_text(header + good + broken, encoding="utf-8")
    assert runner.invoke(args=["import-calls", str(first)]).exit_code == 2  # one row rejected
    first.write_text(header + good + fixed, encoding="utf-8")
    rerun = runner.invoke(args=["import-calls", str(first)])
    assert rerun.exit_code == 0, rerun.output
    assert _count(db, Case) == 2


# --- Twilio retries: every kind of text has one effect --------------------------------

def _post(client: Any, settings: Settings, params: dict[str, str]) -> None:
    response = _signed_post(client, settings.public_base_url + "/sms/inbound", "/sms/inbound", params)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("kind", ["new", "threaded", "threaded-late", "TC", "HD", "BS", "DG", "KDY", "HUY", "DK"])
def test_twilio_retries_have_one_effect(kind: str, client: Any, settings: Settings, db: Session,
                                        run_worker: Callable[[], None], twilio: TwilioFake) -> None:
    _post(client, settings, _params(PA_TEXT))
    run_worker()
    case = db.exec(select(Case)).one()
    if kind in ("DG", "KDY"):
        cases.transition(db, case=case, to=CaseStatus.forwarded, actor="t")
        case.answer = "Đã chỉ đạo giải quyết."
        case.answered_at = case.updated_at
        cases.transition(db, case=case, to=CaseStatus.answered, actor="t")
        db.commit()
    body = {"new": "PA Đèn đường ngõ 5 phố Huế tắt cả tháng nay, đề nghị sửa", "threaded": "và cả ngõ 7 nữa",
            "threaded-late": "và cả ngõ 7 nữa", "TC": f"TC {case.code}", "HD": "HD",
            "BS": f"BS {case.code} Bổ sung: số nhà 15", "DG": f"DG {case.code} 4",
            "KDY": f"KDY {case.code} Trả lời chưa đúng quy định, đề nghị xem xét lại", "HUY": "HUY",
            "DK": "DK"}[kind]
    params = _params(body)
    before = (_count(db, Case), len(twilio.to(PHONE)))
    _post(client, settings, params)
    run_worker()
    db.expire_all()
    after_first = (_count(db, Case), len(twilio.to(PHONE)), db.get(Case, case.id).content)  # type: ignore[union-attr]
    if kind == "threaded-late":
        for row in db.exec(select(InboundMessage)).all():  # the retry comes after the thread window closed
            row.received_at = row.received_at.replace(year=row.received_at.year - 1)
            db.add(row)
        db.commit()
    for _ in range(3):  # Twilio retries: same MessageSid, same signature
        _post(client, settings, params)
    run_worker()
    db.expire_all()
    assert (_count(db, Case), len(twilio.to(PHONE)), db.get(Case, case.id).content) == after_first  # type: ignore
    accepted = db.exec(select(func.count()).select_from(InboundMessage).where(
        InboundMessage.external_id == params["MessageSid"], col(InboundMessage.accepted).is_(True))).one()
    assert accepted == 1
    assert after_first[1] >= before[1]
    if kind == "HUY":
        assert db.get(SmsOptOut, PHONE) is not None


# --- the web form posted twice ------------------------------------------------------

def _form_key(client: Any) -> str:
    page = client.get("/submit").text
    return page.split('name="submission_key" value="', 1)[1].split('"', 1)[0]


def test_the_same_form_posted_twice_makes_one_case(client: Any, db: Session, run_worker: Callable[[], None],
                                                   smtp: SmtpServer) -> None:
    key = _form_key(client)
    first = client.post("/submit", data={**fields(), "submission_key": key})
    second = client.post("/submit", data={**fields(), "submission_key": key})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]  # the second shows the first receipt
    assert _count(db, Case) == 1
    run_worker()
    assert len(smtp.messages) == 1
    other = client.post("/submit", data={**fields(), "submission_key": _form_key(client)})
    assert other.status_code == 303 and _count(db, Case) == 2  # a new form is a new submission


def test_a_double_click_with_captcha_shows_the_first_receipt(settings: Settings, db: Session) -> None:
    from gateway import captcha

    app = create_app(settings.with_(captcha=True))
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    key = _form_key(client)
    token = captcha.new_token(settings.secret_key)
    answer = captcha.answer_for_token(settings.secret_key, token)
    data = {**fields(), "submission_key": key, "captcha_token": token, "captcha": answer}
    first = client.post("/submit", data=data)
    second = client.post("/submit", data=data)  # the captcha is spent, but this is the same submission
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(db, Case) == 1
    app.extensions["pakn"].engine.dispose()


def test_concurrent_double_posts_make_one_case(app: Any, db: Session) -> None:
    key = _form_key(app.test_client())
    results: list[Any] = []

    def post() -> None:
        results.append(app.test_client().post("/submit", data={**fields(), "submission_key": key}))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status_code for r in results] == [303] * 4
    assert len({r.headers["Location"] for r in results}) == 1
    assert _count(db, Case) == 1


def test_a_form_brought_back_and_filled_anew_is_a_new_submission(client: Any, db: Session) -> None:
    page = client.get("/submit")
    assert page.headers["Cache-Control"] == "no-store"  # Back should not even bring the used key back
    key = _form_key(client)
    first = client.post("/submit", data={**fields(), "submission_key": key})
    other = client.post("/submit", data={**fields(title="Một phản ánh khác hẳn về cấp phép"), "submission_key": key})
    assert first.status_code == other.status_code == 303
    assert first.headers["Location"] != other.headers["Location"]  # never someone else's receipt
    assert _count(db, Case) == 2
    again = client.post("/submit", data={**fields(title="Một phản ánh khác hẳn về cấp phép"), "submission_key": key})
    assert again.status_code == 303 and _count(db, Case) == 3  # without a key of its own it cannot be recognised


def test_two_copies_of_a_job_at_once_act_once(client: Any, db: Session, settings: Settings,
                                              run_worker: Callable[[], None]) -> None:
    import worker

    _post(client, settings, _params(PA_TEXT))
    _post(client, settings, _params("HD"))
    ctx = worker.configure(settings)
    case_id = db.exec(select(Case.id)).one()
    inbound_id = db.exec(select(InboundMessage.id).where(InboundMessage.command != "PA")).one()
    errors: list[BaseException] = []

    def run(job: Callable[[int], Any], row_id: int) -> None:
        try:
            job(row_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job, row_id)) for job, row_id in
               ((worker.process_case, case_id), (worker.process_case, case_id),
                (worker.handle_sms, inbound_id), (worker.handle_sms, inbound_id))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db.expire_all()
    kinds = [(e.from_status, e.to_status) for e in db.exec(select(Event).where(Event.case_id == case_id))]
    assert kinds.count((CaseStatus.received, CaseStatus.registered)) == 1
    assert kinds.count((CaseStatus.registered, CaseStatus.triage)) == 1  # routed once
    replies = db.exec(select(OutboundMessage).where(OutboundMessage.purpose == "reply")).all()
    assert len(replies) == 1
    run_worker()
    ctx.engine.dispose()


@pytest.mark.parametrize("key", ["short", "x" * 65, "bad key with spaces!!", "k\x00" * 10])
def test_odd_submission_keys_are_ignored_not_trusted(client: Any, db: Session, key: str) -> None:
    assert client.post("/submit", data={**fields(), "submission_key": key}).status_code == 303
    assert client.post("/submit", data={**fields(), "submission_key": key}).status_code == 303
    assert _count(db, Case) == 2  # without a valid key every post is its own submission
    assert all(c.external_id is None for c in db.exec(select(Case)))


# --- a frozen Redis -------------------------------------------------------------------

def test_a_frozen_redis_does_not_hold_up_intake(settings: Settings, private_redis: Any, db: Session) -> None:
    own = settings.with_(redis_url=private_redis.url)
    app = create_app(own)
    app.config["WTF_CSRF_ENABLED"] = False
    web, api = app.test_client(), app.test_client()
    assert web.post("/submit", data=fields()).status_code == 303
    private_redis.freeze()  # SIGSTOP: connections stay open, nothing answers (the worst case)
    try:
        started = time.monotonic()
        for n in range(5):
            assert web.post("/submit", data=fields(title=f"Phản ánh số {n} về thủ tục")).status_code == 303
            assert api.post("/api/v1/reports", json=fields(), headers=KEY).status_code == 202
            _post(app.test_client(), own, _params(PA_TEXT, sender=f"+8491234{n:04d}"))
        blocked = time.monotonic() - started
    finally:
        private_redis.thaw()
    # 15 requests while Redis is frozen: one short timeout (0.5 s), then the breaker skips it.
    # (Before, each request waited 10 s or more: a bound on blocking, not a speed measurement.)
    assert breaker_for(app.extensions["pakn"].redis).failures == 1
    assert blocked < 10, blocked
    assert _count(db, Case) == 16
    statuses = db.exec(select(Case.status)).all()
    assert set(statuses) == {CaseStatus.received}  # stored; the worker codes them when it can
    app.extensions["pakn"].engine.dispose()


def test_case_rows_never_half_written(db: Session, client: Any) -> None:
    """A refused submission leaves evidence only: no case, no outbound message."""
    response = client.post("/submit", data=fields(phone="123", email="not-an-email"))
    assert response.status_code == 400
    assert _count(db, Case) == 0 and _count(db, OutboundMessage) == 0
    row = db.exec(select(InboundMessage)).one()
    assert not row.accepted and row.channel == Channel.web and "phone" in (row.error or "")
