"""Periodic jobs, each period claimed once in the database however many workers run.

RQ's own CronScheduler (beta in RQ 3) keeps no lock across processes, so every
``worker.py`` would run every job, and it dies with its Redis connection. Here a period
is a row in ``scheduled_run`` (primary key: name and slot): the dispatcher that inserts
it enqueues the job; the others see the conflict and do nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from rq import Queue
from sqlmodel import Session

from gateway.db import insert_for
from gateway.models import ScheduledRun

log = logging.getLogger(__name__)
KEEP_CLAIMS = timedelta(days=2)


@dataclass(frozen=True)
class Periodic:
    """A job (importable path, no arguments) run once every ``every`` seconds."""

    name: str
    job: str
    every: int

    def slot(self, now: datetime) -> str:
        """The period ``now`` falls in (whole intervals since the epoch, UTC)."""
        return str(int(now.timestamp()) // self.every)


SCHEDULE: tuple[Periodic, ...] = (
    Periodic("housekeeping", "worker.housekeeping", 60),
    Periodic("clock", "gateway.clock.jobs.tick", 300),  # the statutory clock; cheap once a day's tick is done
    Periodic("sign-answers", "worker.sign_answers", 300),
    Periodic("mailbox", "gateway.mailbox.poll_mailbox", 30),  # returns at once without IMAP_URL
    Periodic("webhooks", "gateway.webhooks.maintain_webhooks", 300),
)


def claim(session: Session, periodic: Periodic, *, now: datetime) -> bool:
    """Claim the current period of ``periodic``; True for the one claimant. The caller commits."""
    table = ScheduledRun.__table__  # type: ignore[attr-defined]
    statement = insert_for(session)(table).values(name=periodic.name, slot=periodic.slot(now), claimed_at=now)
    inserted = session.execute(statement.on_conflict_do_nothing(index_elements=["name", "slot"])
                               .returning(table.c.name)).first()
    return inserted is not None


def release(session: Session, periodic: Periodic, *, now: datetime) -> None:
    """Give a claimed period back (its job could not be enqueued): the next pass retries it."""
    table = ScheduledRun.__table__  # type: ignore[attr-defined]
    session.execute(sa.delete(table).where(table.c.name == periodic.name, table.c.slot == periodic.slot(now)))
    session.commit()


def prune(session: Session, *, now: datetime) -> int:
    """Forget claims older than KEEP_CLAIMS (they only guard the current period)."""
    table = ScheduledRun.__table__  # type: ignore[attr-defined]
    result = session.execute(sa.delete(table).where(table.c.claimed_at < now - KEEP_CLAIMS))
    return int(result.rowcount)  # type: ignore[attr-defined]


def run_due(session: Session, queue: Queue, *, now: datetime, seen: dict[str, str],
            schedule: tuple[Periodic, ...] = SCHEDULE) -> list[str]:
    """Enqueue the periodic jobs whose period this dispatcher claims; returns their names.

    ``seen`` remembers, per job, the last period this process looked at, so that a
    dispatcher polling twice a second tries each period once, not hundreds of times.
    """
    fired = []
    for periodic in schedule:
        slot = periodic.slot(now)
        if seen.get(periodic.name) == slot:
            continue
        won = claim(session, periodic, now=now)
        session.commit()
        seen[periodic.name] = slot
        if not won:
            continue
        try:
            queue.enqueue(periodic.job, job_id=f"{periodic.name}-{slot}", result_ttl=3600, failure_ttl=7 * 86400)
        except BaseException:
            release(session, periodic, now=now)
            seen.pop(periodic.name, None)
            raise
        fired.append(periodic.name)
    return fired
