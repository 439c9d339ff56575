"""Email over SMTP (or .eml files in a directory when SMTP_URL is unset), read back over IMAP."""

from __future__ import annotations

import os
import smtplib
import ssl
from contextlib import suppress
from datetime import datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient

from channels.base import DeliveryResult, OutboundMessage
from channels.smtp import SmtpSession

IMAP_TIMEOUT = 30


# Python 3.11's folder splits long non-ASCII headers into encoded-words at a space, and
# RFC 2047 makes decoders drop whitespace between encoded-words ("chứng nhận" became
# "chứngnhận"). Folding only at RFC 5322's hard limit keeps a subject in one word.
POLICY = email_policy.SMTP.clone(max_line_length=998)


def build(message: OutboundMessage, mail_from: str) -> EmailMessage:
    """The RFC 5322 message for ``message`` (UTF-8 text)."""
    email = EmailMessage(policy=POLICY)
    email["From"] = mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject or ""
    email["Date"] = formatdate(localtime=False)
    if message.message_id:
        email["Message-ID"] = message.message_id
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.body, charset="utf-8")
    if message.html:
        email.add_alternative(message.html, subtype="html", charset="utf-8")
    for item in message.attachments:
        maintype, _, subtype = item.mime.partition("/")
        # Text parts say their charset, or clients guess Latin-1 and show "Nguy���n" (our text is UTF-8).
        params = {"charset": "utf-8"} if maintype == "text" else None
        email.add_attachment(item.data, maintype=maintype, subtype=subtype or "octet-stream", filename=item.filename,
                             params=params)
    return email


class EmailSender:
    """Sends through ``smtp_url`` (smtp://, smtp+starttls://, smtps://) or into a directory."""

    def __init__(self, smtp_url: str | None, mail_from: str, outbox_dir: Path) -> None:
        self.smtp_url = smtp_url
        self.mail_from = mail_from
        self.outbox_dir = outbox_dir
        self._smtp: SmtpSession | None = None

    def send(self, message: OutboundMessage) -> DeliveryResult:
        """Deliver one message; failures come back as a DeliveryResult, never raised."""
        email = build(message, self.mail_from)
        if not self.smtp_url:
            return self._to_file(email)
        return self._to_smtp(email)

    def find_sent(self, message: OutboundMessage, since: datetime) -> DeliveryResult | None:
        """SMTP cannot be asked; a resend carries the same Message-ID so clients fold it."""
        return None

    def close(self) -> None:
        """End the SMTP session kept open between messages (when the worker stops)."""
        if self._smtp is not None:
            self._smtp.close()

    def _session(self) -> SmtpSession:
        if self._smtp is None:
            self._smtp = SmtpSession(self.smtp_url or "")
        return self._smtp

    def _to_file(self, email: EmailMessage) -> DeliveryResult:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        name = (email["Message-ID"] or os.urandom(8).hex()).strip("<>").replace("/", "_")
        path = self.outbox_dir / f"{name}.eml"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(bytes(email))
        os.replace(tmp, path)
        return DeliveryResult(ok=True, provider_id=str(path))

    def _to_smtp(self, email: EmailMessage) -> DeliveryResult:
        try:
            refused = self._session().send(email)
        except smtplib.SMTPRecipientsRefused as exc:  # 4xx (greylisting, a full mailbox, 421) is tried again
            temporary = all(code < 500 for code, _text in exc.recipients.values())
            return DeliveryResult(ok=False, error=f"recipient refused: {exc.recipients}", retryable=temporary)
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            return DeliveryResult(ok=False, error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=not permanent)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}", retryable=True)
        if refused:
            return DeliveryResult(ok=False, error=f"recipient refused: {refused}", retryable=False)
        return DeliveryResult(ok=True, provider_id=email["Message-ID"])


class ImapMailbox:
    """The mailbox replies arrive in: list, fetch (without marking read), move to a done folder.

    ``url`` is ``imaps://user:pass@host[:port]/FOLDER`` (or ``imap://`` for plain IMAP,
    ``imap+starttls://`` to upgrade it); the folder defaults to INBOX. Use as a context
    manager. Messages are never deleted: a processed one is moved to ``done_folder``.
    """

    def __init__(self, url: str, done_folder: str, timeout: float = IMAP_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"imap", "imaps", "imap+starttls"} or not parts.hostname:
            raise ValueError(f"IMAP_URL must be imap://, imaps:// or imap+starttls://, not {parts.scheme!r}")
        self.host = parts.hostname
        self.ssl = parts.scheme == "imaps"
        self.starttls = parts.scheme == "imap+starttls"
        self.port = parts.port or (993 if self.ssl else 143)
        self.username = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.folder = unquote(parts.path.lstrip("/")) or "INBOX"
        self.done_folder = done_folder
        self.timeout = timeout
        self._client: Any = None

    def __enter__(self) -> ImapMailbox:
        client = IMAPClient(self.host, port=self.port, ssl=self.ssl, timeout=self.timeout,
                            ssl_context=ssl.create_default_context() if self.ssl else None)
        if self.starttls:
            client.starttls(ssl.create_default_context())
        client.login(self.username, self.password)
        if not client.folder_exists(self.done_folder):
            client.create_folder(self.done_folder)
        client.select_folder(self.folder)
        self._client = client
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._client is not None:
            with suppress(OSError, IMAPClient.Error):
                self._client.logout()
            self._client = None

    def pending(self, limit: int) -> list[int]:
        """UIDs of the messages still in the folder (oldest first), at most ``limit``."""
        return sorted(int(uid) for uid in self._client.search(["NOT", "DELETED"]))[:limit]

    def fetch(self, uid: int) -> bytes | None:
        """The raw message (RFC 5322 bytes); it stays unread and where it is."""
        data = self._client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
        raw = data.get(b"BODY[]")
        return bytes(raw) if raw is not None else None

    def done(self, uid: int) -> None:
        """Move a processed message to the done folder (MOVE, or COPY + expunge)."""
        if self._client.has_capability("MOVE"):
            self._client.move([uid], self.done_folder)
            return
        self._client.copy([uid], self.done_folder)
        self._client.delete_messages([uid])
        if self._client.has_capability("UIDPLUS"):
            self._client.uid_expunge([uid])
        else:
            self._client.expunge()
