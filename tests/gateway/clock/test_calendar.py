"""The working-day calendar against the real Vietnamese calendar of 2025 and 2026 (pure: no services)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gateway.clock.calendar import WorkCalendar, default_calendar, read_calendar
from gateway.clock.rules import default_rules, read_rules
from gateway.exceptions import ConfigurationError

D = date


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return default_calendar()


@pytest.mark.parametrize(("day", "working"), [
    # Tết Bính Ngọ 2026: Sat 14/02 to Sun 22/02 off, Mon 16/02-Fri 20/02 the five Tết days
    (D(2026, 2, 13), True), (D(2026, 2, 14), False), (D(2026, 2, 15), False), (D(2026, 2, 16), False),
    (D(2026, 2, 17), False), (D(2026, 2, 18), False), (D(2026, 2, 19), False), (D(2026, 2, 20), False),
    (D(2026, 2, 21), False), (D(2026, 2, 22), False), (D(2026, 2, 23), True),
    # Tết Ất Tỵ 2025: Sat 25/01 to Sun 02/02
    (D(2025, 1, 24), True), (D(2025, 1, 27), False), (D(2025, 1, 31), False), (D(2025, 2, 3), True),
    # 30/4-1/5 2025: Fri 02/05 swapped with Sat 26/04 (from config/calendar.toml)
    (D(2025, 4, 25), True), (D(2025, 4, 26), True), (D(2025, 4, 29), True), (D(2025, 4, 30), False),
    (D(2025, 5, 1), False), (D(2025, 5, 2), False), (D(2025, 5, 5), True),
    # Quốc khánh 2025: Mon 01/09 and Tue 02/09
    (D(2025, 8, 29), True), (D(2025, 9, 1), False), (D(2025, 9, 2), False), (D(2025, 9, 3), True),
    # Giỗ Tổ 2026 on a Sunday: substitute Monday 27/04; 30/4 Thu, 1/5 Fri
    (D(2026, 4, 24), True), (D(2026, 4, 27), False), (D(2026, 4, 28), True), (D(2026, 4, 30), False),
    (D(2026, 5, 1), False), (D(2026, 5, 4), True),
    # Quốc khánh 2026: Mon 31/08 swapped with Sat 22/08; Tue 01/09, Wed 02/09
    (D(2026, 8, 22), True), (D(2026, 8, 23), False), (D(2026, 8, 31), False), (D(2026, 9, 1), False),
    (D(2026, 9, 2), False), (D(2026, 9, 3), True),
    # New Year, Ngày Văn hóa Việt Nam (from 2026), ordinary days
    (D(2026, 1, 1), False), (D(2026, 1, 2), True), (D(2026, 11, 24), False), (D(2025, 11, 24), True),
    (D(2026, 11, 23), True), (D(2026, 11, 28), False),
])
def test_working_days(cal: WorkCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


def test_holiday_names(cal: WorkCalendar) -> None:
    assert cal.holiday(D(2026, 2, 17)) == "Tết Nguyên Đán"
    assert "nghỉ bù" in (cal.holiday(D(2026, 4, 27)) or "")
    assert cal.holiday(D(2026, 2, 23)) is None


def test_due_dates_landing_on_days_off(cal: WorkCalendar) -> None:
    # received 27/01/2026: +20 days is Giao thừa (16/02), so the period ends Mon 23/02
    assert cal.statutory_due(D(2026, 1, 27), days=20) == D(2026, 2, 23)
    # received 10/04/2025: +20 is 30/04; 1/5, 2/5 off, then the weekend: Mon 05/05
    assert cal.statutory_due(D(2025, 4, 10), days=20) == D(2025, 5, 5)
    # a Saturday: the next Monday; an ordinary day: itself
    assert cal.statutory_due(D(2026, 3, 2), days=20) == D(2026, 3, 23)
    assert cal.statutory_due(D(2026, 3, 3), days=20) == D(2026, 3, 23)
    assert cal.statutory_due(D(2026, 3, 4), days=20) == D(2026, 3, 24)
    # 20 working days instead, if an administrator chooses them
    assert cal.statutory_due(D(2026, 2, 2), days=20, kind="working") == D(2026, 3, 9)


def test_add_working_days_across_a_year_end(cal: WorkCalendar) -> None:
    assert cal.add_working_days(D(2025, 12, 30), 1) == D(2025, 12, 31)
    assert cal.add_working_days(D(2025, 12, 30), 2) == D(2026, 1, 2)  # 01/01 is a holiday
    assert cal.add_working_days(D(2025, 12, 30), 3) == D(2026, 1, 5)
    assert cal.add_working_days(D(2026, 1, 5), -3) == D(2025, 12, 30)
    assert cal.add_working_days(D(2026, 1, 3), 0) == D(2026, 1, 3)
    assert cal.working_days_between(D(2025, 12, 31), D(2026, 1, 5)) == 2
    assert cal.working_days_between(D(2026, 1, 5), D(2025, 12, 31)) == -2
    assert cal.working_days_between(D(2026, 2, 13), D(2026, 2, 23)) == 1  # across Tết
    # a whole year: 2025 has 261 weekdays, 11 of them off (Tết 5, Giỗ Tổ, 30/4, 1/5, 2/5, 1/9, 2/9 and 1/1
    # -> 12) and one Saturday worked
    assert cal.working_days_between(D(2024, 12, 31), D(2025, 12, 31)) == 261 - 12 + 1


def test_moved_days_in_calendar_toml_are_honoured(tmp_path: Path, cal: WorkCalendar) -> None:
    # the shipped file: Sat 26/04/2025 is worked only because config/calendar.toml says so
    assert cal.working_days == {D(2025, 4, 26): cal.working_days[D(2025, 4, 26)],
                                D(2026, 8, 22): cal.working_days[D(2026, 8, 22)]}
    assert WorkCalendar().is_working_day(D(2025, 4, 26)) is False
    path = tmp_path / "calendar.toml"
    path.write_text('[[day_off]]\ndate = 2027-01-04\nname = "Nghỉ bù thử"\n\n'
                    '[[working_day]]\ndate = 2027-01-09\nname = "Làm bù thử"\n', encoding="utf-8")
    moved = read_calendar(path)
    assert moved.is_working_day(D(2027, 1, 4)) is False and moved.holiday(D(2027, 1, 4)) == "Nghỉ bù thử"
    assert moved.is_working_day(D(2027, 1, 9)) is True
    assert moved.add_working_days(D(2027, 1, 1), 1) == D(2027, 1, 5)
    assert moved.add_working_days(D(2027, 1, 8), 1) == D(2027, 1, 9)
    assert (D(2027, 1, 9), "Làm bù thử", True) in moved.year(2027)


@pytest.mark.parametrize("text", [
    "[[working_day]]\ndate = 2027-01-04\n",  # a Monday cannot be a 'Saturday worked'
    "[[day_off]]\ndate = 2027-01-09\n",  # a Saturday is off already
    "[[day_off]]\ndate = \"04/01/2027\"\n",  # not a TOML date
    "[[day_off\n",  # not TOML
])
def test_bad_calendar_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError):
        read_calendar(path)


def test_rules_from_deadlines_toml(tmp_path: Path) -> None:
    rules = default_rules()
    assert (rules.answer_days, rules.answer_kind, rules.update_every, rules.result_within) == (20, "calendar", 7, 2)
    path = tmp_path / "deadlines.toml"
    path.write_text("[agency]\nremind_before_working_days = [1, 5]\n[needs_info]\nclose_after_working_days = 10\n")
    assert read_rules(path).remind_before == (5, 1) and read_rules(path).close_after == 10
    path.write_text('[answer]\nkind = "lunar"\n')
    with pytest.raises(ConfigurationError, match="kind"):
        read_rules(path)
    path.write_text("[overdue]\nupdate_every_working_days = 0\n")
    with pytest.raises(ConfigurationError, match="update_every_working_days"):
        read_rules(path)


def test_the_tick_s_at_argument() -> None:
    from datetime import datetime

    from gateway.clock.jobs import parse_at
    from gateway.constants import VN_TZ

    assert parse_at(None) is None and parse_at("") is None
    assert parse_at("2026-03-04T09:30") == datetime(2026, 3, 4, 9, 30, tzinfo=VN_TZ)  # Vietnamese time
    assert parse_at("2026-03-04") == datetime(2026, 3, 4, 12, 0, tzinfo=VN_TZ)  # a date: noon
    moment = parse_at("2026-03-04T02:30:00+00:00")
    assert moment is not None and moment.astimezone(VN_TZ).hour == 9
    with pytest.raises(ValueError, match="ISO"):
        parse_at("04/03/2026")
