"""PAKN codes ``YY-NNNNNN-C``: Damm check digit, parsing, atomic allocation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session

from gateway.constants import VN_TZ
from gateway.exceptions import CodeCheckDigitError, CodeFormatError

# The weakly totally anti-symmetric quasigroup of order 10 (Damm, 2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_SEPARATORS = re.compile(r"[\s.\-_/]+")
_PREFIX = re.compile(r"^\s*PAKN\s*[:#]?", re.IGNORECASE)


def damm(digits: str) -> int:
    """Damm check digit of a string of decimal digits."""
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return interim


@dataclass(frozen=True, order=True)
class PaknCode:
    """A valid PAKN code."""

    year: int  # two digits
    seq: int

    @property
    def check(self) -> int:
        """The Damm check digit over YY + NNNNNN."""
        return damm(f"{self.year:02d}{self.seq:06d}")

    def __str__(self) -> str:
        return f"{self.year:02d}-{self.seq:06d}-{self.check}"


def parse(raw: str) -> PaknCode:
    """Parse a code typed by a person; raise CodeFormatError or CodeCheckDigitError."""
    compact = _SEPARATORS.sub("", _PREFIX.sub("", raw or ""))
    if not compact.isascii() or not compact.isdigit() or len(compact) < 9:
        raise CodeFormatError(raw)
    body, check = compact[:-1], int(compact[-1])
    if len(body) > 8 and body[2] == "0":
        raise CodeFormatError(raw)  # sequences above 999999 never start with 0
    if damm(body) != check:
        raise CodeCheckDigitError(raw)
    return PaknCode(year=int(body[:2]), seq=int(body[2:]))


def registration_year(at: datetime) -> int:
    """Two-digit year of ``at`` in Vietnam's time zone."""
    return at.astimezone(VN_TZ).year % 100


def allocate(session: Session, *, at: datetime) -> PaknCode:
    """Take the next code of ``at``'s year inside the caller's transaction.

    The counter row is created if missing, then incremented with UPDATE … RETURNING:
    the row lock serializes concurrent workers, and a rolled-back caller gives its
    number back, so codes are unique and gap-free per committed case.
    """
    year = registration_year(at)
    session.execute(
        text("INSERT INTO code_counter (year, value) VALUES (:y, 0) ON CONFLICT (year) DO NOTHING"),
        {"y": year},
    )
    value = session.execute(
        text("UPDATE code_counter SET value = value + 1 WHERE year = :y RETURNING value"),
        {"y": year},
    ).scalar_one()
    return PaknCode(year=year, seq=int(value))
