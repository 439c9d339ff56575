"""Shared by the staff browser tests, the axe sweep and docs/screenshots.py: a served app and sample data.

``seed`` makes one case of each kind a staff page shows (a web case forwarded to the
agency of the ``agency1`` account, with the citizen's photo; a vague case in triage; a
hotline call) and the four staff accounts of tests/factories.py.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select
from werkzeug.serving import make_server

from config.settings import ROOT, Settings
from gateway import create_app, routing
from gateway.models import Agency, Case, HotlineCall
from tests.conftest import free_port
from tests.factories import CALL, PASSWORDS, fields, jpg_bytes, login, make_staff

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MINISTRIES = str(ROOT / "config" / "agencies" / "ministries.vcf")
ROLES = ("operator", "coordinator", "agency", "admin")
PHONE_WIDTH, DESKTOP_WIDTH = 390, 1280
LAND = {"title": "Chậm cấp giấy chứng nhận quyền sử dụng đất",
        "content": "Tôi nộp hồ sơ cấp sổ đỏ, giấy chứng nhận quyền sử dụng đất tại văn phòng đăng ký đất đai từ "
                   "tháng 3 nhưng cán bộ địa chính hẹn nhiều lần, đến nay đã quá hạn 45 ngày vẫn chưa có kết quả."}
VAGUE = {"title": "Phản ánh về việc ở phường",
         "content": "Tôi đã đến phường nhiều lần nhưng việc của gia đình tôi vẫn chưa xong, "
                    "mong được xem xét giải quyết sớm cho gia đình."}


@dataclass
class Seeded:
    """The sample cases and where their pages are."""

    forwarded: Case
    triage: Case
    hotline: Case
    answer_path: str  # the agency's emailed link (path only)


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The app over HTTP on a free port (CSRF on); the base URL."""
    app = create_app(settings)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        app.extensions["pakn"].engine.dispose()


def seed(settings: Settings, db: Session, run_worker: Callable[[], None]) -> Seeded:
    """Directory, staff accounts and the sample cases (through the real form, console and worker)."""
    app = create_app(settings.with_(captcha=False))
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        assert app.test_cli_runner().invoke(args=["agencies", "import", MINISTRIES]).exit_code == 0
        for role in ROLES:
            make_staff(db, role)
        client = app.test_client()
        land: dict[str, Any] = fields(**LAND)
        land["attachments"] = [(io.BytesIO(jpg_bytes()), "anh-hien-truong.jpg")]
        assert client.post("/submit", data=land, content_type="multipart/form-data").status_code == 303
        assert client.post("/submit", data=fields(**VAGUE)).status_code == 303
        operator = app.test_client()
        login(operator, "operator")
        call = {"call_id": "1763712000.42", "caller": "0912345678", **CALL}
        assert operator.post("/hotline/calls/new", data=call).status_code == 303
    finally:
        app.extensions["pakn"].engine.dispose()
    run_worker()
    db.expire_all()
    forwarded, triage = db.exec(select(Case).where(Case.channel == "web").order_by(Case.id)).all()
    hotline = db.exec(select(Case).join(HotlineCall, HotlineCall.case_id == Case.id)).one()  # type: ignore[arg-type]
    agency = db.exec(select(Agency).where(Agency.code == "bo-nong-nghiep-moi-truong")).one()
    assert forwarded.agency_id == agency.id, forwarded.status
    url = routing.answer_url(settings, case=forwarded, agency=agency)
    return Seeded(forwarded=forwarded, triage=triage, hotline=hotline,
                  answer_path=url.removeprefix(settings.public_base_url))


def log_in(page: Any, base: str, role: str) -> None:
    """Sign a Playwright page in as ``<role>1``."""
    page.goto(f"{base}/staff/login")
    page.fill("#username", f"{role}1")
    page.fill("#password", PASSWORDS[role])
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "/staff/login" not in page.url, page.url


def fits(page: Any) -> bool:
    """Nothing wider than the screen (no sideways scrolling)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
