"""Fill a PostgreSQL database with a million realistic cases, fast (COPY), for the benchmarks.

    .venv/bin/python bench/million.py [--cases 1000000] [--url postgresql://…/pakn_million] [--keep]

Without ``--url`` a database ``pakn_million`` is (re)created on the local server and
migrated to head. What goes in, spread over four years (``created_at``):

- 40 agencies (ministries and provinces);
- cases on every channel with the statuses of a running service: most closed or
  answered, about 7% still open (triage, forwarded — a third of those overdue —,
  waiting for information, reopened), a few out of scope; 2% follow-ups of a disputed
  answer (``follows_id``) and 1% duplicates (``duplicate_of_id``); hotline cases keyed
  by 20 operators; a phone number shared by about 3 cases on average;
- one inbound message per case (the raw submission) and 2–4 events per case (its status
  changes); the published cases' ``publication`` rows; the code counters.

The secondary indexes are dropped before the COPY and built again after it (much faster
than maintaining them row by row), then ``VACUUM ANALYZE``. ``load(url, n)`` is the
function the other benchmarks call; ``case_rows()`` is the generator (tests use it too,
through ``tests.factories.realistic_cases``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gateway.codes import PaknCode  # noqa: E402
from gateway.constants import CaseStatus, Channel, EventKind  # noqa: E402
from gateway.models import new_token  # noqa: E402
from normalizer.text import match_key  # noqa: E402

S = CaseStatus
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/pakn_million"
AGENCIES = 40
OPERATORS = 20
SPAN = timedelta(days=4 * 365)
# status, weight (per 1000 cases)
STATUSES = ((S.closed, 560), (S.answered, 200), (S.published, 50), (S.out_of_scope, 50), (S.forwarded, 45),
            (S.triage, 15), (S.registered, 8), (S.needs_info, 8), (S.reopened, 4), (S.received, 2))
CHANNELS = ((Channel.web, 45), (Channel.sms, 25), (Channel.hotline, 15), (Channel.api, 8), (Channel.email, 5),
            (Channel.open311, 2))
NAMES = ("Nguyễn Thị Hồng Nhung", "Trần Văn Hùng", "Lê Minh Tuấn", "Phạm Thu Hà", "Hoàng Đức Anh", "Vũ Thị Lan",
         "Đặng Quốc Bảo", "Bùi Thanh Hương")
TITLES = ("Chậm cấp giấy chứng nhận quyền sử dụng đất", "Đường ngõ ngập nặng mỗi khi mưa",
          "Xã chậm xác nhận hồ sơ hưởng trợ cấp", "Cấp phép xây dựng quá hạn", "Rác thải tồn đọng ở chợ",
          "Đèn đường hỏng nhiều tháng", "Thủ tục đăng ký hộ kinh doanh rườm rà", "Tiếng ồn công trình ban đêm")
FIELDS = ("dat-dai", "xay-dung", "giao-thong", "moi-truong", "lao-dong", "y-te", "giao-duc", "cu-tru")


def agency_rows(now: datetime, count: int = AGENCIES) -> list[dict[str, Any]]:
    """The agencies the cases are routed to (ids 1…count)."""
    return [{"id": i, "code": f"co-quan-{i:02d}", "name": f"Cơ quan thử nghiệm {i:02d}",
             "emails": json.dumps([f"pakn@co-quan-{i:02d}.gov.example"]), "fields": json.dumps([FIELDS[i % 8]]),
             "vcard": "", "kind": "ministry" if i <= 20 else "province", "province": None if i <= 20 else f"P{i}",
             "active": True, "updated_at": now} for i in range(1, count + 1)]


@dataclass
class Rows:
    """One case and what hangs off it."""

    case: dict[str, Any]
    inbound: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    publication: dict[str, Any] | None = None


def _picker(table: tuple[tuple[Any, int], ...]) -> list[Any]:
    """A list to index with a uniform random number: each value as often as its weight."""
    return [value for value, weight in table for _ in range(weight)]


def case_rows(n: int, *, now: datetime, agencies: int = AGENCIES, seed: int = 7) -> Iterator[Rows]:
    """``n`` cases with ids 1…n in order of arrival over the last four years (deterministic for a seed)."""
    rng = random.Random(seed)
    start = now - SPAN
    step = SPAN / max(n, 1)
    seq: dict[int, int] = {}
    event_id = 0
    statuses, channels = _picker(STATUSES), _picker(CHANNELS)
    keys = {name: match_key(name)[:100] for name in NAMES}
    payloads = {t: json.dumps({"fields": {"title": t}}, ensure_ascii=False) for t in TITLES}
    phones = n // 3 + 10
    for i in range(1, n + 1):
        created = start + step * (i - 1) + timedelta(seconds=rng.random() * 30)
        status = statuses[int(rng.random() * len(statuses))]
        channel = channels[int(rng.random() * len(channels))]
        year = created.year % 100
        seq[year] = seq.get(year, 0) + 1
        coded = status != S.received
        routed = status in (S.forwarded, S.answered, S.published, S.reopened) or (
            status in (S.closed, S.needs_info) and rng.random() < 0.7)
        agency = rng.randint(1, agencies) if routed else None
        forwarded_at = created + timedelta(days=rng.randint(0, 3))
        due = forwarded_at + timedelta(days=20) if routed else None
        if status == S.forwarded and rng.random() < 0.35:  # overdue: forwarded long ago, still unanswered
            due = now - timedelta(days=rng.randint(1, 60))
        elif status in (S.forwarded, S.reopened, S.needs_info) and due is not None and due < now:
            due = now + timedelta(days=rng.randint(0, 19))
        answered = due - timedelta(days=rng.randint(-5, 15)) if due and status in (
            S.answered, S.published, S.closed, S.reopened) else None
        name = NAMES[i % len(NAMES)]
        phone = f"+849{int(rng.random() * phones):08d}"
        title = TITLES[i % len(TITLES)]
        case = {
            "id": i, "receipt": new_token(), "code": str(PaknCode(year, seq[year])) if coded else None,
            "channel": channel.value, "external_id": None, "status": status.value, "full_name": name,
            "name_key": keys[name], "email": f"nguoi{i}@example.com" if channel != Channel.sms else None,
            "phone": phone, "address": "Hà Nội", "title": f"{title} ({i})",
            "content": f"{title}. Đề nghị cơ quan có thẩm quyền xem xét, giải quyết (PAKN số {i}).",
            "created_at": created, "updated_at": answered or created, "registered_at": created if coded else None,
            "field": FIELDS[i % 8] if routed else None, "case_type": "hanh_vi" if routed else None,
            "classification": None, "agency_id": agency, "due_at": due, "answer": None, "answered_at": answered,
            "follows_id": None, "duplicate_of_id": None,
            "created_by": f"operator{i % OPERATORS + 1}" if channel == Channel.hotline else None,
            "field_hint": None, "rating": rng.randint(1, 5) if answered and rng.random() < 0.3 else None,
            "rated_at": None, "next_attempt_at": None, "attempts": 0, "last_error": None,
            "due_sequence": 1 if due else 0,
            "paused_at": created if status == S.needs_info else None, "remaining_days": None, "publish_consent": None,
        }
        if answered is not None:
            case["answer"] = "Cơ quan đã xem xét và trả lời như sau: đã chỉ đạo giải quyết dứt điểm."
        if i > 100 and rng.random() < 0.02:
            case["follows_id"] = rng.randint(1, i - 1)
        elif i > 100 and status == S.closed and rng.random() < 0.01:
            case["duplicate_of_id"] = rng.randint(1, i - 1)
        inbound = {"id": i, "channel": channel.value, "external_id": f"ext-{i}", "received_at": created,
                   "remote_addr": "203.0.113.7", "payload": payloads[title],
                   "accepted": True, "error": None, "case_id": i, "sender": phone if channel == Channel.sms else None,
                   "command": "PA" if channel == Channel.sms else None, "handled_at": created,
                   "next_attempt_at": None, "attempts": 0}
        rows = Rows(case, inbound)
        path = [S.registered] if coded else []
        if routed:
            path.append(S.forwarded)
        if status not in (S.received, S.registered, S.forwarded) and status not in path:
            path.append(status)
        previous: CaseStatus = S.received
        for k, to in enumerate(path):
            event_id += 1
            rows.events.append({"id": event_id, "case_id": i, "at": created + timedelta(hours=k),
                                "actor": "worker" if k == 0 else "dieu-phoi", "kind": EventKind.status.value,
                                "from_status": previous.value, "to_status": to.value, "note": None})
            previous = to
        if status == S.published:
            rows.publication = {"case_id": i, "status": "published", "title": case["title"], "content": case["content"],
                                "answer": case["answer"] or "", "search_text": case["title"].lower(),
                                "proposed_by": "dieu-phoi", "proposed_at": answered, "decided_by": "dieu-phoi",
                                "decided_at": answered, "reason": None, "published_at": answered}
        yield rows


# --- the loader ----------------------------------------------------------------------------

def _create_database(url: str) -> None:
    import psycopg

    admin, name = url.rsplit("/", 1)
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


TABLES = ("pakn_case", "inbound_message", "event", "publication", "agency")


def _secondary_indexes(conn: Any) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of TABLES that back no constraint."""
    return conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", (list(TABLES),)).fetchall()


def _copy(conn: Any, table: str, columns: list[str], rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
            count += 1
    return count


def load(url: str, n: int, *, create: bool = True, now: datetime | None = None, seed: int = 7,
         log: Any = print) -> dict[str, float]:
    """Fill the database at ``url`` (psycopg URL) with ``n`` cases; return what took how long (seconds)."""
    import psycopg

    from gateway.cli import upgrade

    now = now or datetime.now(UTC)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    if create:
        _create_database(url)
    upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
    timings["create and migrate"] = time.perf_counter() - began
    with psycopg.connect(url) as conn:
        indexes = _secondary_indexes(conn)
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        agencies = agency_rows(now)
        _copy(conn, "agency", list(agencies[0]), iter(agencies))
        t0 = time.perf_counter()
        case_cols = inbound_cols = event_cols = pub_cols = None
        with conn.cursor() as cur:
            # four COPY streams cannot be open on one connection at once: write the cases' satellites
            # to temporary buffers per batch and COPY them after each batch of cases.
            batch: list[Rows] = []

            def flush() -> None:
                nonlocal case_cols, inbound_cols, event_cols, pub_cols
                if not batch:
                    return
                case_cols = case_cols or list(batch[0].case)
                inbound_cols = inbound_cols or list(batch[0].inbound)
                _copy(conn, "pakn_case", case_cols, (r.case for r in batch))
                _copy(conn, "inbound_message", inbound_cols, (r.inbound for r in batch))
                events = [e for r in batch for e in r.events]
                if events:
                    event_cols = event_cols or list(events[0])
                    _copy(conn, "event", event_cols, iter(events))
                pubs = [r.publication for r in batch if r.publication]
                if pubs:
                    pub_cols = pub_cols or list(pubs[0])
                    _copy(conn, "publication", pub_cols, iter(pubs))
                batch.clear()

            for rows in case_rows(n, now=now, seed=seed):
                batch.append(rows)
                if len(batch) >= 20_000:
                    flush()
                    if rows.case["id"] % 100_000 == 0:
                        log(f"  {rows.case['id']:,} cases copied ({time.perf_counter() - t0:.0f} s)")
            flush()
            cur.execute("INSERT INTO code_counter (year, value) SELECT CAST(substr(code, 1, 2) AS int), "
                        "max(CAST(split_part(code, '-', 2) AS int)) FROM pakn_case WHERE code IS NOT NULL "
                        "GROUP BY 1")
            for table in ("pakn_case", "inbound_message", "event", "publication", "agency"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"GREATEST((SELECT max(id) FROM {table}), 1))")
        conn.commit()
        timings["COPY"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
        timings["build indexes"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    timings["VACUUM ANALYZE"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - began
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--url", default=DEFAULT_URL, help="psycopg URL of the database to (re)create")
    parser.add_argument("--no-create", action="store_true", help="load into an existing, migrated, empty database")
    args = parser.parse_args()
    timings = load(args.url, args.cases, create=not args.no_create)
    for step, seconds in timings.items():
        print(f"{step:<22} {seconds:8.1f} s")
    print(f"{args.cases:,} cases at {args.cases / timings['COPY']:,.0f} cases/s (COPY, with their inbound "
          "rows, events and publications)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
