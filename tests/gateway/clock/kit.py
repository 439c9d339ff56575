"""Helpers for the clock's tests: agencies, cases at an agency, moments in Vietnam, delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import time_machine
from sqlmodel import Session, col, select

import worker
from config.settings import Settings
from gateway import routing
from gateway.codes import PaknCode
from gateway.constants import VN_TZ, CaseStatus, Channel, OutboundStatus
from gateway.models import Agency, Case, OutboundMessage, utcnow
from normalizer.text import match_key

NAME = "Nguyễn Thị Hồng Nhung"
AGENCY_CODE = "bo-nong-nghiep-moi-truong"  # tests.factories.make_staff's agency staff belong here


def vn(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in Vietnam."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN_TZ)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Everything inside happens at ``moment`` (time stands still)."""
    with time_machine.travel(moment, tick=False):
        yield


def make_agency(db: Session, code: str = AGENCY_CODE, name: str = "Bộ Nông nghiệp và Môi trường") -> Agency:
    agency = Agency(code=code, name=name, emails=json.dumps([f"pakn@{code}.gov.example"]), fields="[]", vcard="")
    db.add(agency)
    db.commit()
    db.refresh(agency)
    return agency


def make_case(db: Session, seq: int, *, channel: Channel = Channel.web, phone: str = "+84912345678",
              email: str | None = "nhung.nguyen@example.com", status: CaseStatus = CaseStatus.registered) -> Case:
    """A coded case (registered, or waiting in triage), not yet forwarded."""
    case = Case(channel=channel, code=str(PaknCode(26, seq)), status=status, full_name=NAME,
                name_key=match_key(NAME), email=email, phone=phone, address="Hà Nội",
                title=f"Chậm cấp giấy chứng nhận quyền sử dụng đất số {seq}",
                content="Hồ sơ nộp tại bộ phận một cửa đã quá hạn nhưng chưa có kết quả.", registered_at=utcnow())
    db.add(case)
    db.commit()
    db.refresh(case)
    return case


def forward(db: Session, case: Case, agency: Agency, settings: Settings, when: datetime) -> None:
    with at(when):
        routing.forward(db, case=case, agency=agency, settings=settings, actor="coordinator1")
        db.commit()
    db.refresh(case)


def deliver_all(db: Session) -> list[str]:
    """Deliver every pending outbound row with the real job (as the dispatcher would); their statuses."""
    ids = db.exec(select(OutboundMessage.id).where(OutboundMessage.status == OutboundStatus.pending)
                  .order_by(col(OutboundMessage.id))).all()
    return [worker.deliver(i) for i in ids if i is not None]


def keys(db: Session, *, like: str = "%") -> list[str]:
    rows = db.exec(select(OutboundMessage.idempotency_key).where(col(OutboundMessage.idempotency_key).like(like))
                   .order_by(col(OutboundMessage.id))).all()
    return list(rows)


def cli_tick(app: Any, *args: str) -> dict[str, int]:
    """``flask --app wsgi clock tick ARGS``; the counts it printed."""
    result = app.test_cli_runner().invoke(args=["clock", "tick", *args])
    assert result.exit_code == 0, result.output
    return {k: int(v) for k, v in (part.split("=") for part in result.output.split())}
