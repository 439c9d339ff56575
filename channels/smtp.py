"""One SMTP session kept open between messages, as mail transfer agents keep theirs.

A worker sends message after message to the same relay. A new connection for each one costs
a TCP handshake (and a TLS handshake for smtps:// or STARTTLS), the greeting, EHLO, login and
QUIT. It also leaves QUIT between the server's acceptance of a message and our record that it
was sent: a worker killed there sends the message again.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import threading
import time
from contextlib import suppress
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

SMTP_TIMEOUT = 30
MAX_MESSAGES_PER_SESSION = 100  # relays cap a session (Exchange's default is 100 per connection)
MAX_IDLE_SECONDS = 60.0  # relays drop idle sessions (Postfix after 300 s); after this a new one is opened


class SmtpSession:
    """Sends over one reused connection to ``url`` (smtp://, smtp+starttls://, smtps://).

    A reused session is checked with NOOP first: one round trip instead of a connection,
    and a session the server has dropped is replaced before any of the message is sent.
    Any error closes the session (the next message opens a new one). Thread-safe; a forked
    child never uses its parent's socket.
    """

    def __init__(self, url: str, timeout: float = SMTP_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self.opened = 0  # connections opened, for the operations log and tests
        self._smtp: smtplib.SMTP | None = None
        self._sent = 0
        self._last_used = 0.0
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def send(self, email: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """Send ``email``; returns the refused recipients; raises smtplib's errors and OSError."""
        with self._lock:
            smtp = self._ready()
            try:
                refused = smtp.send_message(email)
            except BaseException:
                self._drop()
                raise
            self._sent += 1
            self._last_used = time.monotonic()
            return refused

    def close(self) -> None:
        """QUIT the session, if one is open (workers call this when they stop)."""
        with self._lock:
            if self._smtp is not None and self._pid == os.getpid():
                with suppress(smtplib.SMTPException, OSError):
                    self._smtp.quit()
            self._drop()

    def _ready(self) -> smtplib.SMTP:
        if self._pid != os.getpid():  # forked: the socket is the parent's session
            self._smtp, self._pid = None, os.getpid()
        if self._smtp is not None and not self._reusable(self._smtp):
            with suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._drop()
        if self._smtp is None:
            self._smtp, self._sent = self._connect(), 0
            self.opened += 1
        return self._smtp

    def _reusable(self, smtp: smtplib.SMTP) -> bool:
        if self._sent >= MAX_MESSAGES_PER_SESSION or time.monotonic() - self._last_used > MAX_IDLE_SECONDS:
            return False
        try:
            return smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def _drop(self) -> None:
        if self._smtp is not None:
            with suppress(OSError):
                self._smtp.close()
        self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        url = urlsplit(self.url)
        host = url.hostname or "localhost"
        if url.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, url.port or 465, timeout=self.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, url.port or 25, timeout=self.timeout)
        try:
            if url.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
        except BaseException:
            smtp.close()
            raise
        return smtp
