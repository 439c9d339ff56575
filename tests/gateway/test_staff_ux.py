"""Labels, the staff commands, the development SMS console's guard and the coordinator's actions by status."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import Session, select

from config.settings import ROOT, Settings
from gateway import create_app, labels
from gateway.constants import STATUS_LABELS_VI, CaseStatus, Channel, EventKind, OutboundStatus, Role
from gateway.devsms import development_token, webhook_token
from gateway.fields import all_fields
from gateway.models import Agency, Case, Event, StaffUser
from normalizer.classify import CaseType, Scope
from tests.factories import fields, login, make_staff

MINISTRIES = str(ROOT / "config" / "agencies" / "ministries.vcf")


def test_every_slug_staff_see_has_a_vietnamese_label() -> None:
    enums: list[tuple[Any, str]] = [(CaseStatus, "status"), (EventKind, "event"), (Channel, "channel"),
                                    (OutboundStatus, "outbound"), (Role, "role"), (Scope, "scope"),
                                    (CaseType, "case_type")]
    for enum, kind in enums:
        for member in enum:
            label = labels.vi(member, kind)
            assert label != member.value and label[0].isupper(), (kind, member)
    for field in all_fields():
        assert labels.vi(field.code, "field") == field.name
    assert labels.vi("thue-tai-chinh") == "Thuế, tài chính"
    assert labels.vi("in_scope") == "Thuộc phạm vi PAKN" and labels.vi("hanh_vi") == "Hành vi hành chính"
    assert labels.vi("message_sent") == "Đã gửi tin nhắn, thư"
    assert labels.vi(CaseStatus.needs_info) == STATUS_LABELS_VI[CaseStatus.needs_info]  # the status wins
    assert labels.vi("no-such-slug") == "no-such-slug" and labels.vi(None) == "—"
    with pytest.raises(ValueError, match="no-such-kind"):  # a typo in a template fails its test
        labels.vi("x", "no-such-kind")


def test_a_status_change_reads_as_a_sentence() -> None:
    event = SimpleNamespace(kind=EventKind.status, from_status=CaseStatus.received, to_status=CaseStatus.registered)
    assert labels.event_sentence(event) == "Chuyển trạng thái: Đã nhận, đang cấp mã → Đã tiếp nhận và cấp mã PAKN"
    view = SimpleNamespace(kind=EventKind.view, from_status=None, to_status=None)
    assert labels.event_sentence(view) == "Cán bộ xem thông tin người gửi"
    assert labels.vi_text("Lĩnh vực dat-dai (6 điểm); Loại hanh_vi; dat-dai-moi") == (
        "Lĩnh vực Đất đai, tài nguyên (6 điểm); Loại Hành vi hành chính; dat-dai-moi")


def test_users_create_refuses_an_unknown_or_missing_agency(app: Any, db: Session) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["agencies", "import", MINISTRIES]).exit_code == 0
    password = "mat-khau-du-dai\n"
    missing = runner.invoke(args=["users", "create", "cq1", "--role", "agency", "--password", "-"], input=password)
    assert missing.exit_code != 0 and "needs --agency" in missing.output
    unknown = runner.invoke(args=["users", "create", "cq1", "--role", "agency", "--agency", "bo-khong-co",
                                  "--password", "-"], input=password)
    assert unknown.exit_code != 0 and "no agency 'bo-khong-co'" in unknown.output
    operator = runner.invoke(args=["users", "create", "dtv1", "--role", "operator", "--agency", "bo-y-te",
                                   "--password", "-"], input=password)
    assert operator.exit_code != 0 and "not operator" in operator.output
    assert db.exec(select(StaffUser)).all() == []
    made = runner.invoke(args=["users", "create", "cq1", "--role", "agency", "--agency", "bo-y-te",
                               "--password", "-"], input=password)
    assert made.exit_code == 0, made.output
    assert db.exec(select(StaffUser)).one().agency_code == "bo-y-te"


def test_agencies_list(app: Any) -> None:
    runner = app.test_cli_runner()
    assert "no agencies" in runner.invoke(args=["agencies", "list"]).output
    assert runner.invoke(args=["agencies", "import", MINISTRIES]).exit_code == 0
    result = runner.invoke(args=["agencies", "list"])
    assert result.exit_code == 0
    header, *rows = result.output.splitlines()
    assert header.split() == ["CODE", "NAME", "KIND", "EMAIL", "CERTIFICATE"]
    row = next(r for r in rows if r.startswith("bo-y-te "))
    assert "Bộ Y tế" in row and "ministry" in row and "pakn@yte.gov.example" in row and "none" in row
    assert len(rows) == 14


def test_the_sms_console_exists_only_outside_production(settings: Settings) -> None:
    assert webhook_token(settings) == settings.twilio_auth_token  # Twilio's token when there is one
    bare = settings.with_(twilio_auth_token=None)
    assert webhook_token(bare) == development_token(bare) and development_token(bare)
    production = bare.with_(env="production", secret_key="p" * 64)
    assert development_token(production) is None and webhook_token(production) is None
    app = create_app(production)
    try:
        assert "devsms.console" not in {r.endpoint for r in app.url_map.iter_rules()}
        assert app.test_client().get("/dev/sms/").status_code == 404
    finally:
        app.extensions["pakn"].engine.dispose()
    dev = create_app(bare)
    try:
        assert dev.test_client().get("/dev/sms/").status_code == 200
    finally:
        dev.extensions["pakn"].engine.dispose()


def test_the_coordinator_acts_only_as_the_status_allows(app: Any, client: Any, db: Session,
                                                         run_worker: Callable[[], None]) -> None:
    assert app.test_cli_runner().invoke(args=["agencies", "import", MINISTRIES]).exit_code == 0
    client.post("/submit", data=fields(title="Đề nghị xem xét", content="Việc của tôi chưa được giải quyết ạ, "
                                       "mong được xem xét giải quyết sớm cho gia đình tôi."))
    run_worker()
    case = db.exec(select(Case)).one()
    make_staff(db, "coordinator")
    login(client, "coordinator")
    assert case.status == CaseStatus.needs_info
    page = client.get(f"/coordinator/cases/{case.id}").text
    assert 'id="forward-form"' in page and 'id="out-form"' not in page and 'id="needs-info-form"' not in page
    refused = client.post(f"/coordinator/cases/{case.id}", data={"action": "out_of_scope", "reason": "complaint"})
    assert refused.status_code == 400 and "«Cần bổ sung thông tin»" in refused.text  # not a 500
    agency_id = db.exec(select(Agency.id).where(Agency.code == "bo-y-te")).one()
    assert client.post(f"/coordinator/cases/{case.id}", data={"action": "forward", "agency_id": agency_id}
                       ).status_code == 303
    page = client.get(f"/coordinator/cases/{case.id}").text
    assert "Đã chuyển PAKN" in page and 'id="needs-info-form"' not in page and 'id="out-form"' not in page
    again = client.post(f"/coordinator/cases/{case.id}", data={"action": "needs_info", "note": "Thiếu địa chỉ"})
    assert again.status_code == 400 and "không còn thực hiện được" in again.text
    for _ in range(3):
        client.get(f"/coordinator/cases/{case.id}")
    views = db.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.view)).all()
    assert len(views) == 1
    login(client, "coordinator")  # a new login session: its first look is recorded again
    client.get(f"/coordinator/cases/{case.id}")
    assert len(db.exec(select(Event).where(Event.case_id == case.id, Event.kind == EventKind.view)).all()) == 2
