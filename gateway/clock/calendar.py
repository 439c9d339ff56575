"""Vietnam's working days (pure): public holidays from `holidays`, moved days from config/calendar.toml.

A day is a working day when it is Monday to Friday, not a public holiday (nor its
substitute day) and not a moved day off; or when it is a weekend day the Government
made a working day in exchange ("làm bù"). Periods are counted as the Civil Code 2015
(art. 147-148) counts them: the day of the event is not counted.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import holidays

from config.settings import ROOT
from gateway.constants import VN_TZ
from gateway.exceptions import ConfigurationError

CALENDAR_PATH = ROOT / "config" / "calendar.toml"
SATURDAY = 5


@dataclass
class WorkCalendar:
    """Working days in Vietnam; moved days (both ways) win over the public holidays."""

    days_off: Mapping[date, str] = field(default_factory=dict)  # weekdays not worked (nghỉ bù)
    working_days: Mapping[date, str] = field(default_factory=dict)  # weekend days worked (làm bù)
    _public: Any = field(default=None, init=False, repr=False)
    _known: dict[date, bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        overlap = set(self.days_off) & set(self.working_days)
        if overlap:
            raise ConfigurationError(f"both a day off and a working day: {sorted(overlap)}")
        self._public = holidays.country_holidays("VN", language="vi", observed=True)

    def holiday(self, day: date) -> str | None:
        """The name of the public holiday or moved day off on ``day`` (None if there is none)."""
        if day in self.days_off:
            return self.days_off[day]
        name = self._public.get(day)
        return str(name) if name else None

    def is_working_day(self, day: date) -> bool:
        """True when public servants work on ``day``."""
        known = self._known.get(day)
        if known is None:
            known = day in self.working_days or (day.weekday() < SATURDAY and self.holiday(day) is None)
            self._known[day] = known
        return known

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after ``day`` (before it when n < 0); ``day`` itself when n == 0."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative (those in (end, start]) when end is before start.

        ``working_days_between(due, today)`` is how many working days a case is late;
        ``working_days_between(today, due)`` how many it has left.
        """
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def statutory_due(self, received: date, *, days: int, kind: str = "calendar") -> date:
        """The due date ``days`` days after ``received`` (calendar or working days).

        The day of receipt is not counted; a calendar-day period that ends on a day off
        ends on the next working day (Civil Code 2015, art. 147-148).
        """
        if kind == "working":
            return self.add_working_days(received, days)
        return self.next_working_day(received + timedelta(days=days))

    def year(self, year: int) -> list[tuple[date, str, bool]]:
        """Every non-standard day of ``year``: (day, name, worked), for checking against the decision."""
        days = [(d, self.holiday(d) or "", False) for d in _days(year)
                if d.weekday() < SATURDAY and not self.is_working_day(d)]
        days += [(d, name, True) for d, name in self.working_days.items() if d.year == year]
        return sorted(days)


def _days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def local_date(moment: datetime) -> date:
    """The date in Vietnam (Asia/Ho_Chi_Minh) at an aware ``moment``."""
    return moment.astimezone(VN_TZ).date()


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in Vietnam, as an aware datetime (a case is late after it)."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=VN_TZ)


def load_toml(path: Path) -> dict[str, Any]:
    """An administrator's TOML file; an unreadable one is a ConfigurationError naming it."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path}: {exc}") from None


def read_calendar(path: Path) -> WorkCalendar:
    """A calendar with the moved days of ``path`` (TOML: [[day_off]] and [[working_day]])."""
    data = load_toml(path)
    return WorkCalendar(days_off=_entries(data, "day_off", path), working_days=_entries(data, "working_day", path))


def _entries(data: dict[str, Any], key: str, path: Path) -> dict[date, str]:
    found: dict[date, str] = {}
    for entry in data.get(key, []):
        day = entry.get("date") if isinstance(entry, dict) else None
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ConfigurationError(f"{path}: every [[{key}]] needs date = YYYY-MM-DD (got {entry!r})")
        if key == "working_day" and day.weekday() < SATURDAY:
            raise ConfigurationError(f"{path}: working day {day} is not a Saturday or Sunday")
        if key == "day_off" and day.weekday() >= SATURDAY:
            raise ConfigurationError(f"{path}: day off {day} is a Saturday or Sunday already")
        found[day] = str(entry.get("name") or key)
    return found


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The calendar of config/calendar.toml (read once per process)."""
    return read_calendar(CALENDAR_PATH)
