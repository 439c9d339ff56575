"""The citizen's side of issue 15 without a browser: one round of errors, kept files, audio captcha,
the lookup by POST, the code by SMS, the coordinator's question, the disagreement, the emails."""

from __future__ import annotations

import io
import json
import re
import wave
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from config.settings import Settings
from gateway import captcha, create_app, routing
from gateway.constants import CaseStatus, Channel, OutboundStatus
from gateway.models import Agency, Attachment, Case, OutboundMessage, utcnow
from gateway.uploads import pending
from tests.conftest import SmtpServer
from tests.factories import fields, jpg_bytes, login, make_staff, pdf_bytes
from tests.twilio_fake import TwilioFake

NAME = "Nguyễn Thị Hồng Nhung"


def _captcha_app(settings: Settings) -> Any:
    app = create_app(settings.with_(captcha=True))
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _post(client: Any, data: dict[str, Any], files: list[tuple[bytes, str]] | None = None) -> Any:
    payload: dict[str, Any] = dict(data)
    if files:
        payload["attachments"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/submit", data=payload, content_type="multipart/form-data")


def _token(page: str) -> str:
    found = re.search(r'name="captcha_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _key(page: str) -> str:
    found = re.search(r'name="submission_key" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_empty_form_shows_every_error_and_the_captcha_in_one_round(settings: Settings, db: Session) -> None:
    app = _captcha_app(settings)
    client = app.test_client()
    response = _post(client, {"submission_key": _key(client.get("/submit").text), "captcha": "1"})
    assert response.status_code == 400
    summary = response.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    for message in ("Vui lòng nhập Họ và tên.", "Vui lòng nhập Số điện thoại.", "Vui lòng nhập Tiêu đề.",
                    "Vui lòng nhập Nội dung phản ánh, kiến nghị.", "Mã bảo vệ không đúng"):
        assert message in summary
    assert db.exec(select(Case)).all() == []
    app.extensions["pakn"].engine.dispose()


def test_a_wrong_captcha_keeps_the_text_and_the_good_files(settings: Settings, db: Session) -> None:
    app = _captcha_app(settings)
    client = app.test_client()
    key = _key(client.get("/submit").text)
    files = [(jpg_bytes(), "ảnh.jpg"), (b"MZ\x90\x00 not a pdf", "virus.pdf")]
    first = _post(client, {**fields(), "submission_key": key, "captcha_token": "forged", "captcha": "000000"}, files)
    assert first.status_code == 400 and fields()["content"] in first.text
    assert "Tệp đã đính kèm" in first.text and "ảnh.jpg" in first.text  # kept, no need to choose it again
    assert "virus.pdf" in first.text and "chưa được nhận" in first.text  # named in its error, not kept
    kept = pending.listed(settings, key=key)
    assert [f.filename for f in kept] == ["ảnh.jpg"]
    token = _token(first.text)
    answer = captcha.answer_for_token(settings.secret_key, token)
    done = _post(client, {**fields(), "submission_key": key, "captcha_token": token, "captcha": answer,
                          "keep_file": kept[0].id})
    assert done.status_code == 303
    case = db.exec(select(Case)).one()
    assert [a.filename for a in db.exec(select(Attachment).where(Attachment.case_id == case.id))] == ["ảnh.jpg"]
    assert pending.listed(settings, key=key) == []  # the kept copy is gone: the case has its own
    app.extensions["pakn"].engine.dispose()


def test_unticked_kept_files_are_dropped_and_housekeeping_expires_the_rest(settings: Settings) -> None:
    app = _captcha_app(settings)
    storage = app.extensions["pakn"].storage
    client = app.test_client()
    key = _key(client.get("/submit").text)
    _post(client, {**fields(title=""), "submission_key": key}, [(pdf_bytes(), "a.pdf"), (jpg_bytes(), "b.jpg")])
    _first, second = pending.listed(settings, key=key)
    _post(client, {**fields(title=""), "submission_key": key, "keep_file": second.id})
    assert [f.filename for f in pending.listed(settings, key=key)] == ["b.jpg"]
    assert storage.load(second.storage_key)
    assert pending.expire(settings, storage) == 0  # still fresh
    assert pending.expire(settings, storage, now=10**12) == 1
    assert pending.listed(settings, key=key) == []
    app.extensions["pakn"].engine.dispose()


def test_a_body_over_the_limit_returns_the_form_with_the_limits(client: Any, settings: Settings) -> None:
    huge = b"%PDF-1.4\n" + b"0" * (settings.max_total_bytes + 3 * 1024 * 1024)
    response = _post(client, fields(), [(huge, "huge.pdf")])
    assert response.status_code == 413
    assert '<form method="post" enctype="multipart/form-data"' in response.text
    assert "data-restore-draft" in response.text
    assert "mỗi tệp không quá 10 MB, tổng cộng không quá 25 MB" in response.text
    page = client.get("/submit").text  # the same limits, stated once, for the browser's own check
    assert 'data-max-file-bytes="10485760"' in page and 'data-max-total-bytes="26214400"' in page
    assert page.count("mỗi tệp không quá 10 MB") == 1


def test_audio_captcha_and_a_new_code(settings: Settings) -> None:
    app = _captcha_app(settings)
    client = app.test_client()
    page = client.get("/submit").text
    token = _token(page)
    answer = captcha.answer_for_token(settings.secret_key, token)
    assert answer and answer.isdigit()
    audio_url = f"/captcha/{token}.wav"
    assert audio_url in page and answer not in audio_url
    sound = client.get(audio_url)
    assert sound.status_code == 200 and sound.mimetype == "audio/wav"
    with wave.open(io.BytesIO(sound.data)) as clip:
        seconds = clip.getnframes() / clip.getframerate()
    assert seconds > len(answer) * captcha.AUDIO_GAP_SECONDS  # every digit spoken, with pauses
    assert client.get("/captcha/forged.wav").status_code == 404
    fresh = client.get("/captcha/new").get_json()
    assert fresh["token"] != token and fresh["audio"] == f"/captcha/{fresh['token']}.wav"
    # without JavaScript: "Đổi mã khác" posts the form and gets it back with the text and a new code
    again = _post(client, {**fields(), "submission_key": _key(page), "new_captcha": "1"})
    assert again.status_code == 200 and fields()["content"] in again.text and _token(again.text) != token
    assert "error-summary" not in again.text
    app.extensions["pakn"].engine.dispose()


def test_web_submitter_without_email_gets_the_code_by_sms(client: Any, db: Session, twilio: TwilioFake,
                                                          run_worker: Callable[[], None]) -> None:
    assert _post(client, fields(email=None)).status_code == 303
    run_worker()
    case = db.exec(select(Case)).one()
    assert case.code
    sms = [m for m in twilio.sent if case.code in m.body]
    assert len(sms) == 1 and sms[0].to == "+84912345678"
    assert sms[0].body.startswith("Da tiep nhan PAKN cua ong/ba, ma ") and "TC " + case.code in sms[0].body


def _agency(db: Session) -> Agency:
    agency = Agency(code="bo-nong-nghiep", name="Bộ Nông nghiệp và Môi trường",
                    emails=json.dumps(["pakn@bnn.gov.example"]), fields="[]", vcard="")
    db.add(agency)
    db.commit()
    db.refresh(agency)
    return agency


def _submitted_case(client: Any, db: Session, run_worker: Callable[[], None]) -> Case:
    assert _post(client, fields()).status_code == 303
    run_worker()
    case = db.exec(select(Case)).one()
    db.refresh(case)
    return case


def test_lookup_link_opens_and_the_name_is_posted(client: Any, db: Session, settings: Settings,
                                                  run_worker: Callable[[], None], smtp: SmtpServer) -> None:
    case = _submitted_case(client, db, run_worker)
    link = client.get(f"/lookup?code={case.code}")  # the link of the email and the receipt
    assert link.status_code == 200 and f'value="{case.code}"' in link.text and "summary" not in link.text
    assert 'method="post"' in link.text
    assert "Nguyễn" not in client.get(f"/lookup?code={case.code}&name={NAME}").text  # never read from the URL
    page = client.post("/lookup", data={"code": case.code, "name": NAME}).text
    assert re.search(r'id="received-at">\d{2}/\d{2}/\d{4} \d{2}:\d{2}<', page)
    assert "T" not in page.split('id="timeline"', 1)[1].split("</ol>", 1)[0].split(">", 1)[1].replace("Tiếp", "")
    ack = next(m for m in smtp.messages if case.code in str(m["Subject"]))
    assert "sẽ được thông báo qua thư khi PAKN được chuyển" in ack.get_body(("plain",)).get_content()


def test_agency_due_date_answer_files_rating_and_emails(client: Any, db: Session, settings: Settings,
                                                        run_worker: Callable[[], None], smtp: SmtpServer,
                                                        app: Any) -> None:
    case = _submitted_case(client, db, run_worker)
    agency = _agency(db)
    routing.forward(db, case=case, agency=agency, settings=settings, actor="coordinator1")
    db.commit()
    run_worker()
    told = next(m for m in smtp.messages if m["To"] == case.email and "Đã chuyển" in str(m["Subject"]))
    body = told.get_body(("plain",)).get_content()
    due = f"{case.due_at.astimezone(routing.VN_TZ):%d/%m/%Y}"  # type: ignore[union-attr]
    assert "Cơ quan xử lý: Bộ Nông nghiệp và Môi trường" in body and f"Hạn trả lời: {due}" in body
    proof = {"code": case.code, "name": NAME}
    page = client.post("/lookup", data=proof).text
    assert 'id="agency">Bộ Nông nghiệp và Môi trường<' in page and f'id="due-date">{due}' in page

    storage = app.extensions["pakn"].storage
    db.add(Attachment(case_id=case.id or 0, filename="công văn trả lời.pdf", storage_key=storage.save(pdf_bytes()),
                      content_type="application/pdf", size=len(pdf_bytes()), sha256="0" * 64, source="agency"))
    db.add(Attachment(case_id=case.id or 0, filename="citizen.pdf", storage_key=storage.save(b"%PDF-secret"),
                      content_type="application/pdf", size=11, sha256="1" * 64, source="citizen"))
    routing.record_answer(db, case=case, text="Đã cấp giấy chứng nhận ngày 01/03.", actor="agency:x",
                          settings=settings, replies=None)
    db.commit()
    run_worker()
    answer = next(m for m in smtp.messages if "Kết quả trả lời" in str(m["Subject"]))
    text = answer.get_body(("plain",)).get_content()
    assert text.startswith(f"Kính gửi Ông/Bà {NAME},")
    assert "Bộ Nông nghiệp và Môi trường đã trả lời" in text and "Đã cấp giấy chứng nhận ngày 01/03." in text
    assert "đánh giá" in text and "trong 30 ngày" in text and "không đồng ý" in text

    page = client.post("/lookup", data=proof).text
    assert 'type="radio"' in page and "checked" not in page.split('id="rate-form"', 1)[1].split("</form>", 1)[0]
    files = [a for a in db.exec(select(Attachment).where(Attachment.case_id == case.id))]
    agency_file = next(a for a in files if a.source == "agency")
    citizen_file = next(a for a in files if a.source == "citizen")
    download = client.post(f"/lookup/file/{agency_file.id}", data=proof)
    assert download.status_code == 200 and download.data == pdf_bytes()
    assert "filename*=UTF-8''c%C3%B4ng" in download.headers["Content-Disposition"]
    assert client.post(f"/lookup/file/{agency_file.id}", data={**proof, "name": "Trần Văn B"}).status_code == 404
    assert client.post(f"/lookup/file/{citizen_file.id}", data=proof).status_code == 404  # only the answer's
    assert client.get(f"/lookup/file/{agency_file.id}").status_code == 405

    assert client.post("/lookup/rate", data=proof).status_code == 400  # nothing chosen: told, not guessed
    assert "Cảm ơn" in client.post("/lookup/rate", data={**proof, "rating": "2"}).text
    reply = client.post("/lookup/disagree", data={**proof, "reason": "Tôi chưa nhận được giấy chứng nhận nào cả."})
    db.expire_all()
    follow = db.exec(select(Case).where(Case.follows_id == case.id)).one()
    assert follow.code and f"mã PAKN mới {follow.code}" in reply.text and "None" not in reply.text
    assert 'id="rating-given">2/5' in reply.text  # the rating given stays visible
    run_worker()
    told = [m for m in smtp.messages if follow.code in m.get_body(("plain",)).get_content()]
    assert told and told[0]["To"] == case.email


def test_coordinator_question_word_for_word_and_the_supplement_in_the_timeline(
        client: Any, db: Session, settings: Settings, run_worker: Callable[[], None], smtp: SmtpServer,
        twilio: TwilioFake) -> None:
    assert _post(client, fields(email=None)).status_code == 303  # SMS for this one
    run_worker()
    case = db.exec(select(Case)).one()
    db.refresh(case)
    if case.status != CaseStatus.triage:
        case.status = CaseStatus.triage
        db.add(case)
        db.commit()
    question = "Ông/Bà cho biết số biên nhận hồ sơ và ngày nộp tại bộ phận một cửa?"
    make_staff(db, "coordinator")
    staff = client.application.test_client()
    login(staff, "coordinator")
    assert staff.post(f"/coordinator/cases/{case.id}", data={"action": "needs_info", "note": question}).status_code \
        in (200, 303)
    run_worker()
    sms = [m.body for m in twilio.sent if "bien nhan" in m.body]
    assert sms and "so bien nhan ho so va ngay nop tai bo phan mot cua?" in sms[-1]
    proof = {"code": case.code, "name": "0912345678"}
    page = client.post("/lookup", data=proof).text
    assert f'id="question">{question}<' in page.replace("&#39;", "'")
    client.post("/lookup/supplement", data={**proof, "text": "Biên nhận số 123/BN ngày 05/01/2026."})
    page = client.post("/lookup", data=proof).text
    timeline = page.split('id="timeline"', 1)[1].split("</ol>", 1)[0]
    assert "Đã nhận thông tin bổ sung" in timeline and timeline.count("Đã tiếp nhận và cấp mã PAKN") == 1


def test_email_ack_names_the_agency_when_routed_in_the_same_job(db: Session, settings: Settings) -> None:
    from gateway import notices

    agency = _agency(db)
    case = Case(channel=Channel.web, code="26-000001-9", status=CaseStatus.registered, full_name=NAME, name_key="x",
                email="a@example.com", phone="+84912345678", address="Hà Nội", title="Tiêu đề", content="Nội dung")
    db.add(case)
    db.commit()
    notices.queue_acknowledgment(db, case=case, settings=settings)
    routing.forward(db, case=case, agency=agency, settings=settings, actor="worker")
    db.commit()
    mails = db.exec(select(OutboundMessage).where(OutboundMessage.recipient == "a@example.com")).all()
    assert len(mails) == 1 and mails[0].status == OutboundStatus.pending  # no second notice
    assert "Cơ quan xử lý: Bộ Nông nghiệp và Môi trường" in mails[0].body
    assert case.due_at is not None and f"{case.due_at.astimezone(routing.VN_TZ):%d/%m/%Y}" in mails[0].body
    assert utcnow() - case.created_at < timedelta(days=1)
