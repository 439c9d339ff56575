"""The fields (lĩnh vực) of PAKN, from ``config/fields.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from config.settings import ROOT

FIELDS_PATH = ROOT / "config" / "fields.toml"


@dataclass(frozen=True)
class FieldInfo:
    """One field: stable code and Vietnamese name."""

    code: str
    name: str


@lru_cache(maxsize=1)
def all_fields() -> tuple[FieldInfo, ...]:
    """Every configured field, in file order."""
    with open(FIELDS_PATH, "rb") as handle:
        data = tomllib.load(handle)
    return tuple(FieldInfo(code=f["code"], name=f["name"]) for f in data.get("field", []))


def is_field(code: str) -> bool:
    """True when ``code`` names a configured field."""
    return any(f.code == code for f in all_fields())
