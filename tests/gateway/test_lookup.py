"""The lookup's view of a case: everything it shows, read in two statements (the case, then one UNION ALL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from gateway import lookup
from gateway.db import read_session
from gateway.exceptions import ReadOnlySessionError
from gateway.models import Agency, Attachment, Case, ProgressNote, new_token
from tests.factories import insert_cases

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam, a Monday
NAME = "Trần Thị Lan"


def _case(db: Session) -> Case:
    """A forwarded follow-up waiting for the citizen's information, with every part the page shows."""
    db.add(Agency(id=7, code="bo-xay-dung", name="Bộ Xây dựng", emails='["a@x.gov.vn"]', fields="[]", vcard=""))
    db.add(Agency(id=8, code="bo-khac", name="Bộ Khác", emails='["b@x.gov.vn"]', fields="[]", vcard=""))
    db.commit()
    at = [T0 + timedelta(hours=h) for h in range(8)]
    insert_cases(db, [
        {"id": 1, "code": "26-000001-9", "channel": "web", "status": "answered", "created_at": T0, "agency_id": 7},
        {"id": 2, "code": "26-000002-4", "channel": "web", "status": "needs_info", "created_at": at[1], "agency_id": 7,
         "follows_id": 1, "full_name": NAME, "name_key": "tran thi lan", "remaining_days": 12},
        {"id": 6, "code": "26-000006-2", "channel": "web", "status": "forwarded", "created_at": at[3], "follows_id": 2},
        {"id": 3, "code": "26-000003-5", "channel": "web", "status": "forwarded", "created_at": at[2], "follows_id": 2},
        {"id": 4, "code": "26-000004-3", "channel": "web", "status": "forwarded", "created_at": at[2], "follows_id": 1},
    ], events=[  # inserted out of order: the page orders them by time
        {"case_id": 2, "at": at[5], "from_status": "forwarded", "to_status": "needs_info", "actor": "bo-xay-dung",
         "note": "Xin gửi bản sao sổ đỏ."},
        {"case_id": 2, "at": at[1], "to_status": "received"},
        {"case_id": 2, "at": at[3], "from_status": "needs_info", "to_status": "forwarded", "actor": "citizen"},
        {"case_id": 2, "at": at[2], "from_status": "received", "to_status": "needs_info", "actor": "worker",
         "note": "asked by the worker: never shown as the question"},
        {"case_id": 2, "at": at[4], "kind": "message_sent", "to_status": None, "note": "an SMS: not a step"},
        {"case_id": 2, "at": at[4], "kind": "deadline", "to_status": "forwarded", "note": "a due date: not a step"},
        {"case_id": 1, "at": at[0], "to_status": "answered"},
    ])
    db.add(ProgressNote(case_id=2, agency_id=7, author="cb", text="Đang xác minh.", created_at=at[6]))
    db.add(ProgressNote(case_id=2, agency_id=7, author="cb", text="Đã họp.", created_at=at[4]))
    db.add(ProgressNote(case_id=1, agency_id=7, author="cb", text="Another case's note.", created_at=at[4]))
    for id_, source, name in ((11, "agency", "tra-loi.pdf"), (10, "agency", "phu-luc.pdf"),
                              (12, "citizen", "cccd.jpg"), (13, "signed", "PAKN-26-000002-4.pdf")):
        db.add(Attachment(id=id_, case_id=2, filename=name, storage_key=new_token(), content_type="application/pdf",
                          size=1000 + id_, sha256="0" * 64, source=source))
    db.commit()
    found = db.get(Case, 2)
    assert found is not None
    return found


def test_the_view_shows_each_part_of_the_case_in_order(db: Session) -> None:
    case = _case(db)
    page = lookup.page(db, case=case)
    view = page.view
    assert [(s["status"], s["label"]) for s in view["timeline"]] == [
        ("received", "Đã nhận, đang cấp mã"), ("needs_info", "Cần bổ sung thông tin"),
        ("forwarded", lookup.SUPPLEMENTED_LABEL), ("needs_info", "Cần bổ sung thông tin")]
    assert view["timeline"][0]["at"] == "2026-03-02T10:00+07:00"
    assert view["question"] == "Xin gửi bản sao sổ đỏ."
    assert [p["text"] for p in view["progress"]] == ["Đã họp.", "Đang xác minh."]
    assert view["agency"] == "Bộ Xây dựng"
    assert (view["follows"], view["follow_ups"]) == ("26-000001-9", ["26-000003-5", "26-000006-2"])  # by id
    assert view["answer_files"] == [{"id": 10, "filename": "phu-luc.pdf", "size": 1010},
                                    {"id": 11, "filename": "tra-loi.pdf", "size": 1011}]  # not the citizen's file
    assert page.signed == lookup.FileRef(13, "PAKN-26-000002-4.pdf", 1013)
    assert lookup.public_view(db, case=case) == view


def test_a_case_with_nothing_around_it(db: Session) -> None:
    insert_cases(db, [{"id": 5, "code": "26-000005-6", "channel": "sms", "status": "received", "created_at": T0}])
    case = db.get(Case, 5)
    assert case is not None
    page = lookup.page(db, case=case)
    assert page.signed is None
    assert {k: page.view[k] for k in ("timeline", "progress", "agency", "follows", "follow_ups", "answer_files",
                                      "question")} == {
        "timeline": [], "progress": [], "agency": None, "follows": None, "follow_ups": [], "answer_files": [],
        "question": None}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_lookup_page_is_two_statements_in_autocommit(app: Any, client: Any, db: Session) -> None:
    """No BEGIN/ROLLBACK: every statement runs on a connection in autocommit; the page still shows every part."""
    _case(db)
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((statement.split()[0], conn.connection.dbapi_connection.autocommit))

    engine = app.extensions["pakn"].engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        page = client.post("/lookup", data={"code": "26-000002-4", "name": "tran thi LAN"})
        api = client.get("/api/v1/cases/26-000002-4", query_string={"name": NAME},
                         headers={"X-Api-Key": "test-key-1"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert page.status_code == 200 and api.status_code == 200, (page.text[:300], api.text[:300])
    assert seen == [("SELECT", True)] * 4, seen  # the case, then the rest; for the page, then for the API
    for shown in ("Xin gửi bản sao sổ đỏ.", "Đang xác minh.", "Bộ Xây dựng", "26-000003-5", "26-000001-9"):
        assert shown in page.text
    assert api.json["follow_ups"] == ["26-000003-5", "26-000006-2"]
    assert api.json["answer_files"][0]["filename"] == "phu-luc.pdf"
    assert "signed" not in api.json and "cccd.jpg" not in api.text


def test_a_read_session_refuses_to_write(engine: Any) -> None:
    """In autocommit each flush would commit by itself: a write through a read session is refused."""
    with read_session(engine) as session:
        session.add(Agency(code="khong-ghi", name="Không ghi", emails="[]", fields="[]", vcard=""))
        with pytest.raises(ReadOnlySessionError):
            session.flush()
    with Session(engine) as check:
        assert check.exec(select(Agency).where(Agency.code == "khong-ghi")).first() is None
