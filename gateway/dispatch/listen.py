"""PostgreSQL LISTEN: intake's ``pg_notify`` wakes the dispatcher at once; polling stays the fallback."""

from __future__ import annotations

import contextlib
import logging
import time

import psycopg
from sqlalchemy import Engine

from gateway.constants import WORK_CHANNEL

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 5.0  # a lost LISTEN connection is tried again this often (polling goes on meanwhile)


def listen_url(engine: Engine) -> str | None:
    """A libpq URL for a LISTEN connection to ``engine``'s database; None when it is not PostgreSQL."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """A connection of its own that LISTENs on :data:`WORK_CHANNEL` (reconnected when lost)."""

    def __init__(self, url: str, *, channel: str = WORK_CHANNEL) -> None:
        self.url, self.channel = url, channel
        self.connection: psycopg.Connection[tuple[object, ...]] | None = None
        self.connects = 0  # successful (re)connections, for tests and logs
        self._retry_at = 0.0
        self._fresh = False  # connected anew: notifications may have been missed meanwhile

    @property
    def backend_pid(self) -> int | None:
        """The server process of the LISTEN connection, when connected."""
        return None if self.connection is None else self.connection.info.backend_pid

    def ready(self) -> bool:
        """Connected and listening (connects, or reconnects at most every RECONNECT_SECONDS)."""
        if self.connection is not None:
            return True
        if time.monotonic() < self._retry_at:
            return False
        try:
            connection = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            connection.execute(f"LISTEN {self.channel}")
        except psycopg.Error as exc:
            self._retry_at = time.monotonic() + RECONNECT_SECONDS
            log.warning("dispatcher: cannot LISTEN (%s), polling meanwhile", exc)
            return False
        self.connection, self._fresh = connection, self.connects > 0
        self.connects += 1
        if self._fresh:
            log.warning("dispatcher: LISTEN connection back")
        return True

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a notification; True when there is (or may be) new work.

        Every notification already received is consumed: one pass serves them all. A
        broken connection is closed (the caller polls until :meth:`ready` reconnects).
        """
        connection = self.connection
        if connection is None:
            return False
        if self._fresh:  # what was notified while we were not listening is found by a pass now
            self._fresh = False
            return True
        try:
            woken = any(True for _ in connection.notifies(timeout=timeout, stop_after=1))
            if woken:
                for _ in connection.notifies(timeout=0):
                    pass
        except psycopg.Error as exc:
            log.warning("dispatcher: LISTEN connection lost (%s), polling until it is back", exc)
            self.close()
            return False
        return woken

    def close(self) -> None:
        """Drop the connection (the next :meth:`ready` reconnects)."""
        if self.connection is not None:
            with contextlib.suppress(psycopg.Error):
                self.connection.close()
        self.connection = None
