"""The deadline rules as data (config/deadlines.toml), not constants in code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from config.settings import ROOT
from gateway.clock.calendar import load_toml
from gateway.exceptions import ConfigurationError

DEADLINES_PATH = ROOT / "config" / "deadlines.toml"


@dataclass(frozen=True)
class Rules:
    """The statutory clock's numbers (see config/deadlines.toml for their sources)."""

    answer_days: int = 20
    answer_kind: str = "calendar"  # "calendar" or "working"
    update_every: int = 7  # working days between overdue updates to the citizen
    result_within: int = 2  # working days for the answer to reach the citizen
    remind_before: tuple[int, ...] = (3,)  # working days before the due date
    chase_every: int = 7  # working days between the agency's overdue reminders
    close_after: int = 15  # working days without a supplement before a needs_info case is closed
    send_from_hour: int = 8  # local hour before which a tick sends nothing


def _int(data: dict[str, Any], section: str, key: str, default: int, path: Path, minimum: int = 1) -> int:
    value = data.get(section, {}).get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigurationError(f"{path}: [{section}] {key} must be a whole number ≥ {minimum} (got {value!r})")
    return value


def read_rules(path: Path) -> Rules:
    """Parse ``path``; a wrong value is a ConfigurationError naming it."""
    data = load_toml(path)
    defaults = Rules()
    kind = data.get("answer", {}).get("kind", defaults.answer_kind)
    if kind not in ("calendar", "working"):
        raise ConfigurationError(f'{path}: [answer] kind must be "calendar" or "working" (got {kind!r})')
    before = data.get("agency", {}).get("remind_before_working_days", list(defaults.remind_before))
    if not isinstance(before, list) or not all(isinstance(n, int) and n > 0 for n in before):
        raise ConfigurationError(f"{path}: [agency] remind_before_working_days must be a list of whole numbers > 0")
    hour = _int(data, "schedule", "send_from_hour", defaults.send_from_hour, path, minimum=0)
    if hour > 23:
        raise ConfigurationError(f"{path}: [schedule] send_from_hour must be 0-23")
    return Rules(
        answer_days=_int(data, "answer", "days", defaults.answer_days, path),
        answer_kind=kind,
        update_every=_int(data, "overdue", "update_every_working_days", defaults.update_every, path),
        result_within=_int(data, "result", "within_working_days", defaults.result_within, path),
        remind_before=tuple(sorted(set(before), reverse=True)),
        chase_every=_int(data, "agency", "chase_every_working_days", defaults.chase_every, path),
        close_after=_int(data, "needs_info", "close_after_working_days", defaults.close_after, path),
        send_from_hour=hour,
    )


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    """The rules of config/deadlines.toml (read once per process)."""
    return read_rules(DEADLINES_PATH)
