"""What ``/metrics`` reports: figures read at scrape time from the database and from RQ.

Database figures (intake by channel, deliveries by channel and outcome, overdue cases
by agency, pending work) are the same whichever process answers the scrape, so they are
read per scrape instead of being counted in each gunicorn worker. The RQ queue is read
with its own connection and sub-second timeouts: with Redis down the scrape still
answers, with ``pakn_queue_up 0``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import redis
import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from rq import Queue
from rq.job import Job
from sqlalchemy import Engine

from gateway.constants import CaseStatus
from gateway.models import Agency, Case, OutboundMessage, utcnow

log = logging.getLogger(__name__)
REDIS_TIMEOUT = 0.5  # seconds: a scrape must not hang on a dead Redis
OPEN = (CaseStatus.forwarded, CaseStatus.reopened)
PENDING_INTAKE = (CaseStatus.received, CaseStatus.registered)


def queue_connection(redis_url: str | None, fallback: redis.Redis) -> redis.Redis:
    """A connection for reading RQ with short timeouts (the embedded Redis: the app's own)."""
    if redis_url:
        return redis.Redis.from_url(redis_url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT,
                                    retry_on_timeout=False)
    return fallback


class GatewayCollector(Collector):
    """Reads the database and the queue on every scrape."""

    def __init__(self, engine: Engine, connection: redis.Redis, queue_name: str) -> None:
        self.engine = engine
        self.connection = connection
        self.queue_name = queue_name

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family (database, then queue)."""
        yield from self._database()
        yield from self._queue()

    def _database(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("pakn_database_up", "1 when the database answered this scrape")
        try:
            families = list(self._database_families())
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: database unreachable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _database_families(self) -> Iterator[Metric]:
        case, out, agency = Case.__table__, OutboundMessage.__table__, Agency.__table__  # type: ignore[attr-defined]
        now = utcnow()
        with self.engine.connect() as conn:
            intake = CounterMetricFamily("pakn_cases_received", "PAKN received, by channel", labels=["channel"])
            for channel, n in conn.execute(sa.select(case.c.channel, sa.func.count()).group_by(case.c.channel)):
                intake.add_metric([getattr(channel, "value", str(channel))], n)
            yield intake
            status = GaugeMetricFamily("pakn_cases", "PAKN by current status", labels=["status"])
            for value, n in conn.execute(sa.select(case.c.status, sa.func.count()).group_by(case.c.status)):
                status.add_metric([getattr(value, "value", str(value))], n)
            yield status
            deliveries = GaugeMetricFamily("pakn_deliveries", "Outbound messages by channel and outcome",
                                           labels=["channel", "outcome"])
            for channel, outcome, n in conn.execute(
                    sa.select(out.c.channel, out.c.status, sa.func.count()).group_by(out.c.channel, out.c.status)):
                labels = [getattr(channel, "value", str(channel)), getattr(outcome, "value", str(outcome))]
                deliveries.add_metric(labels, n)
            yield deliveries
            overdue = GaugeMetricFamily("pakn_cases_overdue", "Forwarded cases past their due date, by agency",
                                        labels=["agency"])
            query = (sa.select(sa.func.coalesce(agency.c.code, "none"), sa.func.count())
                     .select_from(case.outerjoin(agency, agency.c.id == case.c.agency_id))
                     .where(case.c.status.in_(OPEN), case.c.due_at < sa.literal(now, case.c.due_at.type))
                     .group_by(agency.c.code))
            for code, n in conn.execute(query):
                overdue.add_metric([code], n)
            yield overdue
            oldest = conn.execute(sa.select(sa.func.min(case.c.created_at))
                                  .where(case.c.status.in_(PENDING_INTAKE))).scalar()
            pending = GaugeMetricFamily("pakn_intake_oldest_pending_seconds",
                                        "Age of the oldest case not yet coded and routed (0: none)")
            pending.add_metric([], _age(oldest, now))
            yield pending

    def _queue(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("pakn_queue_up", "1 when Redis (the RQ queue) answered this scrape")
        jobs = GaugeMetricFamily("pakn_queue_jobs", "RQ jobs by state", labels=["queue", "state"])
        age = GaugeMetricFamily("pakn_queue_oldest_job_age_seconds", "Age of the oldest queued job (0: empty)",
                                labels=["queue"])
        try:
            q = Queue(self.queue_name, connection=self.connection)
            counts = {
                "queued": q.count,
                "started": q.started_job_registry.count,
                "scheduled": q.scheduled_job_registry.count,
                "deferred": q.deferred_job_registry.count,
                "failed": q.failed_job_registry.count,
            }
            first = q.get_job_ids(0, 1)
            job = Job.fetch(first[0], connection=self.connection) if first else None
            oldest = _age(job.enqueued_at if job is not None else None, utcnow())
        except (redis.exceptions.RedisError, OSError, ValueError) as exc:
            log.warning("metrics: queue unreadable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for state, n in counts.items():
            jobs.add_metric([self.queue_name, state], n)
        age.add_metric([self.queue_name], oldest)
        yield up
        yield jobs
        yield age


def _age(moment: datetime | None, now: datetime) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (now - moment).total_seconds())
