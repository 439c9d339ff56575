"""The worker path: code, acknowledgment email, idempotency and faults (real services)."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.header import decode_header, make_header
from typing import Any

import pytest
import redis
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlmodel import Session, select

import worker
from config.settings import Settings
from gateway import create_app, notices
from gateway.codes import parse
from gateway.constants import CaseStatus, EventKind, OutboundStatus
from gateway.models import Case, Event, InboundMessage, OutboundMessage
from tests.conftest import SmtpServer
from tests.factories import fields


def _submit(client: Any, **overrides: Any) -> str:
    response = client.post("/submit", data=fields(**overrides))
    assert response.status_code == 303, response.text
    return str(response.headers["Location"]).rsplit("/", 1)[-1]


def _subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_submission_is_coded_and_acknowledged_by_email(client: Any, run_worker: Callable[[], None],
                                                       smtp: SmtpServer, db: Session) -> None:
    receipt = _submit(client)
    case = db.exec(select(Case).where(Case.receipt == receipt)).one()
    assert case.status == CaseStatus.received and case.code is None
    run_worker()
    db.refresh(case)
    assert case.status == CaseStatus.triage  # coded, then routed: no agency in the test directory
    code = parse(case.code or "")
    assert str(code) == case.code and case.registered_at is not None
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == "nhung.nguyen@example.com"
    assert case.code in _subject(mail)
    body = mail.get_payload(decode=True).decode("utf-8")
    assert f"Mã PAKN: {case.code}" in body
    assert f"https://pakn.example.gov.vn/lookup?code={case.code}" in body
    assert "Chậm cấp giấy chứng nhận" in body
    statuses = [(e.from_status, e.to_status) for e in db.exec(select(Event).where(Event.kind == EventKind.status))]
    assert statuses == [(None, CaseStatus.received), (CaseStatus.received, CaseStatus.registered),
                        (CaseStatus.registered, CaseStatus.triage)]
    inbound = db.exec(select(InboundMessage)).one()
    assert inbound.accepted and inbound.case_id == case.id


def test_job_run_twice_keeps_one_code_and_sends_one_email(client: Any, run_worker: Callable[[], None],
                                                          smtp: SmtpServer, db: Session, settings: Settings) -> None:
    receipt = _submit(client)
    run_worker()
    case = db.exec(select(Case).where(Case.receipt == receipt)).one()
    first_code = case.code
    assert case.id is not None
    # The same jobs again, as after a sweep re-enqueue or a killed worker.
    q = worker.context().queue
    q.enqueue("worker.process_case", case.id)
    q.enqueue("worker.process_case", case.id)
    outbound = db.exec(select(OutboundMessage)).one()
    q.enqueue("worker.deliver", outbound.id)
    run_worker()
    assert worker.process_case(case.id) == first_code
    db.refresh(case)
    assert case.code == first_code
    assert len(smtp.messages) == 1
    assert len(db.exec(select(OutboundMessage)).all()) == 1
    assert db.exec(select(Case.code)).all() == [first_code]


def test_case_without_email_is_coded_without_sending(client: Any, run_worker: Callable[[], None],
                                                     smtp: SmtpServer, db: Session) -> None:
    _submit(client, email="")
    run_worker()
    assert db.exec(select(Case)).one().code is not None
    assert smtp.messages == [] and db.exec(select(OutboundMessage)).all() == []


def test_smtp_down_then_back_delivers_once(client: Any, run_worker: Callable[[], None], smtp: SmtpServer,
                                           db: Session) -> None:
    smtp.stop()
    _submit(client)
    run_worker()  # code assigned; the email fails and is scheduled for a retry
    outbound = db.exec(select(OutboundMessage)).one()
    assert outbound.status == OutboundStatus.pending and outbound.attempts == 1
    assert "Connection refused" in (outbound.last_error or "") or "Errno" in (outbound.last_error or "")
    smtp.start()
    time.sleep(1.2)  # the retry interval in the test settings is 1 s
    run_worker()  # RQ's scheduler moves the due retry back into the queue
    db.refresh(outbound)
    assert outbound.status == OutboundStatus.sent and outbound.attempts == 2
    assert len(smtp.messages) == 1
    kinds = [e.kind for e in db.exec(select(Event))]
    assert kinds.count(EventKind.message_sent) == 1


def test_delivery_that_fails_for_good_is_visible(app: Any, client: Any, settings: Settings,
                                                 smtp: SmtpServer, db: Session) -> None:
    smtp.stop()
    ctx = worker.configure(settings.with_(retry_intervals=(0, 0)))
    _submit(client)
    from rq import SimpleWorker
    SimpleWorker([ctx.queue], connection=ctx.redis).work(burst=True, logging_level="WARNING")
    outbound = db.exec(select(OutboundMessage)).one()
    assert outbound.status == OutboundStatus.failed and outbound.attempts == 3
    failed = FailedJobRegistry(queue=Queue(settings.queue_name, connection=ctx.redis))
    assert f"deliver-{outbound.id}" in failed.get_job_ids()
    notes = [e.note or "" for e in db.exec(select(Event).where(Event.kind == EventKind.message_failed))]
    assert len(notes) == 1 and "nhung.nguyen@example.com" in notes[0]
    ctx.engine.dispose()


def test_permanent_smtp_refusal_is_not_retried(client: Any, run_worker: Callable[[], None],
                                               smtp: SmtpServer, db: Session) -> None:
    async def refuse(server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        return "550 5.1.1 mailbox unavailable"

    smtp.mailbox.handle_RCPT = refuse  # type: ignore[attr-defined]
    _submit(client)
    run_worker()
    outbound = db.exec(select(OutboundMessage)).one()
    assert outbound.status == OutboundStatus.failed and outbound.attempts == 1
    assert smtp.messages == []


def test_redis_down_during_submission_then_sweep(settings: Settings, private_redis: Any, smtp: SmtpServer,
                                                 db: Session) -> None:
    own = settings.with_(redis_url=private_redis.url)
    app = create_app(own)
    app.config["WTF_CSRF_ENABLED"] = False
    private_redis.stop()
    response = app.test_client().post("/submit", data=fields())
    assert response.status_code == 303  # the citizen still gets a receipt
    case = db.exec(select(Case)).one()
    assert case.status == CaseStatus.received
    private_redis.start()  # empty: the enqueue was lost with the outage
    ctx = worker.configure(own)
    assert worker.sweep(older_than_seconds=60) == {"cases": 0, "messages": 0, "texts": 0}  # too fresh to touch
    assert worker.sweep(older_than_seconds=0) == {"cases": 1, "messages": 0, "texts": 0}
    assert worker.sweep(older_than_seconds=0) == {"cases": 1, "messages": 0, "texts": 0}  # already queued: not doubled
    assert ctx.queue.count == 1
    from rq import SimpleWorker
    SimpleWorker([ctx.queue], connection=ctx.redis).work(burst=True, logging_level="WARNING")
    db.refresh(case)
    assert case.status == CaseStatus.triage and case.code
    assert len(smtp.messages) == 1
    ctx.engine.dispose()
    app.extensions["pakn"].engine.dispose()


def test_sweep_recovers_a_retry_lost_with_redis(client: Any, run_worker: Callable[[], None], smtp: SmtpServer,
                                                redis_conn: redis.Redis, db: Session) -> None:
    smtp.stop()
    _submit(client)
    run_worker()  # the email fails once and a retry is scheduled in Redis
    assert worker.sweep(older_than_seconds=0)["messages"] == 1  # counted, but the scheduled retry is left alone
    assert worker.context().queue.count == 0
    redis_conn.flushdb()  # Redis restarts empty: the scheduled retry is gone
    smtp.start()
    assert worker.sweep(older_than_seconds=0)["messages"] == 1
    run_worker()
    outbound = db.exec(select(OutboundMessage)).one()
    assert outbound.status == OutboundStatus.sent and len(smtp.messages) == 1
    assert worker.sweep(older_than_seconds=0) == {"cases": 0, "messages": 0, "texts": 0}


def test_a_crash_between_coding_and_acknowledging_loses_nothing(client: Any, run_worker: Callable[[], None],
                                                                smtp: SmtpServer, db: Session,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    receipt = _submit(client)
    case = db.exec(select(Case).where(Case.receipt == receipt)).one()
    real = notices.queue_acknowledgment

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed here")

    monkeypatch.setattr(notices, "queue_acknowledgment", crash)  # fault injection in our own code
    worker.configure(worker.context().settings)
    with pytest.raises(RuntimeError):
        worker.process_case(case.id or 0)
    db.refresh(case)
    assert (case.status, case.code) == (CaseStatus.received, None)  # nothing half-done
    monkeypatch.setattr(notices, "queue_acknowledgment", real)
    assert worker.sweep(older_than_seconds=0)["cases"] == 1
    run_worker()
    db.refresh(case)
    assert parse(case.code or "").seq == 1  # the number was given back, not skipped
    assert len(smtp.messages) == 1
