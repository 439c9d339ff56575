"""The figures of each quarter, computed by the worker and kept in ``stats_snapshot``.

Computing a quarter reads every case received in it and probes their events: about 5 s at
a million cases (bench/README.md). The statistics pages read one stored row instead, and
say when its figures were computed. ``refresh_due`` (called by the worker's housekeeping,
every minute) recomputes what is older than ``max_age``:

- the current quarter: every 5 minutes;
- a quarter that ended less than RECENT ago: hourly. Its figures still move: a case
  received on its last day is answered, rated or disputed weeks later, and "overdue"
  depends on the moment. Freezing a quarter when it closes would publish figures that the
  staff's exports, computed live, no longer give;
- older quarters: daily (they rarely change; it keeps them equal to a live computation).

A quarter nobody has asked for yet is computed on its first request (an empty or future
quarter costs a few index probes) and kept from then on. Two workers may refresh the same
quarter at once: the write keeps whichever figures are newer (``save``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gateway.db import insert_for
from gateway.exceptions import PeriodError
from gateway.models import StatsSnapshot, utcnow
from gateway.stats import periods
from gateway.stats.compute import AgencyRow, Count, Stats, compute

log = logging.getLogger(__name__)
SNAPSHOT: sa.Table = StatsSnapshot.__table__  # type: ignore[attr-defined]
FORMAT = 2  # of the stored JSON (2: medians in working days): a row of another format is computed again, not misread
CURRENT_MAX_AGE = timedelta(minutes=5)
RECENT_MAX_AGE = timedelta(hours=1)
OLD_MAX_AGE = timedelta(days=1)
RECENT = timedelta(days=92)  # a quarter's cases are mostly answered within the next quarter
PER_RUN = 3  # computations per housekeeping run at most (a few seconds each at a million cases)
KEPT_QUARTERS = 40  # ten years back: the quarters a URL may add rows for (a typed 1900-Q1 is computed, not kept)


def to_json(stats: Stats) -> str:
    """The figures of ``stats`` (not its period: the row's key and dates are that)."""
    figures = {f.name: getattr(stats, f.name) for f in fields(stats) if f.name not in ("period", "as_of")}
    for name in ("by_channel", "by_type", "by_field", "weeks", "agencies"):
        figures[name] = [asdict(row) for row in figures[name]]
    return json.dumps({"format": FORMAT, "figures": figures}, ensure_ascii=False, separators=(",", ":"))


def from_json(text: str, period: periods.Period, computed_at: datetime) -> Stats | None:
    """The Stats stored by ``to_json``; None for a row of another format."""
    data: dict[str, Any] = json.loads(text)
    if data.get("format") != FORMAT:
        return None
    figures = data["figures"]
    for name in ("by_channel", "by_type", "by_field", "weeks"):
        figures[name] = [Count(**row) for row in figures[name]]
    figures["agencies"] = [AgencyRow(**row) for row in figures["agencies"]]
    return Stats(period=period, as_of=computed_at, **figures)


def quarter_or_none(period: periods.Period) -> periods.Period | None:
    """``period`` if it is a calendar quarter (the periods kept here), else None."""
    try:
        return period if periods.parse_quarter(period.key) == period else None
    except PeriodError:
        return None


def max_age(period: periods.Period, now: datetime) -> timedelta:
    """How old the stored figures of ``period`` may be at ``now`` (see the module's docstring)."""
    if period.end > now:
        return CURRENT_MAX_AGE
    return RECENT_MAX_AGE if now - period.end < RECENT else OLD_MAX_AGE


def stored(session: Session, period: periods.Period) -> Stats | None:
    """The kept figures of ``period`` (one primary-key read), or None."""
    row = session.execute(sa.select(SNAPSHOT.c.figures, SNAPSHOT.c.computed_at)
                          .where(SNAPSHOT.c.period_key == period.key)).first()
    return from_json(row.figures, period, row.computed_at) if row is not None else None


def save(session: Session, stats: Stats) -> bool:
    """Keep ``stats`` unless newer figures of its period are kept already; True if written. The caller commits."""
    insert = insert_for(session)(SNAPSHOT).values(
        period_key=stats.period.key, period_start=stats.period.start, period_end=stats.period.end,
        computed_at=stats.as_of, figures=to_json(stats))
    statement = insert.on_conflict_do_update(
        index_elements=["period_key"],
        set_={"computed_at": insert.excluded.computed_at, "figures": insert.excluded.figures},
        where=SNAPSHOT.c.computed_at < insert.excluded.computed_at,
    ).returning(SNAPSHOT.c.period_key)
    return session.execute(statement).first() is not None


def refresh(session: Session, period: periods.Period, *, now: datetime | None = None) -> Stats:
    """Compute ``period``'s figures as of ``now``, keep them and commit; returns them."""
    stats = compute(session, period=period, as_of=now or utcnow())
    save(session, stats)
    session.commit()
    return stats


def figures(session: Session, period: periods.Period) -> Stats:
    """What the statistics pages show: the kept figures of a quarter, computed now if it has none.

    Periods other than quarters (the staff's date ranges) are computed live.
    """
    quarter = quarter_or_none(period)
    if quarter is None or not keepable(quarter, utcnow()):
        return compute(session, period=period)
    return stored(session, quarter) or refresh(session, quarter)


def keepable(period: periods.Period, now: datetime) -> bool:
    """True for a quarter that may be kept: begun, and among the last KEPT_QUARTERS.

    The page's ``quy`` comes from the URL: a future or ancient quarter is computed on
    request (it has few cases, if any) instead of adding a row that every refresh keeps.
    """
    return period.start <= now and period in periods.recent_quarters(now, KEPT_QUARTERS)


def due(session: Session, *, now: datetime) -> list[periods.Period]:
    """The quarters to compute now, most wanted first: the current one, the menus' missing ones, the stale ones."""
    ages = {key: computed_at for key, computed_at in session.execute(
        sa.select(SNAPSHOT.c.period_key, SNAPSHOT.c.computed_at).order_by(SNAPSHOT.c.computed_at))}
    out: list[periods.Period] = []
    for period in periods.recent_quarters(now):
        if period.key not in ages or now - ages[period.key] > max_age(period, now):
            out.append(period)
    for key, computed_at in ages.items():
        try:
            period = periods.parse_quarter(key)
        except PeriodError:  # not written by this module: leave it
            continue
        if period not in out and now - computed_at > max_age(period, now):
            out.append(period)
    return out


def refresh_due(session: Session, *, now: datetime | None = None, limit: int = PER_RUN) -> list[str]:
    """Recompute up to ``limit`` quarters that ``due`` names (each committed on its own); their keys."""
    now = now or utcnow()
    done = []
    for period in due(session, now=now)[:limit]:
        refresh(session, period, now=now)
        done.append(period.key)
    if done:
        log.info("statistics computed: %s", ", ".join(done))
    return done
