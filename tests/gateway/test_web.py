"""The citizen web pages: form validation, files, captcha, CSRF, receipt, lookup."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from config.settings import Settings
from gateway import captcha, create_app
from gateway.models import Attachment, Case, InboundMessage
from tests.factories import docx_bytes, exe_bytes, fields, jpg_bytes, pdf_bytes

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _post(client: Any, data: dict[str, Any], files: list[tuple[bytes, str]] | None = None) -> Any:
    payload: dict[str, Any] = dict(data)
    if files:
        payload["attachments"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/submit", data=payload, content_type="multipart/form-data")


def _nothing_stored(db: Session) -> None:
    assert db.exec(select(Case)).all() == []
    assert db.exec(select(Attachment)).all() == []


def test_form_is_vietnamese_and_accessible(client: Any) -> None:
    page = client.get("/submit").text
    assert '<html lang="vi">' in page
    for label in ("Họ và tên", "Số điện thoại", "Địa chỉ thường trú", "Tiêu đề", "Nội dung phản ánh, kiến nghị"):
        assert label in page
    for name in ("full_name", "phone", "email", "address", "title", "content", "attachments"):
        assert f'<label for="{name}"' in page and f'id="{name}"' in page
    assert 'name="viewport"' in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "Vui lòng nhập Họ và tên."),
        ({"phone": None}, "phone", "Vui lòng nhập Số điện thoại."),
        ({"address": " "}, "address", "Vui lòng nhập Địa chỉ thường trú."),
        ({"title": ""}, "title", "Vui lòng nhập Tiêu đề."),
        ({"content": ""}, "content", "Vui lòng nhập Nội dung phản ánh, kiến nghị."),
        ({"full_name": "Â" * 101}, "full_name", "Họ và tên không được dài quá 100 ký tự."),
        ({"title": "t" * 201}, "title", "Tiêu đề không được dài quá 200 ký tự."),
        ({"content": "x" * 10_001}, "content", "không được dài quá 10000 ký tự"),
        ({"address": "đ" * 256}, "address", "không được dài quá 255 ký tự"),
        ({"phone": "0123"}, "phone", "Số điện thoại không hợp lệ"),
        ({"email": "nhung@@example"}, "email", "Địa chỉ email không hợp lệ"),
    ],
)
def test_field_errors_are_clear_and_store_nothing(client: Any, db: Session, overrides: dict[str, Any],
                                                   field: str, message: str) -> None:
    response = _post(client, fields(**overrides))
    assert response.status_code == 400
    assert message in response.text
    assert f'id="{field}-error"' in response.text
    assert "Vui lòng sửa các lỗi" in response.text
    _nothing_stored(db)
    rejected = db.exec(select(InboundMessage)).one()
    assert not rejected.accepted and rejected.case_id is None and field in (rejected.error or "")


def test_typed_values_are_kept_after_an_error(client: Any) -> None:
    response = _post(client, fields(phone="12"))
    assert 'value="Nguyễn Thị Hồng Nhung"' in response.text
    assert "quá hạn 45 ngày" in response.text


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (pdf_bytes(), "anh-chup.jpg", "không khớp với phần mở rộng"),
        (exe_bytes(), "don.pdf", "không phải JPG, PDF, DOC, DOCX, XLS hoặc XLSX"),
        (b"<html><script>alert(1)</script></html>", "trang.doc", "không phải JPG, PDF"),
        (pdf_bytes() + b"0" * (2 * 1024 * 1024), "lon.pdf", "lớn hơn 1 MB"),
        (b"", "rong.pdf", "rỗng"),
    ],
)
def test_bad_attachments_are_refused(app: Any, db: Session, content: bytes, name: str, message: str) -> None:
    app.extensions["pakn"].settings = app.extensions["pakn"].settings.with_(max_file_bytes=1024 * 1024)
    response = _post(app.test_client(), fields(), [(jpg_bytes(), "ok.jpg"), (content, name)])
    assert response.status_code == 400
    assert message in response.text
    _nothing_stored(db)
    assert list((app.extensions["pakn"].settings.upload_dir).rglob("*.part")) == []


def test_too_many_and_oversize_request(app: Any, client: Any, db: Session, settings: Settings) -> None:
    response = _post(client, fields(), [(pdf_bytes(), f"{i}.pdf") for i in range(settings.max_files + 1)])
    assert response.status_code == 400 and "tối đa 5 tệp" in response.text
    huge = b"%PDF-1.4\n" + b"0" * (settings.max_total_bytes + 3 * 1024 * 1024)
    response = _post(client, fields(), [(huge, "huge.pdf")])
    assert response.status_code == 413
    assert "không được vượt quá 25 MB" in response.text
    _nothing_stored(db)


def test_files_are_stored_by_content_under_random_names(client: Any, db: Session, settings: Settings) -> None:
    uploads = [(jpg_bytes(), "../../etc/ảnh hiện trường.jpg"), (pdf_bytes(), "C:/Users/x/don.pdf"),
               (docx_bytes(), "don.docx")]
    response = _post(client, fields(), uploads)
    assert response.status_code == 303
    rows = db.exec(select(Attachment).order_by(Attachment.id)).all()
    assert [r.filename for r in rows] == ["ảnh hiện trường.jpg", "don.pdf", "don.docx"]
    assert [r.content_type for r in rows][:2] == ["image/jpeg", "application/pdf"]
    stored = sorted(p for p in settings.upload_dir.rglob("*") if p.is_file())
    assert len(stored) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", p.name) for p in stored)
    assert all(settings.upload_dir in p.parents for p in stored)


def test_invalid_utf8_gets_a_clear_error(client: Any, db: Session) -> None:
    boundary = "BOUNDARY"
    parts = []
    for name, value in fields().items():
        raw = value.encode() if name != "title" else b"Ch\xe1\xba m c\xff\xfep"
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + raw + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    response = client.post("/submit", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400
    assert "không phải UTF-8" in response.text
    _nothing_stored(db)


def test_html_is_escaped_on_every_page(client: Any, run_worker: Callable[[], None], db: Session) -> None:
    hostile = {k: XSS + " nội dung đủ dài để hợp lệ" for k in ("title", "content", "address")}
    response = _post(client, fields(phone="12", **hostile))
    assert response.status_code == 400
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    name = "Nguyễn " + XSS
    response = _post(client, fields(full_name=name, title=XSS + " chậm cấp sổ"))
    receipt_url = response.headers["Location"]
    run_worker()
    for page in (client.get(receipt_url).text,):
        assert "<script>alert" not in page and "&lt;script&gt;" in page
    case = db.exec(select(Case)).one()
    page = client.post("/lookup", data={"code": case.code, "name": name}).text
    assert "PAKN " + str(case.code) in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")


def test_receipt_shows_code_once_assigned(client: Any, run_worker: Callable[[], None]) -> None:
    url = _post(client, fields()).headers["Location"]
    assert "đang cấp mã" in client.get(url).text
    assert client.get(url + "/status.json").json["code"] is None
    run_worker()
    state = client.get(url + "/status.json").json
    assert re.fullmatch(r"\d{2}-\d{6}-\d", state["code"]) and state["status"] == "triage"
    assert state["code"] in client.get(url).text
    assert client.get("/receipt/not-a-real-token").status_code == 404


def test_lookup(client: Any, run_worker: Callable[[], None], db: Session) -> None:
    _post(client, fields())
    run_worker()
    code = db.exec(select(Case)).one().code
    assert code
    for typed_code, typed_name in [(code, "Nguyễn Thị Hồng Nhung"), (code.replace("-", ""), "nguyen  thi HONG nhung"),
                                   ("PAKN " + code.replace("-", "."), " NGUYỄN THỊ HỒNG NHUNG ")]:
        page = client.post("/lookup", data={"code": typed_code, "name": typed_name})
        assert page.status_code == 200, typed_code
        assert "Đã tiếp nhận và cấp mã PAKN" in page.text and "Đang phân loại" in page.text
        assert "Chậm cấp giấy chứng nhận" in page.text
    # A wrong name and a code that does not exist read exactly the same.
    wrong_name = client.post("/lookup", data={"code": code, "name": "Trần Văn B"})
    yy, seq = code.split("-")[:2]
    from gateway.codes import PaknCode
    missing = str(PaknCode(int(yy), int(seq) + 1))
    no_case = client.post("/lookup", data={"code": missing, "name": "Nguyễn Thị Hồng Nhung"})
    assert wrong_name.status_code == no_case.status_code == 404
    assert wrong_name.text.replace(code, "X").replace("Trần Văn B", "N") == no_case.text.replace(missing, "X").replace(
        "Nguyễn Thị Hồng Nhung", "N")
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    page = client.post("/lookup", data={"code": mistyped, "name": "Nguyễn Thị Hồng Nhung"})
    assert page.status_code == 400 and "gõ nhầm" in page.text


def test_lookup_is_rate_limited(app: Any) -> None:
    app.extensions["pakn"].settings = app.extensions["pakn"].settings.with_(lookup_limit=(3, 600))
    client = app.test_client()
    codes = [client.post("/lookup", data={"code": "26-000001-9", "name": "A B"}).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    assert client.post("/lookup", data={"code": "1", "name": "x"}).headers["Retry-After"] == "600"
    assert "quá nhiều yêu cầu" in client.post("/lookup", data={"code": "1", "name": "x"}).text


def test_submit_is_rate_limited(app: Any, db: Session) -> None:
    app.extensions["pakn"].settings = app.extensions["pakn"].settings.with_(submit_limit=(2, 3600))
    client = app.test_client()
    assert [_post(client, fields()).status_code for _ in range(3)] == [303, 303, 429]
    assert len(db.exec(select(Case)).all()) == 2


@pytest.fixture
def guarded_client(settings: Settings) -> Any:
    """The app as in production: captcha on, CSRF on."""
    app = create_app(settings.with_(captcha=True))
    yield app.test_client()
    app.extensions["pakn"].engine.dispose()


def _form_tokens(client: Any) -> tuple[str, str]:
    page = client.get("/submit").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    token = re.search(r'name="captcha_token" value="([^"]+)"', page)
    assert csrf and token
    return csrf.group(1), token.group(1)


def test_captcha_and_csrf(guarded_client: Any, db: Session, settings: Settings) -> None:
    csrf, token = _form_tokens(guarded_client)
    image = guarded_client.get(f"/captcha/{token}.png")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    answer = captcha.answer_for_token(settings.secret_key, token)
    assert answer and answer not in image.data.decode("latin-1")

    wrong = guarded_client.post("/submit", data=fields(csrf_token=csrf, captcha_token=token, captcha="AAAAA"))
    assert wrong.status_code == 400 and "Mã bảo vệ không đúng" in wrong.text

    no_csrf = guarded_client.post("/submit", data=fields(captcha_token=token, captcha=answer))
    assert no_csrf.status_code == 400 and "Phiên làm việc đã hết hạn" in no_csrf.text
    assert 'value="Nguyễn Thị Hồng Nhung"' in no_csrf.text  # nothing typed is lost

    ok = guarded_client.post("/submit", data=fields(csrf_token=csrf, captcha_token=token, captcha=answer.lower()))
    assert ok.status_code == 303
    replay = guarded_client.post("/submit", data=fields(csrf_token=csrf, captcha_token=token, captcha=answer))
    assert replay.status_code == 400  # a solved captcha works once
    assert len(db.exec(select(Case)).all()) == 1
    assert guarded_client.get("/captcha/forged-token.png").status_code == 404


def test_security_headers(client: Any) -> None:
    headers = client.get("/submit").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


def test_lookup_by_sender_phone(client: Any, run_worker: Callable[[], None], db: Session) -> None:
    _post(client, fields())
    run_worker()
    code = db.exec(select(Case)).one().code
    for typed in ("0912345678", "+84 912 345 678", "0912.345.678"):
        assert client.post("/lookup", data={"code": code, "name": typed}).status_code == 200
    assert client.post("/lookup", data={"code": code, "name": "0912345679"}).status_code == 404
