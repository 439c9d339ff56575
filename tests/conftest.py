"""Real services for tests: Redis, PostgreSQL and SQLite, SMTP (aiosmtpd), RQ worker."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

import worker
from config.settings import Settings
from gateway import create_app
from gateway.cli import upgrade
from gateway.db import make_engine, new_session
from tests.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, TwilioFake

REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_DATABASES = range(9, 16)  # each test session leases one, so concurrent runs never meet
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES = tuple(SQLModel.metadata.tables)  # every table of the models, emptied between tests
SECRET = "test-secret-" + "x" * 40


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- databases -------------------------------------------------------------------

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the session, migrated to head."""
    name = f"pakn_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test runs once on SQLite and once on PostgreSQL, on empty tables."""
    if request.param == "sqlite":
        path = tmp_path / "pakn.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return emptied(request.getfixturevalue("postgres_url"))


def emptied(url: str) -> str:
    """``url`` (the session's PostgreSQL database) with every table emptied; for PostgreSQL-only modules'
    ``database_url`` fixtures."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """An engine for the test's own assertions (SQLite: deferred, so it never holds the lock)."""
    eng = make_engine(settings.database_url, immediate=False)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session on the test database."""
    with new_session(engine) as session:
        yield session


# --- Redis -----------------------------------------------------------------------

def _abandoned(admin: redis.Redis, key: str, token: str) -> bool:
    """Take over a lease whose test run died without releasing it (its process is gone)."""
    raw = admin.get(key) or b""
    holder = raw.decode() if isinstance(raw, bytes) else str(raw)
    pid = holder.split("-", 1)[0]
    if not pid.isascii() or not pid.isdigit() or Path(f"/proc/{pid}").exists():
        return False
    return bool(admin.set(key, token, xx=True, ex=4 * 3600))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis database of this test session's own (leased in database 0, released at the end)."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    admin = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    for number in REDIS_DATABASES:
        key = f"pakn-test-lease:{number}"
        if admin.set(key, token, nx=True, ex=4 * 3600) or _abandoned(admin, key, token):
            break
    else:
        pytest.fail("every test Redis database (9-15) is leased by another test run")
    yield f"{REDIS_SERVER}/{number}"
    if admin.get(f"pakn-test-lease:{number}") == token.encode():
        admin.delete(f"pakn-test-lease:{number}")
    admin.close()


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[redis.Redis]:
    """The real Redis (this session's database), emptied before each test."""
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Any]:
    """A real redis-server of our own that the test can stop and start."""

    class Server:
        port = free_port()
        proc: subprocess.Popen[bytes] | None = None

        @property
        def url(self) -> str:
            return f"redis://127.0.0.1:{self.port}/0"

        def start(self) -> None:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
            for _ in range(100):
                try:
                    redis.Redis(port=self.port).ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)
            raise RuntimeError("redis-server did not start")

        def stop(self) -> None:
            if self.proc:
                self.proc.terminate()
                self.proc.wait(10)
                self.proc = None

        def kill(self) -> None:
            """SIGKILL: the server dies with everything it held."""
            if self.proc:
                self.proc.kill()
                self.proc.wait(10)
                self.proc = None

        def freeze(self) -> None:
            """SIGSTOP: the server keeps its connections but answers nothing."""
            assert self.proc is not None
            self.proc.send_signal(signal.SIGSTOP)

        def thaw(self) -> None:
            """SIGCONT after freeze()."""
            assert self.proc is not None
            self.proc.send_signal(signal.SIGCONT)

    server = Server()
    server.start()
    yield server
    server.stop()


# --- SMTP --------------------------------------------------------------------------

class Mailbox:
    """Collects what the real SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []
        self.peers: list[Any] = []  # the client's (host, port) per message: one port per connection
        self.refusals: dict[str, str] = {}  # recipient → the reply to its RCPT TO (e.g. "550 5.1.1 no such user")
        self.slow_subjects: dict[str, float] = {}  # subject → seconds before DATA is answered
        self.quits = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        self.peers.append(session.peer)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)  # as mail clients read it
        self.messages.append(message)
        await asyncio.sleep(self.slow_subjects.get(str(message["Subject"]), 0))
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.quits += 1
        return "221 Bye"


class SmtpServer:
    """An aiosmtpd server that can be stopped and started on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[Message]:
        return self.mailbox.messages

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server for the test."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


# --- Twilio ----------------------------------------------------------------------

@pytest.fixture
def twilio() -> Iterator[TwilioFake]:
    """The local stand-in for Twilio's Messages API."""
    fake = TwilioFake()
    fake.start()
    yield fake
    fake.stop()


# --- settings, app, worker -------------------------------------------------------

@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str, redis_conn: redis.Redis, smtp: SmtpServer,
             twilio: TwilioFake) -> Settings:
    """Settings pointing at the real test services."""
    return Settings(
        secret_key=SECRET,
        instance_path=tmp_path / "instance",
        database_url=database_url,
        redis_url=redis_url,
        smtp_url=smtp.url,
        mail_from="pakn@pakn.example.gov.vn",
        public_base_url="https://pakn.example.gov.vn",
        captcha=False,
        api_keys=("test-key-1",),
        retry_intervals=(60,),  # tests end backoffs with the time_passes fixture
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base=twilio.url,
        webhook_allow_private=True,  # the test receivers listen on 127.0.0.1
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    """The Flask app with CSRF checks off (one test turns them on)."""
    application = create_app(settings)
    application.config["WTF_CSRF_ENABLED"] = False
    yield application
    application.extensions["pakn"].engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    """Flask's test client."""
    return app.test_client()


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    """The app served over real HTTP on a free port (API rate limit out of the way)."""
    import threading

    from werkzeug.serving import make_server

    application = create_app(settings.with_(api_limit=(1_000_000, 60)))
    server = make_server("127.0.0.1", free_port(), application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    application.extensions["pakn"].engine.dispose()


@pytest.fixture
def time_passes(settings: Settings) -> Iterator[Callable[[], None]]:
    """Every lease and retry backoff runs out: the dispatcher may claim every pending row again."""
    eng = make_engine(settings.database_url)

    def expire() -> None:
        with eng.begin() as conn:
            for table in ("pakn_case", "inbound_message", "outbound_message"):
                conn.execute(text(f"UPDATE {table} SET next_attempt_at = NULL"))

    yield expire
    eng.dispose()


@pytest.fixture
def run_worker(settings: Settings) -> Iterator[Callable[[], None]]:
    """Dispatch what the database says is pending and run it with the real RQ SimpleWorker (burst)."""
    ctx = worker.configure(settings)

    def run() -> None:
        worker.drain(ctx)

    yield run
    ctx.close()


# --- IMAP (Dovecot) ------------------------------------------------------------------

IMAP_PASSWORD = "imap-test-password"


class Dovecot:
    """A real Dovecot IMAP server of the test session's own (any user, one password, maildirs)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, user: str, folder: str = "INBOX") -> str:
        """IMAP_URL for a mailbox of ``user`` (a new user is a new, empty mailbox)."""
        return f"imap://{user}:{IMAP_PASSWORD}@127.0.0.1:{self.port}/{folder}"

    def _config(self) -> str:
        import grp
        import pwd

        if os.getuid() == 0:  # Dovecot refuses root for logins and mail: use its own users
            login, internal = "dovenull", "dovecot"
            mail_uid, mail_gid = pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid
        else:
            login = internal = pwd.getpwuid(os.getuid()).pw_name
            mail_uid, mail_gid = os.getuid(), os.getgid()
        group = grp.getgrgid(mail_gid).gr_name if os.getuid() else "dovecot"
        for sub in ("mail", "home"):
            (self.root / sub).mkdir()
            os.chown(self.root / sub, mail_uid, mail_gid)
        return f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = pakn-test-{self.port}
log_path = {self.root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{self.root}/mail/%u
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {group}
first_valid_uid = 0
passdb {{
  driver = static
  args = password={IMAP_PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={self.root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""

    def start(self) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not os.path.exists(binary):
            pytest.fail("dovecot is not installed: apt-get install -y dovecot-imapd (see .ci/run)")
        for sub in ("run", "state"):
            (self.root / sub).mkdir(exist_ok=True)
        config = self.root / "dovecot.conf"
        config.write_text(self._config())
        self.proc = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {(self.root / 'dovecot.log').read_text(errors='replace')}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """Dovecot on a free local port, its configuration and maildirs in a temporary directory."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="pakn-dovecot-"))
    root.chmod(0o755)  # Dovecot's unprivileged processes traverse it
    server = Dovecot(root)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
