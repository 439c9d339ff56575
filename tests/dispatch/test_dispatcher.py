"""The dispatcher against real Redis: flow control, shares, periodic claims, outages."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import Queue
from sqlmodel import Session, select

import worker
from config.settings import Settings
from gateway.constants import CaseStatus, Channel
from gateway.db import make_engine, new_session
from gateway.dispatch import Dispatcher, claim, dispatch_once
from gateway.dispatch.dispatcher import enqueue_claimed
from gateway.dispatch.schedule import Periodic, prune, run_due
from gateway.dispatch.work import MESSAGES
from gateway.models import Case, OutboundMessage, ScheduledRun, utcnow
from gateway.queue import make_queue
from tests.dispatch.test_work import _cases


def _messages(db: Session, count: int) -> list[int]:
    rows = [OutboundMessage(idempotency_key=f"m-{i}", channel=Channel.email, purpose="ack",
                            recipient="a@example.com", body="x") for i in range(count)]
    db.add_all(rows)
    db.commit()
    return [r.id for r in rows if r.id is not None]


def test_the_queue_holds_at_most_the_target_and_kinds_share_it(db: Session, settings: Settings,
                                                               redis_conn: redis.Redis) -> None:
    _cases(db, 30)
    _messages(db, 30)
    ctx = worker.configure(settings)
    assert dispatch_once(ctx.engine, ctx.queue, target=20) == {"case": 10, "message": 10}  # none starves
    assert ctx.queue.count == 20
    assert dispatch_once(ctx.engine, ctx.queue, target=20) == {}  # full: the database keeps the rest
    ctx.queue.empty()
    assert dispatch_once(ctx.engine, ctx.queue, target=50) == {"case": 20, "message": 20}
    ctx.engine.dispose()


def test_rows_leased_by_a_job_are_enqueued_now_and_not_claimed_again(db: Session, settings: Settings) -> None:
    ids = _messages(db, 3)
    ctx = worker.configure(settings)
    with new_session(ctx.engine) as session:  # a job's transaction leases two of its messages
        leased = claim(session, MESSAGES, now=utcnow(), limit=3, ids=ids[:2])
        session.commit()
    enqueue_claimed(ctx.queue, MESSAGES, leased)
    assert leased == ids[:2] and ctx.queue.count == 2
    assert dispatch_once(ctx.engine, ctx.queue) == {"message": 1}  # only the third: the others are leased
    ctx.engine.dispose()


def test_enqueue_without_redis_leaves_the_row_to_the_dispatcher(db: Session, settings: Settings,
                                                                 private_redis: Any) -> None:
    ids = _messages(db, 1)
    ctx = worker.configure(settings.with_(redis_url=private_redis.url))
    private_redis.kill()
    enqueue_claimed(ctx.queue, MESSAGES, ids)  # no exception: the lease brings the row back
    ctx.engine.dispose()


def test_each_period_runs_once_however_many_dispatchers(db: Session, settings: Settings,
                                                        redis_conn: redis.Redis) -> None:
    queue = make_queue(redis_conn, settings)
    every = Periodic("test-job", "worker.housekeeping", 60)
    t0 = datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC)
    seen_a: dict[str, str] = {}
    seen_b: dict[str, str] = {}
    fired = []
    for offset in (0, 1, 30, 59, 60, 61, 125):
        now = t0 + timedelta(seconds=offset)
        for seen in (seen_a, seen_b):  # two worker processes
            fired += run_due(db, queue, now=now, seen=seen, schedule=(every,))
    assert fired == ["test-job"] * 3  # 08:00, 08:01, 08:02: once each
    assert len(db.exec(select(ScheduledRun)).all()) == 3
    assert sorted(queue.job_ids) == sorted(f"test-job-{int(every.slot(t0)) + n}" for n in range(3))
    assert prune(db, now=t0 + timedelta(days=3)) == 3


def test_a_period_whose_job_could_not_be_enqueued_is_tried_again(db: Session, settings: Settings,
                                                                 private_redis: Any) -> None:
    conn = redis.Redis.from_url(private_redis.url, socket_timeout=1)
    queue = Queue(settings.queue_name, connection=conn)
    every = Periodic("test-job", "worker.housekeeping", 60)
    now = datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC)
    seen: dict[str, str] = {}
    private_redis.kill()
    try:
        run_due(db, queue, now=now, seen=seen, schedule=(every,))
        raise AssertionError("expected a connection error")
    except redis.ConnectionError:
        pass
    assert db.exec(select(ScheduledRun)).all() == []  # the claim was given back
    private_redis.start()
    assert run_due(db, queue, now=now, seen=seen, schedule=(every,)) == ["test-job"]


def _wait(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_the_dispatcher_thread_outlives_redis_and_catches_up(db: Session, settings: Settings,
                                                            private_redis: Any) -> None:
    own = settings.with_(redis_url=private_redis.url)
    engine = make_engine(own.database_url)
    conn = redis.Redis.from_url(private_redis.url, socket_timeout=1, socket_connect_timeout=1)
    queue = Queue(own.queue_name, connection=conn)
    dispatcher = Dispatcher(engine, queue, poll=0.05, periodic=())
    dispatcher.start()
    try:
        _cases(db, 2)
        assert _wait(lambda: queue.count == 2)
        private_redis.kill()
        ids = _cases(db, 3)
        time.sleep(0.5)
        assert dispatcher.is_alive()
        private_redis.start()  # empty: the first two jobs are lost, their leases run (30 s)
        assert _wait(lambda: queue.count == 3)  # the new cases, dispatched as soon as Redis is back
        assert sorted(int(j.split("-")[1]) for j in queue.job_ids) == ids
    finally:
        dispatcher.stop()
        dispatcher.join(10)
        engine.dispose()
    assert not dispatcher.is_alive()


def test_a_case_sent_back_to_the_worker_is_dispatched_at_once(db: Session, settings: Settings,
                                                              run_worker: Callable[[], None]) -> None:
    from gateway import cases

    case_id = _cases(db, 1, CaseStatus.registered)[0]
    ctx = worker.configure(settings)
    assert dispatch_once(ctx.engine, ctx.queue) == {"case": 1}
    ctx.queue.empty()
    case = db.get(Case, case_id)
    assert case is not None
    cases.transition(db, case=case, to=CaseStatus.needs_info, actor="t")
    cases.transition(db, case=case, to=CaseStatus.registered, actor="citizen")  # a supplement came
    db.commit()
    assert dispatch_once(ctx.engine, ctx.queue) == {"case": 1}  # the old lease does not hold it back
    ctx.engine.dispose()
