"""SQLModel tables: the common record and its satellites. Timestamps are UTC-aware."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from gateway.constants import CaseStatus, Channel, EventKind, OutboundStatus, Role


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
    __table_args__ = (sa.UniqueConstraint("channel", "external_id", name="uq_case_channel_external"),)

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
    follows_id: int | None = Field(default=None, foreign_key="pakn_case.id")  # follow-up of a disputed answer
    duplicate_of_id: int | None = Field(default=None, foreign_key="pakn_case.id")
    created_by: str | None = Field(default=None, max_length=64)  # staff username (hotline operator)
    field_hint: str | None = Field(default=None, max_length=20)  # field code suggested by the operator
    rating: int | None = None  # 1-5, the citizen's rating of the answer
    rated_at: datetime | None = _ts(nullable=True)


class InboundMessage(SQLModel, table=True):
    """Everything received, raw, accepted or not (the evidence)."""

    __tablename__ = "inbound_message"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id", name="uq_inbound_channel_external"),)

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


class Attachment(SQLModel, table=True):
    """A citizen's file, stored under a random key outside the web root."""

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
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)


class Event(SQLModel, table=True):
    """The audit trail: every status change and every message sent."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="pakn_case.id", index=True)
    at: datetime = _ts()
    actor: str = Field(max_length=100)
    kind: EventKind = Field(sa_type=_enum(EventKind))
    from_status: CaseStatus | None = Field(default=None, sa_type=_enum(CaseStatus), nullable=True)
    to_status: CaseStatus | None = Field(default=None, sa_type=_enum(CaseStatus), nullable=True)
    note: str | None = Field(default=None, sa_type=sa.Text)


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
    active: bool = True
    updated_at: datetime = _ts()
