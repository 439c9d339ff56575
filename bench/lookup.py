"""Benchmark: the public lookup and the desks at a million cases, loaded by wrk.

    apt-get install -y wrk                       # Debian's package: the load generator (C, not Python threads)
    .venv/bin/python bench/million.py            # once: fills pakn_million with 1,000,000 cases (see README)
    .venv/bin/python bench/lookup.py [--url postgresql://postgres@127.0.0.1:5432/pakn_million]
                                     [--seconds 10] [--connections 8]

Our app runs under gunicorn with the benchmarks' settings (bench/harness.py: 2 sync
workers) against the loaded database. wrk rotates through 2,000 real (code, name) pairs
drawn at random from the whole table:

- ``POST /lookup`` with ``code``, ``name`` and the form's CSRF token, in the session of
  one visitor (the citizen's page: find + timeline + progress notes + related codes +
  answer files + the template; the page takes the name by POST only, never from the URL);
- ``GET /api/v1/cases/<code>?name=…`` (the same view as JSON);

at 8 connections, then the desks, each signed in as its user, at 1 connection:
the coordinator queue, an agency's dashboard, every agency's (admin), the hotline desk.
The baseline (``bench/lookup_baseline.py``, a bare Flask app reading the same requests) runs
first under the same gunicorn settings, for ratios from the same run.
p50 and p99 are wrk's (``--latency``). Needs PostgreSQL and Redis on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BENCH_REDIS, gunicorn
from bench.million import DEFAULT_URL

SAMPLE = 2000
PASSWORD = "bench-password-2026!"


def _wrk(port: int, script: str, *, seconds: float, connections: int, path: str = "/",
         headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Run wrk with a Lua script; requests/s, p50/p99 (ms), non-2xx count."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    args = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency",
            "--timeout", "30s", "-s", handle.name]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)

    def ms(label: str) -> float:
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if not found:
            raise RuntimeError(out)
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"), "requests": total, "errors": int(bad.group(1)) if bad else 0}


def _rotating(requests: list[tuple[str, str, str]]) -> str:
    """A wrk script sending ``requests`` (method, path, form body) in turn, per connection."""
    entries = ",\n".join("{" + ", ".join(_lua(x) for x in r) + "}" for r in requests)
    return f"""
local reqs = {{
{entries}
}}
local i = 0
request = function()
  i = i % #reqs + 1
  local r = reqs[i]
  if r[1] == "POST" then
    local headers = {{["Content-Type"] = "application/x-www-form-urlencoded"}}
    for name, value in pairs(wrk.headers) do headers[name] = value end  -- given headers replace wrk's -H ones
    return wrk.format("POST", r[2], headers, r[3])
  end
  return wrk.format("GET", r[2])
end
"""


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sample(url: str) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(url) as conn:
        top = conn.execute("SELECT max(id) FROM pakn_case").fetchone()[0]  # type: ignore[index]
        return conn.execute(
            "SELECT code, full_name FROM pakn_case WHERE id IN (SELECT (random() * %s)::int + 1 "
            "FROM generate_series(1, %s)) AND code IS NOT NULL", (top, SAMPLE * 2)).fetchall()[:SAMPLE]


def _staff(url: str) -> None:
    """The desks' users (coordinator, an agency's staff, admin, an operator) with a known password."""
    from sqlmodel import Session, select

    from gateway import auth
    from gateway.constants import Role
    from gateway.db import make_engine
    from gateway.models import Agency, StaffUser

    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with Session(engine) as session:
        agency = session.exec(select(Agency).order_by(Agency.id)).first()
        for name, role in (("bench-coordinator", Role.coordinator), ("bench-agency", Role.agency),
                           ("bench-admin", Role.admin), ("operator1", Role.operator)):
            if session.exec(select(StaffUser).where(StaffUser.username == name)).first() is None:
                auth.create_user(session, username=name, password=PASSWORD, role=role, display_name=name,
                                 agency_code=agency.code if role == Role.agency and agency else None)
    engine.dispose()


def _visitor(port: int, pair: tuple[str, str]) -> tuple[str, str]:
    """A citizen's session cookie and the lookup form's CSRF token; checks that a lookup finds its case."""
    import requests

    base = f"http://127.0.0.1:{port}/lookup"
    page = requests.get(base, timeout=30)
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    found = requests.post(base, data={"code": pair[0], "name": pair[1], "csrf_token": token},
                          headers={"Cookie": cookie, "Referer": base}, timeout=30)
    if found.status_code != 200 or pair[0] not in found.text:
        raise RuntimeError(f"/lookup answered {found.status_code}: {found.text[:300]}")
    return cookie, token


def _login(port: int, username: str) -> str:
    """The session cookie of a signed-in user (sent by hand: production cookies are Secure)."""
    import requests

    base = f"http://127.0.0.1:{port}/staff/login"
    page = requests.get(base, timeout=30)
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    data = {"username": username, "password": PASSWORD, **({"csrf_token": token.group(1)} if token else {})}
    done = requests.post(base, data=data, headers={"Cookie": cookie, "Referer": base}, allow_redirects=False,
                         timeout=30)
    if done.status_code != 302:
        raise RuntimeError(f"login of {username} failed: {done.status_code} {done.text[:300]}")
    return done.headers["Set-Cookie"].split(";", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=DEFAULT_URL, help="a database filled by bench/million.py")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    import psycopg
    import redis

    with psycopg.connect(args.url) as conn:
        cases = conn.execute("SELECT count(*) FROM pakn_case").fetchone()[0]  # type: ignore[index]
    pairs = _sample(args.url)
    _staff(args.url)
    redis.Redis.from_url(BENCH_REDIS).flushdb()
    env = {"DATABASE_URL": args.url.replace("postgresql://", "postgresql+psycopg://", 1), "REDIS_URL": BENCH_REDIS,
           "SECRET_KEY": "b" * 48, "API_KEYS": "bench", "API_RATE_LIMIT": "100000000/60",
           "LOOKUP_RATE_LIMIT": "100000000/60", "PAKN_ENV": "production",
           "PUBLIC_BASE_URL": "https://pakn.example.gov.vn"}
    print(f"{cases:,} cases; {len(pairs)} (code, name) pairs; gunicorn 2 sync workers; wrk, {args.seconds:.0f} s each")
    with gunicorn("bench.lookup_baseline:app", {}) as base_port:  # same gunicorn settings, same paths
        posts = [("POST", "/lookup", f"code={c}&name={quote(n)}") for c, n in pairs]
        rows = [("bare Flask POST /lookup (baseline)", _wrk(base_port, _rotating(posts), seconds=args.seconds,
                                                            connections=args.connections))]
    with tempfile.TemporaryDirectory() as tmp, gunicorn("wsgi:app", {**env, "INSTANCE_PATH": tmp}) as port:
        cookie, token = _visitor(port, pairs[0])
        lookups = [("POST", "/lookup", f"code={c}&name={quote(n)}&csrf_token={quote(token)}") for c, n in pairs]
        api = [("GET", f"/api/v1/cases/{c}?name={quote(n)}", "") for c, n in pairs]
        rows += [("POST /lookup", _wrk(port, _rotating(lookups), seconds=args.seconds, connections=args.connections,
                                       headers={"Cookie": cookie, "Referer": f"http://127.0.0.1:{port}/lookup"})),
                ("GET /api/v1/cases/<code>", _wrk(port, _rotating(api), seconds=args.seconds,
                                                  connections=args.connections, headers={"X-Api-Key": "bench"}))]
        for label, user, path in (("coordinator queue", "bench-coordinator", "/coordinator/"),
                                  ("agency dashboard (one agency)", "bench-agency", "/agency/"),
                                  ("agency dashboard (all, admin)", "bench-admin", "/agency/"),
                                  ("hotline desk", "operator1", "/hotline/")):
            cookie = _login(port, user)
            rows.append((f"{label} {path}", _wrk(port, _rotating([("GET", path, "")]), seconds=args.seconds,
                                                 connections=1, headers={"Cookie": cookie})))
    redis.Redis.from_url(BENCH_REDIS).flushdb()
    print(f"{'what':<42} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for label, fig in rows:
        conns = args.connections if label.startswith(("GET /api", "POST /lookup", "bare")) else 1
        print(f"{label:<42} {conns:>5} {fig['rps']:8.1f} {fig['p50']:8.2f} {fig['p99']:8.2f} {fig['errors']:>8}")
    base = rows[0][1]
    for label, fig in rows[1:3]:
        ratio, p99 = fig['rps'] / base['rps'], fig['p99'] / base['p99']
        print(f"{label}: {ratio:.2f}x the baseline's throughput, p99 {p99:.1f}x")
    failed = [label for label, fig in rows if fig["errors"]]
    if failed:
        print("answers other than 2xx/3xx (the figures measure errors, not the pages):", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
