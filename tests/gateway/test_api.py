"""The JSON API for integrations."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, select

from config.settings import Settings
from gateway import create_app
from gateway.constants import Channel
from gateway.models import Attachment, Case
from tests.factories import exe_bytes, fields, pdf_bytes

KEY = {"X-Api-Key": "test-key-1"}


def test_closed_without_keys(settings: Settings) -> None:
    app = create_app(settings.with_(api_keys=()))
    response = app.test_client().post("/api/v1/reports", json=fields())
    assert response.status_code == 403 and "closed" in response.json["message"]
    app.extensions["pakn"].engine.dispose()


def test_wrong_or_missing_key(client: Any) -> None:
    assert client.post("/api/v1/reports", json=fields()).status_code == 401
    assert client.post("/api/v1/reports", json=fields(), headers={"X-Api-Key": "nope"}).status_code == 401
    assert client.get("/api/v1/receipts/x", headers={"X-Api-Key": "nope"}).json["error"] == 401


def test_json_report_receipt_and_case(client: Any, run_worker: Callable[[], None], db: Session) -> None:
    response = client.post("/api/v1/reports", json=fields(), headers=KEY)
    assert response.status_code == 202
    body = response.json
    assert body["status"] == "received" and body["code"] is None
    assert db.exec(select(Case)).one().channel == Channel.api
    run_worker()
    state = client.get(f"/api/v1/receipts/{body['receipt']}", headers=KEY).json
    assert state["status"] == "triage" and state["code"]  # no agency in the test directory: the office decides
    view = client.get(f"/api/v1/cases/{state['code']}", query_string={"name": "nguyen thi hong nhung"}, headers=KEY)
    assert view.status_code == 200
    assert view.json["code"] == state["code"]
    assert [s["status"] for s in view.json["timeline"]] == ["received", "registered", "triage"]
    assert "phone" not in view.json and "email" not in view.json and "full_name" not in view.json
    wrong = client.get(f"/api/v1/cases/{state['code']}", query_string={"name": "x y"}, headers=KEY)
    assert wrong.status_code == 404 and wrong.json["reason"] == "lookup_not_found"
    typo = client.get(f"/api/v1/cases/{state['code'][:-1]}{(int(state['code'][-1]) + 1) % 10}",
                      query_string={"name": "x"}, headers=KEY)
    assert typo.status_code == 400 and typo.json["reason"] == "code_check"
    assert client.get("/api/v1/receipts/unknown", headers=KEY).status_code == 404


def test_multipart_with_attachment(client: Any, db: Session) -> None:
    data: dict[str, Any] = fields()
    data["attachments"] = [(io.BytesIO(pdf_bytes()), "don.pdf")]
    response = client.post("/api/v1/reports", data=data, headers=KEY, content_type="multipart/form-data")
    assert response.status_code == 202
    assert db.exec(select(Attachment)).one().content_type == "application/pdf"
    data["attachments"] = [(io.BytesIO(exe_bytes()), "don.pdf")]
    response = client.post("/api/v1/reports", data=data, headers=KEY, content_type="multipart/form-data")
    assert response.status_code == 400 and "attachments" in response.json["fields"]


def test_validation_errors_are_json(client: Any, db: Session) -> None:
    response = client.post("/api/v1/reports", json=fields(phone="1", content=None), headers=KEY)
    assert response.status_code == 400
    assert set(response.json["fields"]) == {"phone", "content"}
    assert response.json["fields"]["content"] == ["Vui lòng nhập Nội dung phản ánh, kiến nghị."]
    for bad in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = client.post("/api/v1/reports", data=bad, headers={**KEY, "Content-Type": "application/json"})
        assert response.status_code == 400 and response.is_json
    assert db.exec(select(Case)).all() == []


def test_idempotency_key_gives_one_case(client: Any, db: Session) -> None:
    headers = {**KEY, "Idempotency-Key": "crm-4711"}
    first = client.post("/api/v1/reports", json=fields(), headers=headers)
    again = client.post("/api/v1/reports", json=fields(), headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json["receipt"] == again.json["receipt"] and again.json["duplicate"] is True
    assert len(db.exec(select(Case)).all()) == 1
    other = client.post("/api/v1/reports", json=fields(), headers={**KEY, "Idempotency-Key": "crm-4712"})
    assert other.status_code == 202 and len(db.exec(select(Case)).all()) == 2


def test_api_is_rate_limited_per_key(settings: Settings) -> None:
    app = create_app(settings.with_(api_limit=(2, 60)))
    client = app.test_client()
    statuses = [client.get("/api/v1/receipts/x", headers=KEY).status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    limited = client.get("/api/v1/receipts/x", headers=KEY)
    assert limited.is_json and limited.headers["Retry-After"] == "60"
    app.extensions["pakn"].engine.dispose()


def test_unknown_api_route_is_json(client: Any) -> None:
    response = client.get("/api/v1/nothing", headers=KEY)
    assert response.status_code == 404 and response.is_json
