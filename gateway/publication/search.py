"""Finding published cases: filters and Vietnamese full-text search that ignores diacritics.

The public texts are folded once, in Python, into ``publication.search_text`` (no
diacritics, lower case, words separated by single spaces), and queries are folded the
same way, so both databases search the same words:

- PostgreSQL: full-text search, ``to_tsvector('simple', search_text) @@
  plainto_tsquery('simple', query)`` with a GIN index on the expression (migration 0008).
  The ``simple`` configuration suits Vietnamese, whose words are space-separated
  syllables with no stemming to do. Folding in Python rather than with the ``unaccent``
  extension keeps one folding rule (``normalizer.text.fold``: đ → d included) for
  indexing, querying and SQLite, and needs no superuser to create an extension.
- SQLite: every query word must occur as a whole word (``' ' || search_text || ' '
  LIKE '% word %'``). Published cases number in thousands, not millions; a table scan of
  one text column stays fast, and FTS5 would need a virtual table and triggers outside
  the models.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from gateway.constants import PublicationStatus
from gateway.models import Agency, Case, Publication
from normalizer.text import fold

_NON_WORD = re.compile(r"[^\w]+")
MAX_WORDS = 12


def fold_words(text: str) -> str:
    """Folded, lower-case words separated by single spaces."""
    return " ".join(_NON_WORD.sub(" ", fold(text).casefold()).split())


def search_text(*texts: str) -> str:
    """The stored search column of a publication."""
    return fold_words(" ".join(texts))


@dataclass(frozen=True)
class Filters:
    """What the public list is narrowed to."""

    query: str = ""
    field: str | None = None
    agency: str | None = None  # agency code
    start: datetime | None = None  # publication date range (a quarter)
    end: datetime | None = None


def _matches(dialect: str, words: Sequence[str]) -> sa.ColumnElement[bool]:
    column = Publication.__table__.c.search_text  # type: ignore[attr-defined]
    if dialect == "postgresql":
        return sa.func.to_tsvector(sa.literal_column("'simple'"), column).op("@@")(
            sa.func.plainto_tsquery(sa.literal_column("'simple'"), " ".join(words)))
    padded = sa.literal(" ") + column + sa.literal(" ")
    return sa.and_(*(padded.like(f"% {w} %") for w in words))


def published(session: Session, filters: Filters, *, limit: int = 20, offset: int = 0
              ) -> tuple[list[tuple[Publication, Case, Agency | None]], int]:
    """Published cases matching ``filters``, newest first, and how many there are in all."""
    words = fold_words(filters.query).split()[:MAX_WORDS]
    conditions: list[sa.ColumnElement[bool]] = [Publication.status == PublicationStatus.published]  # type: ignore[list-item]
    if words:
        conditions.append(_matches(session.get_bind().dialect.name, words))
    if filters.field:
        conditions.append(Case.field == filters.field)  # type: ignore[arg-type]
    if filters.agency:
        conditions.append(Agency.code == filters.agency)  # type: ignore[arg-type]
    if filters.start is not None:
        conditions.append(Publication.published_at >= filters.start)  # type: ignore[arg-type, operator]
    if filters.end is not None:
        conditions.append(Publication.published_at < filters.end)  # type: ignore[arg-type, operator]
    joined = (sa.select(Publication, Case, Agency).join(Case, Case.id == Publication.case_id)  # type: ignore[arg-type]
              .outerjoin(Agency, Agency.id == Case.agency_id).where(*conditions))  # type: ignore[arg-type]
    total = session.execute(_count(conditions, field=bool(filters.field), agency=bool(filters.agency))).scalar_one()
    newest = (col(Publication.published_at).desc(), col(Publication.id).desc())
    rows = session.execute(joined.order_by(*newest).limit(limit).offset(offset)).all()
    return [(p, c, a) for p, c, a in rows], int(total)


def _count(conditions: list[sa.ColumnElement[bool]], *, field: bool, agency: bool) -> sa.Select[int]:
    """How many publications match: joined to the cases (and agencies) only when a filter needs them, so that
    the unfiltered count reads the publication table alone instead of hashing every case."""
    query = sa.select(sa.func.count()).select_from(Publication)
    if field or agency:
        query = query.join(Case, Case.id == Publication.case_id)  # type: ignore[arg-type]
    if agency:
        query = query.join(Agency, Agency.id == Case.agency_id)  # type: ignore[arg-type]
    return query.where(*conditions)


def by_code(session: Session, *, code: str) -> tuple[Publication, Case, Agency | None] | None:
    """One published case by its PAKN code."""
    row = session.execute(
        sa.select(Publication, Case, Agency).join(Case, Case.id == Publication.case_id)  # type: ignore[arg-type]
        .outerjoin(Agency, Agency.id == Case.agency_id)  # type: ignore[arg-type]
        .where(Case.code == code, Publication.status == PublicationStatus.published)  # type: ignore[arg-type]
    ).first()
    return (row[0], row[1], row[2]) if row else None
