"""Signed answers end to end: agency answers by link → worker signs → citizen's email/SMS → lookup → /verify."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from config.settings import Settings
from gateway.constants import CaseStatus, EventKind
from gateway.models import Attachment, Case, Event
from gateway.signing import service
from gateway.signing.verify import verify_pdf
from gateway.storage import LocalStorage
from tests.conftest import SmtpServer
from tests.factories import fields, login, make_staff, pdf_bytes
from tests.gateway.signing.conftest import PIN, PIN_ENV, Token
from tests.gateway.signing.test_letter import text_of
from tests.test_routing import LAND, _agency_mail, _answer, _check_dossier, _subject, directory_loaded  # noqa: F401
from tests.test_sms import _params, _signed_post
from tests.twilio_fake import TwilioFake

AGENCY_CODE = "bo-nong-nghiep-moi-truong"
AGENCY_NAME = "Bộ Nông nghiệp và Môi trường"
ANSWER = "Văn phòng đăng ký đất đai đã cấp giấy chứng nhận ngày 20/11; đề nghị Ông/Bà đến nhận tại bộ phận một cửa."
NAME = "Nguyễn Thị Hồng Nhung"


def _issue(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["agencies", "certificate", "issue", AGENCY_CODE])
    assert result.exit_code == 0, result.output
    assert "NOT FOR PRODUCTION" in result.output


def _web_case_answered(client: Any, app: Any, run_worker: Callable[[], None], smtp: SmtpServer, db: Session,
                       files: list[tuple[bytes, str]] | None = None) -> Case:
    assert client.post("/submit", data=fields(**LAND), content_type="multipart/form-data").status_code == 303
    run_worker()
    case = db.exec(select(Case)).one()
    _answer(app.test_client(), _check_dossier(_agency_mail(smtp, case.code or ""), case, with_photo=False), files)
    run_worker()
    db.refresh(case)
    assert case.status == CaseStatus.answered
    return case


def _answer_mail(smtp: SmtpServer) -> Message:
    found = [m for m in smtp.messages if m["To"] == "nhung.nguyen@example.com" and "Kết quả" in _subject(m)]
    assert len(found) == 1
    return found[0]


@pytest.mark.slow
def test_signed_answer_full_loop(client: Any, app: Any, directory_loaded: None,  # noqa: F811
                                 run_worker: Callable[[], None], smtp: SmtpServer, db: Session,
                                 settings: Settings) -> None:
    _issue(app)
    case = _web_case_answered(client, app, run_worker, smtp, db, files=[(pdf_bytes(), "cong-van-tra-loi.pdf")])
    mail = _answer_mail(smtp)
    attachments = {p.get_filename(): p.get_payload(decode=True) for p in mail.iter_attachments()}
    assert list(attachments) == ["cong-van-tra-loi.pdf", f"PAKN-{case.code}-tra-loi.pdf"]
    signed = attachments[f"PAKN-{case.code}-tra-loi.pdf"]
    assert f"{settings.public_base_url}/verify?code={case.code}" in mail.get_body(("plain",)).get_content()
    # the letter: intact, trusted against the dev CA, the agency's name; the answer exactly; no contact data
    verdict = verify_pdf(signed, trust_roots=[settings.instance_path / "signing-dev" / "ca.pem"])
    assert verdict.ok and verdict.signatures[0].signer == AGENCY_NAME
    text = text_of(signed)
    assert ANSWER in text and f"Kính gửi: Ông/Bà {NAME}" in text and f"V/v trả lời PAKN {case.code}" in text
    assert "nhung.nguyen@example.com" not in text and "912" not in text
    # stored once, its SHA-256 in the audit trail
    rows = db.exec(select(Attachment).where(Attachment.case_id == case.id, Attachment.source == "signed")).all()
    assert len(rows) == 1 and rows[0].sha256 == hashlib.sha256(signed).hexdigest()
    event = db.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.signed)).one()
    assert rows[0].sha256 in (event.note or "") and AGENCY_NAME in (event.note or "")
    again = service.ensure_signed_answer(db, case=case, settings=settings, storage=LocalStorage(settings.upload_dir))
    assert again is not None and again.id == rows[0].id  # idempotent: one signed document per answer
    # the lookup page offers it to the sender only
    lookup = {"code": case.code, "name": NAME}
    assert "Tải văn bản trả lời có chữ ký số" in client.post("/lookup", data=lookup).text
    download = client.post("/lookup/answer.pdf", data=lookup)
    assert download.status_code == 200 and download.data == signed
    assert download.headers["Content-Type"] == "application/pdf"
    assert client.post("/lookup/answer.pdf", data={"code": case.code, "name": "Người Khác"}).status_code == 404
    # /verify: the file as received, the same file with one byte changed, and by code
    page = client.post("/verify", data={"file": (io.BytesIO(signed), "tra-loi.pdf")},
                       content_type="multipart/form-data")
    assert page.status_code == 200
    assert "Chữ ký số hợp lệ" in page.text and AGENCY_NAME in page.text and "Nguyên vẹn" in page.text
    assert f"Văn bản trả lời PAKN {case.code} lưu trên hệ thống" in page.text
    assert "Được tin cậy" in page.text and hashlib.sha256(signed).hexdigest() in page.text
    tampered = bytearray(signed)
    tampered[signed.index(b"stream", 1000) + 100] ^= 0x01
    page = client.post("/verify", data={"file": (io.BytesIO(bytes(tampered)), "tra-loi.pdf")},
                       content_type="multipart/form-data")
    assert "Văn bản đã bị thay đổi sau khi ký" in page.text and "Chữ ký số hợp lệ" not in page.text
    page = client.get("/verify", query_string={"code": case.code})
    assert page.status_code == 200 and "Chữ ký số hợp lệ" in page.text


@pytest.mark.slow
def test_sms_answer_carries_the_short_link(client: Any, app: Any, directory_loaded: None,  # noqa: F811
                                           run_worker: Callable[[], None], smtp: SmtpServer, twilio: TwilioFake,
                                           db: Session, settings: Settings) -> None:
    _issue(app)
    body = ("PA cham cap so do: toi nop ho so cap giay chung nhan quyen su dung dat tu thang 3, can bo dia chinh "
            "hen nhieu lan, da qua han 45 ngay van chua co ket qua")
    _signed_post(client, settings.public_base_url + "/sms/inbound", "/sms/inbound", _params(body))
    run_worker()
    case = db.exec(select(Case)).one()
    _answer(app.test_client(), _check_dossier(_agency_mail(smtp, case.code or ""), case, with_photo=False))
    run_worker()
    sms = twilio.to("+84912345678")[-1]
    assert sms.segments <= 2
    link = re.search(r"https://pakn\.example\.gov\.vn(/vb/\S+)$", sms.body)
    assert link, sms.body
    pdf = client.get(link.group(1))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert verify_pdf(pdf.data, trust_roots=[settings.instance_path / "signing-dev" / "ca.pem"]).ok
    assert "Người gửi phản ánh, kiến nghị mã" in text_of(pdf.data)  # an SMS case has no name: no phone either
    assert "912" not in text_of(pdf.data)
    assert client.get(link.group(1)[:-1] + ("A" if link.group(1)[-1] != "A" else "B")).status_code == 404
    assert client.get(f"/vb/{case.id}-").status_code == 404


@pytest.mark.slow
def test_without_a_certificate_the_answer_goes_unsigned_and_the_desk_says_so(
        client: Any, app: Any, directory_loaded: None, run_worker: Callable[[], None],  # noqa: F811
        smtp: SmtpServer, db: Session) -> None:
    case = _web_case_answered(client, app, run_worker, smtp, db)
    mail = _answer_mail(smtp)
    assert list(mail.iter_attachments()) == [] and "/verify" not in mail.get_body(("plain",)).get_content()
    assert db.exec(select(Attachment).where(Attachment.source == "signed")).first() is None
    assert "Tải văn bản trả lời có chữ ký số" not in client.post("/lookup", data={"code": case.code, "name": NAME}).text
    assert client.get("/verify", query_string={"code": case.code}).status_code == 404
    make_staff(db, "coordinator")
    staff = app.test_client()
    login(staff, "coordinator")
    desk = staff.get("/coordinator/").text
    assert "Cơ quan chưa ký số được (14)" in desk and f"<code>{AGENCY_CODE}</code>): chưa cấu hình chứng thư số" in desk
    _issue(app)
    desk = staff.get("/coordinator/").text
    assert "Cơ quan chưa ký số được (13)" in desk and f"<code>{AGENCY_CODE}</code>" not in desk


@pytest.mark.slow
def test_pkcs11_token_signs_in_the_worker(client: Any, app: Any, directory_loaded: None,  # noqa: F811
                                          run_worker: Callable[[], None], smtp: SmtpServer, db: Session,
                                          settings: Settings, softhsm: Token, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PIN_ENV, PIN)
    _write_toml(settings.instance_path, f'''
[signing]
trust_roots = ["{softhsm.ca_pem}"]

[agencies.{AGENCY_CODE}]
pkcs11_module = "{softhsm.module}"
token_label = "{softhsm.label}"
key_label = "{softhsm.key_label}"
pin_env = "{PIN_ENV}"
signer_title = "KT. BỘ TRƯỞNG\\\\nTHỨ TRƯỞNG"
signer_name = "Trần Quốc Khánh"
''')
    case = _web_case_answered(client, app, run_worker, smtp, db)
    signed = next(p.get_payload(decode=True) for p in _answer_mail(smtp).iter_attachments())
    page = client.post("/verify", data={"file": (io.BytesIO(signed), "a.pdf")}, content_type="multipart/form-data")
    assert "Chữ ký số hợp lệ" in page.text and "Bộ Công an" in page.text
    text = text_of(signed)
    assert "KT. BỘ TRƯỞNG THỨ TRƯỞNG" in text and "Trần Quốc Khánh" in text and case.code in text


@pytest.mark.slow
def test_a_failing_certificate_does_not_hold_the_answer(client: Any, app: Any, directory_loaded: None,  # noqa: F811
                                                        run_worker: Callable[[], None], smtp: SmtpServer,
                                                        db: Session, settings: Settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _issue(app)  # a dev certificate exists, but signing.toml points at a PKCS#12 with another password
    from gateway.signing import devca
    ca_key, ca = devca.make_ca()
    key, cert = devca.make_signer_cert(ca_key, ca, name=AGENCY_NAME)
    p12 = settings.instance_path / "agency.p12"
    p12.write_bytes(devca.pkcs12_bytes(key, cert, ca, name=AGENCY_NAME, password=b"dung-mat-khau"))
    monkeypatch.setenv("PAKN_P12_TEST", "sai-mat-khau")
    _write_toml(settings.instance_path, f'[agencies.{AGENCY_CODE}]\npkcs12 = "agency.p12"\n'
                                        'password_env = "PAKN_P12_TEST"\n')
    case = _web_case_answered(client, app, run_worker, smtp, db)
    assert list(_answer_mail(smtp).iter_attachments()) == []  # the citizen still gets the answer, on time
    failed = db.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.signing_failed)).one()
    assert "Không ký số được" in (failed.note or "")
    make_staff(db, "coordinator")
    staff = app.test_client()
    login(staff, "coordinator")
    desk = staff.get("/coordinator/").text
    assert f"<code>{AGENCY_CODE}</code>): lần ký gần nhất" in desk and "không thành công" in desk


def _write_toml(instance: Path, text: str) -> None:
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "signing.toml").write_text(text, encoding="utf-8")


def test_verify_refuses_bad_input_clearly(client: Any) -> None:
    assert client.get("/verify").status_code == 200
    empty = client.post("/verify", data={}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "Vui lòng chọn một tệp PDF" in empty.text
    gif = client.post("/verify", data={"file": (io.BytesIO(b"GIF89a" + b"\0" * 50), "a.pdf")},
                      content_type="multipart/form-data")
    assert gif.status_code == 200 and "Tệp không phải là PDF." in gif.text and "Không xác thực được" in gif.text
    assert client.get("/verify", query_string={"code": "abc"}).status_code == 400
    assert client.get("/verify", query_string={"code": "26-000001-0"}).status_code in (400, 404)
    assert client.get("/vb/not-a-token").status_code == 404
    assert client.post("/lookup/answer.pdf", data={"code": "26-000001-9", "name": "A"}).status_code == 404


def test_the_development_ca_is_refused_in_production(app: Any, settings: Settings,
                                                     directory_loaded: None) -> None:  # noqa: F811
    from gateway import create_app

    production = create_app(settings.with_(env="production"))
    try:
        result = production.test_cli_runner().invoke(args=["agencies", "certificate", "issue", AGENCY_CODE])
        assert result.exit_code != 0 and "not for production" in result.output
    finally:
        production.extensions["pakn"].engine.dispose()
    unknown = app.test_cli_runner().invoke(args=["agencies", "certificate", "issue", "bo-khong-co"])
    assert unknown.exit_code != 0 and "no agency" in unknown.output
    status = app.test_cli_runner().invoke(args=["agencies", "certificate", "status"])
    assert f"{AGENCY_CODE}: no certificate" in status.output
    _issue(app)
    again = app.test_cli_runner().invoke(args=["agencies", "certificate", "issue", AGENCY_CODE, "--if-missing"])
    assert "already has a development certificate" in again.output
    status = app.test_cli_runner().invoke(args=["agencies", "certificate", "status"])
    assert f"{AGENCY_CODE}: pkcs12 (development CA)" in status.output


@pytest.mark.slow
def test_answers_no_message_carried_are_signed_by_the_periodic_job(
        client: Any, app: Any, directory_loaded: None, run_worker: Callable[[], None],  # noqa: F811
        smtp: SmtpServer, db: Session, settings: Settings) -> None:
    import worker

    case = _web_case_answered(client, app, run_worker, smtp, db)  # answered before the agency had a certificate
    assert worker.sign_answers() == 0  # no certificate yet: nothing to do
    _issue(app)
    assert worker.sign_answers() == 1
    assert worker.sign_answers() == 0  # once
    row = service.signed_answer(db, case_id=case.id or 0)
    page = client.post("/lookup", data={"code": case.code, "name": NAME}).text
    assert row is not None and "Tải văn bản trả lời có chữ ký số" in page
