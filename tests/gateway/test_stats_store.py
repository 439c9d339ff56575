"""The kept figures of each quarter (gateway/stats/store.py), on PostgreSQL and SQLite.

They equal a live computation, the worker's refresh is idempotent and safe with two
workers, and the statistics pages read them with a number of statements that does not
grow with the number of cases.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session

import worker
from config.settings import Settings
from gateway.db import make_engine, new_session
from gateway.models import StatsSnapshot, utcnow
from gateway.stats import periods, store
from gateway.stats.compute import compute
from gateway.stats.report import as_of_text
from tests.factories import login, make_staff, realistic_cases
from tests.gateway.test_stats import AS_OF, Q3, check, generate
from tests.test_explain import Recorder

BIG_TABLES = ("pakn_case", "event", "inbound_message", "publication")


def _rows(db: Session) -> dict[str, Any]:
    db.expire_all()
    return {row.period_key: row.computed_at for row in db.execute(sa.select(StatsSnapshot)).scalars()}


def test_kept_figures_equal_the_live_computation_on_realistic_data(db: Session) -> None:
    now = utcnow()
    realistic_cases(db, 3000, now=now)
    db.commit()
    quarters = periods.recent_quarters(now, count=5)
    assert store.refresh_due(db, now=now, limit=len(quarters)) == [q.key for q in quarters]
    for quarter in quarters:
        kept = store.stored(db, quarter)
        assert kept is not None and kept.as_of == now
        assert kept == compute(db, period=quarter, as_of=now), quarter.key
    received = [kept.received for kept in (store.stored(db, q) for q in quarters) if kept is not None]
    assert len(received) == len(quarters) and sum(received) > 500


def test_kept_figures_of_a_known_quarter_are_its_true_figures(db: Session) -> None:
    truth = generate(db, 600)
    store.refresh(db, Q3, now=AS_OF)
    kept = store.stored(db, Q3)
    assert kept is not None
    check(kept, truth)


def test_the_refresh_is_idempotent_and_follows_each_quarters_age(db: Session) -> None:
    now = utcnow()
    realistic_cases(db, 400, now=now)
    db.commit()
    menu = [q.key for q in periods.recent_quarters(now)]
    first = store.refresh_due(db, now=now, limit=3)
    assert first == menu[:3]  # the current quarter first, then the menu's
    assert store.refresh_due(db, now=now, limit=100) == menu[3:]
    assert store.refresh_due(db, now=now) == []  # again: nothing to do, nothing written
    assert store.refresh_due(db, now=now + timedelta(minutes=4)) == []
    kept = _rows(db)
    assert set(kept) == set(menu) and set(kept.values()) == {now}
    later = now + timedelta(minutes=6)
    assert store.refresh_due(db, now=later) == [menu[0]]  # only the current quarter is minutes old
    assert _rows(db)[menu[0]] == later
    day_after = now + timedelta(days=1, minutes=1)
    due = [q.key for q in store.due(db, now=day_after)]
    assert sorted(due) == sorted(menu)  # a day on, every quarter (past ones hourly or daily)
    # a quarter someone asked for outside the menu is kept and refreshed too
    old = periods.recent_quarters(now, count=12)[-1]
    store.figures(db, old)
    assert old.key in _rows(db) and old.key not in [q.key for q in store.due(db, now=now + timedelta(hours=2))]
    assert old.key in [q.key for q in store.due(db, now=day_after)]


def test_the_newer_figures_win_whatever_order_two_workers_write_in(db: Session) -> None:
    now = utcnow()
    realistic_cases(db, 300, now=now)
    db.commit()
    current = periods.quarter_of(now)
    newer = compute(db, period=current, as_of=now)
    older = compute(db, period=current, as_of=now - timedelta(minutes=5))
    assert store.save(db, newer) is True
    assert store.save(db, older) is False  # a slow worker's older figures do not overwrite newer ones
    assert store.save(db, newer) is False  # the same figures again: nothing written
    db.commit()
    assert store.stored(db, current) == newer and _rows(db) == {current.key: now}


def test_two_workers_refreshing_at_once_keep_one_row_per_quarter(db: Session, settings: Settings) -> None:
    now = utcnow()
    realistic_cases(db, 300, now=now)
    db.commit()
    engines: list[Engine] = [make_engine(settings.database_url) for _ in range(2)]
    start = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run(engine: Engine, offset: int) -> None:
        try:
            with new_session(engine) as session:
                start.wait()
                results.append(store.refresh_due(session, now=now + timedelta(microseconds=offset), limit=8))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(engine, n)) for n, engine in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    menu = [q.key for q in periods.recent_quarters(now)]
    kept = _rows(db)
    assert sorted(kept) == sorted(menu) and len(results) == 2
    for quarter in periods.recent_quarters(now):
        stats = store.stored(db, quarter)
        assert stats is not None and stats == compute(db, period=quarter, as_of=stats.as_of)


def test_a_row_of_another_format_is_computed_again(db: Session) -> None:
    current = periods.quarter_of(utcnow())
    first = store.figures(db, current)
    db.execute(sa.update(StatsSnapshot).values(figures='{"format": 0}'))
    db.commit()
    assert store.stored(db, current) is None
    again = store.figures(db, current)
    assert again.as_of > first.as_of and store.stored(db, current) == again


def test_a_date_range_is_computed_live_and_not_kept(db: Session) -> None:
    period = periods.days(Q3.first_day, Q3.first_day + timedelta(days=9))
    store.figures(db, period)
    assert _rows(db) == {}


def test_housekeeping_computes_what_is_due(db: Session, settings: Settings) -> None:
    worker.configure(settings)
    first = worker.housekeeping()["statistics"]
    assert first[0] == periods.quarter_of(utcnow()).key and len(first) == store.PER_RUN
    assert worker.housekeeping()["statistics"] == [q.key for q in periods.recent_quarters(utcnow())][3:6]


def _statements(app: Any, client: Any, path: str) -> list[str]:
    recorder = Recorder(app)
    sa.event.listen(recorder.engine, "before_cursor_execute", recorder)
    try:
        response = client.get(path)
    finally:
        sa.event.remove(recorder.engine, "before_cursor_execute", recorder)
    assert response.status_code == 200, path
    return [statement for _, statement, _ in recorder.seen]


PAGES = {"/cong-khai/": 4, "/cong-khai/thong-ke": 1, "/cong-khai/thong-ke?quy={past}": 1}  # statements


@pytest.mark.parametrize("cases", [200, 2000])
def test_the_public_statistics_read_kept_rows_whatever_the_number_of_cases(app: Any, client: Any, db: Session,
                                                                          cases: int) -> None:
    now = utcnow()
    past = periods.recent_quarters(now)[1]
    realistic_cases(db, cases, now=now)
    db.commit()
    store.refresh_due(db, now=now, limit=8)
    for template, count in PAGES.items():
        path = template.format(past=past.key)
        statements = _statements(app, client, path)
        assert len(statements) == count, (path, statements)
        if "thong-ke" in path:  # the figures: one read of stats_snapshot, no case or event touched
            assert "stats_snapshot" in statements[0]
            assert not any(table in statements[0] for table in BIG_TABLES)
        kept = store.stored(db, past if "quy=" in path else periods.quarter_of(now))
        assert kept is not None and kept.as_of == now and kept.received > 0
        page = client.get(path).get_data(as_text=True)
        assert f"{as_of_text(kept)}." in page and f"{kept.received:,}".replace(",", ".") in page


def test_the_staff_page_shows_the_kept_quarter_and_its_time(app: Any, client: Any, db: Session) -> None:
    realistic_cases(db, 300)
    db.commit()
    make_staff(db, "coordinator")
    login(client, "coordinator")
    page = client.get("/thong-ke/").get_data(as_text=True)
    kept = store.stored(db, periods.quarter_of(utcnow()))
    assert kept is not None and "Số liệu tính đến " in page and f"{as_of_text(kept)}." in page


def test_a_future_or_ancient_quarter_from_the_url_is_computed_not_kept(client: Any, db: Session) -> None:
    now = utcnow()
    current = periods.quarter_of(now)
    future = periods.parse_quarter(f"{int(current.key[:4]) + 1}-Q1")
    ancient = periods.parse_quarter("2001-Q1")
    assert not store.keepable(future, now) and not store.keepable(ancient, now) and store.keepable(current, now)
    for key in (future.key, ancient.key):
        assert client.get(f"/cong-khai/thong-ke?quy={key}").status_code == 200
    kept = set(db.exec(sa.select(StatsSnapshot.period_key)).scalars())  # type: ignore[call-overload]
    assert future.key not in kept and ancient.key not in kept
    assert client.get(f"/cong-khai/thong-ke?quy={current.key}").status_code == 200
    db.expire_all()
    assert current.key in set(db.exec(sa.select(StatsSnapshot.period_key)).scalars())  # type: ignore[call-overload]
