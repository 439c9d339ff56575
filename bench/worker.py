"""Worker throughput: cases coded per second by 1, 2, 4, 8 ``python worker.py`` processes vs an RQ no-op job.

    .venv/bin/python bench/worker.py [--cases 2000] [--workers 1,2,4,8] [--ack sms|email]

Needs PostgreSQL and Redis on 127.0.0.1 (a throw-away database is created; Redis db 7
is flushed). For each worker count, in the same run:

* ours: N long-running ``python worker.py`` processes, deployed as deployed (each one's
  dispatcher claims pending cases from the database and enqueues ``process_case``);
  ``--cases`` web cases (no email, no directory: coded, classified, put in triage) are
  inserted in one transaction once the workers are up. A case is done when it is coded,
  routed and its acknowledgment is sent: an SMS (the cases give a mobile number; with no
  Twilio account the sender writes it to a file), or with ``--ack email`` an email (the
  cases give an address) through an SMTP server run by this script (aiosmtpd, on the same
  cores, as a local relay would be).
  Throughput: cases / (last case or message done − first case coded), from the
  database's own timestamps.
* baseline: the same number of jobs of a no-op function, enqueued up front and run by N
  ``rq worker --burst`` processes (SimpleWorker, as ours). Throughput: jobs / (last job
  ended − first job started), from RQ's timestamps.

Every code is checked: unique, gap-free, one per case.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from rq import Queue
from rq.job import Job
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import postgres_database  # noqa: E402
from gateway.cli import upgrade  # noqa: E402
from gateway.db import make_engine  # noqa: E402

NOOP_QUEUE = "bench-noop"
BENCH_REDIS = "redis://127.0.0.1:6379/7"  # not db 8: other benchmarks flush it while they run
CONTENT = "Hồ sơ cấp giấy phép xây dựng nộp tại bộ phận một cửa đã quá hạn 30 ngày mà chưa có kết quả trả lời."


def noop() -> None:
    """The baseline job: nothing."""


def _insert_cases(url: str, count: int, *, email: bool) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO pakn_case (receipt, channel, status, full_name, name_key, phone, email, address, title, "
            "content, created_at, updated_at, attempts, publish_consent, due_sequence) "
            "SELECT md5(random()::text || g::text), 'web', 'received', 'Nguyễn Văn ' || g, 'nguyen van ' || g, "
            "'+8491' || lpad(g::text, 7, '0'), CASE WHEN :email THEN 'dan' || g || '@example.vn' END, "
            "'Phường Láng, Hà Nội', 'Phản ánh số ' || g, :content, now(), now(), "
            "0, false, 0 FROM generate_series(1, :count) AS g"), {"content": CONTENT, "count": count, "email": email})
    engine.dispose()


# Done means coded, routed and acknowledged: no case to code or route, no message to send.
PENDING = ("SELECT (SELECT count(*) FROM pakn_case WHERE status IN ('received', 'registered')) "
           "+ (SELECT count(*) FROM outbound_message WHERE status = 'pending')")


def _reset(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE pakn_case, event, outbound_message, code_counter, scheduled_run "
                          "RESTART IDENTITY CASCADE"))
    engine.dispose()


def _ours(url: str, workers: int, count: int, tmp: str, smtp_url: str | None) -> tuple[float, int, int]:
    """(cases/s, cases coded, distinct codes) for ``workers`` worker processes."""
    _reset(url)
    redis.Redis.from_url(BENCH_REDIS).flushdb()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": BENCH_REDIS, "SECRET_KEY": "b" * 48,
           "INSTANCE_PATH": tmp, "PAKN_ENV": "production", "PUBLIC_BASE_URL": "https://pakn.example.gov.vn",
           "SMTP_URL": smtp_url or ""}
    logs = [open(Path(tmp) / f"worker-{workers}-{i}.log", "wb") for i in range(workers)]  # noqa: SIM115
    procs = [subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
             for log in logs]
    engine = make_engine(url)
    try:
        time.sleep(4)  # the workers start (imports, the classifier's model) before the cases arrive
        _insert_cases(url, count, email=smtp_url is not None)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pending = conn.execute(text(PENDING)).scalar_one()
            if not pending:
                break
            time.sleep(0.2)
        with engine.connect() as conn:
            first, last, coded, distinct = conn.execute(text(
                "SELECT min(registered_at), greatest(max(updated_at), (SELECT max(sent_at) FROM outbound_message)), "
                "count(code), count(DISTINCT code) FROM pakn_case")).one()
            values = conn.execute(text("SELECT coalesce(max(value), 0) FROM code_counter")).scalar_one()
            acks = conn.execute(text("SELECT count(DISTINCT case_id) FROM outbound_message "
                                     "WHERE purpose = 'ack' AND status = 'sent'")).scalar_one()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        for log in logs:
            log.close()
        engine.dispose()
    assert coded == count and distinct == count and values == count and acks == count, (coded, distinct, values, acks)
    return count / max((last - first).total_seconds(), 1e-6), coded, distinct


class _Count:
    """An SMTP server's handler that takes every message and counts it."""

    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages += 1
        return "250 OK"


@contextmanager
def _relay(wanted: bool) -> Iterator[str | None]:
    """A local SMTP server (aiosmtpd) for ``--ack email``; its URL, or None."""
    if not wanted:
        yield None
        return
    handler = _Count()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()
        print(f"SMTP server took {handler.messages} messages", flush=True)


def _baseline(workers: int, count: int) -> float:
    """RQ no-op jobs per second with ``workers`` burst worker processes."""
    conn = redis.Redis.from_url(BENCH_REDIS)
    conn.flushdb()
    queue = Queue(NOOP_QUEUE, connection=conn)
    jobs = [queue.enqueue("bench.worker.noop") for _ in range(count)]
    rq = str(Path(sys.executable).with_name("rq"))
    procs = [subprocess.Popen([rq, "worker", "--burst", "--worker-class", "rq.worker.SimpleWorker", "--url",
                               BENCH_REDIS, "--path", str(ROOT), "--logging_level", "WARNING", NOOP_QUEUE], cwd=ROOT)
             for _ in range(workers)]
    for proc in procs:
        proc.wait(600)
    fetched = Job.fetch_many([j.id for j in jobs], connection=conn)
    started = [j.started_at for j in fetched if j and j.started_at]
    ended = [j.ended_at for j in fetched if j and j.ended_at]
    assert len(ended) == count, len(ended)
    window: datetime = max(ended)  # type: ignore[assignment]
    conn.flushdb()
    return count / max((window - min(started)).total_seconds(), 1e-6)


def main() -> int:
    """Run every worker count, ours then the baseline, and print a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--ack", choices=("sms", "email"), default="sms")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as url, _relay(args.ack == "email") as smtp_url:
        upgrade(url)
        for workers in counts:
            ours, coded, distinct = _ours(url, workers, args.cases, tmp, smtp_url)
            print(f"{workers} workers: {ours:.0f} cases/s", flush=True)
            base = _baseline(workers, args.cases)
            rows.append((workers, ours, base, coded, distinct))
            print(f"{workers} workers: {ours:.0f} cases/s, RQ no-op {base:.0f} jobs/s, {ours / base:.2f}×, "
                  f"{coded} coded, {distinct} distinct codes", flush=True)
    print("\n| workers | ours (cases/s) | RQ no-op (jobs/s) | ratio | duplicates |")
    print("|---|---|---|---|---|")
    for workers, ours, base, coded, distinct in rows:
        print(f"| {workers} | {ours:.0f} | {base:.0f} | {ours / base:.2f}× | {coded - distinct} |")
    redis.Redis.from_url(BENCH_REDIS).flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
