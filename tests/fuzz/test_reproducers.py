"""The inputs that gave 500s (issue 8), as plain tests: each is now a clear 4xx or handled."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from channels import hotline
from config.settings import Settings
from gateway import create_app
from gateway.models import CallBack, Case, HotlineCall, InboundMessage
from tests.factories import (
    CALL,
    PASSWORDS,
    cdr_line,
    fields,
    keyed_call_rows,
    keyed_calls_csv,
    keyed_calls_jsonl,
    make_staff,
)
from tests.fuzz.conftest import World
from tests.test_sms import _params, _signed_post

API = {"X-Api-Key": "test-key-1"}


ODD_TOKENS = ("/receipt/%00", "/receipt/%00/status.json", "/api/v1/receipts/%00", "/receipt/a%00b",
              "/receipt/" + "A" * 33, "/receipt/%C3%A9", "/receipt/%FF", "/captcha/%00.png", "/agency/answer/%00",
              "/api/v1/cases/%00?name=%00", "/vb/%C2%B2", "/vb/%C2%B2-abc", "/vb/" + "9" * 5000 + "-x",
              "/cong-khai/%00")


def test_odd_tokens_are_not_found(client: Any) -> None:
    for path in ODD_TOKENS:
        response = client.get(path, headers=API)
        assert response.status_code in (400, 403, 404), (path, response.status_code)


def test_ids_past_the_database_integer_are_not_found(signed_in: Callable[[str], Any]) -> None:
    admin = signed_in("admin")
    for path in ("/hotline/calls/99999999999999999999", "/hotline/calls/2147483648/status.json",
                 "/coordinator/cases/99999999999999999999", "/agency/cases/2147483648"):
        assert admin.get(path).status_code == 404, path


def test_message_sid_is_64_printable_ascii_characters_at_most(client: Any, settings: Settings, db: Session) -> None:
    url = settings.public_base_url + "/sms/inbound"
    for sid in ("SM" + "a" * 200, "SM" + "a" * 63, "SM\x00" + "a" * 31, "SM abc", "", "SMé" + "a" * 31):
        params = {**_params("PA Đường ngõ 12 Kim Mã ngập nặng mỗi khi mưa"), "MessageSid": sid}
        assert _signed_post(client, url, "/sms/inbound", params).status_code == 400, sid
    assert db.exec(select(InboundMessage)).first() is None  # a bad request stores nothing
    good = ["SM" + "0" * 32, "MM" + "f" * 32, "S" * 64]
    for sid in good:
        params = {**_params("PA Đường ngõ 12 Kim Mã ngập nặng mỗi khi mưa"), "MessageSid": sid}
        assert _signed_post(client, url, "/sms/inbound", params).status_code == 200, sid
    assert sorted(m.external_id or "" for m in db.exec(select(InboundMessage)).all()) == sorted(good)


def test_signed_sms_with_bad_fields_is_a_bad_request(client: Any, settings: Settings, db: Session) -> None:
    for name, value in (("From", "+8491\x002345678"), ("From", "+84" + "9" * 80),
                        ("Body", "PA ngập\x00 nước ở ngõ 12 Kim Mã quá lâu"), ("Body", "PA " + "x" * 1600),
                        ("NumSegments", "²"), ("To", "8088\x07")):
        params = {**_params("PA Đường ngõ 12 Kim Mã ngập nặng mỗi khi mưa"), name: value}
        response = _signed_post(client, settings.public_base_url + "/sms/inbound", "/sms/inbound", params)
        assert response.status_code == 400, (name, value)
    assert db.exec(select(InboundMessage)).first() is None
    for sid, state, error in (("SM" + "a" * 200, "delivered", ""), ("SM" + "0" * 32, "delivered" * 5, ""),
                              ("SM" + "0" * 32, "failed", "3\x00")):
        params = {"MessageSid": sid, "MessageStatus": state, "ErrorCode": error}
        response = _signed_post(client, settings.public_base_url + "/sms/status", "/sms/status", params)
        assert response.status_code == 400, (sid, state, error)


def test_console_refuses_a_bad_call_id_and_keeps_the_typing(signed_in: Callable[[str], Any], db: Session) -> None:
    operator = signed_in("operator")
    for call_id in ("x" * 101, "1700000000.1\x00", "1700000000 1", "cuộc-gọi-1", ""):
        response = operator.post("/hotline/calls/new", data={"call_id": call_id, "caller": "0912345678", **CALL})
        assert response.status_code == 400, call_id
        assert "Mã cuộc gọi không hợp lệ" in response.text and CALL["transcript"][:40] in response.text
        screen_pop = operator.get("/hotline/calls/new", query_string={"call_id": call_id, "caller": "0912345678"})
        assert screen_pop.status_code == (200 if call_id == "" else 400)
        assert 'value="manual-' in screen_pop.text  # the operator still gets a form to type into
    assert db.exec(select(HotlineCall)).first() is None
    longest = operator.post("/hotline/calls/new", data={"call_id": "9" * 100, "caller": "0912345678", **CALL})
    assert longest.status_code == 303
    assert db.exec(select(HotlineCall)).one().call_id == "9" * 100


def test_cdr_durations_are_ascii_digits_only() -> None:
    line = cdr_line("1763712000.1", "0912345678", "2026-11-21 08:00:00", "ANSWERED", billsec=60)
    odd = line.replace(",68,60,", ",²,99999999999,")
    assert odd != line
    record = hotline.read_cdr(odd.encode())["1763712000.1"]
    assert (record.duration, record.billsec) == (None, None)
    assert hotline.read_cdr(line.encode())["1763712000.1"].duration == 68


@pytest.mark.parametrize(("cell", "reason"), [
    ("x" * 101, "dài quá 100 ký tự"), ("17637\x0012000.0", "ASCII in được"), ("1763 712000.0", "ASCII in được"),
])
def test_keyed_rows_with_a_bad_call_id_are_rejected_one_by_one(cell: str, reason: str) -> None:
    rows = keyed_call_rows(2)
    rows[0]["call_id"] = cell
    read = hotline.read_keyed_calls(keyed_calls_csv(rows))
    assert read[0].error and reason in read[0].error and read[1].error is None


def test_a_json_lines_row_with_a_lone_surrogate_is_rejected_and_the_rest_imported(signed_in: Callable[[str], Any],
                                                                                  db: Session) -> None:
    rows = keyed_call_rows(3)
    data = keyed_calls_jsonl(rows).replace("Nguyễn Thị Lan 1".encode(), b"Nguy\\ud800n")
    response = signed_in("coordinator").post("/hotline/import", data={"calls": (io.BytesIO(data), "calls.jsonl")},
                                             content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Đã nhập 2 cuộc gọi, bỏ qua 0 (đã nhập trước đó), 1 dòng lỗi." in response.text
    assert "ký tự điều khiển" in response.text
    assert len(db.exec(select(HotlineCall)).all()) == 2


def test_import_with_odd_cdr_values_does_not_fail(signed_in: Callable[[str], Any], db: Session) -> None:
    rows = keyed_call_rows(1)
    cdr = cdr_line(rows[0]["call_id"], rows[0]["caller"], rows[0]["started_at"], "ANSWERED", billsec=9)
    cdr = cdr.replace(",17,9,", ",²,٣,")
    response = signed_in("coordinator").post(
        "/hotline/import", data={"calls": (io.BytesIO(keyed_calls_csv(rows)), "calls.csv"),
                                 "cdr": (io.BytesIO(cdr.encode()), "Master.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200
    call = db.exec(select(HotlineCall).where(HotlineCall.call_id == rows[0]["call_id"])).one()
    assert (call.duration, call.billsec, call.disposition) == (None, None, "ANSWERED")


def test_api_bodies_of_the_wrong_shape_are_400(client: Any) -> None:
    for body in (b"[" * 100_000, b'{"title": ' + b"[" * 50_000 + b"}", b"[1, 2]", b'"x"', b"null"):
        response = client.post("/api/v1/reports", data=body, headers=API, content_type="application/json")
        assert response.status_code == 400 and response.json["error"] == 400, body[:20]


def test_api_fields_with_controls_or_lone_surrogates_are_400(client: Any, db: Session) -> None:
    for value in ("Nguy\ud800n", "Nguyễn\x00", "\x1b[2J"):
        body = json.dumps(fields(full_name=value)).encode()  # ensure_ascii: the surrogate travels as "\ud800"
        response = client.post("/api/v1/reports", data=body, headers=API, content_type="application/json")
        assert response.status_code == 400, value
        assert "ký tự điều khiển" in response.json["fields"]["full_name"][0]
    for key in ("k" * 65, "abc\x00", "two words", "khóa"):
        response = client.post("/api/v1/reports", json=fields(), headers={**API, "Idempotency-Key": key})
        assert response.status_code == 400 and "Idempotency-Key" in response.json["message"], key
    assert db.exec(select(Case)).first() is None


def test_the_web_form_refuses_control_characters_in_vietnamese(client: Any, db: Session) -> None:
    for field in ("full_name", "title", "content", "address"):
        response = client.post("/submit", data=fields(**{field: fields()[field] + "\x00"}))
        assert response.status_code == 400 and "chứa ký tự điều khiển không hợp lệ" in response.text, field
    assert db.exec(select(Case)).first() is None


def test_login_with_malformed_credentials_is_400(client: Any) -> None:
    for username, password in (("operator1\x00", "x" * 12), ("a" * 65, "x" * 12), ("operator1", "x" * 1025),
                               ("operator1", "mat\x00khau-1234")):
        response = client.post("/staff/login", data={"username": username, "password": password})
        assert response.status_code == 400 and "quá dài hoặc chứa ký tự điều khiển" in response.text


def test_login_never_redirects_off_site(client: Any, db: Session) -> None:
    make_staff(db, "operator")
    for target in ("/\\evil.example", "//evil.example", "https://evil.example/", "/x\x00y"):
        response = client.post("/staff/login", data={"username": "operator1", "password": PASSWORDS["operator"],
                                                     "next": target})
        assert response.status_code == 302 and response.headers["Location"] == "/hotline/", target
    assert client.post("/staff/login", data={"username": "operator1", "password": PASSWORDS["operator"],
                                             "next": "/hotline/search"}).headers["Location"] == "/hotline/search"


def test_forwarded_for_is_stored_short_and_clean(settings: Settings, db: Session) -> None:
    app = create_app(dataclasses.replace(settings, proxy_hops=1))
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    response = client.post("/submit", data=fields(), headers={"X-Forwarded-For": "1.2.3.4\x00" + "9" * 300})
    assert response.status_code == 303
    stored = db.exec(select(InboundMessage)).one()
    assert stored.remote_addr and len(stored.remote_addr) == 64 and "\x00" not in stored.remote_addr
    app.extensions["pakn"].engine.dispose()


def test_agency_answers_with_controls_or_too_long_are_refused(world: World) -> None:
    by_link = world.clients["operator"].application.test_client()
    for form, limit in (({"action": "answer", "answer": "Đã giải quyết xong cho công dân\x00."}, None),
                        ({"action": "return", "reason": "Không thuộc thẩm quyền\x07 của bộ"}, None),
                        ({"action": "answer", "answer": "Trả lời " * 3000}, 20000)):
        response = world.clients["agency"].post(f"/agency/cases/{world.web_case.id}", data=form)
        assert response.status_code == 400
        assert ("ký tự điều khiển" in response.text) if limit is None else (f"tối đa {limit} ký tự" in response.text)
        assert by_link.post(f"/agency/answer/{world.answer_token}", data=form).status_code == 400
    for field in ("text", "reason"):  # and the citizen's forms on the lookup page
        path = "/lookup/supplement" if field == "text" else "/lookup/disagree"
        response = by_link.post(path, data={**world.lookup, field: "Bổ sung: số hồ sơ 123/HD\x00 nộp ngày 5/3"})
        assert response.status_code == 400 and "ký tự điều khiển" in response.text


def test_staff_notes_with_controls_are_refused(signed_in: Callable[[str], Any], db: Session) -> None:
    operator, coordinator = signed_in("operator"), signed_in("coordinator")
    assert operator.post("/hotline/calls/new", data={"call_id": "1700000000.1", "caller": "0912345678",
                                                     **CALL}).status_code == 303
    case = db.exec(select(Case)).one()
    entry = CallBack(key="test", phone="+84243825353", reason="Cuộc gọi nhỡ")
    db.add(entry)
    db.commit()
    callback = operator.post(f"/hotline/callbacks/{entry.id}", data={"note": "Không nghe máy\x00", "done": "0"})
    assert callback.status_code == 400 and "ký tự điều khiển" in callback.text
    assert operator.get("/hotline/search", query_string={"phone": "0912\x00345678"}).status_code == 400
    note = coordinator.post(f"/coordinator/cases/{case.id}", data={"action": "needs_info", "note": "Thiếu\x00 địa chỉ"})
    assert note.status_code == 400 and "ký tự điều khiển" in note.text


def test_codes_too_long_to_exist_are_a_format_error(client: Any) -> None:
    for code in ("9" * 5000, "9" * 19, "26-" + "0" * 20 + "-1"):
        response = client.post("/lookup", data={"code": code, "name": "Nguyễn Văn An"})
        assert response.status_code == 400 and "không đúng định dạng" in response.text


def test_public_list_pages_and_filters_are_bounded(client: Any) -> None:
    assert client.get("/cong-khai/", query_string={"trang": "461170000000000000"}).status_code == 200
    assert client.get("/cong-khai/", query_string={"trang": "²"}).status_code == 200  # the first page
    for name in ("linh_vuc", "co_quan", "q"):
        response = client.get("/cong-khai/", query_string={name: "dat-dai\x00"})
        assert response.status_code == 400 and "ký tự điều khiển" in response.text, name


def test_open311_external_ids_and_tokens_are_bounded(client: Any, db: Session) -> None:
    filing = {"api_key": "test-key-1", "service_code": "dat-dai", "first_name": "An", "last_name": "Nguyễn",
              "phone": "0912345678", "address_string": "Số 1 phố Huế, Hà Nội",
              "description": "Chậm cấp giấy chứng nhận quyền sử dụng đất, đã quá hạn 45 ngày chưa có kết quả"}
    for external in ("ab\x00c", "x" * 65, "two words"):
        response = client.post("/open311/v2/requests.json", data={**filing, "attribute[external_id]": external})
        assert response.status_code == 400 and "external_id" in response.text, external
    assert db.exec(select(Case)).first() is None
    assert client.get("/open311/v2/tokens/%00.json").status_code == 404


def test_admin_webhook_forms_are_bounded(signed_in: Callable[[str], Any]) -> None:
    admin = signed_in("admin")
    for subscription_id in ("9" * 30, "²", "-1"):
        assert admin.post("/admin/webhooks", data={"action": "remove", "id": subscription_id}).status_code == 404
    response = admin.post("/admin/webhooks", data={"action": "add", "url": "https://hook.example/\x00",
                                                   "events": "case.registered"})
    assert response.status_code == 400 and "ký tự điều khiển" in response.text
