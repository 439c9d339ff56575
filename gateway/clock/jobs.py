"""The clock tick as an RQ job (``gateway.clock.jobs.tick``), run by the worker's scheduler."""

from __future__ import annotations

from datetime import date, datetime, time

from gateway.clock.tick import run_tick
from gateway.constants import VN_TZ
from gateway.db import new_session

NOON = time(12, 0)


def parse_at(text: str | None) -> datetime | None:
    """An ISO date-time; without an offset it is Vietnamese time; a date alone means noon that day."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO date-time: {text!r} (e.g. 2026-02-23T09:00 or 2026-02-23T09:00+07:00)") from None
    if len(text.strip()) <= len("YYYY-MM-DD"):
        moment = datetime.combine(date.fromisoformat(text.strip()), NOON)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=VN_TZ)


def tick(at: str | None = None) -> dict[str, int]:
    """One tick of the clock's rules as of ``at`` (default now), in the worker's context; idempotent."""
    import worker  # the worker's job context (settings, engine), built once per process

    ctx = worker.context()
    with new_session(ctx.engine) as session:
        return run_tick(session, settings=ctx.settings, at=parse_at(at))
