"""Benchmark with wrk: the SMS webhook and the API intake against a bare Flask app, on PostgreSQL.

    apt-get install -y wrk    # Debian's package (4.1); the load generator is not Python
    .venv/bin/python bench/webhook.py [--seconds 10] [--connections 8] [--rounds 3] [--only sms|api]
    .venv/bin/python bench/webhook.py --statements    # PostgreSQL statements per request, no load
    .venv/bin/python bench/webhook.py --only sms --app bench.raw_sms:app   # the ceiling (bench/raw_sms.py)

Both apps run under gunicorn with the project's settings (``-c config/gunicorn.py``) and
the same worker options (bench/harness.py). Rounds alternate bare Flask and ours. Every
SMS request is a distinct, correctly signed Twilio webhook (precomputed bodies and
X-Twilio-Signature headers, read by a wrk Lua script), half new PAKN texts (``PA …``,
each from its own number) and half ``TC`` commands. The API request is a JSON PAKN with
an API key. No worker runs: this is the request path. Needs PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twilio.request_validator import RequestValidator

from bench.harness import BENCH_REDIS, GUNICORN_ARGS, ROOT, free_port, postgres_database

TOKEN = "bench-twilio-token"
PUBLIC = "https://pakn.example.gov.vn"
API_KEY = "bench"
THREADS = 2
SERVER_ARGS = list(GUNICORN_ARGS)  # --worker-class/--threads from the command line replace harness.py's
REQUESTS_PER_SECOND_CEILING = 4000  # bodies prepared per second of a round (more than either side serves)
PA_TEXT = "PA Can bo mot cua phuong hen tra ket qua chung thuc 3 lan van chua co, de nghi kiem tra {}"
API_BODY = json.dumps({
    "full_name": "Nguyễn Văn Bình", "phone": "0912345678", "email": "binh@example.com",
    "address": "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "title": "Chậm giải quyết hồ sơ đất đai",
    "content": "Hồ sơ cấp giấy chứng nhận quyền sử dụng đất nộp từ tháng trước đến nay chưa có kết quả.",
}, ensure_ascii=False)

# Each wrk thread reads its own file of "body<TAB>signature" lines and sends them in turn.
LUA = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  bodies, signatures, index = {}, {}, 0
  local path = args[1]
  if path ~= nil and path ~= "" then
    for line in io.lines(path .. "." .. id) do
      local tab = line:find("\t", 1, true)
      table.insert(bodies, line:sub(1, tab - 1))
      table.insert(signatures, line:sub(tab + 1))
    end
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = args[2]
  if args[3] ~= nil and args[3] ~= "" then wrk.headers["X-Api-Key"] = args[3] end
  if args[4] ~= nil and args[4] ~= "" then wrk.body = args[4] end
end
function request()
  if #bodies == 0 then return wrk.format() end
  index = index % #bodies + 1
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end  -- format() replaces, not merges
  headers["X-Twilio-Signature"] = signatures[index]
  return wrk.format(nil, nil, headers, bodies[index])
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %f, "errors": %d, "p50_ms": %f, "p99_ms": %f}\n',
    summary.requests, summary.duration / 1e6, bad, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass
class Figures:
    """One wrk run."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self, label: str) -> str:
        return (f"{label:<26} {self.rps:8.1f} req/s   p50 {self.p50_ms:6.2f} ms   p99 {self.p99_ms:6.2f} ms   "
                f"errors {self.errors}")


def _sms_bodies(path: str, count: int, run: str) -> None:
    """Write ``count`` signed Twilio webhook bodies per wrk thread (distinct MessageSids and numbers)."""
    validator = RequestValidator(TOKEN)
    for thread in range(THREADS):
        with open(f"{path}.{thread}", "w") as out:
            for i in range(count):
                n = thread * count + i
                body = PA_TEXT.format(n) if n % 2 == 0 else "TC"
                params = {"MessageSid": f"SM{run}{n:012d}", "AccountSid": "AC" + "0" * 32,
                          "From": f"+849{n % 100_000_000:08d}", "To": "8088", "Body": body, "NumSegments": "1"}
                signature = validator.compute_signature(PUBLIC + "/sms/inbound", params)
                out.write(f"{urlencode(params)}\t{signature}\n")


@contextmanager
def _gunicorn(app: str, env: dict[str, str]) -> Iterator[int]:
    """``app`` under gunicorn with config/gunicorn.py and the shared options; yields its port."""
    import http.client
    import time

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", *SERVER_ARGS,
                             "--bind", f"127.0.0.1:{port}", app], cwd=ROOT, env={**os.environ, **env})
    try:
        deadline, answered = time.monotonic() + 180, 0
        while answered < 8 and time.monotonic() < deadline:  # the workers import the app after the bind
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/bench-ready")
                conn.getresponse().read()
                conn.close()
                answered += 1
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(20)


def _wrk(port: int, path: str, *, seconds: float, connections: int, lua: str, args: list[str]) -> Figures:
    out = subprocess.run(["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s",
                          "-s", lua, f"http://127.0.0.1:{port}{path}", "--", *args],
                         capture_output=True, text=True, check=True).stdout
    return Figures(**json.loads(out.strip().splitlines()[-1]))


def _median(runs: list[Figures]) -> Figures:
    return sorted(runs, key=lambda f: f.rps)[len(runs) // 2]


def _our_env(url: str, tmp: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "REDIS_URL": BENCH_REDIS, "SECRET_KEY": "b" * 48, "INSTANCE_PATH": tmp,
            "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "PUBLIC_BASE_URL": PUBLIC,
            "API_KEYS": API_KEY, "API_RATE_LIMIT": "100000000/60", "PAKN_ENV": "production"}


def statements(url: str, tmp: str) -> dict[str, int]:
    """PostgreSQL statements sent for one SMS PAKN text, one TC command and one API intake (in-process)."""
    from sqlalchemy import event

    from config.settings import Settings
    from gateway import create_app

    app = create_app(Settings.from_env(_our_env(url, tmp)))
    engine = app.extensions["pakn"].engine
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: seen.append(sql))
    client = app.test_client()
    counts = {}
    for label, body in (("sms PAKN text", PA_TEXT.format("x")), ("sms TC command", "TC")):
        for _warm in (0, 1):  # the first request also opens the connection
            seen.clear()
            params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32, "From": "+84912000001",
                      "To": "8088", "Body": body, "NumSegments": "1"}
            headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(PUBLIC + "/sms/inbound",
                                                                                     params)}
            assert client.post("/sms/inbound", data=params, headers=headers).status_code == 200
        counts[label] = len(seen)
    seen.clear()
    response = client.post("/api/v1/reports", data=API_BODY.encode(),
                           headers={"X-Api-Key": API_KEY, "Content-Type": "application/json"})
    assert response.status_code == 202
    counts["api intake"] = len(seen)
    engine.dispose()
    return counts


def main() -> int:
    """Run the rounds and print the median figures and the ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["sms", "api"])
    parser.add_argument("--statements", action="store_true", help="count statements per request and exit")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class for both apps")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes for both apps")
    parser.add_argument("--app", default="wsgi:app", help="our side (bench.raw_sms:app: the ceiling experiment)")
    args = parser.parse_args()
    SERVER_ARGS[:] = ["--workers", str(args.workers), "--worker-class", args.worker_class,
                      "--threads", str(args.threads), "--log-level", "warning"]
    import redis

    from gateway.cli import upgrade

    redis.Redis.from_url(BENCH_REDIS).flushdb()
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as url:
        upgrade(url)
        if args.statements:
            for label, count in statements(url, tmp).items():
                print(f"{label:<16} {count} statement(s)")
            return 0
        lua = f"{tmp}/bench.lua"
        Path(lua).write_text(LUA)
        per_round = int(args.seconds * REQUESTS_PER_SECOND_CEILING / THREADS)
        results: dict[str, list[Figures]] = {}
        with _gunicorn("bench.baseline:app", {}) as base, _gunicorn(args.app, _our_env(url, tmp)) as ours:
            for round_no in range(args.rounds):
                bodies = f"{tmp}/sms-{round_no}"
                _sms_bodies(bodies, per_round, f"{round_no:02d}{uuid.uuid4().hex[:6]}")
                form = "application/x-www-form-urlencoded"
                sides = {
                    "sms": (("bare Flask POST /sms", base, "/sms", [bodies, form, "", ""]),
                            ("POST /sms/inbound", ours, "/sms/inbound", [bodies, form, "", ""])),
                    "api": (("bare Flask POST /reports", base, "/reports", ["", "application/json", "", API_BODY]),
                            ("POST /api/v1/reports", ours, "/api/v1/reports",
                             ["", "application/json", API_KEY, API_BODY])),
                }
                for what, pair in sides.items():
                    if args.only and what != args.only:
                        continue
                    for label, port, path, lua_args in pair:
                        figures = _wrk(port, path, seconds=args.seconds, connections=args.connections, lua=lua,
                                       args=lua_args)
                        results.setdefault(label, []).append(figures)
        print(f"PostgreSQL, wrk {THREADS} threads × {args.connections} connections, {args.rounds} rounds of "
              f"{args.seconds:.0f} s, median round; gunicorn {' '.join(SERVER_ARGS)}")
        labels = list(results)
        for base_label, our_label in zip(labels[::2], labels[1::2], strict=True):
            base_fig, our_fig = _median(results[base_label]), _median(results[our_label])
            print(base_fig.line(base_label))
            print(our_fig.line(our_label))
            ratios = [o.rps / b.rps for o, b in zip(results[our_label], results[base_label], strict=True)]
            print(f"  ratio ours/bare: throughput {our_fig.rps / base_fig.rps:.2f}x (per round "
                  f"{', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}), "
                  f"p99 {our_fig.p99_ms / base_fig.p99_ms:.2f}x")
    redis.Redis.from_url(BENCH_REDIS).flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
