"""A populated gateway for the fuzzers: staff of every role signed in, cases in every state that matters."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlmodel import Session, select

from config.settings import ROOT, Settings
from gateway import routing
from gateway.constants import Channel
from gateway.models import Agency, CallBack, Case
from tests.factories import CALL, fields, login, make_staff

DEMO = str(ROOT / "config" / "agencies" / "ministries.vcf")
LAND = {"title": "Chậm cấp giấy chứng nhận quyền sử dụng đất",
        "content": "Tôi nộp hồ sơ cấp sổ đỏ, giấy chứng nhận quyền sử dụng đất tại văn phòng đăng ký đất đai từ "
                   "tháng 3 nhưng cán bộ địa chính hẹn nhiều lần, đến nay đã quá hạn 45 ngày vẫn chưa có kết quả."}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with rate limits out of the way (a 429 would hide what is behind it)."""
    return dataclasses.replace(settings, submit_limit=(10**6, 3600), lookup_limit=(10**6, 600),
                               api_limit=(10**6, 60))


@dataclass
class World:
    """What the fuzzers aim at: known ids and tokens next to the random ones."""

    clients: dict[str, Any]
    web_case: Case
    hotline_case: Case
    answer_token: str
    callback_id: int
    agency_codes: list[str] = field(default_factory=list)

    @property
    def case_ids(self) -> list[int]:
        """Ids that exist."""
        return [self.web_case.id or 0, self.hotline_case.id or 0]

    @property
    def lookup(self) -> dict[str, str]:
        """A code and name that find the web case."""
        return {"code": self.web_case.code or "", "name": self.web_case.full_name}


@pytest.fixture
def world(app: Any, client: Any, db: Session, run_worker: Callable[[], None], settings: Settings) -> World:
    """A forwarded web case, a keyed hotline call, a call-back, and a signed-in client per role."""
    assert app.test_cli_runner().invoke(args=["agencies", "import", DEMO]).exit_code == 0
    assert client.post("/submit", data=fields(**LAND)).status_code == 303
    clients = {}
    for role in ("operator", "coordinator", "agency", "admin"):
        make_staff(db, role)
        clients[role] = app.test_client()
        login(clients[role], role)
    keyed = clients["operator"].post("/hotline/calls/new", data={"call_id": "1700000000.1", "caller": "0912345678",
                                                                "field_hint": "", **CALL})
    assert keyed.status_code == 303
    run_worker()
    web_case = db.exec(select(Case).where(Case.channel == Channel.web)).one()
    hotline_case = db.exec(select(Case).where(Case.channel == Channel.hotline)).one()
    callback = CallBack(key="fuzz-callback", phone="+84243825353", reason="Cuộc gọi nhỡ")
    db.add(callback)
    db.commit()
    assert web_case.agency_id is not None and web_case.code
    token = routing.answer_token(settings, case_id=web_case.id or 0, agency_id=web_case.agency_id)
    codes = [a.code for a in db.exec(select(Agency)).all()]
    return World(clients=clients, web_case=web_case, hotline_case=hotline_case, answer_token=token,
                 callback_id=callback.id or 0, agency_codes=codes)


@pytest.fixture
def signed_in(app: Any, db: Session) -> Callable[[str], Any]:
    """A test client signed in with a new account of the role (cheaper than the whole world)."""

    def make(role: str) -> Any:
        make_staff(db, role)
        client = app.test_client()
        login(client, role)
        return client

    return make
