"""Email over SMTP (or .eml files in a directory when SMTP_URL is unset)."""

from __future__ import annotations

import os
import smtplib
import ssl
from datetime import datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from channels.base import DeliveryResult, OutboundMessage

SMTP_TIMEOUT = 30


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
        email.add_attachment(item.data, maintype=maintype, subtype=subtype or "octet-stream", filename=item.filename)
    return email


class EmailSender:
    """Sends through ``smtp_url`` (smtp://, smtp+starttls://, smtps://) or into a directory."""

    def __init__(self, smtp_url: str | None, mail_from: str, outbox_dir: Path) -> None:
        self.smtp_url = smtp_url
        self.mail_from = mail_from
        self.outbox_dir = outbox_dir

    def send(self, message: OutboundMessage) -> DeliveryResult:
        """Deliver one message; failures come back as a DeliveryResult, never raised."""
        email = build(message, self.mail_from)
        if not self.smtp_url:
            return self._to_file(email)
        return self._to_smtp(email)

    def find_sent(self, message: OutboundMessage, since: datetime) -> DeliveryResult | None:
        """SMTP cannot be asked; a resend carries the same Message-ID so clients fold it."""
        return None

    def _to_file(self, email: EmailMessage) -> DeliveryResult:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        name = (email["Message-ID"] or os.urandom(8).hex()).strip("<>").replace("/", "_")
        path = self.outbox_dir / f"{name}.eml"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(bytes(email))
        os.replace(tmp, path)
        return DeliveryResult(ok=True, provider_id=str(path))

    def _connect(self) -> smtplib.SMTP:
        url = urlsplit(self.smtp_url or "")
        host = url.hostname or "localhost"
        if url.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465, timeout=SMTP_TIMEOUT,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, url.port or 25, timeout=SMTP_TIMEOUT)
            if url.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        return smtp

    def _to_smtp(self, email: EmailMessage) -> DeliveryResult:
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            return DeliveryResult(ok=False, error=f"recipient refused: {exc.recipients}", retryable=False)
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            return DeliveryResult(ok=False, error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=not permanent)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}", retryable=True)
        if refused:
            return DeliveryResult(ok=False, error=f"recipient refused: {refused}", retryable=False)
        return DeliveryResult(ok=True, provider_id=email["Message-ID"])
