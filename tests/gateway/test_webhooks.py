"""Webhooks to a real local HTTP receiver: signed, retried after 500s, one delivery per event, paused."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlmodel import Session, select

import worker
from channels.base import OutboundMessage as Outgoing
from channels.webhook import WebhookSender
from gateway import routing, webhooks
from gateway.constants import Channel, OutboundStatus
from gateway.models import Case, OutboundMessage, WebhookSubscription, utcnow
from tests.conftest import free_port
from tests.factories import fields, login, make_staff
from tests.test_routing import LAND, directory_loaded  # noqa: F401 (fixture)


class Receiver:
    """Another system's endpoint: records every POST; answers 500 while told to fail."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        self.always_fail = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))  # case-insensitive
                failing = receiver.always_fail or receiver.fail_next > 0
                receiver.fail_next = max(0, receiver.fail_next - 1)
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/pakn-events"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP receiver for the test."""
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _recipe_verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The verification recipe of docs/api.md, written independently of gateway.webhooks."""
    timestamp = headers["x-pakn-timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-pakn-signature"])


def _attempt(row_id: int | None) -> None:
    """One delivery attempt, as the dispatcher runs it (outside RQ)."""
    worker.deliver(row_id or 0)


def _hooks(db: Session) -> list[OutboundMessage]:
    db.expire_all()
    return list(db.exec(select(OutboundMessage).where(OutboundMessage.channel == Channel.webhook)
                        .order_by(OutboundMessage.id)).all())


@pytest.mark.usefixtures("directory_loaded")
def test_signed_retried_once_per_event_and_paused(app: Any, client: Any, receiver: Receiver, db: Session,
                                                  run_worker: Callable[[], None]) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(args=["webhooks", "add", receiver.url, "--events", "coded,forwarded,answered"])
    assert added.exit_code == 0, added.output
    secret = added.output.split("secret: ", 1)[1].strip()
    assert runner.invoke(args=["webhooks", "add", "ftp://x", "--events", "coded"]).exit_code != 0
    assert runner.invoke(args=["webhooks", "add", receiver.url, "--events", "coded,exploded"]).exit_code != 0

    response = client.post("/api/v1/reports", json=fields(**LAND), headers={"X-Api-Key": "test-key-1"})
    case_id = db.exec(select(Case.id).where(Case.receipt == response.json["receipt"])).one()
    worker.process_case(case_id)  # coded, then routed: forwarded (the deliveries are queued, not yet sent)
    rows = _hooks(db)
    assert [r.purpose for r in rows] == ["webhook:coded", "webhook:forwarded"]
    assert all(r.status == OutboundStatus.pending and r.recipient == receiver.url for r in rows)

    receiver.fail_next = 4
    for row in rows:
        _attempt(row.id)  # 500: retried by the worker after its backoff (retry_intervals) …
    rows = _hooks(db)
    assert all(r.status == OutboundStatus.pending and r.next_attempt_at and r.last_error == "HTTP 500" for r in rows)
    for row in rows:
        _attempt(row.id)  # … until its retries are spent
    rows = _hooks(db)
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [(OutboundStatus.failed, 2, "HTTP 500")] * 2
    upkeep = webhooks.maintain(db, pause_days=3, now=utcnow() + timedelta(seconds=30))
    assert upkeep.retried == 0  # too early: 60 s · 2^attempts after it was queued
    upkeep = webhooks.maintain(db, pause_days=3, now=utcnow() + timedelta(minutes=5))
    assert upkeep.retried == 2
    for row in _hooks(db):
        _attempt(row.id)
        _attempt(row.id)  # a second run sends nothing
    assert [r.status for r in _hooks(db)] == [OutboundStatus.sent] * 2
    assert len(receiver.requests) == 6  # four 500s, then one delivery per event
    delivered = receiver.requests[4:]
    for headers, body in receiver.requests:
        assert _recipe_verify(secret, headers, body)
        assert webhooks.verify(secret, timestamp=headers["x-pakn-timestamp"], body=body,
                               signature_header=headers["x-pakn-signature"])
        assert not webhooks.verify("another-secret", timestamp=headers["x-pakn-timestamp"], body=body,
                                   signature_header=headers["x-pakn-signature"])
    assert len({h["x-pakn-delivery"] for h, _ in receiver.requests}) == 2  # a retry keeps its delivery id
    payloads = [json.loads(body) for _, body in delivered]
    assert [p["event"] for p in payloads] == ["coded", "forwarded"]
    assert [h["x-pakn-event"] for h, _ in delivered] == ["coded", "forwarded"]
    assert len({h["x-pakn-delivery"] for h, _ in delivered}) == 2
    case = db.get(Case, case_id)
    assert case is not None and payloads[1]["case"]["code"] == case.code
    assert payloads[1]["case"]["agency"]["name"] == "Bộ Nông nghiệp và Môi trường"
    raw = b"".join(body for _, body in delivered).decode()
    for private in (case.full_name, case.phone, case.email or "?", case.address, case.content[:30]):
        assert private not in raw
    assert not webhooks.verify(secret, timestamp="1000", body=delivered[0][1],  # a replay from long ago
                               signature_header=webhooks.signature(secret, "1000", delivered[0][1]))

    # The subscriber goes down for days: its deliveries fail, then it is paused, not retried forever.
    receiver.always_fail = True
    routing.record_answer(db, case=case, text="Đã cấp giấy chứng nhận ngày 20/11/2026 cho Ông/Bà.", actor="test",
                          settings=worker.context().settings, replies=None)
    db.commit()
    answered = _hooks(db)[-1]
    assert answered.purpose == "webhook:answered"
    _attempt(answered.id)
    _attempt(answered.id)
    upkeep = webhooks.maintain(db, pause_days=3, now=utcnow() + timedelta(days=3, minutes=1))
    assert upkeep.paused == 1
    sub = db.exec(select(WebhookSubscription)).one()
    assert sub.paused_at is not None and sub.failing_since is not None
    assert webhooks.maintain(db, pause_days=3, now=utcnow() + timedelta(days=5)).retried == 0
    assert webhooks.emit(db, case=case, event="answered") == 0  # a paused subscriber gets nothing new
    listing = runner.invoke(args=["webhooks", "list"])
    assert f"{sub.id}\tpaused\t{receiver.url}" in listing.output
    assert runner.invoke(args=["webhooks", "resume", str(sub.id)]).exit_code == 0

    # The admin page: subscriptions and the delivery log.
    make_staff(db, "admin")
    login(client, "admin")
    page = client.get("/admin/webhooks")
    assert page.status_code == 200 and receiver.url in page.text and "HTTP 500" in page.text
    created = client.post("/admin/webhooks", data={"action": "add", "url": "https://crm.example.gov.vn/hooks",
                                                   "events": ["published", "overdue"]})
    assert created.status_code == 200 and 'id="secret"' in created.text
    refused = client.post("/admin/webhooks", data={"action": "add", "url": "javascript:alert(1)", "events": ["coded"]})
    assert refused.status_code == 400
    assert runner.invoke(args=["webhooks", "remove", str(sub.id)]).exit_code == 0
    assert webhooks.emit(db, case=case, event="answered") == 0


def test_overdue_is_emitted_once_per_due_date(app: Any, db: Session, receiver: Receiver,
                                              run_worker: Callable[[], None]) -> None:
    from gateway import cases
    from gateway.constants import CaseStatus

    webhooks.subscribe(db, url=receiver.url, events=["overdue"], actor="test", allow_private=True)
    case = Case(channel=Channel.web, full_name="Nguyễn Văn A", name_key="nguyen van a", phone="+84912345678",
                address="Hà Nội, Việt Nam", title="Chậm cấp giấy phép", content="x" * 30)
    db.add(case)
    db.flush()
    cases.register(db, case_id=case.id or 0, at=utcnow())
    case.due_at = utcnow() - timedelta(days=1)
    cases.transition(db, case=case, to=CaseStatus.triage, actor="test")
    cases.transition(db, case=case, to=CaseStatus.forwarded, actor="test")
    db.commit()
    assert webhooks.maintain(db, pause_days=3).overdue == 1
    webhooks.maintain(db, pause_days=3)
    assert [r.purpose for r in _hooks(db)] == ["webhook:overdue"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/", "http://169.254.169.254/latest/meta-data/",
                                 "http://10.0.0.7/hook", "http://[::1]:8080/", "http://localhost/x"])
def test_subscriber_urls_inside_the_network_are_refused(db: Session, url: str) -> None:
    with pytest.raises(webhooks.WebhookError, match="not a public address"):
        webhooks.subscribe(db, url=url, events=["coded"], actor="test")  # WEBHOOK_ALLOW_PRIVATE off
    refused = WebhookSender().send(Outgoing(recipient=url, body="{}"))  # and again at send time
    assert not refused.ok and not refused.retryable and "not a public address" in (refused.error or "")
