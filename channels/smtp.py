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
MAX_MESSAGES_PER_SESSION = 20  # relays cap a session (Exchange's receive connectors: 20 per connection)
MAX_IDLE_SECONDS = 60.0  # relays and NATs drop idle sessions (Postfix after 300 s); after this a new one is opened
CHECK_TIMEOUT = 5.0  # NOOP and QUIT on a kept session: a silently dropped one must not hold a job for 30 s


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
        self._smtp: smtplib.SMTP | None = None
        self._sent = 0
        self._last_used = 0.0
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def send(self, email: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """Send ``email``; returns the refused recipients; raises smtplib's errors and OSError."""
        self._adopt()
        with self._lock:
            try:
                refused = self._ready().send_message(email)
            except BaseException:  # a session in an unknown state (a reply left unread) is never reused
                self._drop()
                raise
            self._sent += 1
            self._last_used = time.monotonic()
            return refused

    def close(self) -> None:
        """QUIT the session, if one is open (workers call this when they stop)."""
        self._adopt()
        with self._lock:
            self._quit()
            self._drop()

    def _adopt(self) -> None:
        if self._pid != os.getpid():  # forked: the socket (and the lock's state) are the parent's
            self._smtp, self._lock, self._pid = None, threading.Lock(), os.getpid()

    def _ready(self) -> smtplib.SMTP:
        if self._smtp is not None and not self._reusable(self._smtp):
            self._quit()
            self._drop()
        if self._smtp is None:
            self._smtp, self._sent = self._connect(), 0
        return self._smtp

    def _reusable(self, smtp: smtplib.SMTP) -> bool:
        if self._sent >= MAX_MESSAGES_PER_SESSION or time.monotonic() - self._last_used > MAX_IDLE_SECONDS:
            return False
        try:
            _timeout(smtp, CHECK_TIMEOUT)
            alive = smtp.noop()[0] == 250
            _timeout(smtp, self.timeout)
            return alive
        except (smtplib.SMTPException, OSError):
            return False

    def _quit(self) -> None:
        if self._smtp is not None:
            with suppress(smtplib.SMTPException, OSError):
                _timeout(self._smtp, CHECK_TIMEOUT)
                self._smtp.quit()

    def _drop(self) -> None:
        if self._smtp is not None:
            with suppress(OSError):
                self._smtp.close()
        self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        """A new session: connected, TLS if asked, logged in if the URL has a user."""
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


def _timeout(smtp: smtplib.SMTP, seconds: float) -> None:
    if smtp.sock is not None:
        smtp.sock.settimeout(seconds)
