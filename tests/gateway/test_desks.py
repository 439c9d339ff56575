"""The desks page (keyset, 50 rows) and cost the same SQL at 100 and at 10,000 cases."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from gateway.clock.calendar import local_date
from gateway.desks import lists, paging
from gateway.models import CallBack, Case, utcnow
from tests.factories import login, make_staff, realistic_cases

PHONE = "+84912000111"
ROWS = re.compile(r'<tr(?: class="[^"]*")?>\s*<td class="(?:case-code|nowrap)"')
CASE_LINK = re.compile(r'href="/(?:coordinator|agency)/cases/(\d+)"')


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while inside."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = app.extensions["pakn"].engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _empty(db: Session) -> None:
    for table in ("callback", "publication", "event", "inbound_message", "pakn_case"):
        db.execute(sa.text(f"DELETE FROM {table}"))
    db.commit()


def _fill(db: Session, n: int) -> None:
    """``n`` realistic cases, plus 60 calls keyed today by operator1 from PHONE and 60 open call-backs."""
    realistic_cases(db, n)
    now = utcnow()
    midnight = lists.start_of_day(local_date(now))  # the desk's "today" is Vietnam's (UTC+7) day

    def today(i: int) -> datetime:  # the i-th latest of 60 moments since midnight (a run at 00:30 included)
        return midnight + (now - midnight) * (60 - i) / 60
    base = n + 1
    db.execute(sa.insert(Case), [
        {"id": base + i, "receipt": f"r-{base + i}", "channel": "hotline", "status": "received",
         "full_name": "Trần Văn Hùng", "name_key": "tran van hung", "phone": PHONE, "address": "Huế",
         "title": f"Cuộc gọi {i}", "content": "Nội dung", "created_at": today(i),
         "updated_at": now, "created_by": "operator1", "attempts": 0, "due_sequence": 0} for i in range(60)])
    db.execute(sa.insert(CallBack), [{"key": f"cb-{i}", "phone": PHONE, "reason": "Không nghe máy",
                                      "created_at": now - timedelta(minutes=i), "attempts": 0} for i in range(60)])
    if db.get_bind().dialect.name == "postgresql":
        db.execute(sa.text("SELECT setval(pg_get_serial_sequence('pakn_case', 'id'), (SELECT max(id) FROM pakn_case))"))
    db.commit()


DESKS = (("coordinator", "/coordinator/"), ("agency", "/agency/"), ("admin", "/agency/"),
         ("operator", "/hotline/"), ("operator", "/hotline/callbacks"), ("operator", f"/hotline/search?phone={PHONE}"))


@pytest.fixture
def staff(app: Any, db: Session) -> dict[str, Any]:
    clients = {}
    for role in ("coordinator", "agency", "admin", "operator"):
        make_staff(db, role)
        clients[role] = app.test_client()
        login(clients[role], role)
    return clients


def _measure(app: Any, staff: dict[str, Any]) -> dict[str, tuple[int, int, bool]]:
    """Per desk: statements sent, rows shown, whether a next page is offered."""
    out = {}
    for role, path in DESKS:
        with statements(app) as seen:
            response = staff[role].get(path)
        assert response.status_code == 200, (path, response.text[:500])
        out[f"{role} {path}"] = (len(seen), len(ROWS.findall(response.text)), "Trang sau" in response.text)
    return out


def test_desks_send_as_many_statements_at_10000_cases_as_at_100(app: Any, staff: dict[str, Any],
                                                                db: Session) -> None:
    _fill(db, 100)
    small = _measure(app, staff)
    _empty(db)
    _fill(db, 10_000)
    large = _measure(app, staff)
    for desk, (count, shown, _) in large.items():
        assert count <= small[desk][0], f"{desk}: {small[desk][0]} statements at 100 cases, {count} at 10,000"
        assert count <= 25, f"{desk}: {count} statements"
        assert shown <= paging.PAGE_SIZE, f"{desk}: {shown} rows on one page"
    # the big lists are long enough to page
    for desk in ("coordinator /coordinator/", "admin /agency/", "operator /hotline/", "operator /hotline/callbacks"):
        assert large[desk][1] == paging.PAGE_SIZE and large[desk][2], (desk, large[desk])


def _walk(client: Any, path: str, texts: list[str] | None = None) -> list[list[int]]:
    """Follow "Trang sau" from the first page to the last: each page's case ids (and table in ``texts``)."""
    pages = []
    while True:
        response = client.get(path)
        assert response.status_code == 200
        table = response.text.split("<table id=")[1].split("</table>")[0]
        pages.append([int(i) for i in CASE_LINK.findall(table)])
        if texts is not None:
            texts.append(table)
        found = re.search(r'<a rel="next" href="([^"]+)"', response.text)
        if not found:
            return pages
        path = found.group(1).replace("&amp;", "&")


def test_the_queue_pages_through_every_case_once_triage_then_overdue(app: Any, staff: dict[str, Any],
                                                                    db: Session) -> None:
    _fill(db, 3000)
    pages = _walk(staff["coordinator"], "/coordinator/")
    seen = [i for page in pages for i in page]
    midnight = lists.start_of_day(local_date(utcnow()))
    wanted = db.execute(sa.select(Case.id, Case.status, Case.due_at, Case.created_at)  # type: ignore[call-overload]
                        .where(Case.status.in_(lists.QUEUE_STATUSES))).all()  # type: ignore[attr-defined]
    assert len(pages) > 2 and all(len(p) == paging.PAGE_SIZE for p in pages[:-1])
    assert sorted(seen) == sorted(row.id for row in wanted)  # every case once, none twice
    rank = {row.id: (0 if row.status == "triage" else 1 if row.status == "forwarded" and row.due_at
                     and row.due_at < midnight else 2) for row in wanted}
    ranks = [rank[i] for i in seen]
    assert ranks == sorted(ranks), "triage first, then overdue, then the rest"
    # "Trang trước" from the second page gives the first page back
    second = staff["coordinator"].get("/coordinator/?after=" + re.search(
        r'after=([^"&]+)', staff["coordinator"].get("/coordinator/").text).group(1))  # type: ignore[union-attr]
    back = re.search(r'<a rel="prev" href="([^"]+)"', second.text)
    assert back is not None and "Trang trước" in second.text
    first_again = staff["coordinator"].get(back.group(1).replace("&amp;", "&")).text
    assert [int(i) for i in CASE_LINK.findall(first_again.split('<table id="queue"')[1])][:paging.PAGE_SIZE] == pages[0]


def test_the_agency_sees_its_own_cases_overdue_first_with_sql_counts(app: Any, staff: dict[str, Any],
                                                                    db: Session) -> None:
    _fill(db, 3000)
    response = staff["agency"].get("/agency/")
    mine = db.execute(sa.select(Case.id).where(Case.agency_id == 1,  # type: ignore[arg-type]
                                               Case.status.in_(lists.AGENCY_STATUSES))).all()  # type: ignore[attr-defined]
    assert f"{len(mine)} PAKN đang chờ trả lời" in response.text
    pages = _walk(staff["agency"], "/agency/")
    assert sorted(i for p in pages for i in p) == sorted(row.id for row in mine)
    tables: list[str] = []
    _walk(staff["admin"], "/agency/", tables)
    overdue = [bool(flag) for flag in re.findall(r'<tr( class="overdue")?><td class="case-code"', "".join(tables))]
    assert any(overdue) and not all(overdue) and overdue == sorted(overdue, reverse=True)


@pytest.mark.parametrize("cursor", ["x.1.2", "t..5", "t.12", "t.1.-4", "đ.1.1", "t." + "9" * 100 + ".1"])
def test_a_broken_page_link_is_a_400_in_vietnamese(staff: dict[str, Any], cursor: str) -> None:
    response = staff["coordinator"].get(f"/coordinator/?after={cursor}")
    assert response.status_code == 400
    assert "Liên kết trang không hợp lệ" in response.text


def test_pages_backward_are_the_pages_forward_across_segments(db: Session) -> None:
    """Small pages over the queue's six segments: "Trang trước" from each page gives the page before it."""
    realistic_cases(db, 1500)
    segments, base = lists.queue_segments(local_date(utcnow())), sa.select(Case)
    forward, after = [], None
    while True:
        page = paging.fetch(db, base, segments, id_column=Case.id, after=after, size=7)
        forward.append(page)
        if page.next is None:
            break
        after = page.next
    ids = [row[0].id for page in forward for row in page.rows]
    assert len(ids) == len(set(ids)) > 50 and all(len(p.rows) == 7 for p in forward[:-1])
    assert forward[0].prev is None and all(p.prev for p in forward[1:])
    for earlier, later in itertools.pairwise(forward):
        back = paging.fetch(db, base, segments, id_column=Case.id, before=later.prev, size=7)
        assert [r[0].id for r in back.rows] == [r[0].id for r in earlier.rows]
        assert (back.prev, back.next) == (earlier.prev, earlier.next)
