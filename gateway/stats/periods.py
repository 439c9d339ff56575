"""Reporting periods: quarters in Vietnam time ("2026-Q3" → "Quý III/2026") or any dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gateway.constants import VN_TZ
from gateway.exceptions import PeriodError

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, with its Vietnamese label and a key for URLs and file names."""

    start: datetime
    end: datetime
    label: str
    key: str

    @property
    def first_day(self) -> date:
        """The first day, in Vietnam."""
        return self.start.astimezone(VN_TZ).date()

    @property
    def last_day(self) -> date:
        """The last day, in Vietnam (inclusive)."""
        return (self.end.astimezone(VN_TZ) - timedelta(microseconds=1)).date()


def _vn_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=VN_TZ).astimezone(UTC)


def quarter(year: int, number: int) -> Period:
    """Quarter ``number`` (1-4) of ``year``, Vietnam time."""
    if number not in ROMAN or not 2000 <= year <= 2100:
        raise PeriodError(f"{year}-Q{number}")
    first = date(year, 3 * number - 2, 1)
    after = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return Period(_vn_midnight(first), _vn_midnight(after), f"Quý {ROMAN[number]}/{year}", f"{year}-Q{number}")


def parse_quarter(text: str) -> Period:
    """``2026-Q3`` (also ``2026Q3``, ``2026-q3``) → the quarter; PeriodError otherwise."""
    match = _QUARTER.match(text or "")
    if not match:
        raise PeriodError(text)
    return quarter(int(match.group(1)), int(match.group(2)))


def quarter_of(moment: datetime) -> Period:
    """The quarter that contains ``moment`` (Vietnam time)."""
    local = moment.astimezone(VN_TZ)
    return quarter(local.year, (local.month - 1) // 3 + 1)


def days(first: date, last: date) -> Period:
    """From ``first`` to ``last`` inclusive (Vietnam days)."""
    if last < first or (last - first).days > 3 * 366:
        raise PeriodError(f"{first}..{last}")
    label = f"từ {first:%d/%m/%Y} đến {last:%d/%m/%Y}"
    return Period(_vn_midnight(first), _vn_midnight(last + timedelta(days=1)), label, f"{first}_{last}")


def from_request(quarter_text: str | None, first: str | None, last: str | None, now: datetime) -> Period:
    """The period a page or an export asks for: dates, a quarter, or the current quarter."""
    if first and last:
        try:
            return days(date.fromisoformat(first), date.fromisoformat(last))
        except ValueError:
            raise PeriodError(f"{first}..{last}") from None
    if quarter_text:
        return parse_quarter(quarter_text)
    return quarter_of(now)


def recent_quarters(now: datetime, count: int = 8) -> list[Period]:
    """The current quarter and the ones before it, newest first (for menus)."""
    current = quarter_of(now)
    year, number = int(current.key[:4]), int(current.key[-1])
    out = []
    for _ in range(count):
        out.append(quarter(year, number))
        year, number = (year - 1, 4) if number == 1 else (year, number - 1)
    return out
