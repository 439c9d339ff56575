"""The agency loop end to end: classify → forward with .ics/.vcf → answer by link → citizen → rate → disagree."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
import vobject
from sqlmodel import Session, select

from config.settings import ROOT, Settings
from gateway import routing
from gateway.clock.calendar import default_calendar
from gateway.constants import CaseStatus, Channel
from gateway.models import Agency, CallBack, Case
from tests.conftest import SmtpServer
from tests.factories import CALL, fields, jpg_bytes, login, make_staff, pdf_bytes
from tests.test_sms import _params, _signed_post
from tests.twilio_fake import TwilioFake

DEMO = str(ROOT / "config" / "agencies" / "ministries.vcf")
LAND = {"title": "Chậm cấp giấy chứng nhận quyền sử dụng đất",
        "content": "Tôi nộp hồ sơ cấp sổ đỏ, giấy chứng nhận quyền sử dụng đất tại văn phòng đăng ký đất đai từ "
                   "tháng 3 nhưng cán bộ địa chính hẹn nhiều lần, đến nay đã quá hạn 45 ngày vẫn chưa có kết quả."}


@pytest.fixture
def directory_loaded(app: Any) -> None:
    """The demo ministries (post-2025) as the directory."""
    assert app.test_cli_runner().invoke(args=["agencies", "import", DEMO]).exit_code == 0


def _subject(message: Message) -> str:
    return str(message["Subject"])  # decoded by the modern parser, as a mail client would


def _agency_mail(smtp: SmtpServer, code: str) -> Message:
    found = [m for m in smtp.messages if "nnmt.gov.example" in str(m["To"]) and code in _subject(m)]
    assert len(found) == 1, [(_subject(m), m["To"]) for m in smtp.messages]
    return found[0]


def _check_dossier(mail: Message, case: Case, *, with_photo: bool) -> str:
    """The three kinds of attachment, parsed back; returns the answer link."""
    assert mail["To"] == "pakn@nnmt.gov.example, vanthu@nnmt.gov.example"
    assert _subject(mail) == f"[PAKN {case.code}] {case.title}"
    assert mail["Reply-To"] == f"pakn+{case.code}@pakn.example.gov.vn" and mail["Message-ID"]
    parts = {p.get_filename(): p for p in mail.walk() if p.get_filename()}
    assert f"PAKN-{case.code}.ics" in parts and f"PAKN-{case.code}.vcf" in parts
    assert ("anh-hien-truong.jpg" in parts) is with_photo
    calendar = vobject.readOne(parts[f"PAKN-{case.code}.ics"].get_payload(decode=True).decode())
    due = calendar.vtodo.due.value
    assert due == case.due_at.replace(microsecond=0)  # type: ignore[union-attr]  # iCalendar: whole seconds
    # 20 days from the day the agency received it (forwarded the day it came in), moved off days off
    received = case.created_at.astimezone(routing.VN_TZ).date()
    due_day = case.due_at.astimezone(routing.VN_TZ).date()  # type: ignore[union-attr]
    assert due_day == default_calendar().next_working_day(received + timedelta(days=20))
    assert calendar.vtodo.sequence.value == str(case.due_sequence) == "1"
    assert calendar.vevent.dtstart.value == due.astimezone(routing.VN_TZ).date()
    card = vobject.readOne(parts[f"PAKN-{case.code}.vcf"].get_payload(decode=True).decode())
    assert card.tel.value == case.phone and (card.fn.value == case.full_name or not case.full_name)
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "<script>" not in html
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    link = re.search(r"https://pakn\.example\.gov\.vn(/agency/answer/\S+)", text)
    assert link
    return link.group(1)


def _answer(client: Any, link: str, files: list[tuple[bytes, str]] | None = None) -> None:
    page = client.get(link)
    assert page.status_code == 200 and "Trả lời" in page.text
    data: dict[str, Any] = {"action": "answer", "answer": "Văn phòng đăng ký đất đai đã cấp giấy chứng nhận ngày "
                            "20/11; đề nghị Ông/Bà đến nhận tại bộ phận một cửa."}
    if files:
        data["files"] = [(io.BytesIO(content), name) for content, name in files]
    response = client.post(link, data=data, content_type="multipart/form-data")
    assert response.status_code == 303


@pytest.mark.slow
def test_web_loop(client: Any, app: Any, directory_loaded: None, run_worker: Callable[[], None], smtp: SmtpServer,
                  db: Session) -> None:
    data: dict[str, Any] = fields(**LAND)
    data["attachments"] = [(io.BytesIO(jpg_bytes()), "anh-hien-truong.jpg")]
    assert client.post("/submit", data=data, content_type="multipart/form-data").status_code == 303
    run_worker()
    case = db.exec(select(Case)).one()
    assert case.status == CaseStatus.forwarded and case.field == "dat-dai" and case.case_type == "hanh_vi"
    link = _check_dossier(_agency_mail(smtp, case.code or ""), case, with_photo=True)
    _answer(app.test_client(), link, files=[(pdf_bytes(), "cong-van-tra-loi.pdf")])
    run_worker()
    db.refresh(case)
    assert case.status == CaseStatus.answered
    answer_mail = [m for m in smtp.messages if m["To"] == "nhung.nguyen@example.com" and "Kết quả" in _subject(m)]
    assert len(answer_mail) == 1
    assert "đã cấp giấy chứng nhận" in answer_mail[0].get_body(("plain",)).get_content()
    assert [p.get_filename() for p in answer_mail[0].iter_attachments()] == ["cong-van-tra-loi.pdf"]
    lookup = {"code": case.code, "name": "Nguyễn Thị Hồng Nhung"}
    page = client.post("/lookup", data=lookup).text
    assert "đã cấp giấy chứng nhận ngày 20/11" in page and "Gửi đánh giá" in page
    assert "Cảm ơn" in client.post("/lookup/rate", data={**lookup, "rating": "2"}).text
    reason = "Tôi đến nhận nhưng bộ phận một cửa nói chưa có."
    reply = client.post("/lookup/disagree", data={**lookup, "reason": reason})
    assert "Đã ghi nhận ý kiến không đồng ý" in reply.text
    run_worker()
    db.refresh(case)
    follow = db.exec(select(Case).where(Case.follows_id == case.id)).one()
    assert (case.status, case.rating) == (CaseStatus.reopened, 2)
    assert follow.status == CaseStatus.forwarded and follow.agency_id == case.agency_id and follow.code
    assert follow.due_at and follow.due_at >= case.due_at and follow.due_sequence == 1  # type: ignore[operator]
    _agency_mail(smtp, follow.code or "")
    page = client.post("/lookup", data=lookup).text
    assert f"Ý kiến không đồng ý đang được xem xét: PAKN {follow.code}" in page


@pytest.mark.slow
def test_sms_loop(client: Any, app: Any, directory_loaded: None, run_worker: Callable[[], None], smtp: SmtpServer,
                  twilio: TwilioFake, db: Session, settings: Settings) -> None:
    url = settings.public_base_url + "/sms/inbound"
    body = "PA cham cap so do: toi nop ho so cap giay chung nhan quyen su dung dat tu thang 3, can bo dia chinh hen " \
           "nhieu lan, da qua han 45 ngay van chua co ket qua"
    _signed_post(client, url, "/sms/inbound", _params(body))
    run_worker()
    case = db.exec(select(Case)).one()
    assert case.status == CaseStatus.forwarded and case.channel == Channel.sms
    link = _check_dossier(_agency_mail(smtp, case.code or ""), case, with_photo=False)
    _answer(app.test_client(), link)
    run_worker()
    answer_sms = twilio.to("+84912345678")[-1]
    assert answer_sms.body.startswith(f"PAKN {case.code} da co ket qua tra loi:") and answer_sms.segments <= 2
    _signed_post(client, url, "/sms/inbound", _params(f"DG {case.code} 5"))
    _signed_post(client, url, "/sms/inbound", _params(f"KDY {case.code} chua nhan duoc so do nhu tra loi"))
    run_worker()
    db.refresh(case)
    follow = db.exec(select(Case).where(Case.follows_id == case.id)).one()
    assert case.rating == 5 and case.status == CaseStatus.reopened and follow.status == CaseStatus.forwarded
    assert twilio.to("+84912345678")[-1].body.startswith("Da ghi nhan y kien khong dong y")
    _agency_mail(smtp, follow.code or "")


@pytest.mark.slow
def test_hotline_loop(client: Any, app: Any, directory_loaded: None, run_worker: Callable[[], None],
                      smtp: SmtpServer, twilio: TwilioFake, db: Session) -> None:
    make_staff(db, "operator")
    login(client, "operator")
    client.post("/hotline/calls/new", data={**CALL, **LAND, "call_id": "c-loop", "caller": "0987654321"})
    client.post("/hotline/calls/new", data={**CALL, **LAND, "call_id": "c-loop-2", "caller": "024 3825 3536"})
    run_worker()
    mobile, landline = db.exec(select(Case).order_by(Case.id)).all()
    for case in (mobile, landline):
        assert case.status == CaseStatus.forwarded
        _answer(app.test_client(), _check_dossier(_agency_mail(smtp, case.code or ""), case, with_photo=False))
    run_worker()
    assert twilio.to("+84987654321")[-1].body.startswith(f"PAKN {mobile.code} da co ket qua tra loi")
    entries = db.exec(select(CallBack).where(CallBack.case_id == landline.id)).all()
    assert any("Báo cho người gửi" in e.reason for e in entries)  # a landline without email: an operator calls
    citizen = app.test_client()
    lookup = {"code": mobile.code, "name": "tran van hung"}
    assert "Cảm ơn" in citizen.post("/lookup/rate", data={**lookup, "rating": "3"}).text
    citizen.post("/lookup/disagree", data={**lookup, "reason": "Xã vẫn chưa chuyển hồ sơ lên huyện như trả lời."})
    run_worker()
    db.refresh(mobile)
    follow = db.exec(select(Case).where(Case.follows_id == mobile.id)).one()
    assert (mobile.rating, mobile.status, follow.status) == (3, CaseStatus.reopened, CaseStatus.forwarded)
    assert follow.channel == Channel.hotline and follow.agency_id == mobile.agency_id
    _agency_mail(smtp, follow.code or "")


def test_tokens_are_bound_and_expire(client: Any, app: Any, directory_loaded: None, run_worker: Callable[[], None],
                                     smtp: SmtpServer, db: Session, settings: Settings,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    client.post("/submit", data=fields(**LAND))
    run_worker()
    case = db.exec(select(Case)).one()
    link = _check_dossier(_agency_mail(smtp, case.code or ""), case, with_photo=False)
    token = link.rsplit("/", 1)[-1]
    assert client.get(f"/agency/answer/{token[:-2]}xx").status_code == 403  # tampered
    other = db.exec(select(Agency).where(Agency.code == "bo-y-te")).one()
    wrong = routing.answer_token(settings, case_id=case.id or 0, agency_id=other.id or 0)
    assert client.get(f"/agency/answer/{wrong}").status_code == 403  # for another agency
    import itsdangerous.timed
    real_time = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - 61 * 86400)
    old = routing.answer_token(settings, case_id=case.id or 0, agency_id=case.agency_id or 0)
    monkeypatch.setattr(itsdangerous.timed.time, "time", real_time)
    assert client.get(f"/agency/answer/{old}").status_code == 403  # expired
    assert "đã hết hạn" in client.get(f"/agency/answer/{old}").text


def test_agencies_see_only_their_cases_and_can_return_one(app: Any, client: Any, directory_loaded: None,
                                                          run_worker: Callable[[], None], db: Session) -> None:
    client.post("/submit", data=fields(**LAND))
    run_worker()
    case = db.exec(select(Case)).one()
    from gateway import auth
    from gateway.constants import Role
    auth.create_user(db, username="yte1", password="co-quan-2026!!", role=Role.agency, display_name="Bộ Y tế",
                     agency_code="bo-y-te")
    auth.create_user(db, username="nnmt1", password="co-quan-2026!!", role=Role.agency, display_name="NN&MT",
                     agency_code="bo-nong-nghiep-moi-truong")
    health = app.test_client()
    health.post("/staff/login", data={"username": "yte1", "password": "co-quan-2026!!"})
    assert case.code not in health.get("/agency/").text
    assert health.get(f"/agency/cases/{case.id}").status_code == 404
    land = app.test_client()
    land.post("/staff/login", data={"username": "nnmt1", "password": "co-quan-2026!!"})
    assert case.code in land.get("/agency/").text
    assert land.get(f"/agency/cases/{case.id}").status_code == 200
    back = land.post(f"/agency/cases/{case.id}", data={"action": "return", "reason": "Thuộc thẩm quyền UBND huyện"})
    assert back.status_code == 303
    db.refresh(case)
    assert case.status == CaseStatus.triage and case.agency_id is None
    views = [e.note for e in routing.cases.timeline(db, case_id=case.id or 0) if e.kind.value == "view"]
    assert "Xem thông tin người gửi" in views  # staff views of personal data are audited


def test_coordinator_desk(app: Any, client: Any, directory_loaded: None, run_worker: Callable[[], None],
                          smtp: SmtpServer, db: Session) -> None:
    client.post("/submit", data=fields(title="Phản ánh về việc ở phường",
                                       content="Tôi đã đến phường nhiều lần nhưng việc của gia đình tôi vẫn chưa xong, "
                                               "mong được xem xét giải quyết sớm cho gia đình."))
    client.post("/submit", data=fields(**LAND))
    client.post("/submit", data=fields(**LAND))
    run_worker()
    vague, first, second = db.exec(select(Case).order_by(Case.id)).all()
    assert vague.status == CaseStatus.triage
    make_staff(db, "coordinator")
    desk = app.test_client()
    login(desk, "coordinator")
    page = desk.get(f"/coordinator/cases/{vague.id}").text
    assert "Gợi ý phân loại" in page and 'id="reasons"' in page
    construction = db.exec(select(Agency).where(Agency.code == "bo-xay-dung")).one()
    assert desk.post(f"/coordinator/cases/{vague.id}", data={"action": "forward", "agency_id": construction.id,
                                                            "field": "xay-dung"}).status_code == 303
    db.refresh(vague)
    assert (vague.status, vague.agency_id, vague.field) == (CaseStatus.forwarded, construction.id, "xay-dung")
    health = db.exec(select(Agency).where(Agency.code == "bo-y-te")).one()
    desk.post(f"/coordinator/cases/{vague.id}", data={"action": "forward", "agency_id": health.id})  # reroute
    db.refresh(vague)
    assert vague.agency_id == health.id
    marked = desk.post(f"/coordinator/cases/{second.id}", data={"action": "duplicate", "code": first.code})
    assert marked.status_code == 303
    db.refresh(second)
    assert second.status == CaseStatus.closed and second.duplicate_of_id == first.id
    run_worker()
    assert any("yte.gov.example" in str(m["To"]) and vague.code in _subject(m) for m in smtp.messages)


@pytest.mark.parametrize(("content", "expected"), [
    ("Tôi làm đơn khiếu nại quyết định xử phạt của phường vì không đúng người, đề nghị hủy quyết định này.",
     "không tiếp nhận khiếu nại, tố cáo"),
    ("Xin tư vấn pháp luật giúp tôi về thủ tục chia thừa kế nhà đất khi bố mẹ mất không để lại di chúc.",
     "không tư vấn, giải đáp pháp luật"),
])
def test_out_of_scope_is_answered_with_the_right_channel(client: Any, directory_loaded: None,
                                                         run_worker: Callable[[], None], smtp: SmtpServer,
                                                         db: Session, content: str, expected: str) -> None:
    client.post("/submit", data=fields(title="Đề nghị", content=content))
    run_worker()
    case = db.exec(select(Case)).one()
    assert case.status == CaseStatus.closed
    notice = [m for m in smtp.messages if "Thông báo" in _subject(m)]
    assert len(notice) == 1 and expected in notice[0].get_payload(decode=True).decode()
    assert not any("gov.example" in str(m["To"]) for m in smtp.messages)  # no ministry bothered


def test_asked_for_more_then_supplemented_on_the_lookup_page(client: Any, directory_loaded: None,
                                                             run_worker: Callable[[], None], smtp: SmtpServer,
                                                             db: Session) -> None:
    client.post("/submit", data=fields(title="Đề nghị xem xét", content="Việc của tôi chưa được giải quyết ạ."))
    run_worker()
    case = db.exec(select(Case)).one()
    assert case.status == CaseStatus.needs_info
    asked = [m for m in smtp.messages if "Thông báo" in _subject(m)]
    assert len(asked) == 1 and f"BS {case.code}" in asked[0].get_payload(decode=True).decode()
    lookup = {"code": case.code, "name": "Nguyễn Thị Hồng Nhung"}
    assert "Bổ sung thông tin được yêu cầu" in client.post("/lookup", data=lookup).text
    page = client.post("/lookup/supplement", data={**lookup, "text": LAND["content"]})
    assert "Đã bổ sung nội dung vào PAKN" in page.text
    run_worker()
    db.refresh(case)
    assert case.status == CaseStatus.forwarded and case.field == "dat-dai"  # it went on, to the right ministry
    assert "[Bổ sung qua trang tra cứu" in case.content


def test_rerouting_never_sends_an_agency_another_agencys_link(app: Any, client: Any, directory_loaded: None,
                                                             run_worker: Callable[[], None], smtp: SmtpServer,
                                                             db: Session) -> None:
    client.post("/submit", data=fields(title="Phản ánh về việc ở phường",
                                       content="Tôi đã đến phường nhiều lần nhưng việc của gia đình tôi vẫn chưa xong, "
                                               "mong được xem xét giải quyết sớm cho gia đình."))
    run_worker()
    case = db.exec(select(Case)).one()
    make_staff(db, "coordinator")
    desk = app.test_client()
    login(desk, "coordinator")
    construction = db.exec(select(Agency).where(Agency.code == "bo-xay-dung")).one()
    health = db.exec(select(Agency).where(Agency.code == "bo-y-te")).one()

    def forward_to(agency: Agency) -> Any:
        return desk.post(f"/coordinator/cases/{case.id}", data={"action": "forward", "agency_id": agency.id})

    assert forward_to(construction).status_code == 303
    assert forward_to(construction).status_code == 400  # pressed twice: refused, nothing sent twice
    assert forward_to(health).status_code == 303  # rerouted before construction's email went out
    run_worker()
    assert not [m for m in smtp.messages if "xaydung.gov.example" in str(m["To"])]
    [to_health] = [m for m in smtp.messages if "yte.gov.example" in str(m["To"])]
    health_link = re.search(r"(/agency/answer/\S+)", to_health.get_body(("plain",)).get_content()).group(1)
    assert client.get(health_link).status_code == 200
    assert forward_to(construction).status_code == 303  # and back again: a new email with a working link
    run_worker()
    [to_construction] = [m for m in smtp.messages if "xaydung.gov.example" in str(m["To"])]
    link = re.search(r"(/agency/answer/\S+)", to_construction.get_body(("plain",)).get_content()).group(1)
    assert client.get(link).status_code == 200 and client.get(health_link).status_code == 403


PROVINCES = str(ROOT / "config" / "agencies" / "provinces.vcf")
CONDUCT = {"title": "Cán bộ phường hách dịch",
           "content": "Cán bộ tiếp dân ở bộ phận một cửa quát nạt người già, ném trả giấy tờ xuống bàn, hẹn lên hẹn "
                      "xuống ba lần mà không hướng dẫn phải bổ sung gì. Đề nghị lãnh đạo chấn chỉnh thái độ.",
           "address": "Số 5 phố Trần Hưng Đạo, phường Thành Đông, TP Hải Dương"}


def test_conduct_goes_to_the_provinces_people_committee(app: Any, client: Any, run_worker: Callable[[], None],
                                                        smtp: SmtpServer, db: Session) -> None:
    assert app.test_cli_runner().invoke(args=["agencies", "import", DEMO, PROVINCES]).exit_code == 0
    assert len(db.exec(select(Agency).where(Agency.kind == "province")).all()) == 34
    client.post("/submit", data=fields(**CONDUCT))
    client.post("/submit", data=fields(**LAND))
    run_worker()
    conduct, land = db.exec(select(Case).order_by(Case.id)).all()
    committee = db.exec(select(Agency).where(Agency.code == "ubnd-hai-phong")).one()
    assert (conduct.status, conduct.agency_id, conduct.case_type) == (CaseStatus.forwarded, committee.id, "hanh_vi")
    assert committee.province == "hai-phong" and committee.kind == "province"
    # the land case complains of an official's delays, and its address is in Hà Nội: Hà Nội's
    # committee (with only the ministries imported, as in the tests above, the ministry takes it)
    hanoi = db.exec(select(Agency).where(Agency.code == "ubnd-ha-noi")).one()
    assert land.agency_id == hanoi.id
    assert any("haiphong.gov.example" in str(m["To"]) and conduct.code in _subject(m) for m in smtp.messages)
    make_staff(db, "coordinator")
    desk = app.test_client()
    login(desk, "coordinator")
    page = desk.get(f"/coordinator/cases/{conduct.id}").text
    assert 'id="route"' in page and "Ủy ban nhân dân thành phố Hải Phòng" in page
    assert "tên tỉnh cũ, nay là Thành phố Hải Phòng" in page and "UBND tỉnh, thành phố nơi xảy ra việc" in page


def test_a_regulation_goes_to_the_ministry_even_with_a_province(client: Any, app: Any,
                                                                run_worker: Callable[[], None], db: Session) -> None:
    assert app.test_cli_runner().invoke(args=["agencies", "import", DEMO, PROVINCES]).exit_code == 0
    client.post("/submit", data=fields(
        title="Quy định tách thửa quá khắt khe",
        content="Quy định diện tích tối thiểu được tách thửa đất ở nông thôn là 100m2 không phù hợp với thực tế các "
                "gia đình muốn chia đất cho con. Kiến nghị sửa đổi quy định về điều kiện tách thửa."))
    run_worker()
    case = db.exec(select(Case)).one()
    ministry = db.exec(select(Agency).where(Agency.code == "bo-nong-nghiep-moi-truong")).one()
    assert (case.status, case.agency_id, case.case_type) == (CaseStatus.forwarded, ministry.id, "quy_dinh")


def test_an_unsure_out_of_scope_case_waits_for_one_click(app: Any, client: Any, directory_loaded: None,
                                                         run_worker: Callable[[], None], smtp: SmtpServer,
                                                         db: Session) -> None:
    client.post("/submit", data=fields(
        title="Đơn khiếu nại việc chậm cấp sổ đỏ",
        content="Tôi có đơn khiếu nại về việc chậm cấp sổ đỏ, hồ sơ nộp tại văn phòng đăng ký đất đai đã quá hạn hai "
                "tháng, cán bộ hẹn nhiều lần mà không trả lời."))
    run_worker()
    case = db.exec(select(Case)).one()
    assert case.status == CaseStatus.triage  # a complaint word and a PAKN: a person decides
    assert not [m for m in smtp.messages if "Thông báo" in _subject(m)]
    make_staff(db, "coordinator")
    desk = app.test_client()
    login(desk, "coordinator")
    page = desk.get(f"/coordinator/cases/{case.id}").text
    assert 'id="accept-out"' in page and "Đóng: Khiếu nại" in page and "chưa chắc chắn" in page
    refused = desk.post(f"/coordinator/cases/{case.id}", data={"action": "out_of_scope", "reason": "nonsense"})
    assert refused.status_code == 400 and "Chọn lý do" in refused.text
    closed = desk.post(f"/coordinator/cases/{case.id}", data={"action": "out_of_scope", "reason": "complaint"})
    assert closed.status_code == 303
    db.refresh(case)
    assert case.status == CaseStatus.closed
    run_worker()
    notice = [m for m in smtp.messages if "Thông báo" in _subject(m)]
    assert len(notice) == 1 and "không tiếp nhận khiếu nại" in notice[0].get_payload(decode=True).decode()
    again = desk.post(f"/coordinator/cases/{case.id}", data={"action": "out_of_scope", "reason": "complaint"})
    assert again.status_code == 400  # closed once


def test_the_suggested_route_is_one_click(app: Any, client: Any, directory_loaded: None,
                                          run_worker: Callable[[], None], smtp: SmtpServer, db: Session) -> None:
    client.post("/submit", data=fields(title="Phản ánh về việc ở phường",
                                       content="Tôi đã đến phường nhiều lần nhưng việc của gia đình tôi vẫn chưa xong, "
                                               "mong được xem xét giải quyết sớm cho gia đình."))
    run_worker()
    case = db.exec(select(Case)).one()
    assert case.status == CaseStatus.triage
    suggestion = json.loads(case.classification or "{}")
    assert suggestion["why"] and suggestion["confident"] is False
    case.classification = json.dumps({**suggestion, "scope": "in", "field": "y-te", "agency": "bo-y-te",
                                      "agency_name": "Bộ Y tế", "route": "field"})  # as if the rules had said so
    db.add(case)
    db.commit()
    make_staff(db, "coordinator")
    desk = app.test_client()
    login(desk, "coordinator")
    page = desk.get(f"/coordinator/cases/{case.id}").text
    assert 'id="accept-route"' in page and "Chuyển Bộ Y tế" in page and "bộ quản lý lĩnh vực" in page
    health = db.exec(select(Agency).where(Agency.code == "bo-y-te")).one()
    assert desk.post(f"/coordinator/cases/{case.id}", data={"action": "forward", "agency_id": health.id,
                                                           "field": "y-te"}).status_code == 303
    db.refresh(case)
    assert (case.status, case.agency_id, case.field) == (CaseStatus.forwarded, health.id, "y-te")


def test_text_attachments_say_utf8_and_read_back_intact(client: Any, directory_loaded: None,
                                                        run_worker: Callable[[], None], smtp: SmtpServer,
                                                        db: Session) -> None:
    """The .ics and .vcf parts as a mail client decodes them (aiosmtpd → email package): no "Nguy���n"."""
    assert client.post("/submit", data=fields(full_name="Nguyễn Văn An", **LAND)).status_code == 303
    run_worker()
    case = db.exec(select(Case)).one()
    mail = _agency_mail(smtp, case.code or "")
    parts = {p.get_filename(): p for p in mail.walk() if p.get_filename()}
    card, calendar = parts[f"PAKN-{case.code}.vcf"], parts[f"PAKN-{case.code}.ics"]
    for part, mime in ((card, "text/vcard"), (calendar, "text/calendar")):
        assert part.get_content_type() == mime and part.get_content_charset() == "utf-8", part["Content-Type"]
        assert 'charset="utf-8"' in part["Content-Type"]
    assert "FN:Nguyễn Văn An" in card.get_content()  # type: ignore[attr-defined]  # decoded by its charset
    todo = vobject.readOne(calendar.get_content()).vtodo  # type: ignore[attr-defined]  # lines are folded
    assert todo.summary.value == f"Trả lời PAKN {case.code}: {LAND['title']}"
