"""The hotline console: staff login, keyed calls, read-back, desk, call-backs, access."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from config.settings import ROOT, Settings
from gateway.constants import Channel, EventKind
from gateway.models import CallBack, Case, Event, HotlineCall, StaffUser, utcnow
from tests.conftest import SmtpServer
from tests.factories import CALL, PASSWORDS, fields, login, make_staff
from tests.twilio_fake import TwilioFake

MOBILE, LANDLINE = "0912345678", "024 3825 3536"


@pytest.fixture
def operator(db: Session) -> StaffUser:
    """An operator account."""
    return make_staff(db, "operator")


def _key_call(client: Any, call_id: str = "1700000000.42", caller: str = MOBILE, **extra: str) -> Any:
    return client.post("/hotline/calls/new", data={"call_id": call_id, "caller": caller, **CALL, **extra})


# --- login ----------------------------------------------------------------------

def test_login_and_logout(client: Any, operator: StaffUser) -> None:
    assert client.get("/hotline/").status_code == 302
    response = login(client, "operator")
    assert response.headers["Location"] == "/hotline/"
    assert client.get("/hotline/").status_code == 200
    client.post("/staff/logout")
    assert client.get("/hotline/").status_code == 302


def test_wrong_password_locks_the_account(client: Any, operator: StaffUser, db: Session) -> None:
    unknown = client.post("/staff/login", data={"username": "nobody", "password": "x" * 12})
    for _ in range(5):
        wrong = client.post("/staff/login", data={"username": "operator1", "password": "sai-mat-khau-1"})
        assert wrong.status_code == 401
    def masked(page: str) -> str:
        return re.sub(r'name="csrf_token" value="[^"]+"', "", page)

    assert masked(wrong.text) == masked(unknown.text)  # the same answer: no hint whether the account exists
    right = client.post("/staff/login", data={"username": "operator1", "password": PASSWORDS["operator"]})
    assert right.status_code == 401  # locked now, even with the right password
    db.refresh(operator)
    assert operator.locked_until is not None and operator.locked_until > utcnow()
    operator.locked_until = utcnow() - timedelta(seconds=1)  # fifteen minutes later
    db.add(operator)
    db.commit()
    assert login(client, "operator").status_code == 302


def test_login_never_redirects_off_site(client: Any, operator: StaffUser) -> None:
    for target in ("https://evil.example/x", "//evil.example/x", "javascript:alert(1)"):
        response = client.post("/staff/login", data={"username": "operator1", "password": PASSWORDS["operator"],
                                                     "next": target})
        assert response.headers["Location"] == "/hotline/"
    response = client.post("/staff/login", data={"username": "operator1", "password": PASSWORDS["operator"],
                                                 "next": "/hotline/callbacks"})
    assert response.headers["Location"] == "/hotline/callbacks"


def test_password_change_epoch_signs_sessions_out(client: Any, operator: StaffUser, db: Session) -> None:
    login(client, "operator")
    operator.session_epoch += 1
    db.add(operator)
    db.commit()
    assert client.get("/hotline/").status_code == 302


STAFF_ROUTES = [
    ("GET", "/hotline/", ("operator", "coordinator", "admin")),
    ("GET", "/hotline/calls/new", ("operator", "coordinator", "admin")),
    ("POST", "/hotline/calls/new", ("operator", "coordinator", "admin")),
    ("GET", "/hotline/calls/1", ("operator", "coordinator", "admin")),
    ("GET", "/hotline/calls/1/status.json", ("operator", "coordinator", "admin")),
    ("GET", "/hotline/search?phone=0912345678", ("operator", "coordinator", "admin")),
    ("GET", "/hotline/callbacks", ("operator", "coordinator", "admin")),
    ("POST", "/hotline/callbacks/1", ("operator", "coordinator", "admin")),
    ("GET", "/hotline/import", ("coordinator", "admin")),
    ("POST", "/hotline/import", ("coordinator", "admin")),
]


@pytest.mark.parametrize(("method", "path", "allowed"), STAFF_ROUTES)
def test_every_staff_route_refuses_anonymous_and_wrong_roles(app: Any, db: Session, method: str, path: str,
                                                             allowed: tuple[str, ...]) -> None:
    anonymous = app.test_client().open(path, method=method)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/staff/login")
    for role in ("operator", "coordinator", "agency", "admin"):
        make_staff(db, role)
        client = app.test_client()
        login(client, role)
        status = client.open(path, method=method).status_code
        if role in allowed:
            assert status not in (302, 403), (role, path, status)
        else:
            assert status == 403, (role, path, status)
            assert "không có quyền" in client.open(path, method=method).text


# --- keyed calls ----------------------------------------------------------------

def test_screen_pop_prefills_and_the_call_is_read_back(client: Any, operator: StaffUser, db: Session,
                                                       run_worker: Callable[[], None], twilio: TwilioFake) -> None:
    login(client, "operator")
    page = client.get("/hotline/calls/new?call_id=1700000000.42&caller=0912345678").text
    assert 'value="1700000000.42"' in page and 'value="0912345678"' in page
    response = _key_call(client, field_hint="lao-dong")
    assert response.status_code == 303
    case = db.exec(select(Case)).one()
    assert (case.channel, case.external_id, case.phone) == (Channel.hotline, "1700000000.42", "+84912345678")
    assert (case.full_name, case.created_by, case.field_hint) == ("Trần Văn Hùng", "operator1", "lao-dong")
    call = db.exec(select(HotlineCall)).one()
    assert (call.call_id, call.operator, call.source) == ("1700000000.42", "operator1", "console")
    assert call.case_id == case.id
    assert db.exec(select(Event)).first().actor == "operator1"  # type: ignore[union-attr]
    page_url = response.headers["Location"]
    assert "đang cấp mã" in client.get(page_url).text
    run_worker()
    state = client.get(page_url + "/status.json").json
    db.refresh(case)
    assert state["code"] == case.code and case.code in client.get(page_url).text
    [sms] = twilio.to("+84912345678")
    assert case.code in sms.body and "19001547" in sms.body and "Xa cham xac nhan ho so" in sms.body
    assert sms.segments <= 2


def test_the_same_call_keyed_twice_is_one_case(client: Any, operator: StaffUser, db: Session) -> None:
    login(client, "operator")
    assert _key_call(client).status_code == 303
    again = _key_call(client, title="Nhập lại lần hai cùng cuộc gọi")
    assert again.status_code == 409
    assert "đã được nhập trước đó" in again.text and "Mở PAKN đã nhập" in again.text
    assert len(db.exec(select(Case)).all()) == 1


def test_console_validation_is_the_web_forms(client: Any, operator: StaffUser, db: Session) -> None:
    login(client, "operator")
    response = _key_call(client, caller="12", caller_name="")
    assert response.status_code == 400
    assert "Số điện thoại không hợp lệ" in response.text and "Vui lòng nhập Họ và tên." in response.text
    assert 'value="Xã chậm xác nhận hồ sơ hưởng trợ cấp người có công"' in response.text  # nothing lost
    assert db.exec(select(Case)).all() == []


def test_landline_caller_without_email_is_called_back(client: Any, operator: StaffUser, db: Session,
                                                      run_worker: Callable[[], None], twilio: TwilioFake,
                                                      smtp: SmtpServer) -> None:
    login(client, "operator")
    _key_call(client, call_id="c-landline", caller=LANDLINE)
    _key_call(client, call_id="c-landline-mail", caller="028 3829 5555", email="hung@example.com")
    run_worker()
    assert twilio.sent == []
    entry = db.exec(select(CallBack)).one()
    assert entry.phone == "+842438253536" and "Báo mã PAKN" in entry.reason
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "hung@example.com"


def test_desk_search_and_callbacks(client: Any, operator: StaffUser, db: Session, run_worker: Callable[[], None],
                                   settings: Settings) -> None:
    client.post("/submit", data=fields(phone="0912 345 678"))  # the same person wrote on the web before
    login(client, "operator")
    _key_call(client)
    _key_call(client, call_id="c-2", caller=LANDLINE)
    run_worker()
    desk = client.get("/hotline/").text
    assert "Cuộc gọi tôi đã nhập hôm nay (2)" in desk and "Báo mã PAKN" in desk
    found = client.get("/hotline/search?phone=091.234.5678").text
    assert "2 PAKN từ +84912345678" in found and ">Cổng thông tin (web)<" in found and ">Tổng đài 1900 1547<" in found
    entry = db.exec(select(CallBack)).one()
    assert "024 3825 3536" in client.get("/hotline/callbacks").text  # numbers as operators read them
    client.post(f"/hotline/callbacks/{entry.id}", data={"note": "Không nghe máy", "done": "0"})
    client.post(f"/hotline/callbacks/{entry.id}", data={"note": "Đã báo mã", "done": "1"})
    db.refresh(entry)
    assert entry.attempts == 2 and entry.done_at is not None
    assert "operator1: Không nghe máy" in (entry.note or "") and "operator1: Đã báo mã" in (entry.note or "")
    notes = [e.note for e in db.exec(select(Event).where(Event.kind == EventKind.callback))]
    assert "Đã gọi lại: Đã báo mã" in notes


def test_users_create_command(app: Any, db: Session) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "Le.Thi.Mai", "--role", "operator", "--name", "Lê Thị Mai",
                                 "--password", "-"], input="mat-khau-du-dai-2026\n")
    assert result.exit_code == 0, result.output
    assert "created operator le.thi.mai" in result.output
    user = db.exec(select(StaffUser)).one()
    assert user.password_hash.startswith("scrypt:") and "mat-khau" not in user.password_hash
    weak = runner.invoke(args=["users", "create", "x2", "--role", "operator", "--password", "-"], input="ngan\n")
    assert weak.exit_code != 0 and "at least 10" in weak.output
    taken = runner.invoke(args=["users", "create", "LE.THI.MAI", "--role", "admin", "--password", "-"],
                          input="mat-khau-du-dai-2026\n")
    assert taken.exit_code != 0 and "taken" in taken.output


@pytest.mark.parametrize(("path", "allowed"), [
    ("/coordinator/", ("coordinator", "admin")), ("/coordinator/cases/1", ("coordinator", "admin")),
    ("/agency/", ("agency", "admin")), ("/agency/cases/1", ("agency", "admin")),  # admin reaches every page
])
def test_coordinator_and_agency_routes_refuse_others(app: Any, db: Session, path: str,
                                                     allowed: tuple[str, ...]) -> None:
    app.test_cli_runner().invoke(args=["agencies", "import", str(ROOT / "config" / "agencies" / "ministries.vcf")])
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/staff/login")
    for role in ("operator", "coordinator", "agency", "admin"):
        make_staff(db, role)
        client = app.test_client()
        login(client, role)
        status = client.get(path).status_code
        if role in allowed:
            assert status in (200, 404), (role, path, status)  # 404: no such case (or not this agency's)
        else:
            assert status == 403, (role, path, status)
