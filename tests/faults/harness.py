"""The system as deployed: gunicorn and long-running ``python worker.py`` processes, and a stream of
web, API and SMS submissions to throw at them while faults are injected."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, text
from twilio.request_validator import RequestValidator

from config.settings import ROOT, Settings
from tests.conftest import SmtpServer, free_port
from tests.factories import VALID_FIELDS
from tests.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, TwilioFake

CODE = re.compile(r"\d{2}-\d{6}-\d")
API_KEY = "fault-key"


def deployed_env(settings: Settings, redis_url: str, base_url: str, twilio: TwilioFake) -> dict[str, str]:
    """The environment an operator would give both gunicorn and the worker."""
    return dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=redis_url, SECRET_KEY=settings.secret_key,
                INSTANCE_PATH=str(settings.instance_path), SMTP_URL=settings.smtp_url or "",
                PUBLIC_BASE_URL=base_url, CAPTCHA="off", API_KEYS=API_KEY, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_API_BASE=twilio.url, SUBMIT_RATE_LIMIT="100000/60",
                API_RATE_LIMIT="100000/60", SMS_REPLY_LIMIT="100/3600", MAIL_FROM="pakn@pakn.example.gov.vn")


@contextmanager
def gunicorn(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """``gunicorn -w 2 wsgi:app`` on ``port``; yields its base URL once it answers."""
    out = open(log, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--bind", f"127.0.0.1:{port}",
                             "--timeout", "60", "wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        finally:
            proc.kill()
            out.close()


@contextmanager
def running(workers: list[WorkerProcess]) -> Iterator[list[WorkerProcess]]:
    """Start the workers; stop them however the test ends (a failed assertion must not leave one behind)."""
    for worker in workers:
        worker.start()
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()


class WorkerProcess:
    """``python worker.py`` as deployed (not --burst), restartable as a supervisor would."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start (or restart after a death) the worker."""
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=self.env, stdout=out,
                                     stderr=subprocess.STDOUT)
        out.close()
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no chance to finish the job or clean up."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def alive(self) -> bool:
        """Still running (never exited on its own)."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        finally:
            self.proc.kill()


@dataclass
class Stream:
    """What was submitted and accepted, to check against the database afterwards."""

    emails: list[str] = field(default_factory=list)  # web and API submitters, one address each
    phones: list[str] = field(default_factory=list)  # SMS senders, one number each
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> int:
        """Submissions the gateway accepted (the cases the wait expects)."""
        return len(self.emails) + len(self.phones)


def _web(session: requests.Session, base: str, n: int) -> str:
    page = session.get(base + "/submit", timeout=30).text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    email = f"web{n}@example.com"
    data = {**VALID_FIELDS, "email": email, "csrf_token": csrf, "submission_key": secrets.token_urlsafe(16),
            "title": f"Phản ánh qua web số {n}"}
    response = session.post(base + "/submit", data=data, timeout=30, allow_redirects=False)
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return email


def _api(session: requests.Session, base: str, n: int) -> str:
    email = f"api{n}@example.com"
    response = session.post(base + "/api/v1/reports", json={**VALID_FIELDS, "email": email},
                            headers={"X-Api-Key": API_KEY, "Idempotency-Key": f"fault-{n}"}, timeout=30)
    assert response.status_code == 202, (response.status_code, response.text[:500])
    return email


def _sms(session: requests.Session, base: str, n: int) -> str:
    phone = f"+8490{n:07d}"
    params = {"MessageSid": f"SM{secrets.token_hex(16)}", "AccountSid": ACCOUNT_SID, "From": phone, "To": "8088",
              "Body": f"PA Cán bộ một cửa phường Láng Hạ hẹn trả sổ đỏ {n} lần vẫn chưa có, đề nghị kiểm tra"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(base + "/sms/inbound", params)
    response = session.post(base + "/sms/inbound", data=params, headers={"X-Twilio-Signature": signature},
                            timeout=30)
    assert response.status_code == 200, (response.status_code, response.text[:500])
    return phone


def stream(base: str, total: int, *, at: dict[int, Callable[[], None]] | None = None, threads: int = 6) -> Stream:
    """Send ``total`` submissions (web, API, SMS in turn); ``at[i]`` starts once the i-th is sent.

    A fault runs in its own thread while the submissions go on: requests are in flight
    while Redis or the worker is down.
    """
    sent = Stream()
    kinds = (_web, _api, _sms)
    sessions: dict[int, requests.Session] = {}
    faults: list[threading.Thread] = []

    def one(n: int) -> tuple[str, str]:
        session = sessions.setdefault(threading.get_ident(), requests.Session())
        kind = kinds[n % 3]
        return kind.__name__, kind(session, base, n)

    with ThreadPoolExecutor(threads) as pool:
        for start in range(0, total, 25):
            for mark, action in (at or {}).items():
                if start <= mark < start + 25:
                    faults.append(threading.Thread(target=action))
                    faults[-1].start()
            for name, who in pool.map(one, range(start, min(start + 25, total))):
                (sent.phones if name == "_sms" else sent.emails).append(who)
    for fault in faults:
        fault.join(60)
    return sent


@dataclass
class State:
    """What the database and the fakes say after the stream."""

    cases: int
    unfinished: int  # cases still received/registered
    codes: int
    distinct_codes: int
    pending_messages: int
    emails: Counter[str]  # acknowledgments per address
    sms: Counter[str]  # acknowledgments per phone
    doubled: list[tuple[str, str]]  # any message (recipient, subject or text) that went out twice


def state(engine: Engine, smtp: SmtpServer, twilio: TwilioFake) -> State:
    """Read the outcome."""
    with engine.connect() as conn:
        cases, codes, distinct = conn.execute(text(
            "SELECT count(*), count(code), count(DISTINCT code) FROM pakn_case")).one()
        unfinished = conn.execute(text(
            "SELECT count(*) FROM pakn_case WHERE status IN ('received', 'registered')")).scalar_one()
        pending = conn.execute(text("SELECT count(*) FROM outbound_message WHERE status = 'pending'")).scalar_one()
    emails = Counter(str(m["To"]) for m in smtp.messages if "Đã tiếp nhận" in str(make_header(
        decode_header(m["Subject"]))))
    sms = Counter(m.to for m in twilio.sent if m.body.startswith("Da tiep nhan PAKN"))
    every = Counter([(str(m["To"]), str(m["Subject"])) for m in smtp.messages]
                    + [(m.to, m.body) for m in twilio.sent])
    return State(cases, unfinished, codes, distinct, pending, emails, sms, [k for k, n in every.items() if n > 1])


def _remaining(now: State, expected: int) -> int:
    return max(expected - now.cases, 0) + now.unfinished + now.pending_messages


def wait_until(engine: Engine, smtp: SmtpServer, twilio: TwilioFake, expected: int, stall_seconds: float = 90,
               cap_seconds: float = 900) -> State:
    """Poll until every case is coded, routed and acknowledged; give up when nothing moved for ``stall_seconds``.

    Self-healing means the work goes on by itself, not that it takes a given time: on a
    shared two-core machine the same work takes 1 or 5 minutes. A system that stopped
    healing makes no progress at all, which ends the wait (``cap_seconds`` bounds it).
    """
    started = time.monotonic()
    best, moved, longest = None, started, 0.0
    while True:
        now = state(engine, smtp, twilio)
        remaining = _remaining(now, expected)
        clock = time.monotonic()
        if best is None or remaining < best:
            longest = max(longest, clock - moved)
            best, moved = remaining, clock
        done = now.cases >= expected and now.unfinished == 0 and now.pending_messages == 0
        if done or clock - moved > stall_seconds or clock - started > cap_seconds:
            print(f"\nwaited {clock - started:.0f} s; {remaining} units of work left, the last progress "
                  f"{clock - moved:.0f} s ago; the longest time without progress {longest:.0f} s")
            return now
        time.sleep(1)


def assert_all_done_once(result: State, sent: Stream) -> None:
    """Every accepted submission coded, routed and acknowledged exactly once; no duplicate codes."""
    total = sent.accepted
    assert result.cases == total
    assert result.unfinished == 0, f"{result.unfinished} cases not coded or not routed"
    assert result.codes == result.distinct_codes == total
    assert result.pending_messages == 0
    assert not result.doubled, f"{len(result.doubled)} messages sent twice, e.g. {result.doubled[:3]}"
    missing = [e for e in sent.emails if result.emails[e] != 1]
    assert not missing, f"{len(missing)} web/API submitters without exactly one acknowledgment, e.g. " \
                        f"{[(e, result.emails[e]) for e in missing[:5]]}"
    missing_sms = [p for p in sent.phones if result.sms[p] != 1]
    assert not missing_sms, f"{len(missing_sms)} texters without exactly one acknowledgment, e.g. " \
                            f"{[(p, result.sms[p]) for p in missing_sms[:5]]}"


def kill_and_restart(server: Any, down_seconds: float = 1.0) -> Callable[[], None]:
    """A fault: SIGKILL the Redis server, leave it down a moment, start it again (empty)."""
    def fault() -> None:
        server.kill()
        time.sleep(down_seconds)
        server.start()
    return fault


def port() -> int:
    """A free port for gunicorn."""
    return free_port()


def env_for(settings: Settings, redis_url: str, twilio: TwilioFake, gunicorn_port: int) -> dict[str, str]:
    """Environment for gunicorn and the worker listening on ``gunicorn_port``."""
    return deployed_env(settings, redis_url, f"http://127.0.0.1:{gunicorn_port}", twilio)


__all__ = ["AUTH_TOKEN", "WorkerProcess", "assert_all_done_once", "env_for", "gunicorn", "kill_and_restart",
           "port", "state", "stream", "wait_until"]
