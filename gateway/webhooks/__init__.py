"""Webhooks: other systems subscribe to case events and get signed POSTs.

Every delivery is an ``outbound_message`` row (channel ``webhook``, purpose
``webhook:<event>``, recipient = the subscriber's URL, body = the JSON payload) inserted in
the same transaction as the status change that caused it (:func:`on_status`, called by
``cases.transition`` and ``cases.register``), so an event is delivered once per subscriber
and never for a change that was rolled back. The worker delivers it like any message
(``worker.deliver`` → ``channels.webhook.WebhookSender``); the signature is computed at
send time (:func:`signed_headers`).

Signature: ``X-PAKN-Signature: sha256=<hex>``, the HMAC-SHA256 with the subscriber's
secret of ``<X-PAKN-Timestamp>.<raw body>``. See docs/api.md for the receiver's recipe.

:func:`maintain` (periodic, every ~5 min) retries failed deliveries with growing delays,
pauses a subscriber that has failed for ``WEBHOOK_PAUSE_DAYS`` (its pending deliveries are
suppressed; an admin resumes it), and emits ``overdue`` once per case and due date.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, func, select

from channels.webhook import private_target
from gateway import outbox
from gateway.constants import VN_TZ, CaseStatus, Channel, OutboundStatus
from gateway.models import Agency, Case, OutboundMessage, WebhookSubscription, utcnow

EVENTS = ("coded", "forwarded", "answered", "published", "overdue")
STATUS_EVENTS = {
    CaseStatus.registered: "coded",
    CaseStatus.forwarded: "forwarded",
    CaseStatus.answered: "answered",
    CaseStatus.published: "published",
}
SIGNATURE_HEADER = "X-PAKN-Signature"
TIMESTAMP_HEADER = "X-PAKN-Timestamp"
EVENT_HEADER = "X-PAKN-Event"
DELIVERY_HEADER = "X-PAKN-Delivery"
TOLERANCE_SECONDS = 300  # receivers refuse older timestamps (replays)
RETRY_BASE_SECONDS = 60  # a failed delivery is tried again after 60 s · 2^attempts since it was queued
OPEN = (CaseStatus.forwarded, CaseStatus.reopened)


class WebhookError(ValueError):
    """A subscription that cannot be made (shown to the admin)."""


# --- subscriptions --------------------------------------------------------------------

def parse_events(text: str | Sequence[str]) -> list[str]:
    """Event names from ``coded,forwarded`` (or a list); raise WebhookError on an unknown one."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    unknown = sorted(set(names) - set(EVENTS))
    if unknown or not names:
        raise WebhookError(f"events: choose from {', '.join(EVENTS)}" + (f" (not {', '.join(unknown)})"
                                                                           if unknown else ""))
    return [e for e in EVENTS if e in names]


def subscribe(session: Session, *, url: str, events: Sequence[str], actor: str | None,
              allow_private: bool = False) -> WebhookSubscription:
    """Register ``url`` for ``events``; the new secret is on the returned row (commits).

    The URL must reach a public address unless ``allow_private`` (WEBHOOK_ALLOW_PRIVATE).
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 254:
        raise WebhookError("url: an http:// or https:// address of at most 254 characters")
    refused = None if allow_private else private_target(url)
    if refused is not None:
        raise WebhookError(f"url: {refused} (set WEBHOOK_ALLOW_PRIVATE=on for a subscriber inside your network)")
    sub = WebhookSubscription(url=url, events=json.dumps(parse_events(list(events))),
                              secret=secrets.token_urlsafe(32), created_by=actor)
    session.add(sub)
    session.commit()
    session.refresh(sub)
    return sub


def subscriptions(session: Session) -> Sequence[WebhookSubscription]:
    """Every subscription, active first."""
    return session.exec(select(WebhookSubscription).order_by(col(WebhookSubscription.active).desc(),
                                                             col(WebhookSubscription.id))).all()


def remove(session: Session, *, subscription_id: int) -> bool:
    """Deactivate a subscription (its history stays in the log); pending deliveries are dropped."""
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None or not sub.active:
        return False
    sub.active = False
    session.add(sub)
    _suppress_pending(session, sub, "subscription removed")
    session.commit()
    return True


def resume(session: Session, *, subscription_id: int) -> bool:
    """Un-pause a subscriber (after it was fixed)."""
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None or not sub.active:
        return False
    sub.paused_at, sub.failing_since = None, None
    session.add(sub)
    session.commit()
    return True


def events_of(sub: WebhookSubscription) -> list[str]:
    """The events ``sub`` asked for."""
    return [str(e) for e in json.loads(sub.events)]


def _key_prefix(sub_id: int) -> str:
    return f"webhook-{sub_id}-"


def subscription_id(row: OutboundMessage) -> int | None:
    """The subscription an outbound webhook row belongs to (from its idempotency key)."""
    parts = row.idempotency_key.split("-", 2)
    return int(parts[1]) if len(parts) == 3 and parts[0] == "webhook" and parts[1].isdigit() else None


# --- events -----------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.astimezone(VN_TZ).isoformat(timespec="seconds") if value else None


def payload(session: Session, *, case: Case, event: str, at: datetime) -> dict[str, Any]:
    """What a subscriber is told: the event and the case's public facts (no personal data)."""
    agency = session.get(Agency, case.agency_id) if case.agency_id else None
    return {
        "event": event,
        "occurred_at": _iso(at),
        "case": {
            "code": case.code,
            "status": case.status.value,
            "channel": case.channel.value,
            "field": case.field,
            "agency": {"code": agency.code, "name": agency.name} if agency else None,
            "received_at": _iso(case.created_at),
            "due_at": _iso(case.due_at),
            "answered_at": _iso(case.answered_at),
        },
    }


SUBSCRIBERS_KEY = "webhook_subscribers"  # session.info: the active subscriptions, read once (see preload)


def _active(session: Session) -> list[WebhookSubscription]:
    return list(session.exec(select(WebhookSubscription).where(
        col(WebhookSubscription.active).is_(True), col(WebhookSubscription.paused_at).is_(None))).all())


def preload(session: Session) -> None:
    """Read the active subscriptions once for this session (a worker transaction with several events)."""
    session.info[SUBSCRIBERS_KEY] = _active(session)


def _wanting(session: Session, event: str) -> list[WebhookSubscription]:
    subs = session.info.get(SUBSCRIBERS_KEY)
    if subs is None:
        subs = _active(session)
    return [s for s in subs if event in events_of(s)]


def emit(session: Session, *, case: Case, event: str, key: str | None = None) -> int:
    """Queue ``event`` for every subscriber that wants it (the caller commits). Returns the count.

    ``key`` makes the event idempotent across transactions (e.g. ``overdue-<case>-<due>``);
    without it each call is a new event (it is committed with the change that caused it).
    """
    if case.id is None or not case.code:
        return 0
    at = utcnow()
    count = 0
    for sub in _wanting(session, event):
        assert sub.id is not None
        suffix = key or f"{event}-{case.id}-{uuid.uuid4().hex}"
        # The event's id is inside the signed body: a receiver de-duplicates on it, so a
        # captured request replayed with other headers is recognised.
        body = json.dumps({"id": suffix, **payload(session, case=case, event=event, at=at)}, ensure_ascii=False)
        outbox.put(session, key=f"{_key_prefix(sub.id)}{suffix}"[:120], channel=Channel.webhook,
                   purpose=f"webhook:{event}", recipient=sub.url, body=body, case_id=case.id)
        count += 1
    return count


def on_status(session: Session, *, case: Case, to: CaseStatus) -> None:
    """Called for every status change: queue the matching event, if any."""
    event = STATUS_EVENTS.get(to)
    if event is not None:
        emit(session, case=case, event=event)


def emit_overdue(session: Session, *, case: Case) -> int:
    """``overdue`` for ``case``, once per due date (safe to call on every clock tick)."""
    if case.due_at is None:
        return 0
    return emit(session, case=case, event="overdue", key=f"overdue-{case.id}-{case.due_at:%Y%m%d}")


# --- signing ----------------------------------------------------------------------------

def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``timestamp + "." + body`` with ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, *, timestamp: str, body: bytes, signature_header: str, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """The receiver's check: right signature, timestamp within ``tolerance`` seconds."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), signature_header)


def signed_headers(session: Session, row: OutboundMessage, now: float | None = None) -> dict[str, str]:
    """Headers of one delivery attempt, signed now (called by the worker at send time)."""
    sub_id = subscription_id(row)
    sub = session.get(WebhookSubscription, sub_id) if sub_id else None
    timestamp = str(int(now if now is not None else time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", EVENT_HEADER: row.purpose.split(":", 1)[-1],
               DELIVERY_HEADER: str(row.id), TIMESTAMP_HEADER: timestamp}
    if sub is not None:
        headers[SIGNATURE_HEADER] = signature(sub.secret, timestamp, row.body.encode("utf-8"))
    return headers


# --- upkeep -----------------------------------------------------------------------------

def _rows(session: Session, sub: WebhookSubscription) -> Any:
    assert sub.id is not None
    return select(OutboundMessage).where(OutboundMessage.channel == Channel.webhook,
                                         col(OutboundMessage.idempotency_key).startswith(_key_prefix(sub.id)))


def _suppress_pending(session: Session, sub: WebhookSubscription, note: str) -> int:
    rows = session.exec(_rows(session, sub).where(OutboundMessage.status == OutboundStatus.pending)).all()
    for row in rows:
        row.status, row.last_error = OutboundStatus.suppressed, note
        session.add(row)
    return len(rows)


@dataclass
class Upkeep:
    """What one :func:`maintain` run did."""

    retried: int = 0
    paused: int = 0
    overdue: int = 0

    def as_dict(self) -> dict[str, int]:
        """For the job's result."""
        return {"retried": self.retried, "paused": self.paused, "overdue": self.overdue}


def _review(session: Session, sub: WebhookSubscription, now: datetime, pause_after: timedelta) -> Upkeep:
    done = Upkeep()
    last_ok = session.exec(select(func.max(OutboundMessage.sent_at)).where(
        OutboundMessage.channel == Channel.webhook,
        col(OutboundMessage.idempotency_key).startswith(_key_prefix(sub.id or 0)))).one()
    if last_ok is not None:
        sub.last_success_at = last_ok
    failing = session.exec(_rows(session, sub).where(
        col(OutboundMessage.status).in_([OutboundStatus.failed, OutboundStatus.pending]),
        col(OutboundMessage.attempts) > 0).order_by(col(OutboundMessage.created_at))).all()
    failing = [r for r in failing if last_ok is None or r.created_at > last_ok]
    sub.failing_since = failing[0].created_at if failing else None
    if sub.failing_since is not None and now - sub.failing_since >= pause_after:
        sub.paused_at = now
        _suppress_pending(session, sub, "subscriber paused: failing since "
                                        f"{sub.failing_since:%Y-%m-%d %H:%M} UTC")
        done.paused = 1
    else:
        for row in failing:
            due = row.created_at + timedelta(seconds=RETRY_BASE_SECONDS * 2 ** min(row.attempts, 20))
            if row.status == OutboundStatus.failed and now >= due:
                row.status, row.next_attempt_at = OutboundStatus.pending, None
                session.add(row)
                done.retried += 1
    session.add(sub)
    return done


def maintain(session: Session, *, pause_days: int, now: datetime | None = None) -> Upkeep:
    """Retry failed deliveries later, pause subscribers failing for days, emit overdue (commits)."""
    now = now or utcnow()
    total = Upkeep()
    active = session.exec(select(WebhookSubscription).where(
        col(WebhookSubscription.active).is_(True), col(WebhookSubscription.paused_at).is_(None))).all()
    for sub in active:
        done = _review(session, sub, now, timedelta(days=pause_days))
        total.retried += done.retried
        total.paused += done.paused
    if any("overdue" in events_of(s) for s in active if s.paused_at is None):
        late = session.exec(select(Case).where(col(Case.status).in_(OPEN), col(Case.due_at) < now)).all()
        total.overdue = sum(emit_overdue(session, case=case) for case in late)
    session.commit()
    return total


def maintain_webhooks() -> dict[str, int]:
    """The periodic job (every ~5 minutes)."""
    from gateway.db import new_session
    from worker import context

    ctx = context()
    with new_session(ctx.engine) as session:
        return maintain(session, pause_days=ctx.settings.webhook_pause_days).as_dict()


def delivery_log(session: Session, *, limit: int = 100) -> Sequence[OutboundMessage]:
    """The latest deliveries, newest first (the admin page)."""
    return session.exec(select(OutboundMessage).where(OutboundMessage.channel == Channel.webhook)
                        .order_by(col(OutboundMessage.id).desc()).limit(limit)).all()
