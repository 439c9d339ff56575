"""gateway.db's bulk insert: COPY on PostgreSQL writes exactly what an INSERT writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from gateway.constants import CaseStatus, Channel, EventKind
from gateway.db import copy_insert, is_disconnect, new_session, read_session
from gateway.exceptions import ReadOnlySessionError
from gateway.models import Case, Event, InboundMessage

AWKWARD = "Tab\there, new\nline, back\\slash \\N, quote \" ' and ; Nguyễn Thị Ánh — đã nhận \u00a0."
AT = datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC)


def _cases(prefix: str) -> list[dict[str, Any]]:
    """Rows with the columns the call-log import gives (the rest come from the columns' defaults)."""
    return [dict(receipt=f"{prefix}{i:03d}", channel=Channel.hotline, external_id=f"{prefix}-{i}",
                 full_name=AWKWARD if i == 0 else f"Trần Văn {i}", name_key=f"tran van {i}",
                 email=None if i % 2 else f"a{i}@example.vn", phone="+84912000001", address="Hà Nội",
                 title="Phản ánh", content=AWKWARD, created_by=None if i % 3 else "op1",
                 publish_consent=(None, True, False)[i % 3]) for i in range(6)]


def _read(engine: Engine, table: sa.Table, where: Any) -> list[dict[str, Any]]:
    skip = {"id", "receipt", "external_id", "case_id", "created_at", "updated_at", "received_at"}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).where(where).order_by(table.c.id)).mappings().all()
    return [{k: v for k, v in row.items() if k not in skip} for row in rows]


def test_copy_writes_what_insert_writes(engine: Engine) -> None:
    table: sa.Table = Case.__table__  # type: ignore[attr-defined]
    before = datetime.now(UTC)
    with new_session(engine) as session:
        copy_insert(session, table, _cases("c"))
        session.execute(sa.insert(table), _cases("i"))
        session.commit()
    copied = _read(engine, table, table.c.receipt.like("c%"))
    inserted = _read(engine, table, table.c.receipt.like("i%"))
    assert copied == inserted and len(copied) == 6
    assert copied[0]["content"] == AWKWARD and copied[0]["status"] == CaseStatus.received  # default, by value
    assert [r["publish_consent"] for r in copied] == [None, True, False] * 2 and copied[0]["attempts"] == 0
    with engine.connect() as conn:
        stamps = conn.execute(sa.select(table.c.created_at, table.c.updated_at)
                              .where(table.c.receipt.like("c%"))).all()
        channels = conn.execute(sa.text("SELECT DISTINCT channel FROM pakn_case")).scalars().all()
    assert all(before <= c <= datetime.now(UTC) and c.tzinfo for c, _u in stamps)  # the callable defaults
    assert channels == ["hotline"]  # stored as the enum's value, as the ORM stores it


def test_copy_of_enums_timestamps_and_booleans_in_other_tables(engine: Engine) -> None:
    cases: sa.Table = Case.__table__  # type: ignore[attr-defined]
    with new_session(engine) as session:
        copy_insert(session, cases, _cases("c")[:1])
        case_id = session.execute(sa.select(cases.c.id)).scalar_one()
        event = [dict(case_id=case_id, at=AT, actor="op1", kind=EventKind.status, to_status=CaseStatus.received)]

        def inbound(prefix: str) -> list[dict[str, Any]]:
            return [dict(channel=Channel.hotline, external_id=f"{prefix}{i}", payload=AWKWARD, accepted=bool(i),
                         error=None if i else '{"phone": ["Số điện thoại không hợp lệ"]}', case_id=None,
                         handled_at=AT if i else None) for i in range(2)]

        copy_insert(session, Event.__table__, event)  # type: ignore[attr-defined]
        copy_insert(session, InboundMessage.__table__, inbound("c"))  # type: ignore[attr-defined]
        session.execute(sa.insert(Event.__table__), event)  # type: ignore[attr-defined]
        session.execute(sa.insert(InboundMessage.__table__), inbound("i"))  # type: ignore[attr-defined]
        session.commit()
    events = _read(engine, Event.__table__, sa.true())  # type: ignore[attr-defined]
    messages = _read(engine, InboundMessage.__table__, sa.true())  # type: ignore[attr-defined]
    assert events[0] == events[1] and events[0]["at"] == AT and events[0]["from_status"] is None
    assert messages[:2] == messages[2:] and messages[1]["handled_at"] == AT and messages[0]["accepted"] is False


def test_a_duplicate_in_a_copy_is_an_integrity_error_and_the_session_goes_on(engine: Engine) -> None:
    table: sa.Table = Case.__table__  # type: ignore[attr-defined]
    rows = _cases("c")
    with new_session(engine) as session:
        copy_insert(session, table, rows[:2])
        session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            copy_insert(session, table, rows[1:4])  # rows[1] again: the whole COPY is refused
        session.rollback()
        copy_insert(session, table, rows[2:4])
        session.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.select(table.c.receipt).order_by(table.c.id)).scalars().all() == [
            "c000", "c001", "c002", "c003"]


def test_nothing_to_copy_sends_nothing(engine: Engine) -> None:
    with new_session(engine) as session:
        copy_insert(session, Case.__table__, [])  # type: ignore[attr-defined]
        assert not session.in_transaction()


def test_copy_refuses_a_naive_timestamp_as_insert_does(engine: Engine) -> None:
    """The columns' bind processing runs (UTCDateTime refuses a datetime without a zone)."""
    row = dict(case_id=None, at=datetime(2026, 11, 23, 8, 0), actor="op1", kind=EventKind.status)
    refused = (ValueError, sa.exc.StatementError)  # SQLAlchemy wraps the ValueError of its own processing
    with new_session(engine) as session, pytest.raises(refused, match="naive"):
        session.execute(sa.insert(Event.__table__), [row])  # type: ignore[attr-defined]
    with new_session(engine) as session, pytest.raises(refused, match="naive"):
        copy_insert(session, Event.__table__, [row])  # type: ignore[attr-defined]


def test_a_read_session_does_not_copy(engine: Engine) -> None:
    with read_session(engine) as session, pytest.raises(ReadOnlySessionError):
        copy_insert(session, Case.__table__, _cases("c"))  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Case.__table__)).scalar() == 0  # type: ignore


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_default_the_database_computes_is_refused_before_anything_is_sent(engine: Engine) -> None:
    table = sa.Table("not_there", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("at", sa.DateTime, default=sa.func.now()), sa.Column("note", sa.Text))
    with new_session(engine) as session, pytest.raises(TypeError, match="at's default is SQL"):
        copy_insert(session, table, [{"note": "x"}])


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_lost_during_a_copy_is_invalidated_and_the_next_one_works(engine: Engine) -> None:
    """The server ends the session (a restart, a failover): SQLAlchemy's error, and the pool forgets it."""
    with new_session(engine) as session:
        pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
        with pytest.raises(sa.exc.DBAPIError) as lost:
            copy_insert(session, Case.__table__, _cases("c"))  # type: ignore[attr-defined]
        assert is_disconnect(lost.value) and isinstance(lost.value, sa.exc.OperationalError)
        session.rollback()
        copy_insert(session, Case.__table__, _cases("d"))  # type: ignore[attr-defined]
        session.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Case.__table__)).scalar() == 6  # type: ignore
