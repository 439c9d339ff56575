"""The public statistics pages at a million cases, in process (Flask's test client, no HTTP).

    .venv/bin/python bench/public_stats.py [--url postgresql://postgres@127.0.0.1:5432/pakn_million] [--requests 5]

Needs a database filled by ``bench/million.py`` and Redis. For ``/cong-khai/``,
``/cong-khai/thong-ke`` and a past quarter's ``/cong-khai/thong-ke?quy=…``: the statements
one request sends (and whether any reads ``pakn_case`` or ``event``), then the median and the
slowest of ``--requests`` requests. With the kept figures (gateway/stats/store.py), first the
time of the worker's computation of those quarters (``store.refresh``), which the pages then
read; ``--live`` times ``compute`` as the pages did before it, on the same data.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import BENCH_REDIS  # noqa: E402
from bench.million import DEFAULT_URL  # noqa: E402

PAGES = ("/cong-khai/", "/cong-khai/thong-ke", "/cong-khai/thong-ke?quy={past}")
BIG = re.compile(r"\b(pakn_case|event)\b")


def sqlalchemy_url(url: str) -> str:
    """The psycopg 3 URL SQLAlchemy wants."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if "+psycopg" not in url else url


def time_pages(app: Any, past: str, count: int) -> None:
    """Statements of one request per page, then ``count`` timed requests."""
    import sqlalchemy as sa

    engine = app.extensions["pakn"].engine
    client = app.test_client()
    for template in PAGES:
        path = template.format(past=past)
        seen: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any, sink: list[str] = seen) -> None:
            sink.append(statement)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            assert client.get(path).status_code == 200, path
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            assert client.get(path).status_code == 200, path
            timings.append(1000 * (time.perf_counter() - started))
        big = sum(1 for s in seen if BIG.search(s))
        print(f"{path:32} {len(seen):3} statements ({big} reading pakn_case/event)  "
              f"median {statistics.median(timings):9.1f} ms  max {max(timings):9.1f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="a database filled by bench/million.py")
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--live", action="store_true", help="also time compute() as the pages did before")
    args = parser.parse_args()

    from config.settings import Settings
    from gateway import create_app
    from gateway.db import new_session
    from gateway.models import utcnow
    from gateway.stats import periods

    settings = Settings.from_env({"DATABASE_URL": sqlalchemy_url(args.url), "REDIS_URL": BENCH_REDIS,
                                  "INSTANCE_PATH": "/tmp/pakn-bench-public-stats"})
    app = create_app(settings)
    current, past = periods.recent_quarters(utcnow())[:2]
    engine = app.extensions["pakn"].engine
    try:
        from gateway.stats import store
    except ImportError:  # the code before the kept figures: every request computes
        store = None  # type: ignore[assignment]
    if store is not None:
        for period in (current, past):
            with new_session(engine) as session:
                started = time.perf_counter()
                stats = store.refresh(session, period)
                print(f"refresh {period.key} (the worker's job): {time.perf_counter() - started:6.2f} s, "
                      f"{stats.received:,} cases received", flush=True)
    if args.live or store is None:
        from gateway.stats.compute import compute

        with new_session(engine) as session:
            started = time.perf_counter()
            stats = compute(session, period=current)
            print(f"compute {current.key} live: {time.perf_counter() - started:6.2f} s, "
                  f"{stats.received:,} cases received", flush=True)
    time_pages(app, past.key, args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
