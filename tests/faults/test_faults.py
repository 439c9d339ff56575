"""Faults against the deployed system (gunicorn + long-running ``python worker.py``, PostgreSQL):
Redis SIGKILLed during a stream of submissions, the worker SIGKILLed mid-stream, and the
scheduled jobs of the long-running worker. Nobody runs anything by hand afterwards."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from config.settings import Settings
from tests.conftest import SmtpServer
from tests.faults.harness import (
    WorkerProcess,
    assert_all_done_once,
    env_for,
    gunicorn,
    kill_and_restart,
    port,
    running,
    stream,
    wait_until,
)
from tests.twilio_fake import TwilioFake

pytestmark = pytest.mark.slow

STREAM = 2001  # web, API and SMS in turn
KILLS_AT = (500, 1000, 1500)
WORKERS = 2


@pytest.fixture
def postgres_only(settings: Settings) -> None:
    """Deployed faults run on PostgreSQL, the production database."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("deployed fault tests run on PostgreSQL (the production database)")


def test_redis_killed_three_times_during_a_stream(postgres_only: None, settings: Settings, private_redis: Any,
                                                  smtp: SmtpServer, twilio: TwilioFake, engine: Engine,
                                                  tmp_path: Path) -> None:
    web_port = port()
    env = env_for(settings, private_redis.url, twilio, web_port)
    # Deployed as docs/operations.md says: two long-running workers (pakn-worker@1, @2)
    # beside gunicorn -w 2, on this machine's two cores.
    workers = [WorkerProcess(env, tmp_path / f"worker-{i}.log") for i in range(WORKERS)]
    with running(workers), gunicorn(env, web_port, tmp_path / "gunicorn.log") as base:
        faults = {mark: kill_and_restart(private_redis) for mark in KILLS_AT}
        sent = stream(base, STREAM, at=faults)
        ended = time.monotonic()
        result = wait_until(engine, smtp, twilio, sent.accepted)  # issue 8: with nobody typing a command
        recovered = time.monotonic() - ended
        alive = [worker.alive() for worker in workers]
    logs = [(tmp_path / f"worker-{i}.log").read_text() for i in range(WORKERS)]
    restarts = sum(log.count("starting again") for log in logs)
    print(f"\nRedis killed {len(KILLS_AT)} times during {STREAM} submissions; all done {recovered:.0f} s after "
          f"the stream; RQ loops restarted by the workers themselves: {restarts}")
    assert_all_done_once(result, sent)
    assert all(alive), [log[-3000:] for log in logs]  # every worker outlived every kill: no supervisor needed
    assert restarts >= 1  # the kills really reached the workers


def test_worker_killed_five_times_mid_stream(postgres_only: None, settings: Settings, redis_url: str,
                                            smtp: SmtpServer, twilio: TwilioFake, engine: Engine,
                                            tmp_path: Path) -> None:
    web_port = port()
    env = env_for(settings, redis_url, twilio, web_port)
    worker = WorkerProcess(env, tmp_path / "worker.log")

    def kill_and_supervise() -> None:
        time.sleep(0.3)  # let it get into a job
        worker.kill()
        worker.start()  # what systemd's Restart=always does

    with running([worker]), gunicorn(env, web_port, tmp_path / "gunicorn.log") as base:
        sent = stream(base, 501, at={n: kill_and_supervise for n in (100, 200, 300, 400, 500)})
        restarted = time.monotonic()
        result = wait_until(engine, smtp, twilio, sent.accepted)
        recovered = time.monotonic() - restarted
    print(f"\nworker SIGKILLed 5 times during 501 submissions; all done {recovered:.0f} s after the last restart")
    assert worker.starts == 6
    assert_all_done_once(result, sent)


def test_the_long_running_worker_runs_its_schedule_once_per_period(postgres_only: None, settings: Settings,
                                                                   redis_url: str, twilio: TwilioFake,
                                                                   engine: Engine, tmp_path: Path) -> None:
    env = env_for(settings, redis_url, twilio, port())
    workers = [WorkerProcess(env, tmp_path / f"worker-{i}.log") for i in range(2)]
    with running(workers):
        coded, ran, periods, logs = _recovery_and_schedule_seen(engine, tmp_path)
    assert coded, logs
    assert periods >= 1 and ran == periods, (ran, periods)  # two workers, each period once
    assert all("Traceback" not in log for log in logs), logs


def _recovery_and_schedule_seen(engine: Engine, tmp_path: Path) -> tuple[Any, int, int, list[str]]:
    with engine.begin() as conn:  # a case whose enqueue was lost: nobody will ever enqueue it
        conn.execute(text(
            "INSERT INTO pakn_case (receipt, channel, status, full_name, name_key, phone, address, title, content, "
            "created_at, updated_at, attempts) VALUES ('r-lost', 'web', 'received', 'An', 'an', '+84912345678', "
            "'Hà Nội', 'Chậm cấp phép', 'Hồ sơ xin phép xây dựng nộp từ tháng 8 chưa có kết quả', now(), now(), 0)"))
    deadline = time.monotonic() + 40
    coded, ran, periods, logs = None, 0, 0, [""]
    while time.monotonic() < deadline:  # until the sweep-like recovery and a settled schedule are seen
        logs = [(tmp_path / f"worker-{i}.log").read_text() for i in range(2)]
        ran = sum(log.count("Successfully completed worker.housekeeping()") for log in logs)
        with engine.connect() as conn:
            coded = conn.execute(text("SELECT code FROM pakn_case WHERE receipt = 'r-lost'")).scalar()
            periods = conn.execute(text("SELECT count(*) FROM scheduled_run WHERE name = 'housekeeping'")).scalar_one()
        if coded and ran >= 1 and ran == periods:
            break
        time.sleep(0.5)
    return coded, ran, periods, logs


def test_sigterm_stops_the_worker_while_it_waits_for_redis(postgres_only: None, settings: Settings,
                                                           private_redis: Any, twilio: TwilioFake,
                                                           tmp_path: Path) -> None:
    env = env_for(settings, private_redis.url, twilio, port())
    private_redis.kill()  # the worker starts into an outage and waits it out
    worker = WorkerProcess(env, tmp_path / "worker.log")
    with running([worker]):
        deadline = time.monotonic() + 60  # started (imports take a while on a loaded machine) and waiting
        while "starting again in" not in worker.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert worker.alive()
        assert worker.proc is not None
        worker.proc.terminate()
        assert worker.proc.wait(15) == 0  # not killed: it stopped on request, during its backoff
