"""Publication: propose → redacted drafts → publish or decline; public pages, search, feed; no personal data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from config.settings import Settings
from gateway import cases
from gateway.constants import VN_TZ, CaseStatus, Channel, EventKind, PublicationStatus
from gateway.models import Agency, Case, Event, Publication, utcnow
from normalizer.text import fold
from tests.factories import fields, login, make_staff

CITIZEN = {
    "full_name": "Phạm Thị Thu Trang",
    "phone": "+84903123456",
    "email": "thutrang.pham@example.com",
    "address": "Số 27 ngõ 81 Láng Hạ, phường Láng, Hà Nội",
}
TITLE = "Chậm cấp giấy chứng nhận quyền sử dụng đất cho bà Phạm Thị Thu Trang"
CONTENT = ("Tôi là Phạm Thị Thu Trang, CCCD 001190012345, nộp hồ sơ cấp giấy chứng nhận quyền sử dụng đất tại "
           "Văn phòng đăng ký đất đai quận Đống Đa ngày 05/03/2026. Đến nay đã quá hạn 45 ngày chưa có kết quả. "
           "Đề nghị gọi lại cho tôi theo số 0903 123 456 hoặc email thutrang.pham@example.com. "
           "Nhà tôi ở số 27 ngõ 81 Láng Hạ; xe của tôi biển số 29A-123.45 bị nhắc đậu trước ủy ban.")
ANSWER = ("Văn phòng đăng ký đất đai Hà Nội trả lời bà Trang: hồ sơ của bà đã được giải quyết, giấy chứng nhận đã "
          "cấp ngày 20/11/2026 theo Nghị định 101/2024/NĐ-CP. Đề nghị bà Thu Trang mang CCCD đến nhận tại bộ phận "
          "một cửa; liên hệ 0903123456 nếu cần.")


def answered_case(db: Session, *, consent: bool | None = None, answered: bool = True, **overrides: Any) -> Case:
    """A coded, forwarded and (unless ``answered=False``) answered web case full of its sender's personal data."""
    agency = db.exec(select(Agency).where(Agency.code == "bo-nong-nghiep-moi-truong")).first()
    if agency is None:
        agency = Agency(code="bo-nong-nghiep-moi-truong", name="Bộ Nông nghiệp và Môi trường",
                        emails='["pakn@nnmt.gov.example"]', fields='["dat-dai"]', vcard="")
        db.add(agency)
        db.flush()
    data = {**CITIZEN, "title": TITLE, "content": CONTENT, **overrides}
    case = Case(channel=Channel.web, name_key=fold(data["full_name"]).lower(), publish_consent=consent, **data)
    db.add(case)
    db.commit()
    assert cases.register(db, case_id=case.id or 0, at=utcnow())
    db.commit()
    db.refresh(case)
    case.agency_id, case.field, case.case_type = agency.id, "dat-dai", "hanh_vi"
    case.due_at = case.created_at + timedelta(days=20)
    cases.transition(db, case=case, to=CaseStatus.forwarded, actor="test")
    if answered:
        case.answer, case.answered_at = ANSWER, utcnow()
        cases.transition(db, case=case, to=CaseStatus.answered, actor="test")
    db.commit()
    return case


def personal_strings() -> list[str]:
    """Everything of the test citizen that must never be on a public page."""
    name = CITIZEN["full_name"]
    return [name, fold(name), "Thu Trang", "Thu Trang".upper(), "903123456", "0903 123 456", "0903123456",
            CITIZEN["email"], "001190012345", "29A-123.45", "Số 27", "số 27"]


def assert_nothing_personal(text: str, where: str) -> None:
    digits = re.sub(r"\D", "", text)
    assert "903123456" not in digits, where
    for value in personal_strings():
        assert value not in text, (where, value)
        assert fold(value) not in fold(text), (where, value)


def public_pages(client: Any, code: str) -> dict[str, str]:
    """Every public page (list, searches, filters, case, feed, summary) as text."""
    urls = ["/cong-khai/", "/cong-khai/?q=giấy+chứng+nhận", "/cong-khai/?q=giay+chung+nhan+quyen+su+dung+dat",
            "/cong-khai/?linh_vuc=dat-dai", "/cong-khai/?co_quan=bo-nong-nghiep-moi-truong",
            f"/cong-khai/{code}", "/cong-khai/feed.atom", "/cong-khai/thong-ke"]
    out = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        out[url] = response.get_data(as_text=True)
    return out


def test_propose_edit_publish_and_the_public_pages(client: Any, db: Session, settings: Settings) -> None:
    case = answered_case(db)
    make_staff(db, "coordinator")
    login(client, "coordinator")
    desk = client.get("/coordinator/publication/")
    assert desk.status_code == 200 and case.code in desk.text
    response = client.post(f"/coordinator/publication/propose/{case.id}")
    assert response.status_code == 303
    editor = client.get(f"/coordinator/publication/{case.id}")
    assert editor.status_code == 200
    assert '<mark class="pii" title="họ tên">Phạm Thị Thu Trang</mark>' in editor.text  # the original, marked
    draft = db.exec(select(Publication).where(Publication.case_id == case.id)).one()
    assert draft.status == PublicationStatus.proposed
    for text in (draft.title, draft.content, draft.answer):
        assert_nothing_personal(text, "draft")
    assert "[số giấy tờ]" in draft.content and "[biển số xe]" in draft.content and "[email]" in draft.content
    assert "101/2024/NĐ-CP" in draft.answer and "05/03/2026" in draft.content  # legal references and dates stay
    assert db.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.view)).first()
    assert client.get(f"/cong-khai/{case.code}").status_code == 404  # nothing public before the decision

    edited = "Chậm cấp giấy chứng nhận quyền sử dụng đất tại quận Đống Đa"
    response = client.post(f"/coordinator/publication/{case.id}", data={
        "action": "publish", "title": edited, "content": draft.content, "answer": draft.answer})
    assert response.status_code == 303, response.text
    after = client.get(f"/coordinator/publication/{case.id}")
    assert after.status_code == 200 and f'href="/cong-khai/{case.code}"' in after.text
    db.refresh(case)
    db.refresh(draft)
    assert case.status == CaseStatus.published and draft.status == PublicationStatus.published
    assert draft.title == edited and draft.published_at is not None and draft.decided_by == "coordinator1"
    event = db.exec(select(Event).where(Event.case_id == case.id, Event.to_status == CaseStatus.published)).one()
    assert event.from_status == CaseStatus.answered and event.actor == "coordinator1"

    pages = public_pages(client, case.code or "")
    for url, text in pages.items():
        assert_nothing_personal(text, url)
    own = pages[f"/cong-khai/{case.code}"]
    assert edited in own and "Bộ Nông nghiệp và Môi trường" in own
    for url in ("/cong-khai/", "/cong-khai/?q=giấy+chứng+nhận", "/cong-khai/?q=giay+chung+nhan+quyen+su+dung+dat",
                "/cong-khai/?linh_vuc=dat-dai", "/cong-khai/?co_quan=bo-nong-nghiep-moi-truong"):
        assert case.code in pages[url], url
    for url in ("/cong-khai/?q=xây+dựng+trái+phép", "/cong-khai/?linh_vuc=giao-thong", "/cong-khai/?quy=2025-Q1"):
        assert case.code not in client.get(url).text, url
    feed = ET.fromstring(client.get("/cong-khai/feed.atom").data)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 1 and entries[0].findtext("a:title", namespaces=ns) == f"PAKN {case.code}: {edited}"
    link = entries[0].find("a:link", ns)
    assert link is not None and link.get("href") == f"{settings.public_base_url}/cong-khai/{case.code}"
    # the seed's lookup: code + sender's name + publication date
    day = draft.published_at.astimezone(VN_TZ).date()  # type: ignore[union-attr]
    found = client.post("/lookup", data={"code": case.code, "name": "pham thi thu trang",
                                                "date": day.isoformat()})
    assert found.status_code == 200 and "Đã công khai kết quả" in found.text
    wrong = client.post("/lookup", data={"code": case.code, "name": "pham thi thu trang",
                                                "date": (day - timedelta(days=1)).isoformat()})
    assert wrong.status_code == 404
    assert client.post("/lookup", data={"code": case.code, "name": "Phạm Thị Thu Trang",
                                               "date": day.strftime("%d/%m/%Y")}).status_code == 200
    # a published answer can be taken down again, with a reason
    response = client.post(f"/coordinator/publication/{case.id}",
                           data={"action": "take_down", "reason": "Người dân không đồng ý với kết quả"})
    assert response.status_code == 303
    assert client.get(f"/cong-khai/{case.code}").status_code == 404
    assert case.code not in client.get("/cong-khai/feed.atom").text


def test_personal_data_left_in_the_edit_blocks_publication(client: Any, db: Session) -> None:
    case = answered_case(db)
    make_staff(db, "coordinator")
    login(client, "coordinator")
    client.post(f"/coordinator/publication/propose/{case.id}")
    draft = db.exec(select(Publication).where(Publication.case_id == case.id)).one()
    form = {"action": "publish", "title": draft.title, "content": draft.content + " Gọi 0987 654 321.",
            "answer": draft.answer}
    response = client.post(f"/coordinator/publication/{case.id}", data=form)
    assert response.status_code == 400 and "còn thông tin cá nhân" in response.text and "0987 654 321" in response.text
    db.refresh(case)
    assert case.status == CaseStatus.answered
    response = client.post(f"/coordinator/publication/{case.id}", data={**form, "checked": "1"})
    assert response.status_code == 303  # the coordinator checked it: their decision


def test_decline_with_a_reason(client: Any, db: Session) -> None:
    case = answered_case(db)
    make_staff(db, "coordinator")
    login(client, "coordinator")
    client.post(f"/coordinator/publication/propose/{case.id}")
    empty = client.post(f"/coordinator/publication/{case.id}", data={"action": "decline", "reason": ""})
    assert empty.status_code == 400
    response = client.post(f"/coordinator/publication/{case.id}",
                           data={"action": "decline", "reason": "Nội dung mang tính cá nhân, không có giá trị chung"})
    assert response.status_code == 303
    row = db.exec(select(Publication).where(Publication.case_id == case.id)).one()
    db.refresh(case)
    assert row.status == PublicationStatus.declined and case.status == CaseStatus.answered
    note = db.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.publication)
                   .order_by(Event.id.desc())).first().note  # type: ignore[union-attr]
    assert note == "Không công khai: Nội dung mang tính cá nhân, không có giá trị chung"
    assert client.get(f"/cong-khai/{case.code}").status_code == 404


@pytest.mark.parametrize(("consent", "default", "allowed"), [
    (None, True, True), (False, True, False), (None, False, False), (True, False, True)])
def test_the_citizens_choice_and_the_default(app: Any, client: Any, db: Session, consent: bool | None, default: bool,
                                             allowed: bool) -> None:
    app.extensions["pakn"].settings = app.extensions["pakn"].settings.with_(publish_default=default)
    case = answered_case(db, consent=consent)
    make_staff(db, "coordinator")
    login(client, "coordinator")
    response = client.post(f"/coordinator/publication/propose/{case.id}")
    assert response.status_code == (303 if allowed else 409)
    if not allowed:
        assert "không đồng ý công khai" in response.text


@pytest.mark.parametrize(("default", "posted", "stored"), [
    (True, None, None), (True, "no", False), (False, None, None), (False, "yes", True)])
def test_the_form_checkbox_reaches_the_case(app: Any, client: Any, db: Session, default: bool, posted: str | None,
                                            stored: bool | None) -> None:
    app.extensions["pakn"].settings = app.extensions["pakn"].settings.with_(publish_default=default)
    form = client.get("/submit").text
    assert ('value="no"' in form) is default and ('value="yes"' in form) is not default
    assert client.post("/submit", data=fields(publish=posted)).status_code == 303
    assert db.exec(select(Case)).one().publish_consent is stored


def test_sms_kck_withdraws_a_published_case(client: Any, db: Session, run_worker: Callable[[], None],
                                            twilio: Any, settings: Settings) -> None:
    from tests.test_sms import PHONE, _params, _signed_post

    case = answered_case(db, phone=PHONE)
    make_staff(db, "coordinator")
    login(client, "coordinator")
    client.post(f"/coordinator/publication/propose/{case.id}")
    draft = db.exec(select(Publication).where(Publication.case_id == case.id)).one()
    client.post(f"/coordinator/publication/{case.id}", data={"action": "publish", "title": draft.title,
                                                             "content": draft.content, "answer": draft.answer})
    assert client.get(f"/cong-khai/{case.code}").status_code == 200
    response = _signed_post(client, settings.public_base_url + "/sms/inbound", "/sms/inbound",
                            _params(f"kck {case.code}"))
    assert response.status_code == 200
    run_worker()
    reply = twilio.to(PHONE)[-1].body
    assert reply == f"Da ghi nhan: PAKN {case.code} khong cong khai nua, da go khoi trang cong khai."
    db.refresh(case)
    db.refresh(draft)
    assert case.publish_consent is False and draft.status == PublicationStatus.withdrawn
    assert client.get(f"/cong-khai/{case.code}").status_code == 404
    assert case.code not in client.get("/cong-khai/feed.atom").text


def test_roles(client: Any, db: Session) -> None:
    case = answered_case(db)
    for role in ("operator", "agency"):
        make_staff(db, role)
        login(client, role)
        assert client.get("/coordinator/publication/").status_code == 403
        assert client.post(f"/coordinator/publication/propose/{case.id}").status_code == 403
        client.post("/staff/logout")
    assert client.get("/coordinator/publication/").status_code == 302  # anonymous: to the login page


@pytest.mark.parametrize(("posted", "stored"), [(False, False), ("yes", True), ("maybe", None)])
def test_the_api_takes_the_choice_too(client: Any, db: Session, posted: Any, stored: bool | None) -> None:
    response = client.post("/api/v1/reports", json=fields(publish=posted), headers={"X-Api-Key": "test-key-1"})
    assert response.status_code == 202, response.text
    assert db.exec(select(Case)).one().publish_consent is stored


def _published(db: Session, settings: Settings, **overrides: Any) -> Case:
    from gateway.publication import service

    case = answered_case(db, **overrides)
    publication = service.propose(db, case=case, actor="coordinator1", settings=settings)
    service.publish(db, publication=publication, case=case, title="Chậm cấp giấy chứng nhận quyền sử dụng đất",
                    content=publication.content, answer=publication.answer, actor="coordinator1", settings=settings,
                    checked=True)
    db.commit()
    return case


def test_a_published_case_shows_the_hash_of_its_signed_letter_not_the_letter(client: Any, db: Session,
                                                                              settings: Settings) -> None:
    from gateway.models import Attachment

    signed = _published(db, settings)
    digest = "9f2c" * 16
    db.add(Attachment(case_id=signed.id or 0, filename=f"PAKN-{signed.code}-tra-loi.pdf", storage_key="k" * 40,
                      content_type="application/pdf", size=4321, sha256=digest, source="signed"))
    db.commit()
    unsigned = _published(db, settings, full_name="Trần Văn Bình", email="binh.tran@example.com")

    page = client.get(f"/cong-khai/{signed.code}")
    assert page.status_code == 200
    assert f'<code id="signed-sha256" class="hash">{digest}</code>' in page.text
    assert f'href="/verify?code={signed.code}"' in page.text
    assert f"PAKN-{signed.code}-tra-loi.pdf" not in page.text and "/lookup/file/" not in page.text  # hash only
    assert_nothing_personal(page.text, "signed case page")
    other = client.get(f"/cong-khai/{unsigned.code}")
    assert other.status_code == 200 and "signed-sha256" not in other.text and "/verify?code=" not in other.text
