"""Claim pending rows and enqueue their jobs; a thread in every worker process."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from rq import Queue
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.db import new_session
from gateway.dispatch import schedule
from gateway.dispatch.listen import Listener, listen_url
from gateway.dispatch.work import KINDS, WorkKind, claim
from gateway.models import utcnow
from gateway.queue import REDIS_ERRORS

log = logging.getLogger(__name__)
QUEUE_TARGET = 200  # jobs waiting in Redis at most; the database holds the rest
POLL_SECONDS = 0.5  # how soon new rows are seen without a NOTIFY (SQLite, or the LISTEN connection lost)
LISTEN_SLICE_SECONDS = 1.0  # longest single wait on the LISTEN connection (how soon a stop is seen)
MAX_PAUSE_SECONDS = 10.0  # longest wait between tries while Redis or the database is down
JOB_TIMEOUT = 180
RESULT_TTL = 600
FAILURE_TTL = 7 * 86400


def _claim_all(engine: Engine, room: int, now: datetime, kinds: tuple[WorkKind, ...]) -> dict[WorkKind, list[int]]:
    """Claim up to ``room`` rows, shared equally among the kinds that have work, so none starves."""
    claimed: dict[WorkKind, list[int]] = {kind: [] for kind in kinds}
    first = int(now.timestamp() * 2) % len(kinds)  # who goes first rotates: none starves when room is tight
    hungry, left = list(kinds[first:] + kinds[:first]), room
    with new_session(engine) as session:
        while left > 0 and hungry:
            share, still = max(1, left // len(hungry)), []
            for kind in hungry:
                got = claim(session, kind, now=now, limit=min(share, left))
                claimed[kind] += got
                left -= len(got)
                if len(got) == share:  # it may have more
                    still.append(kind)
            hungry = still
        session.commit()
    return claimed


def _enqueue(queue: Queue, claimed: dict[WorkKind, list[int]]) -> None:
    jobs = [
        Queue.prepare_data(kind.job, (row_id,), job_id=f"{kind.name}-{row_id}-{uuid.uuid4().hex[:8]}",
                           timeout=JOB_TIMEOUT, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL)
        for kind, ids in claimed.items() for row_id in ids
    ]
    if jobs:
        queue.enqueue_many(jobs)


def dispatch_once(engine: Engine, queue: Queue, *, now: datetime | None = None,
                  kinds: tuple[WorkKind, ...] = KINDS, target: int = QUEUE_TARGET) -> dict[str, int]:
    """One pass: claim what is pending (as much as the queue has room for) and enqueue it.

    Returns the number of jobs enqueued per kind. Raises when Redis or the database
    is unreachable; claimed rows whose jobs were not enqueued are claimed again when
    their lease ends.
    """
    room = target - queue.count
    if room <= 0:
        return {}
    claimed = _claim_all(engine, room, now or utcnow(), kinds)
    _enqueue(queue, claimed)
    return {kind.name: len(ids) for kind, ids in claimed.items() if ids}


def enqueue_claimed(queue: Queue, kind: WorkKind, ids: list[int]) -> None:
    """Enqueue rows claimed in a transaction that has committed (best effort).

    When Redis is down the rows stay leased and the dispatcher takes them when the lease ends.
    """
    try:
        _enqueue(queue, {kind: ids})
    except REDIS_ERRORS as exc:
        log.warning("could not enqueue %s %s now (the dispatcher will): %s", kind.name, ids, exc)


class Dispatcher(threading.Thread):
    """Dispatches pending work and periodic jobs until stopped; outlives Redis and DB outages."""

    def __init__(self, engine: Engine, queue: Queue, *, poll: float = POLL_SECONDS,
                 periodic: tuple[schedule.Periodic, ...] = schedule.SCHEDULE,
                 clock: Callable[[], datetime] = utcnow, listen: bool = True) -> None:
        super().__init__(name="pakn-dispatcher", daemon=True)
        self.engine, self.queue, self.poll, self.periodic, self.clock = engine, queue, poll, periodic, clock
        url = listen_url(engine) if listen else None
        self.listener = Listener(url) if url else None  # PostgreSQL: woken by intake's NOTIFY
        self.stopping = threading.Event()
        self.passes = 0
        self._seen: dict[str, str] = {}
        self._failing = False

    def stop(self) -> None:
        """Ask the loop to end after the current pass."""
        self.stopping.set()

    def run_pass(self) -> dict[str, int]:
        """One pass of periodic jobs and pending work (raises on outages)."""
        now = self.clock()
        with new_session(self.engine) as session:
            schedule.run_due(session, self.queue, now=now, seen=self._seen, schedule=self.periodic)
        counts = dispatch_once(self.engine, self.queue, now=now)
        self.passes += 1
        return counts

    def run(self) -> None:
        """Dispatch until stopped; outages are waited out with backoff (1 s doubling to 10 s)."""
        pause = self.poll
        while not self.stopping.is_set():
            try:
                counts = self.run_pass()
            except (*REDIS_ERRORS, SQLAlchemyError) as exc:
                pause = min(max(pause * 2, 1.0), MAX_PAUSE_SECONDS)
                if not self._failing:
                    log.warning("dispatcher: %s unreachable, retrying with backoff: %s", _which(exc), exc)
                self._failing = True
            except Exception:  # a bug must not end dispatching for the whole process
                log.exception("dispatcher pass failed")
                pause = MAX_PAUSE_SECONDS
            else:
                if self._failing:
                    log.warning("dispatcher: connections back, dispatching again")
                self._failing = False
                if counts:
                    log.info("dispatched %s", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
                full = sum(counts.values()) >= QUEUE_TARGET // 2
                pause = 0.0 if full else self.poll
            self._sleep(pause)
        if self.listener is not None:
            self.listener.close()

    def _sleep(self, pause: float) -> None:
        """Wait ``pause`` s, less when a NOTIFY says there is new work (or when stopping)."""
        deadline = time.monotonic() + pause
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            step = min(left, LISTEN_SLICE_SECONDS)
            if self.listener is not None and self.listener.ready():
                if self.listener.wait(step):
                    return
            else:
                self.stopping.wait(step)


def _which(exc: BaseException) -> str:
    return "the database" if isinstance(exc, SQLAlchemyError) else "Redis"
