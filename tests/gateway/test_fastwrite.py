"""Intake on PostgreSQL: one statement per request, durable, duplicates refused, dropped connections survived."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlmodel import Session, func, select

from channels.sms import parse_inbound
from config.settings import Settings
from gateway.db import new_session
from gateway.intake import receive_sms
from gateway.models import Case, Event, InboundMessage
from tests.conftest import PG_ADMIN_URL, emptied
from tests.gateway.test_api import KEY
from tests.test_sms import PA_TEXT, PHONE, _params, _signed_post


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """These tests are about PostgreSQL's round trips: PostgreSQL only, on empty tables."""
    return emptied(postgres_url)


class Statements:
    """Every statement the app's engine sends, and whether its connection was in autocommit."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.seen = engine, []

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.seen.append((statement, conn.connection.dbapi_connection.autocommit))


@pytest.fixture
def statements(app: Any) -> Iterator[Statements]:
    """Statements of the app's engine during the block."""
    with Statements(app.extensions["pakn"].engine) as recorded:
        yield recorded


def _sms(client: Any, settings: Settings, body: str, sid: str | None = None) -> Any:
    url = settings.public_base_url + "/sms/inbound"
    return _signed_post(client, url, "/sms/inbound", _params(body, sid=sid))


def _api_fields() -> dict[str, str]:
    return {"full_name": "Nguyễn Văn Bình", "phone": "0912345678", "address": "12 Tràng Tiền, Hà Nội",
            "title": "Chậm giải quyết hồ sơ đất đai", "content": "Hồ sơ nộp từ tháng trước đến nay chưa có kết quả."}


def test_a_pakn_text_is_one_autocommit_statement(client: Any, settings: Settings, statements: Statements,
                                                  db: Session) -> None:
    response = _sms(client, settings, PA_TEXT)
    assert response.status_code == 200
    assert len(statements.seen) == 1  # no pre-ping, no BEGIN/COMMIT: one round trip
    sql, autocommit = statements.seen[0]
    assert autocommit and "INSERT INTO pakn_case" in sql and "pg_notify" in sql
    assert db.exec(select(func.count()).select_from(Case)).one() == 1
    assert db.exec(select(func.count()).select_from(InboundMessage)).one() == 1
    assert db.exec(select(func.count()).select_from(Event)).one() == 1


def test_an_sms_command_is_one_autocommit_statement(client: Any, settings: Settings, statements: Statements,
                                                     db: Session) -> None:
    assert _sms(client, settings, "TC").status_code == 200
    assert [autocommit for _sql, autocommit in statements.seen] == [True]
    inbound = db.exec(select(InboundMessage)).one()
    assert inbound.accepted and inbound.command == "TC" and inbound.handled_at is None  # the worker's to do


def test_an_api_intake_is_one_autocommit_statement(client: Any, statements: Statements, db: Session) -> None:
    response = client.post("/api/v1/reports", json=_api_fields(), headers=KEY)
    assert response.status_code == 202, response.json
    assert len(statements.seen) == 1 and statements.seen[0][1]
    case = db.exec(select(Case)).one()
    assert case.receipt == response.json["receipt"] and case.status == "received"


def test_a_twilio_retry_answers_200_and_changes_nothing(client: Any, settings: Settings, db: Session) -> None:
    sid = f"SM{uuid.uuid4().hex}"
    for body in (PA_TEXT, PA_TEXT, "TC"):  # the same MessageSid three times (the last with another text)
        assert _sms(client, settings, body, sid=sid).status_code == 200
    assert db.exec(select(func.count()).select_from(Case)).one() == 1
    assert db.exec(select(func.count()).select_from(InboundMessage)).one() == 1
    assert db.exec(select(func.count()).select_from(Event)).one() == 1
    command_sid = f"SM{uuid.uuid4().hex}"
    for _ in range(2):
        assert _sms(client, settings, "TC", sid=command_sid).status_code == 200
    assert db.exec(select(func.count()).select_from(InboundMessage)).one() == 2


def test_an_api_idempotency_key_keeps_one_case(client: Any, db: Session) -> None:
    headers = {**KEY, "Idempotency-Key": "order-1"}
    first = client.post("/api/v1/reports", json=_api_fields(), headers=headers)
    second = client.post("/api/v1/reports", json=_api_fields(), headers=headers)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json["duplicate"] and second.json["receipt"] == first.json["receipt"]
    assert db.exec(select(func.count()).select_from(Case)).one() == 1


def test_a_free_text_joins_the_thread_of_a_pakn_text(client: Any, settings: Settings, db: Session) -> None:
    assert _sms(client, settings, PA_TEXT).status_code == 200
    assert _sms(client, settings, "Them: ho so nop ngay 5/3 tai bo phan mot cua").status_code == 200
    case = db.exec(select(Case)).one()  # the free text joined the case the PA text opened
    assert case.content.endswith("Them: ho so nop ngay 5/3 tai bo phan mot cua")


def _terminate_app_connections(database: str) -> int:
    """Kill every server session of the app's database but our own (as a failover or an admin would)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        killed = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchone()
    return int(killed[0]) if killed else 0


def test_a_dropped_connection_costs_no_intake_and_at_most_one_error(client: Any, settings: Settings,
                                                                      db: Session, statements: Statements) -> None:
    assert client.post("/api/v1/reports", json=_api_fields(), headers=KEY).status_code == 202  # pooled now
    assert _sms(client, settings, PA_TEXT).status_code == 200
    db.close()
    assert _terminate_app_connections(settings.database_url.rsplit("/", 1)[1]) >= 1
    # The intake write finds its pooled connection dead, reconnects and retries: no error at all.
    statements.seen.clear()
    assert client.post("/api/v1/reports", json=_api_fields(), headers=KEY).status_code == 202
    assert len(statements.seen) == 2  # sent on the dead connection, then on a new one
    assert _sms(client, settings, "TC").status_code == 200
    assert _terminate_app_connections(settings.database_url.rsplit("/", 1)[1]) >= 1
    # Any other page: the first request after the kill may fail cleanly (503), never the next one.
    statuses = [client.get("/api/v1/receipts/nope", headers=KEY).status_code for _ in range(3)]
    assert statuses[1:] == [404, 404] and statuses[0] in (404, 503)
    assert db.exec(select(func.count()).select_from(Case)).one() == 3


def test_a_command_stored_in_an_open_transaction_is_committed(app: Any, db: Session) -> None:
    with new_session(app.extensions["pakn"].engine) as session:
        session.exec(select(func.count()).select_from(Case)).one()  # a read: the session's transaction is open
        message = replace(parse_inbound({"MessageSid": f"SM{uuid.uuid4().hex}", "From": PHONE, "Body": "TC"}),
                          sender=PHONE)
        receipt = receive_sms(session, message=message)
    assert receipt.inbound_id is not None  # closing the session did not roll it back
    assert db.exec(select(InboundMessage.command)).one() == "TC"
