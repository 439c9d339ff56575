"""RQ jobs and the worker entry point (``python worker.py [--burst] [--fork]``)."""

from __future__ import annotations

import argparse
import hashlib
import logging
import multiprocessing
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from rq import Queue, SimpleWorker, Worker, get_current_job
from rq.cron import CronScheduler
from sqlalchemy import Engine
from sqlmodel import col, select

from channels.base import DeliveryResult, FileAttachment, Sender
from channels.base import OutboundMessage as Outgoing
from channels.email import EmailSender
from channels.sms import SmsSender, parse_command
from config.settings import Settings
from gateway import cases, commands, dossier, notices, outbox, routing
from gateway.constants import SWEEP_AGE_SECONDS, SWEEP_INTERVAL_SECONDS, CaseStatus, Channel, EventKind, OutboundStatus
from gateway.db import make_engine, new_session
from gateway.exceptions import DeliveryError
from gateway.models import Agency, Case, InboundMessage, OutboundMessage, utcnow
from gateway.queue import HANDLE_SMS, PROCESS_CASE, connect, deliver_pending, enqueue_once, make_queue
from gateway.storage import LocalStorage

log = logging.getLogger("pakn.worker")


@dataclass
class Context:
    """What jobs need, built once per worker process."""

    settings: Settings
    engine: Engine
    redis: redis.Redis
    queue: Queue
    senders: dict[Channel, Sender]
    storage: LocalStorage


_context: Context | None = None


def configure(settings: Settings, connection: redis.Redis | None = None) -> Context:
    """Build the job context for ``settings`` (tests call this; workers call it at start)."""
    global _context
    conn = connection or connect(settings)
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
        },
    )
    return _context


def context() -> Context:
    """The current job context (from the environment when not configured)."""
    return _context or configure(Settings.from_env())


def process_case(case_id: int) -> str | None:
    """Register the case (PAKN code) and queue its acknowledgment; idempotent."""
    ctx = context()
    with new_session(ctx.engine) as session:
        case = session.get(Case, case_id)
        if case is None:
            log.warning("process_case: no case %s", case_id)
            return None
        if case.code is None:
            cases.register(session, case_id=case_id, at=utcnow())  # False: another worker did (rolled back)
            session.refresh(case)
        notices.queue_acknowledgment(session, case=case, settings=ctx.settings, replies=ctx.redis)
        session.commit()  # code, status, event and acknowledgment: all or nothing
        if case.status == CaseStatus.registered:
            routing.route(session, case=case, settings=ctx.settings, replies=ctx.redis)
            session.commit()  # routed; a crash before this leaves it registered and the sweep routes it
        pending = outbox.pending_ids(session, case_id=case_id)
    deliver_pending(ctx.queue, ctx.settings, pending)
    return case.code


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
    if row.channel == Channel.email and row.purpose == routing.ANSWER_PURPOSE and case is not None:
        files = tuple(dossier.attachments(session, case=case, storage=ctx.storage, source="agency"))
    if row.purpose == "forward" and case is not None and case.agency_id:
        agency = session.get(Agency, case.agency_id)
        if agency is not None:
            domain = ctx.settings.mail_from.rsplit("@", 1)[-1]
            url = routing.answer_url(ctx.settings, case=case, agency=agency)
            files = tuple(dossier.forward_attachments(session, case=case, storage=ctx.storage, answer_url=url,
                                                      domain=domain))
            user, _, host = ctx.settings.mail_from.partition("@")
            headers["Reply-To"] = f"{user}+{case.code}@{host}"  # replies thread by the case's code
    return Outgoing(recipient=row.recipient, body=row.body, subject=row.subject, html=row.html,
                    message_id=_message_id(row, ctx.settings), attachments=files, headers=headers)


def _final_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


DELIVERY_LOCK_SECONDS = 120  # longer than any send can take (SMTP 30 s, Twilio 15 s timeouts)
NOTICE_PREFIX = "notice"  # unsolicited messages (status updates): HUY stops them; replies still go


def _suppressed(session: Any, row: OutboundMessage) -> bool:
    return (row.channel == Channel.sms and row.purpose.startswith(NOTICE_PREFIX)
            and commands.is_opted_out(session, phone=row.recipient))


def _record(session: Any, row: OutboundMessage, result: DeliveryResult, final: bool) -> None:
    row.attempts += 1
    if result.ok:
        row.status, row.sent_at = OutboundStatus.sent, utcnow()
        row.provider_id, row.last_error = result.provider_id, None
    else:
        row.last_error = result.error
        if final or not result.retryable:
            row.status = OutboundStatus.failed
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


def deliver(message_id: int) -> str:
    """Send one outbound message once; raise DeliveryError so RQ retries transient failures."""
    ctx = context()
    lock = ctx.redis.lock(f"pakn:lock:deliver:{message_id}", timeout=DELIVERY_LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        raise DeliveryError(f"message {message_id} is being delivered by another worker")
    try:
        with new_session(ctx.engine) as session:
            row = session.get(OutboundMessage, message_id)
            if row is None or row.status != OutboundStatus.pending:
                return row.status.value if row else "missing"
            if _suppressed(session, row):
                row.status, row.last_error = OutboundStatus.suppressed, "opted out (HUY)"
                session.add(row)
                session.commit()
                return row.status.value
            outgoing = _outgoing(session, row, ctx)
            result = _send_once(session, row, ctx.senders[row.channel], outgoing)
            final = _final_attempt()
            _record(session, row, result, final)
            if row.status == OutboundStatus.failed and row.case_id:  # a fallback may have been queued
                deliver_pending(ctx.queue, ctx.settings, outbox.pending_ids(session, case_id=row.case_id))
            if not result.ok and result.retryable:
                # RQ retries it; on the last attempt the row is already `failed` and the
                # job stays visible in RQ's failed registry.
                raise DeliveryError(result.error or "delivery failed")
            return row.status.value
    finally:
        lock.release()


def handle_sms(inbound_id: int) -> str:
    """Carry out one stored SMS command (or a text joined to a thread) and queue the reply."""
    ctx = context()
    with new_session(ctx.engine) as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None or row.handled_at is not None or not row.sender:
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
        session.commit()
        message_id = queued.id if queued else None
        to_route = session.exec(select(Case.id).where(  # a supplement ended needs_info; a KDY made a follow-up
            Case.phone == row.sender, col(Case.status).in_([CaseStatus.received, CaseStatus.registered]))).all()
    deliver_pending(ctx.queue, ctx.settings, [message_id] if message_id is not None else [])
    for case_id in to_route:
        enqueue_once(ctx.queue, PROCESS_CASE, case_id or 0)
    return "handled"


def sweep(older_than_seconds: int = SWEEP_AGE_SECONDS) -> dict[str, int]:
    """Re-enqueue what a lost enqueue left behind: received cases, unsent messages."""
    ctx = context()
    age = timedelta(seconds=older_than_seconds)
    with new_session(ctx.engine) as session:
        cutoff = utcnow() - age
        stale = session.exec(  # not yet coded, or coded but not yet routed
            select(Case.id).where(col(Case.status).in_([CaseStatus.received, CaseStatus.registered]),
                                  col(Case.updated_at) <= cutoff)
        ).all()
        unsent = outbox.stalled(session, older_than=age)
        unhandled = session.exec(select(InboundMessage.id).where(
            InboundMessage.channel == Channel.sms, col(InboundMessage.accepted).is_(True),
            col(InboundMessage.handled_at).is_(None), col(InboundMessage.received_at) <= cutoff)).all()
    for inbound_id in unhandled:
        enqueue_once(ctx.queue, HANDLE_SMS, inbound_id)  # type: ignore[arg-type]
    for case_id in stale:
        enqueue_once(ctx.queue, PROCESS_CASE, case_id)  # type: ignore[arg-type]
    deliver_pending(ctx.queue, ctx.settings, list(unsent))
    if stale or unsent or unhandled:
        log.info("sweep: %d cases, %d messages, %d texts re-enqueued", len(stale), len(unsent), len(unhandled))
    return {"cases": len(stale), "messages": len(unsent), "texts": len(unhandled)}


def run_cron(settings: Settings) -> None:
    """RQ's cron scheduler: the sweep every SWEEP_INTERVAL_SECONDS (own process)."""
    scheduler = CronScheduler(connection=connect(settings), name=f"pakn-cron-{multiprocessing.current_process().pid}")
    scheduler.register(sweep, queue_name=settings.queue_name, interval=SWEEP_INTERVAL_SECONDS)
    scheduler.start()


def main(argv: list[str] | None = None) -> int:
    """Run a worker (with RQ's scheduler for retries, and the cron sweep unless --burst)."""
    parser = argparse.ArgumentParser(description="PAKN gateway worker")
    parser.add_argument("--burst", action="store_true", help="run what is queued, then exit")
    parser.add_argument("--fork", action="store_true", help="fork a work horse per job (RQ's Worker)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ctx = context()
    cron = None
    if args.burst:
        sweep()
    else:
        cron = multiprocessing.Process(target=run_cron, args=(ctx.settings,), daemon=True)
        cron.start()
    worker_class = Worker if args.fork else SimpleWorker
    worker = worker_class([ctx.queue], connection=ctx.redis)
    try:
        worker.work(burst=args.burst, with_scheduler=True)
    finally:
        if cron is not None:
            cron.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
