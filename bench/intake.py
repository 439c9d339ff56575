"""Benchmark: web/API intake (persist + enqueue) against a bare Flask endpoint.

    .venv/bin/python bench/intake.py [--seconds 10] [--clients 8] [--rounds 3] [--database postgresql|sqlite]

Both apps run under the same gunicorn settings (bench/harness.py); rounds alternate
baseline and ours so that machine noise hits both alike. Needs PostgreSQL and Redis.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BENCH_REDIS, Side, compare

BODY = json.dumps({
    "full_name": "Nguyễn Văn Bình", "phone": "0912345678", "email": "binh@example.com",
    "address": "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "title": "Chậm giải quyết hồ sơ đất đai",
    "content": "Hồ sơ cấp giấy chứng nhận quyền sử dụng đất nộp từ tháng trước đến nay chưa có kết quả.",
}, ensure_ascii=False).encode()


def _request(path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return lambda _i: ("POST", path, BODY, {"Content-Type": "application/json", **headers})


def main() -> int:
    """Run the comparison and print the figures."""
    return compare(
        Side("bare Flask POST /reports", "bench.baseline:app", _request("/reports", {}), {202}),
        Side("POST /api/v1/reports", "wsgi:app", _request("/api/v1/reports", {"X-Api-Key": "bench"}), {202}),
        app_env=lambda url, tmp: {"DATABASE_URL": url, "REDIS_URL": BENCH_REDIS, "SECRET_KEY": "b" * 48,
                                  "INSTANCE_PATH": tmp, "API_KEYS": "bench", "API_RATE_LIMIT": "100000000/60",
                                  "PAKN_ENV": "production"},
    )


if __name__ == "__main__":
    sys.exit(main())
