"""The worker path: code, acknowledgment email, idempotency and faults (real services)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta
from email.header import decode_header, make_header
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

import worker
from config.settings import Settings
from gateway import create_app, notices
from gateway.codes import parse
from gateway.constants import CaseStatus, Channel, EventKind, OutboundStatus
from gateway.dispatch import dispatch_once
from gateway.models import Case, CodeCounter, Event, InboundMessage, OutboundMessage
from tests.conftest import SmtpServer
from tests.factories import fields
from tests.test_routing import DEMO, LAND

STAND_IN = re.compile(r"(?<!\d)00-\d{6}-\d")  # gateway.codes.placeholder()


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
    statuses = [(e.from_status, e.to_status)
                for e in db.exec(select(Event).where(Event.kind == EventKind.status).order_by(Event.id))]
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


def test_case_without_email_is_coded_and_told_by_sms(client: Any, run_worker: Callable[[], None],
                                                      smtp: SmtpServer, db: Session) -> None:
    _submit(client, email="")
    run_worker()
    code = db.exec(select(Case)).one().code
    assert code is not None
    rows = db.exec(select(OutboundMessage)).all()
    assert smtp.messages == [] and [(r.channel, r.purpose) for r in rows] == [(Channel.sms, "ack")]  # mobile given
    assert code in rows[0].body


def test_smtp_down_then_back_delivers_once(client: Any, run_worker: Callable[[], None], smtp: SmtpServer,
                                           db: Session, time_passes: Callable[[], None]) -> None:
    smtp.stop()
    _submit(client)
    run_worker()  # code assigned; the email fails and waits for its backoff
    outbound = db.exec(select(OutboundMessage)).one()
    assert outbound.status == OutboundStatus.pending and outbound.attempts == 1
    assert outbound.next_attempt_at is not None  # the retry is a date in the database, not a job in Redis
    assert "Connection refused" in (outbound.last_error or "") or "Errno" in (outbound.last_error or "")
    run_worker()
    db.refresh(outbound)
    assert outbound.attempts == 1  # not before its time
    smtp.start()
    time_passes()
    run_worker()
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
    worker.drain(ctx)
    outbound = db.exec(select(OutboundMessage)).one()
    assert outbound.status == OutboundStatus.failed and outbound.attempts == 3
    notes = [e.note or "" for e in db.exec(select(Event).where(Event.kind == EventKind.message_failed))]
    assert len(notes) == 1 and "nhung.nguyen@example.com" in notes[0]
    assert worker.drain(ctx) == 0  # failed for good: nothing more is tried
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


def test_redis_down_during_submission_then_dispatched(settings: Settings, private_redis: Any, smtp: SmtpServer,
                                                      db: Session) -> None:
    own = settings.with_(redis_url=private_redis.url)
    app = create_app(own)
    app.config["WTF_CSRF_ENABLED"] = False
    private_redis.stop()
    response = app.test_client().post("/submit", data=fields())
    assert response.status_code == 303  # the citizen still gets a receipt; intake never needs Redis
    case = db.exec(select(Case)).one()
    assert case.status == CaseStatus.received
    private_redis.start()  # empty
    ctx = worker.configure(own)
    assert dispatch_once(ctx.engine, ctx.queue) == {"case": 1}
    assert dispatch_once(ctx.engine, ctx.queue) == {}  # leased: not enqueued twice
    assert ctx.queue.count == 1
    worker.drain(ctx)
    db.refresh(case)
    assert case.status == CaseStatus.triage and case.code
    assert len(smtp.messages) == 1
    ctx.engine.dispose()
    app.extensions["pakn"].engine.dispose()


def test_jobs_lost_with_redis_are_dispatched_again_after_their_lease(
        client: Any, run_worker: Callable[[], None], smtp: SmtpServer, redis_conn: redis.Redis, db: Session,
        settings: Settings, time_passes: Callable[[], None]) -> None:
    _submit(client)
    ctx = worker.configure(settings)
    assert dispatch_once(ctx.engine, ctx.queue) == {"case": 1}
    redis_conn.flushdb()  # Redis restarts empty: the queued job is gone
    assert dispatch_once(ctx.engine, ctx.queue) == {}  # still leased
    time_passes()  # the lease runs out (30 s)
    run_worker()
    assert db.exec(select(Case)).one().code is not None
    assert len(smtp.messages) == 1


def test_a_retry_lost_with_redis_still_happens(client: Any, run_worker: Callable[[], None], smtp: SmtpServer,
                                               redis_conn: redis.Redis, db: Session,
                                               time_passes: Callable[[], None]) -> None:
    smtp.stop()
    _submit(client)
    run_worker()  # the email fails once; its retry is a date in the database
    redis_conn.flushdb()  # Redis restarts empty: nothing of the retry was there to lose
    smtp.start()
    time_passes()
    run_worker()
    outbound = db.exec(select(OutboundMessage)).one()
    assert outbound.status == OutboundStatus.sent and len(smtp.messages) == 1


def test_a_crash_between_coding_and_acknowledging_loses_nothing(client: Any, run_worker: Callable[[], None],
                                                                smtp: SmtpServer, db: Session,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                time_passes: Callable[[], None]) -> None:
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
    assert case.attempts == 1 and "worker killed here" in (case.last_error or "")
    assert case.next_attempt_at is not None  # retried after a backoff
    monkeypatch.setattr(notices, "queue_acknowledgment", real)
    run_worker()
    db.refresh(case)
    assert case.code is None  # not before the backoff ends
    time_passes()
    run_worker()
    db.refresh(case)
    assert parse(case.code or "").seq == 1  # the number was given back, not skipped
    assert len(smtp.messages) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_process_case_is_one_transaction_of_few_statements(app: Any, client: Any, settings: Settings,
                                                           db: Session) -> None:
    """Coded, acknowledged and forwarded: ~10 statements, one connection checkout, one commit.

    The counter row is locked by the last statement before the commit (allocation and
    the code's substitution are one statement), so concurrent workers wait for it briefly.
    """
    assert app.test_cli_runner().invoke(args=["agencies", "import", DEMO]).exit_code == 0
    case_id = int(db.exec(select(Case.id).where(Case.receipt == _submit(client, **LAND))).one() or 0)
    ctx = worker.configure(settings)
    statements: list[str] = []
    commits: list[int] = []
    checkouts: list[int] = []
    event.listen(ctx.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    event.listen(ctx.engine, "commit", lambda *args: commits.append(1))
    event.listen(ctx.engine.pool, "checkout", lambda *args: checkouts.append(1))
    processed = worker.code_and_route(ctx, case_id)
    code = processed.code
    case = db.exec(select(Case).where(Case.id == case_id)).one()
    assert case.status == CaseStatus.forwarded and code == case.code and parse(code or "").seq == 1
    assert sorted(m.purpose for m in processed.messages) == ["ack", "forward"]  # leased
    assert len(statements) <= 12, statements  # … and the citizen's "forwarded to" notice (issue 15)
    assert (len(commits), len(checkouts)) == (1, 1)
    assert statements[-1].startswith("WITH n AS (INSERT INTO code_counter")  # allocation: the last statement
    assert not [s for s in statements if "code_counter" in s][:-1]
    texts = [m.body + (m.subject or "") for m in db.exec(select(OutboundMessage))]
    assert len(texts) == 2 and all(case.code in text and not STAND_IN.search(text) for text in texts)  # ack, forward
    notes = [e.note or "" for e in db.exec(select(Event).where(Event.case_id == case_id))]
    assert f"Mã PAKN {case.code}" in notes


def test_the_case_job_sends_its_acknowledgment_and_enqueues_the_rest(app: Any, client: Any, settings: Settings,
                                                                     smtp: SmtpServer, db: Session) -> None:
    """No second job for the acknowledgment: it is out when process_case returns; the forward waits in RQ."""
    assert app.test_cli_runner().invoke(args=["agencies", "import", DEMO]).exit_code == 0
    case_id = int(db.exec(select(Case.id).where(Case.receipt == _submit(client, **LAND))).one() or 0)
    ctx = worker.configure(settings)
    ctx.queue.empty()
    code = worker.process_case(case_id)
    rows = {r.purpose: r for r in db.exec(select(OutboundMessage))}
    assert rows["ack"].status == OutboundStatus.sent and rows["forward"].status == OutboundStatus.pending
    assert [m["To"] for m in smtp.messages] == [rows["ack"].recipient] and code in _subject(smtp.messages[0])
    assert [job.args for job in ctx.queue.jobs] == [(rows["forward"].id,)]  # the forward, for any worker
    worker.drain(ctx)
    assert len(smtp.messages) == 2 and worker.process_case(case_id) == code  # run again: nothing resent
    assert len(smtp.messages) == 2
    ctx.engine.dispose()


def _can_write_now(engine: Engine, message_id: int) -> bool:
    """Can another connection write the message's row at once (no row lock, no SQLite write lock held)?"""
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        before = conn.exec_driver_sql("PRAGMA busy_timeout").scalar() if sqlite else None
        conn.exec_driver_sql("PRAGMA busy_timeout = 200" if sqlite else "SET LOCAL lock_timeout = '200ms'")
        try:
            conn.execute(text("UPDATE outbound_message SET attempts = attempts WHERE id = :id"), {"id": message_id})
            return True
        except OperationalError:
            return False
        finally:
            conn.rollback()
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(before or 0)}")


def test_the_acknowledgment_is_marked_in_the_case_commit_and_sent_holding_no_lock(
        client: Any, settings: Settings, smtp: SmtpServer, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case's commit leases the acknowledgment and marks it as being sent: other jobs keep off it,
    and this job sends it with nothing written first and no lock held while the provider is called."""
    case_id = int(db.exec(select(Case.id).where(Case.receipt == _submit(client))).one() or 0)
    ctx = worker.configure(settings)
    processed = worker.code_and_route(ctx, case_id)
    ack = db.exec(select(OutboundMessage)).one()
    assert ack.status == OutboundStatus.pending and ack.sending_since is not None  # committed with the code
    assert processed.messages == (worker.Leased(ack.id or 0, "ack", ack.sending_since),)
    assert worker.deliver(ack.id or 0) == "busy" and smtp.messages == []  # a second copy of a job keeps off
    other_mark = ack.sending_since - timedelta(seconds=1)
    assert worker._deliver(ctx, ack.id or 0, mark=other_mark) == "busy"  # a job whose mark was replaced, too
    email, writable = ctx.senders[Channel.email], []
    real_send = email.send

    def send_and_try_a_write(message: Any) -> Any:
        writable.append(_can_write_now(db.get_bind(), ack.id or 0))
        return real_send(message)

    monkeypatch.setattr(email, "send", send_and_try_a_write)
    writes: list[str] = []  # statements that write, before the provider is called

    def watch(conn: Any, cursor: Any, sql: str, *rest: Any) -> None:
        if not writable and sql.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(sql)

    event.listen(ctx.engine, "before_cursor_execute", watch)
    worker._deliver_here(list(processed.messages))
    db.refresh(ack)
    assert ack.status == OutboundStatus.sent and ack.sending_since is None and len(smtp.messages) == 1
    assert writable == [True] and writes == []
    ctx.close()


def test_an_acknowledgment_marked_by_a_send_that_was_cut_off_is_not_sent_blindly(
        client: Any, settings: Settings, smtp: SmtpServer, db: Session, time_passes: Callable[[], None]) -> None:
    """A case back at the worker (a supplement) whose acknowledgment still carries an earlier send's mark:
    the case job leaves it to an ordinary delivery (busy while the mark is fresh), never sends it itself."""
    case_id = int(db.exec(select(Case.id).where(Case.receipt == _submit(client))).one() or 0)
    ctx = worker.configure(settings)
    processed = worker.code_and_route(ctx, case_id)  # coded; the job is cut off before it sends
    (leased,) = processed.messages
    case = db.get(Case, case_id)
    assert case is not None and leased.mark is not None
    case.status = CaseStatus.registered  # back to the worker, as a supplement does
    db.add(case)
    db.commit()
    time_passes()  # the lease ran out; the mark is 0 s old: someone may be sending it right now
    ctx.queue.empty()
    assert worker.process_case(case_id) == case.code
    assert smtp.messages == [] and [job.args for job in ctx.queue.jobs] == [(leased.id,)]  # for a deliver job
    assert worker.deliver(leased.id) == "busy"  # which finds the earlier send's mark fresh
    ack = db.get(OutboundMessage, leased.id)
    assert ack is not None and ack.sending_since == leased.mark and ack.status == OutboundStatus.pending
    ctx.close()


def test_the_worker_keeps_one_smtp_session_and_quits_it_when_it_stops(client: Any, settings: Settings,
                                                                    smtp: SmtpServer, db: Session) -> None:
    """Acknowledgments of several cases go over one SMTP connection; a new context (a restart) QUITs it."""
    for n in range(3):
        _submit(client, email=f"dan{n}@example.vn")
    ctx = worker.configure(settings)
    worker.drain(ctx)
    assert len(smtp.messages) == 3 and len(set(smtp.mailbox.peers)) == 1 and smtp.mailbox.quits == 0
    worker.configure(settings)  # what a stopping worker's close() does, too
    assert smtp.mailbox.quits == 1
    worker.context().close()


def test_an_acknowledgment_that_cannot_go_now_is_retried_and_the_case_stays_coded(
        client: Any, settings: Settings, smtp: SmtpServer, db: Session, time_passes: Callable[[], None]) -> None:
    smtp.stop()
    case_id = int(db.exec(select(Case.id).where(Case.receipt == _submit(client))).one() or 0)
    ctx = worker.configure(settings)
    code = worker.process_case(case_id)  # the job succeeds: the case is committed before the send
    ack = db.exec(select(OutboundMessage)).one()
    assert code and ack.status == OutboundStatus.pending and ack.attempts == 1 and ack.next_attempt_at
    assert ack.sending_since is None  # known not sent: the retry sends, it does not wait or ask
    assert db.exec(select(Case.status).where(Case.id == case_id)).one() == CaseStatus.triage  # routed
    smtp.start()
    time_passes()
    worker.drain(ctx)
    db.refresh(ack)
    assert ack.status == OutboundStatus.sent and len(smtp.messages) == 1
    ctx.engine.dispose()


def test_an_acknowledgment_whose_delivery_crashes_in_the_case_job_is_counted_and_retried(
        client: Any, settings: Settings, smtp: SmtpServer, db: Session, monkeypatch: pytest.MonkeyPatch,
        time_passes: Callable[[], None]) -> None:
    """A bug in the delivery (not a provider's refusal) after the case's commit: the case stays coded,
    the job succeeds, the message carries the error and comes back after its backoff."""
    case_id = int(db.exec(select(Case.id).where(Case.receipt == _submit(client))).one() or 0)
    real = worker._outgoing

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("delivery bug")

    monkeypatch.setattr(worker, "_outgoing", crash)  # fault injection in our own code
    ctx = worker.configure(settings)
    code = worker.process_case(case_id)
    ack = db.exec(select(OutboundMessage)).one()
    assert code and db.exec(select(Case.code).where(Case.id == case_id)).one() == code
    assert ack.status == OutboundStatus.pending and ack.attempts == 1 and "delivery bug" in (ack.last_error or "")
    assert ack.next_attempt_at is not None and smtp.messages == []
    monkeypatch.setattr(worker, "_outgoing", real)
    time_passes()
    worker.drain(ctx)
    db.refresh(ack)
    assert ack.status == OutboundStatus.sent and len(smtp.messages) == 1
    ctx.engine.dispose()


def test_concurrent_workers_code_every_case_once(settings: Settings, redis_conn: object, db: Session) -> None:
    """Several workers (threads, each with its own connection) take codes at once: no duplicate, no gap."""
    threads, per_thread = 6, 40
    total = threads * per_thread
    db.add_all([Case(channel=Channel.web, full_name=f"Người gửi {i}", name_key=f"nguoi gui {i}",
                     phone="+84912345678", email=f"a{i}@example.com", address="Hà Nội", title=f"Phản ánh số {i}",
                     content="Hồ sơ cấp giấy phép xây dựng nộp đã lâu mà chưa có kết quả.") for i in range(total)])
    db.commit()
    ids = list(db.exec(select(Case.id)).all())
    ctx = worker.configure(settings)
    failures: list[BaseException] = []

    def work(share: list[int | None]) -> None:
        try:
            for case_id in share:
                worker.process_case(int(case_id or 0))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    runners = [threading.Thread(target=work, args=(ids[i::threads],)) for i in range(threads)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    assert failures == []
    codes = [c for c in db.exec(select(Case.code)).all()]
    assert None not in codes and len(set(codes)) == total
    assert sorted(parse(c or "").seq for c in codes) == list(range(1, total + 1))  # unique, without gaps
    assert db.exec(select(CodeCounter.value)).one() == total
    acks = db.exec(select(OutboundMessage.body)).all()
    assert len(acks) == total and not [b for b in acks if STAND_IN.search(b)]  # every stand-in replaced
    ctx.engine.dispose()
