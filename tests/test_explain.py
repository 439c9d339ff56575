"""Every statement a public page or a desk sends is an index lookup, never a scan of a big table.

PostgreSQL only (its planner is the one that matters at a million cases). 20,000 realistic
cases (bench/million.py's generator: four years of cases, inbound rows, events,
publications) are inserted and ANALYZEd; each page is requested with the test client while
``before_cursor_execute`` records every statement with its parameters; each SELECT/UPDATE/
DELETE is then planned with ``EXPLAIN (FORMAT JSON)`` and the test fails on a ``Seq Scan``
of ``pakn_case``, ``inbound_message``, ``outbound_message`` or ``event``.

It can fail: ``test_the_check_sees_a_missing_index`` drops the phone indexes inside a
transaction (rolled back) and the same check then reports the phone search's Seq Scan of
pakn_case. Checked by hand the same way on 2026-11-23: without migration 0012's
``ix_pakn_case_status_created`` the coordinator queue's triage segment planned a Seq Scan
of pakn_case, and without ``ix_event_kind_at`` the Open311 updates did the same on event.
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from config.settings import Settings
from gateway.models import Case, Publication
from tests.conftest import emptied
from tests.factories import login, make_staff, realistic_cases

BIG = {"pakn_case", "inbound_message", "outbound_message", "event"}
CASES = 20_000


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """PostgreSQL only: the planner of SQLite is not the one that meets a million cases."""
    return emptied(postgres_url)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No rate limit on lookups: the test requests them many times."""
    return settings.with_(lookup_limit=(100_000, 60), api_limit=(100_000, 60))


@pytest.fixture
def loaded(db: Session, settings: Settings) -> Session:
    """20,000 realistic cases, analysed."""
    realistic_cases(db, CASES)
    with psycopg.connect(settings.database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("ANALYZE")
    return db


class Recorder:
    """The statements the app's engine sends (with their parameters) while recording."""

    def __init__(self, app: Any) -> None:
        self.engine = app.extensions["pakn"].engine
        self.seen: list[tuple[str, str, Any]] = []
        self.page = ""

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not many and re.match(r"\s*(SELECT|UPDATE|DELETE|WITH)\b", statement, re.IGNORECASE):
            self.seen.append((self.page, statement, parameters))


def seq_scans(plan: Any) -> list[str]:
    """Relations of BIG read by a Seq Scan anywhere in an EXPLAIN (FORMAT JSON) plan."""
    found = []
    if isinstance(plan, dict):
        if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in BIG:
            found.append(plan["Relation Name"])
        for value in plan.values():
            found += seq_scans(value)
    elif isinstance(plan, list):
        for value in plan:
            found += seq_scans(value)
    return found


def explain(url: str, statements: list[tuple[str, str, Any]], *, before: str | None = None) -> list[str]:
    """Plan every statement; the Seq Scans of big tables, one line each (page, relation, statement)."""
    problems = []
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        if before:
            conn.execute(before)  # inside the transaction, rolled back on leaving
        for page, statement, parameters in statements:
            plan = conn.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters).fetchone()[0]  # type: ignore[index]
            for relation in seq_scans(plan if not isinstance(plan, str) else json.loads(plan)):
                problems.append(f"{page}: Seq Scan on {relation}: {' '.join(statement.split())[:400]}")
        conn.rollback()
    return problems


def _lookup(client: Any, code: str, name: str) -> Any:
    """The lookup page, whether it takes the name by GET or (later) by POST."""
    response = client.get("/lookup", query_string={"code": code, "name": name})
    if response.status_code == 405:
        response = client.post("/lookup", data={"code": code, "name": name})
    return response


def _visit(app: Any, client: Any, db: Session, recorder: Recorder) -> None:
    """Every public page and desk, as citizens, integrators and staff use them."""
    key = {"X-Api-Key": "test-key-1"}
    coded = db.exec(select(Case).where(Case.status == "answered").order_by(Case.id.desc()).limit(1)).one()  # type: ignore[union-attr]
    follow = db.exec(select(Case).where(Case.follows_id.is_not(None)).limit(1)).one()  # type: ignore[union-attr]
    published = db.exec(select(Case).join(Publication, Publication.case_id == Case.id).limit(1)).one()  # type: ignore[arg-type]
    staff = {}
    for role in ("coordinator", "agency", "admin", "operator"):
        make_staff(db, role)
        staff[role] = app.test_client()
        login(staff[role], role)
    pages: list[tuple[Any, str, dict[str, Any]]] = [
        (client, "lookup", {"code": coded.code, "name": coded.full_name}),
        (client, "lookup", {"code": follow.code or coded.code, "name": follow.full_name}),
        (client, f"/api/v1/cases/{coded.code}?name={coded.full_name}", key),
        (client, f"/api/v1/cases/{follow.code}?name={follow.full_name}", key),
        (client, f"/api/v1/receipts/{coded.receipt}", key),
        (client, f"/open311/v2/requests/{coded.code}.json", {}),
        (client, f"/open311/v2/requests.json?service_request_id={coded.code},{published.code}", {}),
        (client, "/open311/v2/requests.json", {}),
        (client, "/open311/v2/requests.json?status=open", {}),
        (client, "/open311/v2/servicerequestupdates.json", {}),
        (client, f"/open311/v2/tokens/{coded.receipt}.json?api_key=test-key-1", {}),
        (client, f"/verify?code={coded.code}", {}),
        (client, "/cong-khai/", {}),
        (client, "/cong-khai/?q=dat+dai", {}),
        (client, f"/cong-khai/?linh_vuc={published.field}&co_quan=co-quan-02&trang=2", {}),
        (client, f"/cong-khai/{published.code}", {}),
        (client, "/cong-khai/feed.atom", {}),
        (client, "/cong-khai/thong-ke", {}),
        (staff["coordinator"], "/coordinator/", {}),
        (staff["agency"], "/agency/", {}),
        (staff["admin"], "/agency/", {}),
        (staff["admin"], "/agency/?agency=co-quan-02", {}),
        (staff["operator"], "/hotline/", {}),
        (staff["operator"], "/hotline/callbacks", {}),
        (staff["operator"], f"/hotline/search?phone={coded.phone}", {}),
    ]
    for who, path, extra in pages:
        recorder.page = path
        if path == "lookup":
            response = _lookup(who, **extra)
        else:
            response = who.get(path, headers=extra if "X-Api-Key" in extra else None)
        assert response.status_code in (200, 404), (path, response.status_code, response.text[:300])
        nxt = re.search(r'<a rel="next" href="([^"]+)"', response.text)
        if nxt:  # the second page too: its statements carry a cursor
            recorder.page = nxt.group(1)
            assert who.get(nxt.group(1).replace("&amp;", "&")).status_code == 200


def test_no_public_page_or_desk_scans_a_big_table(app: Any, client: Any, loaded: Session,
                                                  settings: Settings) -> None:
    recorder = Recorder(app)
    sa.event.listen(recorder.engine, "before_cursor_execute", recorder)
    try:
        _visit(app, client, loaded, recorder)
    finally:
        sa.event.remove(recorder.engine, "before_cursor_execute", recorder)
    pages = {page for page, _, _ in recorder.seen}
    assert len(pages) >= 25 and len(recorder.seen) > 60  # the recorder saw the pages' statements
    problems = explain(settings.database_url, recorder.seen)
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_missing_index(app: Any, client: Any, loaded: Session, settings: Settings) -> None:
    """Without the phone indexes the phone search scans pakn_case, and the check says so."""
    make_staff(loaded, "operator")
    operator = app.test_client()
    login(operator, "operator")
    recorder = Recorder(app)
    recorder.page = "search"
    sa.event.listen(recorder.engine, "before_cursor_execute", recorder)
    try:
        assert operator.get("/hotline/search?phone=0912000111").status_code == 200
    finally:
        sa.event.remove(recorder.engine, "before_cursor_execute", recorder)
    assert explain(settings.database_url, recorder.seen) == []
    dropped = explain(settings.database_url, recorder.seen,
                      before="DROP INDEX ix_pakn_case_phone_created; DROP INDEX ix_pakn_case_phone")
    assert any("Seq Scan on pakn_case" in p for p in dropped), dropped
