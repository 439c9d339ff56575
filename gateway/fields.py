"""The fields (lĩnh vực) of PAKN, from ``config/fields.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from config.settings import ROOT
from normalizer.classify import OUT_REASONS, CaseType, Cues, Rules

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
    scope, types, matching = data.get("scope", {}), data.get("types", {}), data.get("matching", {})
    out = {r: Cues(strong=tuple(scope.get(r, {}).get("strong", ())), weak=tuple(scope.get(r, {}).get("weak", ())))
           for r in OUT_REASONS}
    return Rules(
        fields={f["code"]: tuple(f.get("keywords", ())) for f in data.get("field", [])},
        weak={f["code"]: tuple(f.get("weak", ())) for f in data.get("field", [])},
        complaint=out["complaint"].strong,
        legal_advice=out["legal_advice"].strong,
        out=out,
        pakn=tuple(scope.get("pakn", ())),
        types={CaseType(k): tuple(v) for k, v in types.items()},
        min_words=int(scope.get("min_words", 12)),
        vague_words=int(scope.get("vague_words", 25)),
        ignore=tuple(matching.get("ignore", ())),
        title_weight=float(matching.get("title_weight", 2.0)),
        abbreviations=dict(data.get("abbreviations", {})),
        central=tuple(data.get("routing", {}).get("central", ())),
    )


def is_field(code: str) -> bool:
    """True when ``code`` names a configured field."""
    return any(f.code == code for f in all_fields())
