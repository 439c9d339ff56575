"""End to end in Debian's chromium: form (keyboard only, phone screen) → code → lookup."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlmodel import Session
from werkzeug.serving import make_server

from config.settings import ROOT, Settings
from gateway import captcha, create_app
from tests.conftest import SmtpServer, free_port
from tests.factories import VALID_FIELDS, jpg_bytes
from tests.twilio_fake import TwilioFake

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def live(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """The app served over HTTP (captcha and CSRF on) plus a real worker process."""
    live_settings = settings.with_(captcha=True)
    app = create_app(live_settings)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url or "",
               SECRET_KEY=settings.secret_key, INSTANCE_PATH=str(settings.instance_path),
               SMTP_URL=settings.smtp_url or "", PUBLIC_BASE_URL=settings.public_base_url,
               TWILIO_ACCOUNT_SID=settings.twilio_account_sid or "", TWILIO_AUTH_TOKEN=settings.twilio_auth_token or "",
               TWILIO_API_BASE=settings.twilio_api_base or "")
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    yield f"http://127.0.0.1:{server.server_port}", live_settings
    proc.terminate()
    try:
        proc.wait(20)
    finally:
        proc.kill()  # never leave a worker behind to eat a later test's jobs
    log.close()
    server.shutdown()
    app.extensions["pakn"].engine.dispose()


@pytest.mark.browser
def test_citizen_submits_sees_code_and_looks_it_up(live: tuple[str, Settings], smtp: SmtpServer,
                                                   tmp_path: Path) -> None:
    base, settings = live
    photo = tmp_path / "ảnh hiện trường.jpg"
    photo.write_bytes(jpg_bytes((320, 240)))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 375, "height": 740}, locale="vi-VN")
        page.goto(f"{base}/submit")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # fits a phone screen

        page.set_input_files("#attachments", str(photo))
        page.focus("#full_name")  # from here on: keyboard only, in tab order
        for name in ("full_name", "phone", "email", "address", "title", "content"):
            assert page.evaluate("document.activeElement.id") == name
            page.keyboard.insert_text(VALID_FIELDS[name])
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "attachments"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "captcha"
        token = page.input_value("input[name=captcha_token]")
        answer = captcha.answer_for_token(settings.secret_key, token)
        assert answer
        page.keyboard.type(answer)
        page.keyboard.press("Enter")

        page.wait_for_url(re.compile(r"/receipt/"))
        expect(page.locator("#pakn-code")).to_have_text(re.compile(r"^\d{2}-\d{6}-\d$"), timeout=30_000)
        code = page.inner_text("#pakn-code")
        expect(page.locator("#status-label")).to_have_text(re.compile("Đã tiếp nhận và cấp mã PAKN|Đang phân loại"))

        page.click("#lookup-link")
        expect(page.locator("#code")).to_have_value(code)
        page.fill("#name", "nguyen thi hong nhung")
        page.keyboard.press("Enter")
        expect(page.locator("#case-status")).to_have_text("Đang phân loại")  # no agency in the test directory
        expect(page.locator("#result-title")).to_have_text(f"PAKN {code}")
        browser.close()
    for _ in range(100):  # the acknowledgment follows the code within moments
        if any(code in str(m["Subject"]) or code in m.get_payload(decode=True).decode() for m in smtp.messages):
            break
        time.sleep(0.1)
    assert any(code in str(m["Subject"]) or code in m.get_payload(decode=True).decode() for m in smtp.messages)


@pytest.mark.browser
def test_operator_keys_a_call_and_reads_the_code_back(live: tuple[str, Settings], db: Session,
                                                      twilio: TwilioFake) -> None:
    from tests.factories import CALL, PASSWORDS, make_staff

    base, _settings = live
    make_staff(db, "operator")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(locale="vi-VN")
        page.goto(f"{base}/hotline/calls/new?call_id=1763712000.99&caller=0912345678")  # the PBX screen-pop
        expect(page).to_have_url(re.compile(r"/staff/login\?next="))
        page.fill("#username", "operator1")
        page.fill("#password", PASSWORDS["operator"])
        page.keyboard.press("Enter")
        expect(page.locator("#caller")).to_have_value("0912345678")  # back on the screen-pop, prefilled
        expect(page.locator("#call_id")).to_have_value("1763712000.99")
        expect(page.locator("#caller_name")).to_be_focused()  # ready to type the name
        expect(page.locator("#call-form[data-draft-ready]")).to_have_count(1)  # draft.js listens
        page.keyboard.insert_text(CALL["caller_name"])
        page.keyboard.press("Tab")
        page.keyboard.insert_text(CALL["address"])
        expect(page.locator("#draft-status")).to_have_text("Đã lưu nháp.")  # saved while typing
        page.reload()  # the browser tab crashed or was closed: nothing is lost
        expect(page.locator("#caller_name")).to_have_value(CALL["caller_name"])
        expect(page.locator("#draft-status")).to_have_text("Đã khôi phục bản nháp chưa lưu.")
        page.focus("#address")
        for name in ("email", "title", "transcript"):
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.id") == name
            page.keyboard.insert_text(CALL[name])
        page.keyboard.press("Control+Enter")  # save with one key
        expect(page.locator("#pakn-code")).to_have_text(re.compile(r"^\d{2}-\d{6}-\d$"), timeout=30_000)
        code = page.inner_text("#pakn-code")
        assert page.evaluate("localStorage.getItem('pakn-call-1763712000.99')") is None  # draft cleared

        page.goto(f"{base}/hotline/calls/new?call_id=1763712000.99&caller=0912345678")  # keyed again by mistake
        page.fill("#caller_name", CALL["caller_name"])
        page.fill("#address", CALL["address"])
        page.fill("#title", CALL["title"])
        page.fill("#transcript", CALL["transcript"])
        page.click("#call-form button[type=submit]")
        expect(page.locator("#error-summary")).to_contain_text(f"đã được nhập trước đó (PAKN {code})")
        browser.close()
    for _ in range(100):  # the read-back SMS follows the code within moments
        if any(code in m.body for m in twilio.sent):
            break
        time.sleep(0.1)
    assert any(code in m.body for m in twilio.sent)
