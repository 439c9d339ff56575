"""The one small interface every channel adapter shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from gateway.constants import Channel


@dataclass(frozen=True)
class RawFile:
    """An uploaded file as received (name untrusted, bytes unchecked)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class InboundMessage:
    """What a channel received, before normalization."""

    channel: Channel
    fields: dict[str, object]  # as received; JSON may carry non-strings
    external_id: str | None = None
    files: tuple[RawFile, ...] = ()
    remote_addr: str | None = None
    sender: str | None = None  # normalized E.164 of the sender, set by the gateway
    command: str | None = None  # SMS keyword, set by the gateway


@dataclass(frozen=True)
class FileAttachment:
    """A file sent with an email."""

    filename: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class OutboundMessage:
    """What a sender is asked to deliver."""

    recipient: str
    body: str
    subject: str | None = None
    message_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    html: str | None = None
    attachments: tuple[FileAttachment, ...] = ()


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of one send; senders return this instead of raising."""

    ok: bool
    provider_id: str | None = None
    error: str | None = None
    retryable: bool = False


class Sender(Protocol):
    """Outbound half of a channel."""

    def send(self, message: OutboundMessage) -> DeliveryResult: ...

    def find_sent(self, message: OutboundMessage, since: datetime) -> DeliveryResult | None:
        """Did an earlier, interrupted attempt get ``message`` out after ``since``?

        A result with ``ok`` and the provider id: yes. None: no (or the channel cannot
        tell). A result without ``ok``: could not check now (retry later).
        """
        ...
