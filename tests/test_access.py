"""Who sees which case: operators keep to the hotline (audited once per session), admin reaches every page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from config.settings import ROOT, Settings
from gateway.constants import Channel, EventKind
from gateway.models import Agency, Case, Event
from tests.factories import CALL, fields, login, make_staff
from tests.test_sms import _params, _signed_post

DEMO = str(ROOT / "config" / "agencies" / "ministries.vcf")
LAND = {"title": "Chậm cấp giấy chứng nhận quyền sử dụng đất",
        "content": "Tôi nộp hồ sơ cấp sổ đỏ, giấy chứng nhận quyền sử dụng đất tại văn phòng đăng ký đất đai từ "
                   "tháng 3 nhưng cán bộ địa chính hẹn nhiều lần, đến nay đã quá hạn 45 ngày vẫn chưa có kết quả."}


@pytest.fixture
def staff(app: Any, db: Session) -> dict[str, Any]:
    """A signed-in client per role, plus a second operator."""
    clients = {}
    for role, username in (("operator", None), ("operator", "operator2"), ("coordinator", None), ("agency", None),
                           ("admin", None)):
        make_staff(db, role, username)
        client = app.test_client()
        login(client, role, username)
        clients[username or role] = client
    return clients


@pytest.fixture
def cases_by_channel(client: Any, staff: dict[str, Any], settings: Settings, db: Session) -> dict[Channel, Case]:
    """One case from each channel (the hotline one keyed by ``operator2``)."""
    assert client.post("/submit", data=fields()).status_code == 303
    assert client.post("/api/v1/reports", json=fields(), headers={"X-Api-Key": "test-key-1"}).status_code == 202
    params = _params("PA Đường ngõ 12 Kim Mã ngập nặng mỗi khi mưa, đề nghị xử lý", sender="+84912345678")
    assert _signed_post(client, settings.public_base_url + "/sms/inbound", "/sms/inbound", params).status_code == 200
    keyed = staff["operator2"].post("/hotline/calls/new", data={"call_id": "1700000000.7", "caller": "0912345678",
                                                                **CALL})
    assert keyed.status_code == 303
    return {case.channel: case for case in db.exec(select(Case)).all()}


def _views(db: Session, case: Case, actor: str) -> int:
    return len(db.exec(select(Event).where(Event.case_id == case.id, Event.actor == actor,
                                           Event.kind == EventKind.view)).all())


def test_operators_open_hotline_cases_only(staff: dict[str, Any], cases_by_channel: dict[Channel, Case]) -> None:
    operator = staff["operator"]
    hotline = cases_by_channel[Channel.hotline]
    page = operator.get(f"/hotline/calls/{hotline.id}")  # keyed by operator2: the desk is shared
    assert page.status_code == 200 and CALL["caller_name"] in page.text
    assert operator.get(f"/hotline/calls/{hotline.id}/status.json").status_code == 200
    for channel in (Channel.web, Channel.api, Channel.sms):
        case = cases_by_channel[channel]
        assert operator.get(f"/hotline/calls/{case.id}").status_code == 404, channel
        assert operator.get(f"/hotline/calls/{case.id}/status.json").status_code == 404, channel
        for role in ("coordinator", "admin"):  # the coordinating office sees every channel
            assert staff[role].get(f"/hotline/calls/{case.id}").status_code == 200, (role, channel)


def test_opening_a_call_is_audited_once_per_user_and_session(app: Any, staff: dict[str, Any], db: Session,
                                                             cases_by_channel: dict[Channel, Case]) -> None:
    case = cases_by_channel[Channel.hotline]
    operator = staff["operator"]
    operator.get(f"/hotline/calls/{case.id}")
    for _ in range(5):  # the page polls until the code is there
        assert operator.get(f"/hotline/calls/{case.id}/status.json").status_code == 200
    operator.get(f"/hotline/calls/{case.id}")  # a reload
    assert _views(db, case, "operator1") == 1
    [event] = db.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.view)).all()
    assert event.note and "Xem cuộc gọi" in event.note
    staff["coordinator"].get(f"/hotline/calls/{case.id}/status.json")  # another user: their own event
    assert _views(db, case, "coordinator1") == 1
    operator.post("/staff/logout")
    login(operator, "operator")  # a new session: the first look is recorded again
    operator.get(f"/hotline/calls/{case.id}/status.json")
    assert _views(db, case, "operator1") == 2
    with operator.session_transaction() as cookie:  # a session signed in before the audit knew sessions
        del cookie["since"]
    for _ in range(3):
        operator.get(f"/hotline/calls/{case.id}/status.json")
    assert _views(db, case, "operator1") == 3  # one more, from then on
    other = cases_by_channel[Channel.web]
    operator.get(f"/hotline/calls/{other.id}")  # refused: nothing to audit
    assert _views(db, other, "operator1") == 0


def test_the_phone_search_shows_title_status_and_code_only(staff: dict[str, Any],
                                                           cases_by_channel: dict[Channel, Case]) -> None:
    page = staff["operator"].get("/hotline/search", query_string={"phone": "0912 345 678"})
    assert page.status_code == 200 and "4 PAKN" in page.text
    for case in cases_by_channel.values():
        assert case.title in page.text
        if case.channel != Channel.sms:  # an SMS's title is its first words
            assert case.content[:40] not in page.text and case.address[:20] not in page.text
        if case.full_name:
            assert case.full_name not in page.text
        if case.email:
            assert case.email not in page.text
    assert "Cổng thông tin (web)" in page.text and "Tin nhắn 8088" in page.text and "Tổng đài 1900 1547" in page.text


STAFF_PAGES = ("/hotline/", "/hotline/calls/new", "/hotline/callbacks", "/hotline/search?phone=0912345678",
               "/hotline/import", "/coordinator/", "/agency/")


def test_admin_reaches_every_staff_page(app: Any, client: Any, staff: dict[str, Any], db: Session,
                                        run_worker: Callable[[], None]) -> None:
    assert app.test_cli_runner().invoke(args=["agencies", "import", DEMO]).exit_code == 0
    assert client.post("/submit", data=fields(**LAND)).status_code == 303
    run_worker()
    case = db.exec(select(Case)).one()
    assert case.agency_id is not None
    admin = staff["admin"]
    for path in (*STAFF_PAGES, f"/coordinator/cases/{case.id}", f"/agency/cases/{case.id}",
                 f"/hotline/calls/{case.id}"):
        response = admin.get(path)
        assert response.status_code == 200, (path, response.status_code)
    assert _views(db, case, "admin1") >= 1  # what admin opened is audited too
    assert 'href="/agency/"' in admin.get("/hotline/").text  # and the menu leads there


def test_admin_sees_every_agencys_open_cases_or_picks_one(app: Any, client: Any, staff: dict[str, Any], db: Session,
                                                          run_worker: Callable[[], None]) -> None:
    assert app.test_cli_runner().invoke(args=["agencies", "import", DEMO]).exit_code == 0
    for _ in range(2):
        assert client.post("/submit", data=fields(**LAND)).status_code == 303
    run_worker()
    land, other = db.exec(select(Case).order_by(Case.id)).all()
    health = db.exec(select(Agency).where(Agency.code == "bo-y-te")).one()
    moved = staff["coordinator"].post(f"/coordinator/cases/{other.id}", data={"action": "forward",
                                                                              "agency_id": health.id})
    assert moved.status_code == 303
    admin = staff["admin"]
    everything = admin.get("/agency/").text
    assert land.code in everything and other.code in everything and "Bộ Y tế" in everything
    only_health = admin.get("/agency/", query_string={"agency": "bo-y-te"}).text
    assert other.code in only_health and land.code not in only_health
    assert admin.get("/agency/", query_string={"agency": "khong-co"}).status_code == 404
    assert admin.get(f"/agency/cases/{other.id}").status_code == 200
    assert admin.get(f"/agency/cases/{land.id}", query_string={"agency": "bo-y-te"}).status_code == 404
    agency_staff = staff["agency"]  # of bo-nong-nghiep-moi-truong: still only their own
    assert land.code in agency_staff.get("/agency/").text and other.code not in agency_staff.get("/agency/").text
    assert agency_staff.get("/agency/", query_string={"agency": "bo-y-te"}).text.count(other.code or "-") == 0
    assert agency_staff.get(f"/agency/cases/{other.id}").status_code == 404
