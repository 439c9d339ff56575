"""The fields (lĩnh vực) of PAKN, from ``config/fields.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from config.settings import ROOT
from normalizer.classify import CaseType, Rules

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


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The classifier's rules from ``config/fields.toml``."""
    with open(FIELDS_PATH, "rb") as handle:
        data = tomllib.load(handle)
    scope, types = data.get("scope", {}), data.get("types", {})
    return Rules(
        fields={f["code"]: tuple(f.get("keywords", ())) for f in data.get("field", [])},
        complaint=tuple(scope.get("complaint", ())),
        legal_advice=tuple(scope.get("legal_advice", ())),
        types={CaseType(k): tuple(v) for k, v in types.items()},
        min_words=int(scope.get("min_words", 12)),
        vague_words=int(scope.get("vague_words", 25)),
    )


def is_field(code: str) -> bool:
    """True when ``code`` names a configured field."""
    return any(f.code == code for f in all_fields())
