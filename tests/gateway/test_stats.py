"""Statistics of a generated quarter whose true figures the test knows, on PostgreSQL and SQLite."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from gateway.clock.calendar import default_calendar, local_date
from gateway.constants import CaseStatus, Channel, PublicationStatus
from gateway.exceptions import PeriodError
from gateway.models import Agency
from gateway.stats import periods
from gateway.stats.compute import Stats, compute
from gateway.stats.report import narrative, vn_number, vn_percent
from tests.factories import insert_cases

Q3 = periods.parse_quarter("2026-Q3")
AS_OF = datetime(2026, 10, 5, 3, 0, tzinfo=UTC)
AGENCIES = ("bo-nong-nghiep-moi-truong", "bo-xay-dung", "bo-noi-vu")
FIELDS = ("dat-dai", "moi-truong", "lao-dong", "xay-dung", None)
TYPES = ("hanh_vi", "quy_dinh", "sang_kien", None)


@dataclass
class Truth:
    """What the generator made, counted in Python."""

    received: int = 0
    channels: Counter[str] = field(default_factory=Counter)
    oos: int = 0
    unclassified: int = 0
    in_scope: int = 0
    types: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    per_agency: dict[str, Counter[str]] = field(default_factory=dict)
    days: dict[str, list[int]] = field(default_factory=dict)  # working days to answer
    ratings: dict[str, list[int]] = field(default_factory=dict)
    published: int = 0


def _agencies(db: Session) -> dict[str, int]:
    ids = {}
    for code in AGENCIES:
        agency = Agency(code=code, name=f"Cơ quan {code}", emails='["a@b.vn"]', fields="[]", vcard="")
        db.add(agency)
        db.flush()
        ids[code] = agency.id
    db.commit()
    return ids


def generate(db: Session, count: int, seed: int = 7) -> Truth:
    """``count`` cases in Q3/2026 plus decoys outside it and follow-ups; the truth about Q3."""
    rng = random.Random(seed)
    agency_ids = _agencies(db)
    truth = Truth(per_agency={code: Counter() for code in AGENCIES}, days={code: [] for code in AGENCIES},
                  ratings={code: [] for code in AGENCIES})
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    publications: list[dict[str, Any]] = []
    span = (Q3.end - Q3.start).total_seconds()
    next_id = 100_000

    def add(created: datetime, inside: bool) -> None:
        nonlocal next_id
        next_id += 1
        cid = next_id
        channel = rng.choice(list(Channel))
        row: dict[str, Any] = {"id": cid, "channel": channel, "created_at": created,
                               "case_type": rng.choice(TYPES), "field": rng.choice(FIELDS)}
        roll = rng.random()
        if roll < 0.55:
            kind = "oos"
            row["status"] = CaseStatus.closed
            events.append({"case_id": cid, "at": created, "to_status": CaseStatus.out_of_scope})
        elif roll < 0.57:
            kind, row["status"] = "unclassified", rng.choice([CaseStatus.received, CaseStatus.registered])
        elif roll < 0.75:
            kind, row["status"] = "needs_info", CaseStatus.needs_info
        elif roll < 0.78:
            kind, row["status"] = "triage", CaseStatus.triage
        elif roll < 0.80:
            kind, row["status"] = "closed", CaseStatus.closed
        else:
            kind = "forwarded"
        if kind == "forwarded":
            code = rng.choice(AGENCIES)
            row["agency_id"], row["due_at"] = agency_ids[code], created + timedelta(days=20)
            events.append({"case_id": cid, "at": created, "to_status": CaseStatus.forwarded})
            answered = rng.random() < 0.6
            row["status"] = CaseStatus.forwarded
            if answered:
                days = rng.uniform(0.5, 35)
                row["answered_at"], row["status"] = created + timedelta(days=days), CaseStatus.answered
                if inside:
                    truth.per_agency[code]["answered"] += 1
                    truth.per_agency[code]["on_time" if days <= 20 else "late"] += 1
                    truth.days[code].append(default_calendar().working_days_between(
                        local_date(created), local_date(row["answered_at"])))  # the clock's own count
                if rng.random() < 0.4:
                    row["rating"] = rng.randint(1, 5)
                    if inside:
                        truth.ratings[code].append(row["rating"])
                if rng.random() < 0.1:
                    row["status"] = CaseStatus.reopened
                    events.append({"case_id": cid, "at": row["answered_at"], "to_status": CaseStatus.reopened})
                    if inside:
                        truth.per_agency[code]["disputed"] += 1
                elif rng.random() < 0.2:
                    row["status"] = CaseStatus.published
                    publications.append({"case_id": cid, "status": PublicationStatus.published, "title": "t",
                                         "content": "c", "answer": "a", "proposed_at": row["answered_at"],
                                         "published_at": row["answered_at"]})
                    truth.published += inside
            elif inside:
                truth.per_agency[code]["pending"] += 1
                truth.per_agency[code]["overdue"] += row["due_at"] < AS_OF
            if inside:
                truth.per_agency[code]["forwarded"] += 1
        cases.append(row)
        if not inside:
            return
        truth.received += 1
        truth.channels[channel.value] += 1
        if kind == "oos":
            truth.oos += 1
        elif kind == "unclassified":
            truth.unclassified += 1
        else:
            truth.in_scope += 1
            truth.types[row["case_type"] or ""] += 1
            truth.fields[row["field"] or ""] += 1
            truth.states[kind] += 1

    # the quarter's edges, in Vietnam time: 1 July 00:00 is in, 30 September 24:00 is out
    add(Q3.start, True)
    add(Q3.end - timedelta(microseconds=1), True)
    add(Q3.start - timedelta(seconds=1), False)
    add(Q3.end, False)
    for _ in range(count):
        add(Q3.start + timedelta(seconds=rng.uniform(0, span - 1)), True)
    for _ in range(50):
        add(Q3.start - timedelta(days=rng.uniform(1, 80)), False)
    # follow-ups of disputed answers are not new PAKN
    for i in range(20):
        next_id += 1
        cases.append({"id": next_id, "channel": Channel.web, "status": CaseStatus.forwarded,
                      "created_at": Q3.start + timedelta(days=30 + i), "follows_id": 100_001})
    insert_cases(db, cases, events, publications)
    return truth


def check(stats: Stats, truth: Truth) -> None:
    """Every figure equals the truth."""
    assert stats.received == truth.received
    assert {c.key: c.count for c in stats.by_channel} == dict(truth.channels)
    assert stats.out_of_scope == truth.oos
    assert stats.unclassified == truth.unclassified
    assert stats.in_scope == truth.in_scope == truth.received - truth.oos - truth.unclassified
    assert {c.key: c.count for c in stats.by_type} == dict(truth.types)
    assert {c.key: c.count for c in stats.by_field} == dict(truth.fields)
    for row in stats.by_type + stats.by_field:
        assert row.share == round(100 * row.count / truth.in_scope, 2)
    assert stats.forwarded == truth.states["forwarded"]
    assert stats.needs_info == truth.states["needs_info"]
    assert stats.triage == truth.states["triage"]
    assert stats.closed_unforwarded == truth.states["closed"]
    agencies = {row.code: row for row in stats.agencies}
    assert set(agencies) == set(AGENCIES)
    for code in AGENCIES:
        row, want = agencies[code], truth.per_agency[code]
        assert (row.forwarded, row.answered, row.on_time, row.late, row.pending, row.overdue, row.disagreements) == (
            want["forwarded"], want["answered"], want["on_time"], want["late"], want["pending"], want["overdue"],
            want["disputed"]), code
        assert row.median_days == pytest.approx(statistics.median(truth.days[code]), abs=0.051)
        assert row.rated == len(truth.ratings[code])
        assert row.rating_avg == pytest.approx(statistics.mean(truth.ratings[code]), abs=0.006)
    all_days = [d for code in AGENCIES for d in truth.days[code]]
    assert stats.median_days == pytest.approx(statistics.median(all_days), abs=0.051)
    assert stats.answered == sum(truth.per_agency[c]["answered"] for c in AGENCIES)
    assert stats.overdue == sum(truth.per_agency[c]["overdue"] for c in AGENCIES)
    assert stats.disagreements == sum(truth.per_agency[c]["disputed"] for c in AGENCIES)
    assert stats.published == truth.published
    assert sum(w.count for w in stats.weeks) == truth.received
    assert len(stats.weeks) == 14  # 92 days


def test_a_generated_quarter_counts_exactly(db: Session) -> None:
    truth = generate(db, 3000)
    stats = compute(db, period=Q3, as_of=AS_OF)
    check(stats, truth)
    text = narrative(stats)
    assert text.startswith("Trong Quý III/2026, ")
    assert (f"tiếp nhận {vn_number(stats.in_scope)}/{vn_number(truth.received)} PAKN thuộc phạm vi xem xét, "
            "xử lý") in text
    hanh_vi = truth.types["hanh_vi"]
    assert (f"PAKN về hành vi hành chính chiếm {vn_percent(hanh_vi, truth.in_scope)} "
            f"({vn_number(hanh_vi)}/{vn_number(truth.in_scope)})") in text
    assert f"đã phân loại và chuyển {vn_number(stats.forwarded)}/{vn_number(truth.in_scope)} PAKN" in text
    assert f"còn lại {vn_number(truth.states['needs_info'])} PAKN đang đề nghị người dân cung cấp bổ sung" in text
    answered = stats.answered
    assert (f"đã xem xét, trả lời được {vn_number(answered)}/{vn_number(stats.forwarded)} PAKN, chiếm "
            f"{vn_percent(answered, stats.forwarded)}") in text


@pytest.mark.parametrize(("received", "answered"), [
    (datetime(2025, 12, 30, 16, 59, tzinfo=UTC), datetime(2026, 2, 26, 2, 0, tzinfo=UTC)),  # 23:59 in Vietnam; Tết
    (datetime(2025, 12, 31, 17, 0, tzinfo=UTC), datetime(2026, 1, 5, 1, 0, tzinfo=UTC)),  # 1 Jan, New Year's Day
])
def test_working_days_to_answer_count_the_holidays_after_as_of(db: Session, received: datetime,
                                                              answered: datetime) -> None:
    """An answer later than ``as_of`` still has its holidays taken out (Tết 2026 is after the quarter)."""
    agency = _agencies(db)["bo-xay-dung"]
    insert_cases(db, [{"id": 1, "channel": Channel.web, "status": CaseStatus.answered, "created_at": received,
                       "agency_id": agency, "due_at": received + timedelta(days=20), "answered_at": answered}],
                 [{"case_id": 1, "at": received, "to_status": CaseStatus.forwarded}])
    period = periods.quarter_of(received)
    stats = compute(db, period=period, as_of=period.end)
    expected = default_calendar().working_days_between(local_date(received), local_date(answered))
    assert expected < (local_date(answered) - local_date(received)).days  # days off in between
    assert stats.median_days == expected
    assert [a.median_days for a in stats.agencies] == [expected]


def test_an_empty_period_has_zeros_not_errors(db: Session) -> None:
    stats = compute(db, period=periods.parse_quarter("2025-Q1"), as_of=AS_OF)
    assert (stats.received, stats.in_scope, stats.median_days, stats.agencies) == (0, 0, None, [])
    assert "Trong Quý I/2025" in narrative(stats)


def test_periods_and_vietnamese_numbers() -> None:
    assert Q3.label == "Quý III/2026"
    assert Q3.start == datetime(2026, 6, 30, 17, 0, tzinfo=UTC)
    assert (Q3.first_day.isoformat(), Q3.last_day.isoformat()) == ("2026-07-01", "2026-09-30")
    assert periods.parse_quarter("2026q4").label == "Quý IV/2026"
    for bad in ("2026-Q5", "Q3", "2026-07", ""):
        with pytest.raises(PeriodError):
            periods.parse_quarter(bad)
    assert vn_number(4302) == "4.302"
    assert vn_percent(658, 808) == "81,44%"
    assert vn_percent(150, 808) == "18,56%"
    assert vn_percent(0, 0) == "0%"
