"""Start gunicorn apps side by side and load them from a thread pool."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_ARGS = ["--workers", "2", "--worker-class", "sync", "--log-level", "warning"]
BENCH_REDIS = "redis://127.0.0.1:6379/8"  # flushed before and after a run


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(app: str, env: dict[str, str]) -> Iterator[int]:
    """Serve ``app`` with the shared gunicorn settings; yield its port."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", *GUNICORN_ARGS, "--bind", f"127.0.0.1:{port}", app],
                            cwd=ROOT, env={**os.environ, **env})
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(20)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database (migrated by the caller)."""
    admin = os.environ.get("BENCH_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"pakn_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Figures:
    """Throughput and latency of one run."""

    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def line(self, name: str) -> str:
        return (f"{name:<28} {self.rps:8.1f} req/s   p50 {self.percentile(50):7.2f} ms   "
                f"p99 {self.percentile(99):7.2f} ms   errors {self.errors}")


Request = Callable[[int], tuple[str, str, bytes, dict[str, str]]]  # i → method, path, body, headers


def load(port: int, make_request: Request, *, seconds: float, clients: int, ok: set[int]) -> Figures:
    """Send requests from ``clients`` threads for ``seconds``; count non-``ok`` answers as errors."""
    latencies: list[float] = []
    errors = [0]
    counter = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def run() -> None:
        while time.perf_counter() < deadline:
            with lock:
                counter[0] += 1
                index = counter[0]
            method, path, body, headers = make_request(index)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            start = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            conn.close()
            with lock:
                latencies.append(elapsed)
                if response.status not in ok:
                    errors[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Figures(len(latencies), errors[0], time.perf_counter() - started, latencies)


def ratio(ours: Figures, base: Figures) -> str:
    """Our figures relative to the baseline's."""
    p50 = ours.percentile(50) / base.percentile(50)
    p99 = ours.percentile(99) / base.percentile(99)
    return f"ratio vs baseline: throughput {ours.rps / base.rps:.2f}x, p50 {p50:.2f}x, p99 {p99:.2f}x"


def median_of(runs: list[Figures]) -> Figures:
    """The run with the median throughput."""
    return sorted(runs, key=lambda f: f.rps)[len(runs) // 2] if runs else Figures(0, 0, 1, [0.0])




@dataclass
class Side:
    """One side of a comparison: a WSGI app, the request it gets, the answers that count as OK."""

    label: str
    app: str
    request: Request
    ok: set[int]


def compare(base: Side, ours: Side, *, app_env: Callable[[str, str], dict[str, str]]) -> int:
    """Parse the common options, run alternating rounds, print the median figures and the ratio.

    ``app_env(database_url, instance_dir)`` gives our app's environment.
    """
    import argparse
    import tempfile

    import redis

    from gateway.cli import upgrade

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    redis.Redis.from_url(BENCH_REDIS).flushdb()
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as pg_url:
        url = pg_url if args.database == "postgresql" else f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        runs: dict[str, list[Figures]] = {base.label: [], ours.label: []}
        with gunicorn(base.app, {}) as base_port, gunicorn(ours.app, app_env(url, tmp)) as our_port:
            for _ in range(args.rounds):
                for side, port in ((base, base_port), (ours, our_port)):
                    runs[side.label].append(load(port, side.request, seconds=args.seconds, clients=args.clients,
                                                 ok=side.ok))
        base_fig, our_fig = median_of(runs[base.label]), median_of(runs[ours.label])
        print(f"database {args.database}, {args.clients} clients, {args.rounds} rounds of {args.seconds:.0f} s "
              "(median round shown)")
        print(base_fig.line(base.label))
        print(our_fig.line(ours.label))
        print(ratio(our_fig, base_fig))
    redis.Redis.from_url(BENCH_REDIS).flushdb()
    return 0
