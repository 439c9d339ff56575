"""Real services for tests: Redis, PostgreSQL and SQLite, SMTP (aiosmtpd), RQ worker."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
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
from rq import SimpleWorker
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
    url: str = request.getfixturevalue("postgres_url")
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

@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis database of this test session's own (leased in database 0, released at the end)."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    admin = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    for number in REDIS_DATABASES:
        if admin.set(f"pakn-test-lease:{number}", token, nx=True, ex=4 * 3600):
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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        raw = envelope.original_content or envelope.content
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # as mail clients read it
        return "250 OK"


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
        retry_intervals=(1,),
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base=twilio.url,
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
def run_worker(settings: Settings) -> Iterator[Callable[[], None]]:
    """Run the real RQ SimpleWorker in burst mode on the test queue."""
    ctx = worker.configure(settings)

    def run() -> None:
        SimpleWorker([ctx.queue], connection=ctx.redis).work(burst=True, with_scheduler=True,
                                                              logging_level="WARNING")

    yield run
    ctx.engine.dispose()
