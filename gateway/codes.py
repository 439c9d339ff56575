"""PAKN codes ``YY-NNNNNN-C``: Damm check digit, parsing, atomic allocation."""

from __future__ import annotations

import re
import secrets
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


MIN_DIGITS, MAX_DIGITS = 9, 18  # "YY-NNNNNN-C" … a code that still fits pakn_case.code (20 characters)


def parse(raw: str) -> PaknCode:
    """Parse a code typed by a person; raise CodeFormatError or CodeCheckDigitError."""
    compact = _SEPARATORS.sub("", _PREFIX.sub("", raw or ""))
    if not compact.isascii() or not compact.isdigit() or not MIN_DIGITS <= len(compact) <= MAX_DIGITS:
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



# --- allocation as the transaction's last statement --------------------------------
#
# process_case builds everything a registration writes (the case's status, its events,
# the acknowledgment, the routing, webhook bodies) with a stand-in for the code, then
# ends with ONE statement that takes the next number and writes the real code in place
# of the stand-in. The counter row's lock is therefore held for that statement and the
# commit only, whatever else the transaction did. A transaction that fails before it
# never took a number; one that fails after it (or whose commit fails) gives the number
# back with its rollback: codes stay unique and gap-free.

PLACEHOLDER_YEAR = "00"  # the stand-in looks like a code: it survives unaccenting, URLs, upper case


def placeholder() -> str:
    """A fresh stand-in for a code not allocated yet: ``00-NNNNNN-N`` with random digits.

    Year 00 is never allocated, and the random digits make it unguessable: text that a
    citizen wrote before the transaction began cannot contain its stand-in.
    """
    digits = f"{secrets.randbelow(10**7):07d}"
    return f"{PLACEHOLDER_YEAR}-{digits[:6]}-{digits[6]}"


# (table, columns) where a stand-in may have been written; rows are found by case id.
SUBSTITUTED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("event", ("note",)),
    ("outbound_message", ("body", "subject", "html")),
    ("callback", ("reason",)),
)
_SEQ_SQL = "CASE WHEN n.value < 1000000 THEN lpad(n.value::text, 6, '0') ELSE n.value::text END"


def _damm_sql(digits: str) -> str:
    """PostgreSQL expression: the Damm check digit of ``digits`` (text, zero-padded to 18).

    Leading zeros keep Damm's interim digit at 0, so the padding changes nothing.
    """
    expr = "0"
    for position in range(1, 19):
        expr = f"damm[({expr}) * 10 + substr({digits}, {position}, 1)::int + 1]"
    return expr


def _replacements(code: str) -> list[tuple[str, str]]:
    """(table, UPDATE statement) that put ``code`` (an SQL expression) in place of the stand-in."""
    out = []
    for table, columns in SUBSTITUTED:
        sets = ", ".join(f"{c} = replace({c}, :stand_in, {code})" for c in columns)
        where = " OR ".join(f"{table}.{c} LIKE :pattern" for c in columns)
        out.append((table, f"UPDATE {table} SET {sets} {{from}} WHERE {table}.case_id = :case_id AND ({where})"))
    return out


_DAMM_ARRAY = "ARRAY[" + ",".join(str(v) for row in _DAMM for v in row) + "]::int[]"
_ASSIGN_PG = (
    "WITH n AS (INSERT INTO code_counter AS cc (year, value) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET value = cc.value + 1 RETURNING cc.value), "
    f"s AS (SELECT n.value, CAST(:yy AS text) || {_SEQ_SQL} AS digits, {_DAMM_ARRAY} AS damm FROM n), "
    f"k AS (SELECT s.value, CAST(:yy AS text) || '-' || substr(s.digits, 3) || '-' "
    f"|| ({_damm_sql('lpad(s.digits, 18, chr(48))')})::text AS code FROM s), "
    "c AS (UPDATE pakn_case SET code = k.code FROM k WHERE pakn_case.id = :case_id AND pakn_case.code IS NULL "
    "RETURNING pakn_case.id), "
    + ", ".join(f"r{i} AS ({sql.replace('{from}', 'FROM k')})"
                for i, (_table, sql) in enumerate(_replacements("k.code")))
    + " SELECT k.value, (SELECT count(*) FROM c) FROM k"
)


def assign(session: Session, *, case_id: int, at: datetime, stand_in: str) -> PaknCode | None:
    """Take the next code of ``at``'s year and write it for the case in place of ``stand_in``.

    Issue this last, just before the commit: on PostgreSQL it is one statement (the
    counter upsert, the case's code and the replacements, as data-modifying CTEs), so
    the counter row is locked for one statement and the commit. On SQLite the same
    steps are separate statements (the transaction holds the database's one write lock
    anyway). Returns None, having taken nothing the rollback would not give back, when
    the case has a code already (the caller must roll back).
    """
    year = registration_year(at)
    params = {"year": year, "yy": f"{year:02d}", "case_id": case_id, "stand_in": stand_in,
              "pattern": f"%{stand_in}%"}
    if session.get_bind().dialect.name == "postgresql":
        value, updated = session.execute(text(_ASSIGN_PG), params).one()
        return PaknCode(year=year, seq=int(value)) if updated == 1 else None
    value = session.execute(text(
        "INSERT INTO code_counter (year, value) VALUES (:year, 1) "
        "ON CONFLICT (year) DO UPDATE SET value = code_counter.value + 1 RETURNING value"), params).scalar_one()
    code = PaknCode(year=year, seq=int(value))
    updated = session.execute(text("UPDATE pakn_case SET code = :code WHERE id = :case_id AND code IS NULL"),
                              {**params, "code": str(code)})
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        return None
    for _table, sql in _replacements(":code"):
        session.execute(text(sql.replace("{from}", "")), {**params, "code": str(code)})
    return code
