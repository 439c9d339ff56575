"""Claiming pending rows with leases, and backing off failed ones (real SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway.constants import CaseStatus, Channel, OutboundStatus
from gateway.db import make_engine, new_session
from gateway.dispatch import backoff, claim, pending_counts, record_failure
from gateway.dispatch.work import CASES, MESSAGES, TEXTS
from gateway.models import Case, InboundMessage, OutboundMessage, utcnow
from tests.factories import VALID_FIELDS


def _cases(db: Session, count: int, status: CaseStatus = CaseStatus.received) -> list[int]:
    rows = [Case(channel=Channel.web, full_name="Nguyễn An", name_key="nguyen an", phone="+84912345678",
                 address=VALID_FIELDS["address"], title=f"Phản ánh {i}", content=VALID_FIELDS["content"],
                 status=status) for i in range(count)]
    db.add_all(rows)
    db.commit()
    return [r.id for r in rows if r.id is not None]


def test_claim_takes_pending_rows_oldest_first_and_leases_them(db: Session) -> None:
    ids = _cases(db, 5)
    _cases(db, 2, CaseStatus.triage)  # not work for the worker
    now = utcnow()
    assert claim(db, CASES, now=now, limit=3) == ids[:3]
    assert claim(db, CASES, now=now, limit=10) == ids[3:]
    db.commit()
    assert claim(db, CASES, now=now + timedelta(seconds=29), limit=10) == []  # leased
    assert claim(db, CASES, now=now + CASES.lease + timedelta(seconds=1), limit=10) == ids  # lease over


def test_claim_among_given_ids_only(db: Session) -> None:
    ids = _cases(db, 4)
    assert claim(db, CASES, now=utcnow(), limit=10, ids=[ids[1], ids[3]]) == [ids[1], ids[3]]
    assert claim(db, CASES, now=utcnow(), limit=10, ids=[]) == []


def test_each_kind_knows_its_pending_rows(db: Session) -> None:
    case_id = _cases(db, 1)[0]
    db.add_all([
        InboundMessage(channel=Channel.sms, external_id="SM1", payload="{}", accepted=True, sender="+84912345678"),
        InboundMessage(channel=Channel.sms, external_id="SM2", payload="{}", accepted=False),  # refused
        InboundMessage(channel=Channel.web, payload="{}", accepted=True, case_id=case_id, handled_at=utcnow()),
        OutboundMessage(idempotency_key="a", channel=Channel.email, purpose="ack", recipient="x@example.com",
                        body="b"),
        OutboundMessage(idempotency_key="b", channel=Channel.email, purpose="ack", recipient="x@example.com",
                        body="b", status=OutboundStatus.sent),
    ])
    db.commit()
    now = utcnow()
    assert len(claim(db, TEXTS, now=now, limit=10)) == 1
    assert len(claim(db, MESSAGES, now=now, limit=10)) == 1
    counts = pending_counts(db, now=now + timedelta(seconds=5))
    assert {name: count for name, (count, _age) in counts.items()} == {"sms": 1, "case": 1, "message": 1}
    assert counts["case"][1] >= 5  # ready, waiting since it was created
    assert counts["sms"][1] == counts["message"][1] == 0  # leased to a job: not late
    later = pending_counts(db, now=now + MESSAGES.lease + timedelta(seconds=5))
    assert all(age >= 5 for _count, age in later.values())  # the leases ran out: waiting since then


def test_a_failure_backs_off_exponentially(db: Session) -> None:
    case_id = _cases(db, 1)[0]
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30) == timedelta(hours=1)
    now = utcnow()
    assert record_failure(db, CASES, row_id=case_id, error="boom", now=now) == 1
    assert record_failure(db, CASES, row_id=case_id, error="boom again", now=now) == 2
    case = db.get(Case, case_id)
    assert case is not None
    db.refresh(case)
    assert case.last_error == "boom again" and case.next_attempt_at == now + timedelta(seconds=20)
    assert claim(db, CASES, now=now + timedelta(seconds=19), limit=1) == []
    assert claim(db, CASES, now=now + timedelta(seconds=21), limit=1) == [case_id]
    assert record_failure(db, CASES, row_id=10**9, error="gone") == 0


def _claim_in_thread(engine: Engine, results: list[list[int]], barrier: threading.Barrier) -> None:
    with new_session(engine) as session:
        barrier.wait()
        results.append(claim(session, CASES, now=utcnow(), limit=60))
        session.commit()


@pytest.mark.parametrize("dispatchers", [4])
def test_concurrent_dispatchers_never_claim_the_same_row(db: Session, settings: object, engine: Engine,
                                                         dispatchers: int) -> None:
    ids = _cases(db, 200)
    url = engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(dispatchers)]
    results: list[list[int]] = []
    barrier = threading.Barrier(dispatchers)
    threads = [threading.Thread(target=_claim_in_thread, args=(e, results, barrier)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    claimed = [i for batch in results for i in batch]
    assert len(claimed) == len(set(claimed))  # nobody twice
    assert set(claimed) <= set(ids) and len(claimed) == min(200, 60 * dispatchers)
    for e in engines:
        e.dispose()
    leased = db.exec(select(Case.id).where(Case.next_attempt_at.is_not(None))).all()  # type: ignore[union-attr]
    assert sorted(leased) == sorted(claimed)
