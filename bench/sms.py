"""Benchmark: the SMS webhook (signed, stored, enqueued) against a bare Flask endpoint.

    .venv/bin/python bench/sms.py [--seconds 10] [--clients 8] [--rounds 3] [--database postgresql|sqlite]

Every request is signed like Twilio's (RequestValidator.compute_signature) with a new
MessageSid; half are new PAKN texts (a case per text), half are TC commands (stored
for the worker). No worker runs: this measures the request path only.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twilio.request_validator import RequestValidator

from bench.harness import BENCH_REDIS, Side, compare

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
    return compare(
        Side("bare Flask POST /sms", "bench.baseline:app", _request("/sms", sign=True), {200}),
        Side("POST /sms/inbound", "wsgi:app", _request("/sms/inbound", sign=True), {200}),
        app_env=lambda url, tmp: {"DATABASE_URL": url, "REDIS_URL": BENCH_REDIS, "SECRET_KEY": "b" * 48,
                                  "INSTANCE_PATH": tmp, "TWILIO_AUTH_TOKEN": TOKEN,
                                  "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "PUBLIC_BASE_URL": PUBLIC,
                                  "PAKN_ENV": "production"},
    )


if __name__ == "__main__":
    sys.exit(main())
