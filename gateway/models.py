"""SQLModel tables: the common record and its satellites. Timestamps are UTC-aware."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from gateway.constants import CaseStatus, Channel, EventKind, OutboundStatus, PublicationStatus, Role


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_token() -> str:
    """An unguessable URL-safe token (128 bits)."""
    return secrets.token_urlsafe(16)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always returns them aware (SQLite forgets)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _enum(enum: type[Enum]) -> sa.Enum:
    return sa.Enum(enum, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default_factory=utcnow if not nullable else None,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


class Case(SQLModel, table=True):
    """One PAKN, whatever channel it came from."""

    __tablename__ = "pakn_case"
    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id", name="uq_case_channel_external"),
        sa.Index("ix_pakn_case_pending", "status", "next_attempt_at"),
        # The desks' keyset pages (docs/operations.md, "Pagination"): one index range per list.
        sa.Index("ix_pakn_case_status_created", "status", "created_at", "id"),
        sa.Index("ix_pakn_case_status_due", "status", "due_at", "id", postgresql_include=["agency_id"]),
        sa.Index("ix_pakn_case_agency_status_due", "agency_id", "status", "due_at", "id"),
        sa.Index("ix_pakn_case_created_by", "created_by", "created_at", "id"),
        sa.Index("ix_pakn_case_phone_created", "phone", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    receipt: str = Field(default_factory=new_token, unique=True, max_length=32)
    code: str | None = Field(default=None, unique=True, max_length=20)
    channel: Channel = Field(sa_type=_enum(Channel))
    external_id: str | None = Field(default=None, max_length=100)
    status: CaseStatus = Field(default=CaseStatus.received, sa_type=_enum(CaseStatus), index=True)
    full_name: str = Field(max_length=100)
    name_key: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=254)
    phone: str = Field(max_length=20, index=True)
    address: str = Field(max_length=255)
    title: str = Field(max_length=200)
    content: str = Field(sa_type=sa.Text)
    created_at: datetime = _ts(index=True)
    updated_at: datetime = _ts()
    registered_at: datetime | None = _ts(nullable=True)
    field: str | None = Field(default=None, max_length=40)  # the field it was routed under
    case_type: str | None = Field(default=None, max_length=20)  # hanh_vi, quy_dinh, sang_kien
    classification: str | None = Field(default=None, sa_type=sa.Text)  # JSON: suggestion and reasons
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    due_at: datetime | None = _ts(nullable=True)  # answer due (20 days after receipt or reopening)
    answer: str | None = Field(default=None, sa_type=sa.Text)
    answered_at: datetime | None = _ts(nullable=True)
    follows_id: int | None = Field(default=None, foreign_key="pakn_case.id", index=True)  # follow-up of a dispute
    duplicate_of_id: int | None = Field(default=None, foreign_key="pakn_case.id", index=True)
    created_by: str | None = Field(default=None, max_length=64)  # staff username (hotline operator)
    field_hint: str | None = Field(default=None, max_length=20)  # field code suggested by the operator
    rating: int | None = None  # 1-5, the citizen's rating of the answer
    rated_at: datetime | None = _ts(nullable=True)
    # Pending work (coding, routing) is found by the dispatcher in the database: a claim
    # sets next_attempt_at to the end of a lease; a failed job pushes it out with backoff.
    next_attempt_at: datetime | None = _ts(nullable=True)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    # The statutory clock (gateway/clock): each change of due_at bumps due_sequence (the
    # .ics SEQUENCE); while the case waits for the citizen the clock is paused with the
    # calendar days it had left.
    due_sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    paused_at: datetime | None = _ts(nullable=True)
    remaining_days: int | None = None
    # The citizen's choice about publication: None = not asked (PUBLISH_DEFAULT applies),
    # False = do not publish (form checkbox or SMS KCK), True = agreed.
    publish_consent: bool | None = Field(default=None, nullable=True)


class InboundMessage(SQLModel, table=True):
    """Everything received, raw, accepted or not (the evidence)."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        sa.Index("ix_inbound_channel_command", "channel", "command", "received_at"),  # mail not acted on
        # An external id means "accepted once": refused attempts keep theirs as evidence
        # without blocking a later valid attempt with the same id.
        sa.Index("uq_inbound_accepted_external", "channel", "external_id", unique=True,
                 postgresql_where=sa.text("accepted"), sqlite_where=sa.text("accepted")),
        sa.Index("ix_inbound_pending", "next_attempt_at",
                 postgresql_where=sa.text("accepted AND handled_at IS NULL"),
                 sqlite_where=sa.text("accepted AND handled_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: Channel = Field(sa_type=_enum(Channel))
    external_id: str | None = Field(default=None, max_length=100)
    received_at: datetime = _ts(index=True)
    remote_addr: str | None = Field(default=None, max_length=64)
    payload: str = Field(sa_type=sa.Text)  # JSON of the raw fields (files by name/size/hash)
    accepted: bool = False
    error: str | None = Field(default=None, sa_type=sa.Text)
    case_id: int | None = Field(default=None, foreign_key="pakn_case.id", index=True)
    sender: str | None = Field(default=None, max_length=20, index=True)  # E.164, when known
    command: str | None = Field(default=None, max_length=10)  # SMS keyword (PA for free text)
    handled_at: datetime | None = _ts(nullable=True)  # when its command was carried out
    next_attempt_at: datetime | None = _ts(nullable=True)  # dispatcher lease / retry backoff
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Attachment(SQLModel, table=True):
    """A file of a case (the citizen's, the agency's, or the signed answer) under a random key."""

    __table_args__ = (
        # One signed answer per case: two workers racing to sign keep one document.
        sa.Index("uq_attachment_signed_answer", "case_id", unique=True,
                 postgresql_where=sa.text("source = 'signed'"), sqlite_where=sa.text("source = 'signed'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="pakn_case.id", index=True)
    filename: str = Field(max_length=128)
    storage_key: str = Field(max_length=64, unique=True)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    source: str = Field(default="citizen", max_length=10, sa_column_kwargs={"server_default": "citizen"})
    created_at: datetime = _ts()


class OutboundMessage(SQLModel, table=True):
    """A message to send; the unique idempotency key makes every send happen once."""

    __tablename__ = "outbound_message"
    __table_args__ = (sa.Index("ix_outbound_pending", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=120, unique=True)
    case_id: int | None = Field(default=None, foreign_key="pakn_case.id", index=True)
    channel: Channel = Field(sa_type=_enum(Channel))
    purpose: str = Field(max_length=40)
    recipient: str = Field(max_length=254)
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(sa_type=sa.Text)
    html: str | None = Field(default=None, sa_type=sa.Text)
    status: OutboundStatus = Field(default=OutboundStatus.pending, sa_type=_enum(OutboundStatus), index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    provider_id: str | None = Field(default=None, max_length=200, index=True)
    provider_status: str | None = Field(default=None, max_length=20)  # Twilio's, from callbacks
    sending_since: datetime | None = _ts(nullable=True)  # set before calling the provider, cleared after
    next_attempt_at: datetime | None = _ts(nullable=True)  # dispatcher lease / retry backoff
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)


class Event(SQLModel, table=True):
    """The audit trail: every status change and every message sent."""

    __table_args__ = (
        sa.Index("ix_event_kind_at", "kind", "at", "id"),  # Open311 updates, the latest signing per agency
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="pakn_case.id", index=True)
    at: datetime = _ts()
    actor: str = Field(max_length=100)
    kind: EventKind = Field(sa_type=_enum(EventKind))
    from_status: CaseStatus | None = Field(default=None, sa_type=_enum(CaseStatus), nullable=True)
    to_status: CaseStatus | None = Field(default=None, sa_type=_enum(CaseStatus), nullable=True)
    note: str | None = Field(default=None, sa_type=sa.Text)


class ScheduledRun(SQLModel, table=True):
    """One period of a scheduled job, claimed by exactly one dispatcher (its primary key)."""

    __tablename__ = "scheduled_run"

    name: str = Field(primary_key=True, max_length=60)
    slot: str = Field(primary_key=True, max_length=40)  # the period, e.g. the interval number
    claimed_at: datetime = _ts()
    job_id: str | None = Field(default=None, max_length=120)


class CodeCounter(SQLModel, table=True):
    """Per-year sequence for PAKN codes (incremented with UPDATE … RETURNING)."""

    __tablename__ = "code_counter"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    value: int = 0


class SmsOptOut(SQLModel, table=True):
    """A phone that sent HUY: no notifications until it sends DK."""

    __tablename__ = "sms_optout"

    phone: str = Field(primary_key=True, max_length=20)
    at: datetime = _ts()


class CallBack(SQLModel, table=True):
    """Someone an operator must call: unanswered call, undeliverable SMS, landline answer."""

    __tablename__ = "callback"
    __table_args__ = (sa.Index("ix_callback_open", "done_at", "created_at", "id"),)  # the call-back list's pages

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)  # idempotency: one entry per cause
    phone: str = Field(max_length=20, index=True)
    case_id: int | None = Field(default=None, foreign_key="pakn_case.id", index=True)
    reason: str = Field(max_length=200)
    created_at: datetime = _ts()
    attempts: int = 0
    done_at: datetime | None = _ts(nullable=True)
    note: str | None = Field(default=None, sa_type=sa.Text)


class StaffUser(SQLModel, table=True):
    """A staff account (operator, coordinator, agency, admin)."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_type=_enum(Role))
    agency_code: str | None = Field(default=None, max_length=40)  # for agency staff
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = _ts(nullable=True)
    session_epoch: int = 0  # bumped to sign every session of this user out
    created_at: datetime = _ts()
    last_login_at: datetime | None = _ts(nullable=True)


class HotlineCall(SQLModel, table=True):
    """One call to 19001547: keyed by an operator, imported, or seen in the PBX's CDR."""

    __tablename__ = "hotline_call"

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(max_length=100, unique=True)  # the PBX's uniqueid
    case_id: int | None = Field(default=None, foreign_key="pakn_case.id", index=True)
    caller: str = Field(max_length=20, index=True)
    started_at: datetime | None = _ts(nullable=True)
    duration: int | None = None  # seconds, from the CDR
    billsec: int | None = None
    disposition: str | None = Field(default=None, max_length=20)  # ANSWERED, NO ANSWER, BUSY, FAILED
    operator: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=10)  # console, import


class Agency(SQLModel, table=True):
    """A ministry or agency that receives routed cases (from a vCard)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=200)
    emails: str = Field(sa_type=sa.Text)  # JSON list, first = primary
    fields: str = Field(sa_type=sa.Text)  # JSON list of field codes (vCard CATEGORIES)
    vcard: str = Field(sa_type=sa.Text)  # the card as imported
    kind: str | None = Field(default=None, max_length=20)  # ministry, province (X-PAKN-KIND); None: other
    province: str | None = Field(default=None, max_length=40, index=True)  # province code (X-PAKN-PROVINCE)
    active: bool = True
    updated_at: datetime = _ts()


class ProgressNote(SQLModel, table=True):
    """An agency's interim update on a case it has not answered yet (shown to the citizen)."""

    __tablename__ = "progress_note"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="pakn_case.id", index=True)
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    author: str = Field(max_length=100)
    text: str = Field(sa_type=sa.Text)
    created_at: datetime = _ts()


class ClockAlert(SQLModel, table=True):
    """A breach of the clock for the coordinating office's desk (e.g. an answer not delivered in time)."""

    __tablename__ = "clock_alert"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)  # idempotency: one alert per case and cause
    case_id: int = Field(foreign_key="pakn_case.id", index=True)
    kind: str = Field(max_length=40)
    note: str = Field(sa_type=sa.Text)
    created_at: datetime = _ts()
    resolved_at: datetime | None = _ts(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=64)


class Publication(SQLModel, table=True):
    """The public version of an answered case: redacted, edited and decided by the coordinator."""

    __tablename__ = "publication"
    __table_args__ = (
        # PostgreSQL full-text search over the folded text (gateway/publication/search.py).
        sa.Index("ix_publication_fts", sa.func.to_tsvector(sa.literal_column("'simple'"), sa.text("search_text")),
                 postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="pakn_case.id", unique=True)
    status: PublicationStatus = Field(default=PublicationStatus.proposed, sa_type=_enum(PublicationStatus),
                                      index=True)
    title: str = Field(max_length=200)
    content: str = Field(sa_type=sa.Text)
    answer: str = Field(sa_type=sa.Text)
    search_text: str = Field(default="", sa_type=sa.Text)  # folded lower-case title + content + answer
    proposed_by: str = Field(max_length=64)
    proposed_at: datetime = _ts()
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = _ts(nullable=True)
    reason: str | None = Field(default=None, sa_type=sa.Text)  # why declined or withdrawn
    published_at: datetime | None = _ts(nullable=True, index=True)


class AuditLog(SQLModel, table=True):
    """Staff actions that concern no single case (exports of statistics and case lists)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=40)
    detail: str = Field(sa_type=sa.Text)  # JSON: period, format, rows, personal fields included

class StatsSnapshot(SQLModel, table=True):
    """The figures of one period, computed by the worker (gateway/stats/store.py) and read by the pages."""

    __tablename__ = "stats_snapshot"

    period_key: str = Field(primary_key=True, max_length=40)  # "2026-Q3"
    period_start: datetime = _ts()
    period_end: datetime = _ts()
    computed_at: datetime = _ts()  # the figures' as_of: what was true then
    figures: str = Field(sa_type=sa.Text)  # JSON of gateway.stats.compute.Stats (store.to_json)


class WebhookSubscription(SQLModel, table=True):
    """Another system that wants to be told about case events (signed POSTs)."""

    __tablename__ = "webhook_subscription"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=254)  # the outbound row's recipient holds it too
    events: str = Field(sa_type=sa.Text)  # JSON list of event names
    secret: str = Field(max_length=100)  # HMAC-SHA256 key, shown once to the admin
    active: bool = True
    paused_at: datetime | None = _ts(nullable=True)  # failing for days: no more deliveries until resumed
    failing_since: datetime | None = _ts(nullable=True)  # first failure after the last success
    last_success_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    created_by: str | None = Field(default=None, max_length=64)
