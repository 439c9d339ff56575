"""Benchmark: the SMS webhook (signed, stored, enqueued) against a bare Flask endpoint.

    .venv/bin/python bench/sms.py [--seconds 10] [--clients 8] [--rounds 3] [--database postgresql|sqlite]

Every request is signed like Twilio's (RequestValidator.compute_signature) with a new
MessageSid; half are new PAKN texts (a case per text), half are TC commands (stored
for the worker). No worker runs: this measures the request path only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from twilio.request_validator import RequestValidator

from bench.harness import Figures, gunicorn, load, median_of, postgres_database, ratio
from gateway.cli import upgrade

REDIS_URL = "redis://127.0.0.1:6379/8"
TOKEN = "bench-twilio-token"
PUBLIC = "https://pakn.example.gov.vn"
BODIES = ("PA Cán bộ một cửa phường hẹn trả kết quả chứng thực 3 lần vẫn chưa có", "TC 26-000001-9")


def _request(path: str, sign: bool):  # type: ignore[no-untyped-def]
    def make(index: int) -> tuple[str, str, bytes, dict[str, str]]:
        params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
                  "From": f"+8491{index % 10_000_000:07d}", "To": "8088", "Body": BODIES[index % 2], "NumSegments": "1"}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign:
            headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
        return "POST", path, urlencode(params).encode(), headers

    return make


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
               "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "PUBLIC_BASE_URL": PUBLIC,
               "PAKN_ENV": "production"}
        base_runs: list[Figures] = []
        our_runs: list[Figures] = []
        with gunicorn("bench.baseline:app", {}) as base_port, gunicorn("wsgi:app", env) as our_port:
            for _ in range(args.rounds):
                base_runs.append(load(base_port, _request("/sms", sign=True), seconds=args.seconds,
                                      clients=args.clients, ok={200}))
                our_runs.append(load(our_port, _request("/sms/inbound", sign=True), seconds=args.seconds,
                                     clients=args.clients, ok={200}))
        base, ours = median_of(base_runs), median_of(our_runs)
        print(f"database {args.database}, {args.clients} clients, {args.rounds} rounds of {args.seconds:.0f} s "
              "(median round shown)")
        print(base.line("bare Flask POST /sms"))
        print(ours.line("POST /sms/inbound"))
        print(ratio(ours, base))
    redis.Redis.from_url(REDIS_URL).flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
