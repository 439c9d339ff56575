"""Staff flows in Debian's chromium, on a desktop and on a 390 px phone.

The read-back page, the coordinator's case page (labels, actions by status, messages,
reroute), the agency's answer page (summary and focus, the citizen's files, a
disagreement), the error pages and the development SMS console.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from config.settings import Settings
from gateway import create_app
from gateway.constants import CaseStatus, EventKind
from gateway.models import Agency, Case, Event
from tests.conftest import SmtpServer
from tests.factories import CALL, make_staff
from tests.staff_pages import CHROMIUM, DESKTOP_WIDTH, FLAGS, PHONE_WIDTH, Seeded, fits, log_in, seed, serve
from tests.twilio_fake import TwilioFake

WIDTHS = [pytest.param(DESKTOP_WIDTH, id="desktop"), pytest.param(PHONE_WIDTH, id="phone")]
SLUGS = ("in_scope", "hanh_vi", "quy_dinh", "dat-dai", "thue-tai-chinh", "message_sent", "registered",
         "received", "forwarded", "triage", "→ registered", "status:")


def _no_slugs(page: Any) -> None:
    text = page.inner_text("main")
    assert not [s for s in SLUGS if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text)], text


def _mails_to(smtp: SmtpServer, domain: str) -> list[Message]:
    return [m for m in smtp.messages if domain in str(m["To"])]


def _text(mail: Message) -> str:
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


@pytest.fixture
def browser_page() -> Any:
    """A factory of Playwright pages of a given width (the browser closes at the end)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)

        def new(width: int) -> Any:
            return browser.new_context(locale="vi-VN", viewport={"width": width, "height": 900}).new_page()

        yield new
        browser.close()


@pytest.fixture
def seeded(settings: Settings, db: Session, run_worker: Callable[[], None]) -> Seeded:
    """The directory, the four staff accounts and the sample cases."""
    return seed(settings, db, run_worker)


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_read_back_updates_by_itself(settings: Settings, db: Session, run_worker: Callable[[], None],
                                     browser_page: Any, twilio: TwilioFake, width: int) -> None:
    make_staff(db, "operator")
    with serve(settings) as base:
        page = browser_page(width)
        log_in(page, base, "operator")
        page.goto(f"{base}/hotline/calls/new?call_id=1763712000.7&caller=0912345678")
        for name in ("caller_name", "address", "title", "transcript"):
            page.fill(f"#{name}", CALL[name])
        assert fits(page)
        page.click("#call-form button[type=submit]")
        page.wait_for_url(re.compile(r"/hotline/calls/\d+$"))
        expect(page.locator("#pakn-code")).to_have_text("đang cấp mã…")
        page.evaluate("window.notReloaded = true")
        keys = page.eval_on_selector_all("[accesskey]", "els => els.map(e => e.accessKey.toLowerCase())")
        assert keys and len(keys) == len(set(keys)), keys  # no access key twice on the page
        run_worker()  # the code is assigned while the page is open
        expect(page.locator("#pakn-code")).to_have_text(re.compile(r"^\d{2}-\d{6}-\d$"), timeout=30_000)
        assert page.evaluate("window.notReloaded === true")  # it came without a reload
        expect(page.locator("#status-label")).not_to_have_text(re.compile("[a-z]+_[a-z]+"))
        assert fits(page)
        page.goto(f"{base}/hotline/")
        keys = page.eval_on_selector_all("[accesskey]", "els => els.map(e => e.accessKey.toLowerCase())")
        assert len(keys) == len(set(keys)), keys


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_coordinator_case_page(settings: Settings, db: Session, run_worker: Callable[[], None], seeded: Seeded,
                               smtp: SmtpServer, browser_page: Any, width: int) -> None:
    triage, forwarded = seeded.triage, seeded.forwarded
    with serve(settings) as base:
        page = browser_page(width)
        log_in(page, base, "coordinator")
        page.goto(f"{base}/coordinator/cases/{triage.id}")
        _no_slugs(page)
        assert fits(page)
        for form in ("#forward-form", "#out-form", "#needs-info-form", "#duplicate-form"):
            expect(page.locator(form)).to_be_visible()  # a case in triage: every decision
        page.select_option("#field", "xay-dung")
        page.select_option("#agency_id", label="Bộ Xây dựng")
        page.click("#forward-form button")
        expect(page.locator("#flash")).to_contain_text(f"Đã chuyển PAKN {triage.code} tới Bộ Xây dựng")
        expect(page.locator("#flash")).to_be_focused()  # read out, and the place to start from (staff.js, once loaded)
        expect(page.locator("#case-field")).to_have_text("Xây dựng, nhà ở")
        expect(page.locator("#out-form")).to_have_count(0)  # forwarded: only a reroute is offered
        expect(page.locator("#needs-info-form")).to_have_count(0)
        expect(page.locator("#duplicate-form")).to_be_visible()
        _no_slugs(page)
        assert fits(page)

        # reroute the case the agency already received: it is told; the new agency sees the new field
        page.goto(f"{base}/coordinator/cases/{forwarded.id}")
        page.select_option("#field", "xay-dung")
        page.select_option("#agency_id", label="Bộ Xây dựng")
        page.click("#forward-form button")
        expect(page.locator("#flash")).to_contain_text("được báo PAKN đã rút lại")
        page.reload()
        page.goto(f"{base}/coordinator/cases/{forwarded.id}")
        assert fits(page)
    run_worker()
    [withdrawn] = [m for m in _mails_to(smtp, "nnmt.gov.example") if "Rút lại" in str(m["Subject"])]
    assert forwarded.code in str(withdrawn["Subject"]) and "Bộ Xây dựng" in _text(withdrawn)
    to_construction = [m for m in _mails_to(smtp, "xaydung.gov.example") if forwarded.code in str(m["Subject"])]
    assert len(to_construction) == 1 and "Lĩnh vực: Xây dựng, nhà ở" in _text(to_construction[0])
    assert "Kênh tiếp nhận: Cổng thông tin (web)" in _text(to_construction[0])
    views = db.exec(select(Event).where(Event.case_id == forwarded.id, Event.kind == EventKind.view,
                                        Event.actor == "coordinator1")).all()
    assert len(views) == 1  # opened, acted on, reloaded, opened again: one view in this session


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_agency_answers_on_a_phone_or_desktop(settings: Settings, db: Session, run_worker: Callable[[], None],
                                              seeded: Seeded, smtp: SmtpServer, browser_page: Any,
                                              width: int) -> None:
    case = seeded.forwarded
    with serve(settings) as base:
        page = browser_page(width)
        page.goto(base + seeded.answer_path)  # the link in the email: no account
        _no_slugs(page)
        assert fits(page)
        with page.expect_download() as download:
            page.click("#case-files a:has-text('anh-hien-truong.jpg')")
        assert download.value.suggested_filename == "anh-hien-truong.jpg"
        assert open(download.value.path(), "rb").read()[:3] == b"\xff\xd8\xff"  # the citizen's photo itself
        page.fill("#answer", "Quá ngắn")
        page.click("#answer-form button")
        expect(page.locator("#error-summary")).to_contain_text("ít nhất 20 ký tự")
        expect(page.locator("#error-summary")).to_be_focused()  # staff.js, once the page has loaded
        assert page.evaluate("document.getElementById('error-summary').getBoundingClientRect().top") < 300
        expect(page.locator("#answer")).to_have_value("Quá ngắn")  # nothing typed is lost
        page.fill("#answer", "Văn phòng đăng ký đất đai đã cấp giấy chứng nhận; đề nghị Ông/Bà đến nhận.")
        page.click("#answer-form button")
        expect(page.locator("#flash")).to_contain_text(f"Đã gửi trả lời PAKN {case.code}")
        expect(page.locator("#flash")).to_be_focused()  # staff.js, once the page has loaded
        expect(page.locator("#done")).to_be_visible()
        run_worker()
        app = create_app(settings)
        app.config["WTF_CSRF_ENABLED"] = False
        lookup = {"code": case.code, "name": "Nguyễn Thị Hồng Nhung"}
        reply = app.test_client().post("/lookup/disagree", data={**lookup, "reason": "Tôi đến nhận nhưng chưa có."})
        assert reply.status_code == 200
        app.extensions["pakn"].engine.dispose()
        run_worker()
        follow = db.exec(select(Case).where(Case.follows_id == case.id)).one()
        page.goto(base + seeded.answer_path)
        expect(page.locator("#follow-up")).to_contain_text(f"PAKN {follow.code}")
        expect(page.locator("#answer-form")).to_have_count(0)  # the original takes no more answers
        page.click("#follow-up a")
        expect(page.locator("h1")).to_contain_text(f"PAKN {follow.code}")
        expect(page.locator("#answer-form")).to_be_visible()  # the follow-up is the one to answer
        assert fits(page)
        log_in(page, base, "agency")
        page.goto(f"{base}/agency/cases/{case.id}")
        page.click("#follow-up a")
        expect(page).to_have_url(re.compile(rf"/agency/cases/{follow.id}$"))
    db.expire_all()
    assert db.get(Case, case.id).status == CaseStatus.reopened  # type: ignore[union-attr]


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_error_pages_send_staff_to_their_desk(settings: Settings, db: Session, browser_page: Any,
                                              width: int) -> None:
    make_staff(db, "operator")
    with serve(settings.with_(coordinator_email="dieuphoi@pakn.example.gov.vn")) as base:
        page = browser_page(width)
        page.goto(f"{base}/khong-co-trang-nay")
        expect(page.locator("main a[href='/']")).to_be_visible()  # a citizen: the citizen home
        page.goto(f"{base}/agency/answer/het-han")  # a dead link from an old email
        expect(page.locator("#where-to-go")).to_contain_text("dieuphoi@pakn.example.gov.vn")
        log_in(page, base, "operator")
        response = page.goto(f"{base}/coordinator/")
        assert response is not None and response.status == 403
        expect(page.locator("#where-to-go a[href='/hotline/']")).to_have_text("Bàn làm việc tổng đài")
        page.goto(f"{base}/khong-co-trang-nay")  # a logged-in operator on any dead link
        expect(page.locator("#where-to-go a[href='/hotline/']")).to_be_visible()
        expect(page.locator("#error-summary")).to_be_focused()  # staff.js, once the page has loaded
        assert fits(page)


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_sms_console_goes_through_the_signed_webhook(settings: Settings, db: Session,
                                                     run_worker: Callable[[], None], twilio: TwilioFake,
                                                     browser_page: Any, width: int) -> None:
    from gateway.models import InboundMessage

    with serve(settings) as base:
        page = browser_page(width)
        page.goto(f"{base}/dev/sms/")
        page.fill("#phone", "0987 654 321")
        page.fill("#body", "HD")
        page.click("#sms-form button")
        expect(page.locator("#thread li.in")).to_contain_text("HD")
        page.evaluate("window.notReloaded = true")
        run_worker()
        expect(page.locator("#thread li.out")).to_contain_text("PA", timeout=30_000)  # the help text, by itself
        assert page.evaluate("window.notReloaded === true")
        assert fits(page)
    [inbound] = db.exec(select(InboundMessage)).all()
    assert inbound.accepted and inbound.sender == "+84987654321" and inbound.external_id.startswith("SM")
    assert any(m.to == "+84987654321" for m in twilio.sent)


def test_admin_opens_every_staff_page(client: Any, db: Session, settings: Settings,
                                      run_worker: Callable[[], None]) -> None:
    from tests.factories import login

    seeded = seed(settings, db, run_worker)
    login(client, "admin")
    agency = db.exec(select(Agency).where(Agency.code == "bo-nong-nghiep-moi-truong")).one()
    pages = ["/hotline/", "/hotline/calls/new", "/hotline/callbacks", "/hotline/search", "/hotline/import",
             f"/hotline/calls/{seeded.hotline.id}", "/coordinator/", f"/coordinator/cases/{seeded.triage.id}",
             "/coordinator/publication/", "/thong-ke/", "/admin/webhooks", "/agency/",
             f"/agency/?agency={agency.code}", f"/agency/cases/{seeded.forwarded.id}"]
    assert {p: client.get(p).status_code for p in pages} == dict.fromkeys(pages, 200)
