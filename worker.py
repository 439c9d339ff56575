"""RQ jobs and the worker entry point (``python worker.py [--burst] [--fork]``)."""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import redis
import sqlalchemy as sa
from rq import Queue, SimpleWorker, Worker
from rq.worker import BaseWorker
from sqlalchemy import Engine
from sqlmodel import select

from channels.base import DeliveryResult, FileAttachment, Sender
from channels.base import OutboundMessage as Outgoing
from channels.email import EmailSender
from channels.sms import SmsSender, parse_command
from channels.webhook import WebhookSender
from config.settings import Settings
from gateway import cases, codes, commands, dossier, notices, routing, webhooks
from gateway.constants import CaseStatus, Channel, EventKind, OutboundStatus
from gateway.db import make_engine, new_session
from gateway.dispatch import Dispatcher, WorkKind, claim, dispatch_once, pending_counts, record_failure, schedule
from gateway.dispatch.dispatcher import enqueue_claimed
from gateway.dispatch.work import CASES, MESSAGES, TEXTS
from gateway.models import Agency, Case, InboundMessage, OutboundMessage, utcnow
from gateway.queue import REDIS_ERRORS, connect, make_queue
from gateway.signing import service as signing
from gateway.stats import store as stats_store
from gateway.storage import LocalStorage
from gateway.uploads import pending as pending_uploads

log = logging.getLogger("pakn.worker")
WORKER_TTL = 30  # seconds: RQ's registry notices a dead worker this fast (its default is 7 minutes)
MAX_RESTART_PAUSE = 30.0
STUCK_SECONDS = 300  # pending work older than this is reported as an error


@dataclass
class Context:
    """What jobs need, built once per worker process."""

    settings: Settings
    engine: Engine
    redis: redis.Redis
    queue: Queue
    senders: dict[Channel, Sender]
    storage: LocalStorage

    def close(self) -> None:
        """Release what the process holds: the SMTP session kept between messages, the database pool."""
        email = self.senders.get(Channel.email)
        if isinstance(email, EmailSender):
            email.close()
        self.engine.dispose()


_context: Context | None = None


def configure(settings: Settings, connection: redis.Redis | None = None) -> Context:
    """Build the job context for ``settings`` (tests call this; workers call it at start)."""
    global _context
    conn = connection or connect(settings)
    if _context is not None:
        _context.close()
    _context = Context(
        settings=settings,
        engine=make_engine(settings.database_url),
        redis=conn,
        queue=make_queue(conn, settings),
        storage=LocalStorage(settings.upload_dir),
        senders={
            Channel.email: EmailSender(settings.smtp_url, settings.mail_from, settings.outbox_dir),
            Channel.sms: SmsSender(
                account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                api_base=settings.twilio_api_base, from_number=settings.sms_short_code,
                status_callback=f"{settings.public_base_url}/sms/status", outbox_dir=settings.sms_outbox_dir,
            ),
            Channel.webhook: WebhookSender(allow_private=settings.webhook_allow_private),
        },
    )
    return _context


def _after_fork_in_child() -> None:
    # RQ's --fork work horse inherits the parent's pooled database connections, which the
    # parent's dispatcher thread goes on using: the child must open its own.
    if _context is not None:
        _context.engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def context() -> Context:
    """The current job context (from the environment when not configured)."""
    return _context or configure(Settings.from_env())


def _guarded(kind: WorkKind, row_id: int, run: Callable[[Context], Any]) -> Any:
    """Run a job; on failure count it on its row and back off, then let RQ record it."""
    ctx = context()
    try:
        return run(ctx)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        try:
            with new_session(ctx.engine) as session:
                attempts = record_failure(session, kind, row_id=row_id, error=error)
                if kind is MESSAGES and attempts >= MAX_MESSAGE_ERRORS:
                    _give_up(session, row_id, error, ctx.settings)
            log.warning("%s %s failed (attempt %d), retried after backoff: %s", kind.name, row_id, attempts, exc)
        except Exception:  # the database is down too: the claim's lease brings the row back
            log.exception("could not record the failure of %s %s", kind.name, row_id)
        raise


def _give_up(session: Any, message_id: int, error: str, settings: Settings) -> None:
    """A message whose job keeps crashing fails for good (with its event and fallback), not hourly for ever."""
    row = _locked(session, OutboundMessage, message_id)
    if row is not None and row.status == OutboundStatus.pending:
        _record(session, row, DeliveryResult(ok=False, error=error), settings)


def _locked(session: Any, model: Any, row_id: int) -> Any:
    """The row, read afresh and locked until commit: a second copy of the same job waits, then sees the outcome.

    (PostgreSQL: SELECT … FOR UPDATE. SQLite: the transaction already holds the one write lock.)
    """
    return session.get(model, row_id, with_for_update=True, populate_existing=True)


INLINE_PURPOSES = frozenset({"ack"})  # sent by the case's own job right after its commit


@dataclass(frozen=True)
class Leased:
    """A message a job leased in its own commit.

    ``mark``: the ``sending_since`` that commit set, when the job sends the message itself
    right after it (INLINE_PURPOSES); None: it is enqueued for any worker.
    """

    id: int
    purpose: str
    mark: datetime | None = None


@dataclass(frozen=True)
class Processed:
    """What one ``process_case`` transaction committed: the code, and the messages it leased."""

    code: str | None
    messages: tuple[Leased, ...] = ()


def process_case(case_id: int) -> str | None:
    """Register the case (PAKN code), queue its acknowledgment, route it; idempotent and resumable.

    One transaction (:func:`code_and_route`); after its commit the acknowledgment is sent
    by this same job (no second job, no wait for a dispatcher pass) and the case's other
    messages are enqueued for any worker.
    """
    ctx = context()
    processed = _guarded(CASES, case_id, lambda ctx: code_and_route(ctx, case_id))
    _send_leased(ctx, processed.messages)
    return processed.code


def _send_leased(ctx: Context, messages: tuple[Leased, ...]) -> None:
    """Enqueue the leased messages, except those marked for this job (the acknowledgment): delivered here.

    A delivery that crashes is counted on its message (backoff, then the dispatcher
    takes it again); the case is committed already, so this job still succeeds.
    """
    enqueue_claimed(ctx.queue, MESSAGES, [m.id for m in messages if m.mark is None])
    _deliver_here([m for m in messages if m.mark is not None])


def _deliver_here(messages: list[Leased]) -> None:
    """Deliver messages this job leased, marked and committed, in this job (no RQ job, no Redis needed).

    A delivery that crashes is counted on its message by ``_guarded`` (backoff, then the
    dispatcher takes it again); it is logged here, not raised: the job's own work is done.
    """
    for message in messages:
        try:
            _guarded(MESSAGES, message.id, partial(_deliver, message_id=message.id, mark=message.mark))
        except Exception:
            log.exception("message %s not sent by the job that made it; retried after its backoff", message.id)


def code_and_route(ctx: Context, case_id: int) -> Processed:
    """One transaction, one commit: code, acknowledgment, routing, and the lease on the messages.

    Everything is built with a stand-in for the code; the code is allocated by the last
    statement before the commit (cases.finish_registration), so the counter row is locked
    for one statement. A failure anywhere rolls back all of it: the case stays as it was
    (received or registered), no number is taken, and the job is retried after its backoff.
    Each run starts from what the database says: a case left ``received`` is coded, one
    left ``registered`` is routed.
    """
    with new_session(ctx.engine) as session, session.no_autoflush:  # the writes go out together at the end
        case = _locked(session, Case, case_id)
        if case is None:
            log.warning("process_case: no case %s", case_id)
            return Processed(None)
        if case.status not in cases.WORKER_STATUSES:
            return Processed(case.code)  # done by another copy of this job
        now = utcnow()
        webhooks.preload(session)
        stand_in = None
        if case.code is None and case.status == CaseStatus.received:
            stand_in = codes.placeholder()
            cases.start_registration(session, case=case, at=now, stand_in=stand_in)
            notices.queue_acknowledgment(session, case=case, settings=ctx.settings, replies=ctx.redis)
        if case.status == CaseStatus.registered:
            routing.route(session, case=case, settings=ctx.settings, replies=ctx.redis)
        session.flush()
        # The case's messages are leased here and sent or enqueued right after the commit,
        # not on the dispatcher's next pass.
        claimed = _claim_messages(session, case_id=case_id, now=now, mark=utcnow())
        if stand_in is not None and not cases.finish_registration(session, case=case, at=now, stand_in=stand_in):
            return Processed(session.exec(select(Case.code).where(Case.id == case_id)).first())  # coded meanwhile
        session.commit()
    return Processed(case.code, claimed)


def _claim_messages(session: Any, *, case_id: int, now: datetime, mark: datetime) -> tuple[Leased, ...]:
    """Lease the case's pending messages (one statement; rows a delivery holds are skipped).

    An acknowledgment nobody is sending is marked ``sending_since = mark`` in the same
    statement: this job sends it after its commit (see _deliver's ``mark``). One that
    carries an older mark (a send that was cut off) is enqueued for an ordinary ``deliver``.
    """
    t = MESSAGES.table
    chosen = sa.select(t.c.id).where(t.c.case_id == case_id, MESSAGES.pending(t),
                                     sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now))
    if session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    inline = sa.and_(t.c.purpose.in_(sorted(INLINE_PURPOSES)), t.c.sending_since.is_(None))
    statement = (sa.update(t).where(t.c.id.in_(chosen.scalar_subquery()))
                 .values(next_attempt_at=now + MESSAGES.lease,
                         sending_since=sa.case((inline, mark), else_=t.c.sending_since))
                 .returning(t.c.id, t.c.purpose, t.c.sending_since))
    rows = session.execute(statement).all()
    leased = (Leased(int(i), str(purpose), mark if since == mark else None) for i, purpose, since in rows)
    return tuple(sorted(leased, key=lambda m: m.id))


def _message_id(row: OutboundMessage, settings: Settings) -> str:
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(">") or "localhost"
    digest = hashlib.sha256(row.idempotency_key.encode()).hexdigest()[:12]
    return f"<pakn.{row.id}.{digest}@{domain}>"


def _outgoing(session: Any, row: OutboundMessage, ctx: Context) -> Outgoing:
    """The message as sent: attachments are built at send time from the stored files.

    An agency's copy of a case carries the citizen's files, .ics and .vcf; the citizen's
    answer email carries the files the agency attached to its answer.
    """
    files: tuple[FileAttachment, ...] = ()
    headers: dict[str, str] = {}
    case = session.get(Case, row.case_id) if row.case_id else None
    if row.purpose.startswith(routing.ANSWER_PURPOSE) and case is not None:
        # Signed here, not on the web request (a PKCS#11 token can be slow); once per case.
        signed = signing.signed_answer_or_unsigned(session, case=case, settings=ctx.settings, storage=ctx.storage)
        if row.channel == Channel.email:
            files = tuple(dossier.attachments(session, case=case, storage=ctx.storage, source="agency"))
            if signed is not None:
                files += (FileAttachment(signed.filename, signed.content_type, ctx.storage.load(signed.storage_key)),)
    if row.purpose == "forward" and case is not None and case.agency_id:
        agency = session.get(Agency, case.agency_id)
        if agency is not None:
            domain = ctx.settings.mail_from.rsplit("@", 1)[-1]
            url = routing.answer_url(ctx.settings, case=case, agency=agency)
            files = tuple(dossier.forward_attachments(session, case=case, storage=ctx.storage, answer_url=url,
                                                      domain=domain))
    if row.channel == Channel.email and case is not None and case.code:
        user, _, host = ctx.settings.mail_from.partition("@")
        headers["Reply-To"] = f"{user}+{case.code}@{host}"  # replies come back to the case (gateway/mailbox)
    if row.channel == Channel.webhook:
        headers.update(webhooks.signed_headers(session, row))  # signed at send time
    if row.purpose == routing.DUE_CHANGE_PURPOSE and case is not None and case.agency_id and case.due_at:
        agency = session.get(Agency, case.agency_id)
        if agency is not None:  # the updated .ics: same UID, next SEQUENCE
            url = routing.answer_url(ctx.settings, case=case, agency=agency)
            files = (dossier.calendar_file(case, answer_url=url, domain=ctx.settings.mail_from.rsplit("@", 1)[-1]),)
    return Outgoing(recipient=row.recipient, body=row.body, subject=row.subject, html=row.html,
                    message_id=_message_id(row, ctx.settings), attachments=files, headers=headers)


SEND_STALE = timedelta(seconds=60)  # longer than any send can take (SMTP 30 s, Twilio 15 s timeouts)
MAX_MESSAGE_ERRORS = 8  # a delivery job that crashes this often (not a provider's refusal) fails for good
NOTICE_PREFIX = "notice"  # unsolicited messages (status updates): HUY stops them; replies still go


def _suppressed(session: Any, row: OutboundMessage) -> bool:
    return (row.channel == Channel.sms and row.purpose.startswith(NOTICE_PREFIX)
            and commands.is_opted_out(session, phone=row.recipient))


def _record(session: Any, row: OutboundMessage, result: DeliveryResult, settings: Settings) -> None:
    """Store the outcome; a transient failure is tried again after the next backoff interval."""
    row.attempts += 1
    if result.ok:
        row.status, row.sent_at = OutboundStatus.sent, utcnow()
        row.provider_id, row.last_error = result.provider_id, None
    else:
        row.last_error = result.error
        intervals = settings.retry_intervals
        if not result.retryable or row.attempts > len(intervals):
            row.status = OutboundStatus.failed
        else:
            row.next_attempt_at = utcnow() + timedelta(seconds=intervals[row.attempts - 1])
    session.add(row)
    case = session.get(Case, row.case_id) if row.case_id else None
    if case is not None and row.status != OutboundStatus.pending:
        kind = EventKind.message_sent if result.ok else EventKind.message_failed
        note = f"{row.channel.value} {row.purpose} → {row.recipient}" + ("" if result.ok else f": {result.error}")
        cases.record_event(session, case=case, actor="worker", kind=kind, note=note)
    if row.status == OutboundStatus.failed and row.channel == Channel.sms:
        notices.fall_back(session, row=row, error=result.error or "")
    session.commit()


def _send_once(session: Any, row: OutboundMessage, sender: Sender, outgoing: Outgoing) -> DeliveryResult:
    """Send, unless an interrupted earlier attempt already got the message out.

    ``sending_since`` is committed before the provider is called: if the process dies
    in between, the next attempt asks the provider (where it can) instead of resending.
    """
    if row.sending_since is not None:
        found = sender.find_sent(outgoing, row.sending_since)
        if found is not None:
            if found.ok:
                row.sending_since = None
            return found  # sent after all, or "cannot tell yet" (retried; sending_since kept)
    row.sending_since = utcnow()
    session.add(row)
    session.commit()
    result = sender.send(outgoing)
    row.sending_since = None
    return result


def _send_marked(session: Any, row: OutboundMessage, sender: Sender, outgoing: Outgoing) -> DeliveryResult:
    """Send a message whose mark is committed already: end the read transaction (and its row
    lock, SQLite's write lock) before the provider is called, write nothing first."""
    session.commit()
    result = sender.send(outgoing)
    row.sending_since = None
    return result


def deliver(message_id: int) -> str:
    """Send one outbound message once; a transient failure is retried by the dispatcher after backoff."""
    return _guarded(MESSAGES, message_id, lambda ctx: _deliver(ctx, message_id))


def _deliver(ctx: Context, message_id: int, *, mark: datetime | None = None) -> str:
    """Send one message and record the outcome.

    ``mark``: the ``sending_since`` the calling job set in its own commit a moment ago
    (code_and_route, handle_sms). While the row still carries it, nobody has sent the
    message and no other job takes it before SEND_STALE, so it is sent without a second
    commit first; otherwise it is delivered as any ``deliver`` job would.
    """
    with new_session(ctx.engine) as session:
        row = _locked(session, OutboundMessage, message_id)
        if row is None or row.status != OutboundStatus.pending:
            return row.status.value if row else "missing"
        marked = mark is not None and row.sending_since == mark and utcnow() - mark < SEND_STALE
        if not marked and row.sending_since is not None and utcnow() - row.sending_since < SEND_STALE:
            return "busy"  # another copy of this job is sending it now; if it died, this row comes back
        try:
            outgoing = _prepare(session, row, ctx)
        except Exception:
            if marked:  # not sent: its retry neither waits SEND_STALE nor asks the provider
                _unmark(session, message_id)
            raise
        if outgoing is None:
            return row.status.value
        sender = ctx.senders[row.channel]
        result = _send_marked(session, row, sender, outgoing) if marked else _send_once(session, row, sender, outgoing)
        _record(session, row, result, ctx.settings)
        return row.status.value


def _prepare(session: Any, row: OutboundMessage, ctx: Context) -> Outgoing | None:
    """The message as it will be sent; None (and the row suppressed, committed) if its recipient opted out."""
    if _suppressed(session, row):
        row.status, row.last_error, row.sending_since = OutboundStatus.suppressed, "opted out (HUY)", None
        session.add(row)
        session.commit()
        return None
    return _outgoing(session, row, ctx)


def _unmark(session: Any, message_id: int) -> None:
    """Clear the mark of a message that certainly was not sent; a failure here is logged, not raised
    (the original error is the one to record; the mark then only delays the retry)."""
    try:
        session.rollback()
        t = MESSAGES.table
        session.execute(sa.update(t).where(t.c.id == message_id).values(sending_since=None))
        session.commit()
    except Exception:
        log.exception("could not clear the sending mark of message %s", message_id)


def handle_sms(inbound_id: int) -> str:
    """Carry out one stored SMS command (or a text joined to a thread) and send the reply."""
    return _guarded(TEXTS, inbound_id, lambda ctx: _handle_sms(ctx, inbound_id))


def _handle_sms(ctx: Context, inbound_id: int) -> str:
    with new_session(ctx.engine) as session:
        row = _locked(session, InboundMessage, inbound_id)
        if row is None or row.handled_at is not None:
            return "done"
        if not row.sender:  # nobody to answer: handled, so it is not pending for ever
            row.handled_at = utcnow()
            session.add(row)
            session.commit()
            return "done"
        command = parse_command(notices.body_of(row))
        if row.case_id is not None:
            # Joined to a thread: reply only if the acknowledgment went out before this
            # part arrived (a later acknowledgment counts it: "gồm N tin nhắn").
            ack_at = session.exec(select(OutboundMessage.created_at).where(
                OutboundMessage.idempotency_key == notices.sms_ack_key(row.case_id))).first()
            acked = ack_at is not None and ack_at < row.received_at
            reply = commands.appended(session, inbound=row, settings=ctx.settings, acknowledged=acked)
            case = session.get(Case, row.case_id)
        else:
            reply = commands.execute(session, command=command, sender=row.sender, settings=ctx.settings)
            case = commands.case_for(session, command=command, sender=row.sender)
        row.handled_at = utcnow()
        session.add(row)
        queued = notices.queue_sms(session, key=f"inbound-{row.id}-reply", case=case, phone=row.sender,
                                   text=reply, purpose="reply", settings=ctx.settings,
                                   replies=ctx.redis) if reply else None
        leased = _lease_reply(session, queued)
        session.commit()  # a supplement that ended needs_info, or a KDY follow-up, is now pending work
    _deliver_here(leased)
    return "handled"


def _lease_reply(session: Any, queued: OutboundMessage | None) -> list[Leased]:
    """Lease the reply and mark it as being sent, in the job's transaction: the job sends it after its commit.

    A reply already marked (an earlier copy of this job was cut off while sending it) is
    left to an ordinary ``deliver``, which asks the provider first.
    """
    if queued is None or queued.id is None or queued.sending_since is not None:
        return []
    if not claim(session, MESSAGES, now=utcnow(), limit=1, ids=[queued.id]):
        return []
    queued.sending_since = mark = utcnow()
    session.add(queued)
    return [Leased(queued.id, queued.purpose, mark)]


def housekeeping() -> dict[str, Any]:
    """Periodic (every minute): report pending work and its age, prune old schedule claims, expire kept uploads,
    compute the statistics that are due (gateway/stats/store.py: the current quarter every 5 minutes).

    Re-enqueueing is not needed here: the dispatcher claims pending rows continuously.
    A backlog older than STUCK_SECONDS is logged as an error for the operators' alerts.
    """
    ctx = context()
    with new_session(ctx.engine) as session:
        counts = pending_counts(session)
        pruned = schedule.prune(session, now=utcnow())
        session.commit()
    expired = pending_uploads.expire(ctx.settings, ctx.storage)  # files of forms nobody came back to
    for name, (count, age) in counts.items():
        if count and age > STUCK_SECONDS:
            log.error("pending %s: %d, the oldest for %.0f s (workers down or failing?)", name, count, age)
    with new_session(ctx.engine) as session:  # last: seconds at a million cases, and the rest is done already
        statistics = stats_store.refresh_due(session)
    return {"pending": {name: count for name, (count, _age) in counts.items()}, "pruned": pruned,
            "expired_uploads": expired, "statistics": statistics}


BURST_BATCH = 50  # claimed per round in --burst: several burst workers share a backlog


def drain(ctx: Context, *, rounds: int = 10_000, logging_level: str = "WARNING") -> int:
    """Dispatch and run everything pending now, in this process (``--burst``, tests); returns jobs run."""
    total = 0
    for _ in range(rounds):
        dispatched = sum(dispatch_once(ctx.engine, ctx.queue, target=BURST_BATCH).values())
        queued = ctx.queue.count
        if not dispatched and not queued:
            break
        SimpleWorker([ctx.queue], connection=ctx.redis).work(burst=True, logging_level=logging_level)
        total += dispatched
    return total


class _Stop:
    """SIGTERM/SIGINT, whenever they come: during a job, while idle, or between RQ worker runs."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.worker: BaseWorker | None = None

    def install(self) -> None:
        """Our handlers (RQ installs its own inside ``work()``; they forward to us, see _Stoppable)."""
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, _signum: int, _frame: Any) -> None:
        self.event.set()
        if self.worker is not None:  # a worker built but not yet in RQ's loop: it stops at its first check
            self.worker._stop_requested = True


class _Stoppable:
    """Mixin: RQ's warm shutdown also tells work_forever not to start the loop again."""

    stop: _Stop

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stop.event.set()
        super().request_stop(signum, frame)  # type: ignore[misc]


class _SimpleWorker(_Stoppable, SimpleWorker):
    """RQ's SimpleWorker (jobs in this process) that reports its shutdown."""


class _ForkingWorker(_Stoppable, Worker):
    """RQ's Worker (a work horse per job) that reports its shutdown."""


def work_forever(ctx: Context, *, fork: bool, stop: _Stop) -> None:
    """Run RQ's worker; when it ends because Redis went away, wait with backoff and start again."""
    pause = 1.0
    stop.install()
    while not stop.event.is_set():
        try:
            cls = _ForkingWorker if fork else _SimpleWorker
            cls.stop = stop
            rq_worker = cls([ctx.queue], connection=ctx.redis, worker_ttl=WORKER_TTL)
            stop.worker = rq_worker
            if not stop.event.is_set():
                rq_worker.work(burst=False, with_scheduler=False, logging_level="INFO")
        except REDIS_ERRORS as exc:  # raised outside RQ's own loop (creating and registering the worker)
            log.warning("worker cannot reach Redis: %s", exc)
        stop.worker = None
        stop.install()  # RQ's handlers point at the finished worker
        if stop.event.is_set():
            return  # SIGTERM/SIGINT: the current job was finished
        log.warning("worker loop ended (Redis unreachable?); starting again in %.0f s", pause)
        stop.event.wait(pause)
        pause = 1.0 if _redis_up(ctx) else min(pause * 2, MAX_RESTART_PAUSE)


def _redis_up(ctx: Context) -> bool:
    """Whether Redis answers a PING now."""
    try:
        return bool(ctx.redis.ping())
    except REDIS_ERRORS:
        return False


def sign_answers() -> int:
    """Periodic (every 5 minutes): sign answers no outgoing message triggered (landline call-backs)."""
    ctx = context()
    with new_session(ctx.engine) as session:
        return signing.sign_missing(session, settings=ctx.settings, storage=ctx.storage)


def main(argv: list[str] | None = None) -> int:
    """Run a worker with its dispatcher (``--burst``: dispatch and run what is pending, then exit)."""
    parser = argparse.ArgumentParser(description="PAKN gateway worker")
    parser.add_argument("--burst", action="store_true", help="run what is pending, then exit")
    parser.add_argument("--fork", action="store_true", help="fork a work horse per job (RQ's Worker)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ctx = context()
    if args.burst:
        try:
            log.info("burst: %d jobs run", drain(ctx, logging_level="INFO"))
        finally:
            ctx.close()
        return 0
    dispatcher = Dispatcher(ctx.engine, ctx.queue)
    dispatcher.start()
    try:
        work_forever(ctx, fork=args.fork, stop=_Stop())
    finally:
        dispatcher.stop()
        dispatcher.join(timeout=5)
        ctx.close()
    return 0


if __name__ == "__main__":
    # Jobs are imported by RQ as ``worker.<name>``: run the importable module, not __main__,
    # so that the job context configured here is the one the jobs see.
    import worker as _self

    sys.exit(_self.main())
