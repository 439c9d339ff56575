"""LISTEN/NOTIFY: intake wakes the dispatcher at once; a lost LISTEN connection falls back to polling."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from rq import SimpleWorker
from sqlmodel import Session, select

import worker
from config.settings import Settings
from gateway.dispatch import Dispatcher
from gateway.dispatch.listen import Listener
from gateway.models import Case
from tests.conftest import PG_ADMIN_URL, emptied, free_port
from tests.gateway.test_api import KEY

FOREVER = 600.0  # a poll interval no test waits for: only a NOTIFY can wake the dispatcher


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """LISTEN/NOTIFY is PostgreSQL's (SQLite polls, tests/dispatch/test_dispatcher.py)."""
    return emptied(postgres_url)


@pytest.fixture
def context(settings: Settings) -> Iterator[worker.Context]:
    """The worker's job context (its engine and queue), emptied queue."""
    ctx = worker.configure(settings)
    ctx.queue.empty()
    yield ctx
    ctx.queue.empty()
    ctx.engine.dispose()


def _wait(condition: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _started(ctx: worker.Context, *, poll: float = FOREVER) -> Dispatcher:
    dispatcher = Dispatcher(ctx.engine, ctx.queue, poll=poll, periodic=())
    dispatcher.start()
    assert _wait(lambda: dispatcher.passes >= 1)  # its first pass is done: from now on it sleeps,
    assert _wait(lambda: dispatcher.listener is not None and dispatcher.listener.connects == 1)  # listening
    return dispatcher


def _stopped(dispatcher: Dispatcher) -> None:
    dispatcher.stop()
    dispatcher.join(10)
    assert not dispatcher.is_alive()


def _report(client: Any) -> str:
    fields = {"full_name": "Trần Thị Hoa", "phone": "0987654321", "address": "5 Lê Lợi, Huế",
              "title": "Chậm cấp giấy phép xây dựng", "content": "Hồ sơ xin phép xây dựng nộp đã hai tháng chưa có."}
    response = client.post("/api/v1/reports", json=fields, headers=KEY)
    assert response.status_code == 202, response.json
    return str(response.json["receipt"])


def test_a_submission_is_dispatched_on_notify_not_on_the_poll(client: Any, context: worker.Context,
                                                             db: Session) -> None:
    dispatcher = _started(context)
    try:
        assert dispatcher.listener is not None and dispatcher.listener.connects == 1
        receipt = _report(client)
        assert _wait(lambda: context.queue.count == 1)  # woken by the intake statement's pg_notify
        SimpleWorker([context.queue], connection=context.redis).work(burst=True)  # the real RQ worker
        case = db.exec(select(Case).where(Case.receipt == receipt)).one()
        assert case.code is not None and case.status != "received"
    finally:
        _stopped(dispatcher)


def test_a_lost_listen_connection_is_replaced_and_nothing_is_missed(client: Any, context: worker.Context) -> None:
    dispatcher = _started(context)
    try:
        listener = dispatcher.listener
        assert listener is not None and listener.backend_pid is not None
        first_pid = listener.backend_pid
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
        assert _wait(lambda: listener.connects == 2)  # reconnected at once
        assert listener.backend_pid not in (None, first_pid)
        _report(client)
        assert _wait(lambda: context.queue.count == 1)  # the new connection hears the next NOTIFY
    finally:
        _stopped(dispatcher)


def test_without_a_listen_connection_the_dispatcher_polls(client: Any, context: worker.Context) -> None:
    dispatcher = Dispatcher(context.engine, context.queue, poll=0.05, periodic=())
    dispatcher.listener = Listener(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")  # cannot connect
    dispatcher.start()
    try:
        _report(client)
        assert _wait(lambda: context.queue.count == 1)  # found by polling
        assert dispatcher.listener.connects == 0 and dispatcher.is_alive()
    finally:
        _stopped(dispatcher)
