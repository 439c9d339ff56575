"""Publication end to end in Debian's chromium: answer → propose → redacted preview → publish → public."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session, select

from config.settings import Settings
from gateway import routing
from gateway.constants import CaseStatus, PublicationStatus
from gateway.models import Agency, Publication
from tests.factories import PASSWORDS, make_staff
from tests.gateway.test_publication import ANSWER, answered_case, assert_nothing_personal
from tests.test_browser import CHROMIUM, FLAGS, live  # noqa: F401  (the live server fixture)

EDITED_TITLE = "Chậm cấp giấy chứng nhận quyền sử dụng đất tại quận Đống Đa"


@pytest.mark.browser
def test_answer_propose_preview_publish_and_find_it(live: tuple[str, Settings], db: Session) -> None:  # noqa: F811
    base, settings = live
    case = answered_case(db, answered=False)
    agency = db.get(Agency, case.agency_id)
    assert agency is not None
    link = urlparse(routing.answer_url(settings, case=case, agency=agency)).path
    make_staff(db, "coordinator")
    public_texts: dict[str, str] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(locale="vi-VN")

        # the agency answers through the link in its email
        page.goto(base + link)
        page.fill("#answer", ANSWER)
        page.click("#answer-form button[name=action]")
        expect(page.locator("#done")).to_contain_text("Đã có kết quả trả lời")

        # the coordinator proposes it and sees the redacted preview beside the originals
        page.goto(f"{base}/coordinator/publication/")
        page.fill("#username", "coordinator1")
        page.fill("#password", PASSWORDS["coordinator"])
        page.keyboard.press("Enter")
        page.click(f"#propose-{case.code}")
        expect(page).to_have_url(re.compile(rf"/coordinator/publication/{case.id}$"))
        expect(page.locator("#original-content mark.pii").first).to_be_visible()
        assert page.locator("#original-content mark.pii").count() >= 5  # name, CCCD, phone, email, house, plate
        for field in ("title", "content", "answer"):
            assert_nothing_personal(page.input_value(f"#{field}"), f"preview {field}")
        assert "[số điện thoại]" in page.input_value("#content")
        page.fill("#title", EDITED_TITLE)
        page.click("#publish")
        expect(page.locator("#publication-status")).to_contain_text("Đã công khai")

        # the public page, the list, the search with and without diacritics, the feed
        page.click("#public-link")
        expect(page.locator("#public-title")).to_have_text(EDITED_TITLE)
        public_texts[page.url] = page.content()
        for query in ("giấy chứng nhận quyền sử dụng đất", "giay chung nhan quyen su dung dat", "ĐỐNG ĐA"):
            page.goto(f"{base}/cong-khai/")
            page.fill("#q", query)
            page.keyboard.press("Enter")
            # the unfiltered list already shows the title: wait for the search's own page
            expect(page).to_have_url(re.compile(r"/cong-khai/\?q=[^&]+"))
            expect(page.locator("#results")).to_contain_text(EDITED_TITLE)
            public_texts[page.url] = page.content()
        page.goto(f"{base}/cong-khai/")
        page.fill("#q", "bằng lái xe")
        page.keyboard.press("Enter")
        expect(page.locator("#result-count")).to_have_text("0 kết quả")
        page.select_option("#linh_vuc", "dat-dai")
        page.fill("#q", "")
        page.click("#search-form button[type=submit]")
        expect(page).to_have_url(re.compile(r"linh_vuc=dat-dai"))
        expect(page.locator("#results")).to_contain_text(EDITED_TITLE)
        public_texts[page.url] = page.content()
        feed = page.request.get(f"{base}/cong-khai/feed.atom")
        assert feed.ok and EDITED_TITLE in feed.text() and f"/cong-khai/{case.code}" in feed.text()
        public_texts["feed"] = feed.text()
        page.goto(f"{base}/cong-khai/thong-ke")
        public_texts[page.url] = page.content()
        browser.close()
    for where, text in public_texts.items():
        assert_nothing_personal(text, where)
    db.expire_all()
    row = db.exec(select(Publication).where(Publication.case_id == case.id)).one()
    assert row.status == PublicationStatus.published and row.title == EDITED_TITLE
    assert db.get(type(case), case.id).status == CaseStatus.published  # type: ignore[union-attr]
