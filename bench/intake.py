"""Benchmark: web/API intake (persist + enqueue) against a bare Flask endpoint.

    .venv/bin/python bench/intake.py [--seconds 10] [--clients 8] [--rounds 3] [--database postgresql|sqlite]

Both apps run under the same gunicorn settings (bench/harness.py); rounds alternate
baseline and ours so that machine noise hits both alike. Needs PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench.harness import Figures, gunicorn, load, median_of, postgres_database, ratio
from gateway.cli import upgrade

REDIS_URL = "redis://127.0.0.1:6379/8"
BODY = json.dumps({
    "full_name": "Nguyễn Văn Bình", "phone": "0912345678", "email": "binh@example.com",
    "address": "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "title": "Chậm giải quyết hồ sơ đất đai",
    "content": "Hồ sơ cấp giấy chứng nhận quyền sử dụng đất nộp từ tháng trước đến nay chưa có kết quả.",
}, ensure_ascii=False).encode()


def _request(path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return lambda _i: ("POST", path, BODY, {"Content-Type": "application/json", **headers})


def main() -> int:
    """Run the comparison and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    redis.Redis.from_url(REDIS_URL).flushdb()
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as pg_url:
        url = pg_url if args.database == "postgresql" else f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": "b" * 48, "INSTANCE_PATH": tmp,
               "API_KEYS": "bench", "API_RATE_LIMIT": "100000000/60", "PAKN_ENV": "production"}
        base_runs: list[Figures] = []
        our_runs: list[Figures] = []
        with gunicorn("bench.baseline:app", {}) as base_port, gunicorn("wsgi:app", env) as our_port:
            for _ in range(args.rounds):
                base_runs.append(load(base_port, _request("/reports", {}), seconds=args.seconds,
                                      clients=args.clients, ok={202}))
                our_runs.append(load(our_port, _request("/api/v1/reports", {"X-Api-Key": "bench"}),
                                     seconds=args.seconds, clients=args.clients, ok={202}))
        base, ours = median_of(base_runs), median_of(our_runs)
        print(f"database {args.database}, {args.clients} clients, {args.rounds} rounds of {args.seconds:.0f} s "
              "(median round shown)")
        print(base.line("bare Flask POST /reports"))
        print(ours.line("POST /api/v1/reports"))
        print(ratio(ours, base))
    redis.Redis.from_url(REDIS_URL).flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
