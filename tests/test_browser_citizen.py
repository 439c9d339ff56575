"""The citizen's flows of issue 15 in Debian's chromium, on a desktop and on a 390 px phone, checked with axe-core."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import Session, select

from config.settings import Settings
from gateway import captcha, routing
from gateway.models import Agency, Case
from tests.factories import VALID_FIELDS, jpg_bytes
from tests.test_browser import CHROMIUM, FLAGS, live  # noqa: F401  (the fixture, used by name)

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
NAME = VALID_FIELDS["full_name"]


def _no_serious_violations(page: Page) -> None:
    """axe-core on the page as it is now: nothing serious or critical."""
    found = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in found
           if v["impact"] in ("serious", "critical")]
    assert bad == [], bad


def _fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _answer(page: Page, settings: Settings) -> str:
    answer = captcha.answer_for_token(settings.secret_key, page.input_value("input[name=captcha_token]"))
    assert answer
    return answer


@pytest.mark.browser
@pytest.mark.parametrize("screen", VIEWPORTS)
def test_citizen_form_lookup_answer_and_disagreement(live: tuple[str, Settings], db: Session, tmp_path: Path,  # noqa: F811
                                                     screen: str) -> None:
    base, settings = live
    viewport: Any = VIEWPORTS[screen]
    photo = tmp_path / "ảnh hiện trường.jpg"
    photo.write_bytes(jpg_bytes((320, 240)))
    big = tmp_path / "video quá lớn.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (settings.max_file_bytes + 1))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport=viewport, locale="vi-VN")
        page.goto(f"{base}/submit")
        _fits(page, viewport["width"])

        # an empty form: every error, the captcha's too, in one round
        page.click("#submit-form button[type=submit]:not(.default-submit):not(#captcha-refresh)")
        summary = page.locator("#error-summary")
        expect(summary).to_be_focused()
        for message in ("Vui lòng nhập Họ và tên.", "Vui lòng nhập Số điện thoại.", "Vui lòng nhập Tiêu đề.",
                        "Vui lòng nhập Nội dung phản ánh, kiến nghị.", "Mã bảo vệ không đúng"):
            expect(summary).to_contain_text(message)
        _no_serious_violations(page)
        _fits(page, viewport["width"])

        for name in ("full_name", "phone", "email", "address", "title", "content"):
            page.fill(f"#{name}", VALID_FIELDS[name])
        # a file over the limit is refused before anything is sent
        page.set_input_files("#attachments", [str(big)])
        expect(page.locator("#attachments-check")).to_contain_text("video quá lớn.pdf")
        expect(page.locator("#attachments-check")).to_contain_text("lớn hơn 10 MB")
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        page.click("#submit-form button[type=submit]:not(.default-submit):not(#captcha-refresh)")
        expect(page.locator("#attachments")).to_be_focused()  # the submit handler stopped it
        assert posts == []  # the browser sent nothing

        # a good file and a wrong captcha: the text and the file stay
        page.set_input_files("#attachments", [str(photo)])
        expect(page.locator("#attachments-check")).to_be_hidden()
        page.fill("#captcha", "000000" if _answer(page, settings) != "000000" else "111111")
        page.click("#submit-form button[type=submit]:not(.default-submit):not(#captcha-refresh)")
        expect(page.locator("#error-summary")).to_contain_text("Mã bảo vệ không đúng")
        expect(page.locator("#content")).to_have_value(VALID_FIELDS["content"])
        expect(page.locator("#kept-files")).to_contain_text("ảnh hiện trường.jpg")
        expect(page.locator("#kept-files input[type=checkbox]")).to_be_checked()

        # "Đổi mã khác" without a reload: the page keeps its state, the code changes
        page.evaluate("window.__sameDocument = true")
        before = page.input_value("input[name=captcha_token]")
        page.click("#captcha-refresh")
        expect(page.locator("input[name=captcha_token]")).not_to_have_value(before)
        assert page.evaluate("window.__sameDocument") is True
        assert re.search(r"/captcha/.+\.wav$", page.get_attribute("#captcha-audio", "src") or "")
        expect(page.locator("#captcha")).to_be_focused()
        _no_serious_violations(page)

        page.fill("#captcha", _answer(page, settings))
        page.keyboard.press("Enter")  # Enter sends the form (not "Đổi mã khác")
        page.wait_for_url(re.compile(r"/receipt/"))
        expect(page.locator("#pakn-code")).to_have_text(re.compile(r"^\d{2}-\d{6}-\d$"), timeout=30_000)
        code = page.inner_text("#pakn-code")
        _no_serious_violations(page)

        # the receipt's link opens the lookup with the code, no error; the name is posted
        page.click("#lookup-link")
        expect(page.locator("#code")).to_have_value(code)
        expect(page.locator("#lookup-error")).to_have_count(0)
        page.fill("#name", "nguyen thi hong nhung")
        page.click("#lookup-form button[type=submit]")
        expect(page.locator("#result-title")).to_have_text(f"PAKN {code}")
        assert "name=" not in page.url and "nguyen" not in page.url
        expect(page.locator("#received-at")).to_have_text(re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$"))
        _no_serious_violations(page)
        _fits(page, viewport["width"])

        # the agency answers (as its link would); the citizen rates and disagrees
        case = db.exec(select(Case).where(Case.code == code)).one()
        agency = Agency(code=f"so-{screen}", name="Sở Tài nguyên và Môi trường", emails='["so@example.gov.vn"]',
                        fields="[]", vcard="")
        db.add(agency)
        db.commit()
        routing.forward(db, case=case, agency=agency, settings=settings, actor="coordinator1")
        routing.record_answer(db, case=case, text="Đã cấp giấy chứng nhận ngày 01/03.", actor="agency:x",
                              settings=settings, replies=None)
        db.commit()
        page.click("#lookup-form button[type=submit]")
        expect(page.locator("#agency")).to_have_text("Sở Tài nguyên và Môi trường")
        expect(page.locator("#rate-form input[type=radio]:checked")).to_have_count(0)  # nothing pre-selected
        _no_serious_violations(page)
        page.check("#rating-4")
        page.click("#rate-form button[type=submit]")
        expect(page.locator("#notice")).to_contain_text("4/5")
        page.fill("#reason", "Tôi vẫn chưa nhận được giấy chứng nhận như trả lời.")
        page.click("#disagree-form button[type=submit]")
        expect(page.locator("#notice")).to_contain_text(re.compile(r"mã PAKN mới \d{2}-\d{6}-\d"))
        expect(page.locator("#notice")).not_to_contain_text("None")
        expect(page.locator("#rating-given")).to_contain_text("4/5")
        expect(page.locator("#follow-ups")).to_contain_text(re.compile(r"PAKN \d{2}-\d{6}-\d"))
        _no_serious_violations(page)
        _fits(page, viewport["width"])
        browser.close()
