"""Keyset pagination across ordered segments of one table.

A cursor names a row's place in the list: ``<segment>.<key>.<id>``, the key being the
segment's sort column in microseconds since the epoch (empty when the segment sorts by
id alone). ``?after=<cursor>`` is the page that follows that row, ``?before=<cursor>``
the page that precedes it. Rows never shift between pages when others are added
elsewhere in the list, and no page costs an ``OFFSET`` scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from gateway.exceptions import PageCursorError

PAGE_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CURSOR = 80


@dataclass(frozen=True)
class Segment:
    """One part of a list: its rows (``where``), sorted by ``key`` then id (both descending if asked)."""

    name: str
    where: Sequence[Any]
    key: Any = None  # a datetime column, or None: by id alone
    descending: bool = False


@dataclass
class Page:
    """The rows of one page (as the statement returns them) and the cursors of its neighbours."""

    rows: list[Any] = field(default_factory=list)
    next: str | None = None  # for ?after=
    prev: str | None = None  # for ?before=


@dataclass(frozen=True)
class Cursor:
    """A decoded cursor: the segment's index, its key value and the row id."""

    segment: int
    key: datetime | None
    id: int


def _micros(value: datetime | None) -> str:
    if value is None:
        return ""
    delta = value.astimezone(UTC) - EPOCH
    return str((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)


def encode(segments: Sequence[Segment], index: int, row: Any) -> str:
    """The cursor of ``row`` (the statement's row; its first element is the model instance)."""
    obj = row[0]
    segment = segments[index]
    key = getattr(obj, segment.key.key) if segment.key is not None else None
    return f"{segment.name}.{_micros(key)}.{obj.id}"


def decode(segments: Sequence[Segment], text: str) -> Cursor:
    """Parse a cursor; anything malformed or unknown is a PageCursorError."""
    parts = text.split(".") if text.isascii() and len(text) <= MAX_CURSOR else []
    names = [s.name for s in segments]
    if len(parts) != 3 or parts[0] not in names or not parts[2].isdigit() or (parts[1] and not parts[1].isdigit()):
        raise PageCursorError(text[:MAX_CURSOR])
    index = names.index(parts[0])
    if (segments[index].key is None) != (parts[1] == ""):
        raise PageCursorError(text[:MAX_CURSOR])
    key = EPOCH + timedelta(microseconds=int(parts[1])) if parts[1] else None
    return Cursor(index, key, int(parts[2]))


def _order(segment: Segment, id_column: Any, backward: bool) -> list[Any]:
    columns = ([segment.key] if segment.key is not None else []) + [id_column]
    ascending = segment.descending == backward
    return [c.asc() if ascending else c.desc() for c in columns]


def _beyond(segment: Segment, id_column: Any, cursor: Cursor, backward: bool) -> Any:
    """Rows of the cursor's segment past the cursor (row-value comparison: one index range)."""
    greater = segment.descending == backward
    if segment.key is None:
        return id_column > cursor.id if greater else id_column < cursor.id
    left, right = sa.tuple_(segment.key, id_column), sa.tuple_(
        sa.literal(cursor.key, segment.key.type), sa.literal(cursor.id, sa.Integer))
    return left > right if greater else left < right


def fetch(session: Session, base: Any, segments: Sequence[Segment], *, id_column: Any, after: str | None = None,
          before: str | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of the list ``segments`` read through the select ``base``: at most one statement per segment."""
    backward = bool(before) and not after
    cursor = decode(segments, (after or before or "")) if (after or before) else None
    start = cursor.segment if cursor else (len(segments) - 1 if backward else 0)
    order = range(start, -1, -1) if backward else range(start, len(segments))
    found: list[tuple[int, Any]] = []
    for index in order:
        if cursor is None and backward:
            break  # nothing precedes the start of the list
        segment, want = segments[index], size + 1 - len(found)
        if want <= 0:
            break
        where = list(segment.where)
        if cursor is not None and index == cursor.segment:
            where.append(_beyond(segment, id_column, cursor, backward))
        statement = base.where(*where).order_by(*_order(segment, id_column, backward)).limit(want)
        found += [(index, row) for row in session.execute(statement).all()]
    more = len(found) > size
    found = found[:size]
    if backward:
        found.reverse()
    page = Page(rows=[row for _, row in found])
    if found:
        first, last = found[0], found[-1]
        if backward:
            page.prev = encode(segments, *first) if more else None
            page.next = encode(segments, *last)
        else:
            page.next = encode(segments, *last) if more else None
            page.prev = encode(segments, *first) if cursor is not None else None
    return page
