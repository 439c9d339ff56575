"""The one-statement intake writes (PostgreSQL) and the notification that goes with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from gateway.constants import WORK_CHANNEL, CaseStatus, EventKind
from gateway.db import autocommit_engine, is_disconnect

# Columns of pakn_case set at intake; the others keep their NULL or server defaults.
_CASE_COLUMNS = ("receipt", "channel", "external_id", "status", "full_name", "name_key", "email", "phone",
                 "address", "title", "content", "created_at", "updated_at", "created_by", "field_hint",
                 "publish_consent")

_INSERT_CASE = f"""
WITH c AS (
    INSERT INTO pakn_case ({", ".join(_CASE_COLUMNS)}, attempts, due_sequence)
    VALUES ({", ".join(f"%({name})s" for name in _CASE_COLUMNS)}, 0, 0)
    RETURNING id
), i AS (
    INSERT INTO inbound_message (channel, external_id, received_at, remote_addr, payload, accepted, case_id,
                                 sender, command, handled_at, attempts)
    SELECT %(channel)s, %(external_id)s, %(created_at)s, %(remote_addr)s, %(payload)s, true, c.id,
           %(sender)s, %(command)s, %(created_at)s, 0
    FROM c
    RETURNING id
), e AS (
    INSERT INTO event (case_id, at, actor, kind, to_status)
    SELECT c.id, %(created_at)s, %(actor)s, %(event_kind)s, %(status)s FROM c
)
SELECT c.id, i.id, pg_notify(%(notify_channel)s, %(work)s)::text{{lock}} FROM c CROSS JOIN i
"""
# An SMS case holds its phone's advisory lock until it commits: a free text from the same
# phone that looks for a thread under that lock (gateway.intake) then sees this case.
LOCK_PHONE = ", pg_advisory_xact_lock(hashtextextended(%(lock_key)s, 0))::text"

INSERT_CASE = _INSERT_CASE.replace("{lock}", "")
INSERT_CASE_LOCKED = _INSERT_CASE.replace("{lock}", LOCK_PHONE)

# An SMS command: stored once per MessageSid (the partial unique index on accepted rows).
INSERT_COMMAND = """
WITH i AS (
    INSERT INTO inbound_message (channel, external_id, received_at, remote_addr, payload, accepted, sender,
                                 command, attempts)
    VALUES (%(channel)s, %(external_id)s, %(received_at)s, %(remote_addr)s, %(payload)s, true, %(sender)s,
            %(command)s, 0)
    ON CONFLICT (channel, external_id) WHERE accepted DO NOTHING
    RETURNING id
)
SELECT i.id, pg_notify(%(notify_channel)s, %(work)s)::text FROM i
"""


@dataclass(frozen=True, slots=True)
class InboundRow:
    """The raw evidence of an accepted submission (the channel and external id are the case's)."""

    remote_addr: str | None
    payload: str
    sender: str | None = None
    command: str | None = None


def supported(session: Session) -> bool:
    """True on PostgreSQL (data-modifying CTEs, pg_notify); SQLite keeps the ORM path."""
    return session.get_bind().dialect.name == "postgresql"


def insert_case(session: Session, *, values: Mapping[str, Any], inbound: InboundRow, actor: str, at: datetime,
                autocommit: bool, lock_key: str | None = None) -> int:
    """Insert a case (``values``: receipt, channel, … as in :data:`_CASE_COLUMNS`), its inbound row
    and its event; returns the case id.

    ``autocommit``: the statement is its own transaction, committed when this returns
    (the session must have no transaction open). Otherwise it joins the session's
    transaction and the caller commits. ``lock_key``: a phone whose advisory lock the
    statement takes and holds until commit. Raises IntegrityError on a duplicate
    external id.
    """
    params: dict[str, Any] = {name: values.get(name) for name in _CASE_COLUMNS}
    params.update(
        channel=str(values["channel"]), status=CaseStatus.received.value, created_at=at, updated_at=at,
        remote_addr=inbound.remote_addr, payload=inbound.payload, sender=inbound.sender, command=inbound.command,
        actor=actor, event_kind=EventKind.status.value, notify_channel=WORK_CHANNEL, work="case", lock_key=lock_key,
    )
    sql = INSERT_CASE if lock_key is None else INSERT_CASE_LOCKED
    row = _execute(session, sql, params, autocommit=autocommit)
    assert row is not None  # an INSERT … VALUES returns its row or raises
    return int(row[0])


def insert_command(session: Session, *, channel: str, external_id: str | None, inbound: InboundRow,
                   at: datetime) -> int | None:
    """Store an accepted SMS command, committed when this returns; None when its id was already accepted.

    One autocommit statement, or (a transaction already open on ``session``) in that
    transaction, which is then committed.
    """
    params = {"channel": channel, "external_id": external_id, "received_at": at, "remote_addr": inbound.remote_addr,
              "payload": inbound.payload, "sender": inbound.sender, "command": inbound.command,
              "notify_channel": WORK_CHANNEL, "work": "sms"}
    alone = not session.in_transaction()
    row = _execute(session, INSERT_COMMAND, params, autocommit=alone)
    if not alone:  # it joined the session's open transaction: commit it, as promised
        session.commit()
    return None if row is None else int(row[0])


def notify(session: Session, work: str) -> None:
    """Add a notification for the dispatcher to the session's transaction (sent at commit; PostgreSQL only)."""
    if supported(session):
        session.connection().exec_driver_sql("SELECT pg_notify(%(c)s, %(w)s)", {"c": WORK_CHANNEL, "w": work})


def _execute(session: Session, sql: str, params: dict[str, Any], *, autocommit: bool) -> Row[Any] | None:
    """Run ``sql`` once, in autocommit or in the session's transaction, and return its first row.

    In autocommit, a connection the server dropped (found on first use: the pool does
    not pre-ping) is replaced and the statement sent once more. Almost always the
    first attempt never reached a live server session; if the server did commit it
    just before the connection broke, an external id (MessageSid, Idempotency-Key,
    the form's submission key) turns the second attempt into a duplicate answer.
    """
    if not autocommit:
        return session.connection().exec_driver_sql(sql, params).first()
    engine = autocommit_engine(session.get_bind())  # the session's pool, without its transaction machinery
    for attempt in (1, 2):
        try:
            with engine.connect() as connection:
                return connection.exec_driver_sql(sql, params).first()
        except DBAPIError as exc:
            if attempt == 1 and is_disconnect(exc):
                continue
            raise
    raise AssertionError("unreachable")
