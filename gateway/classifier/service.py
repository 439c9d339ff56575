"""Classify one text the way the gateway does: rules, model, province, directory."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, select

from config.settings import ROOT
from gateway import directory as agency_directory
from gateway.classifier import model as trained
from gateway.classifier.decide import AgencyRef, Decision, Directory, decide
from gateway.fields import rules
from gateway.models import Agency
from normalizer.classify import classify
from normalizer.places import Province, detect_province

PROVINCES_PATH = ROOT / "config" / "provinces.toml"
DEMO_CARDS = ROOT / "config" / "agencies"


@lru_cache(maxsize=1)
def provinces() -> tuple[Province, ...]:
    """The 34 provinces and cities with their old names (``config/provinces.toml``)."""
    with open(PROVINCES_PATH, "rb") as handle:
        data = tomllib.load(handle)
    return tuple(Province(code=p["code"], name=p["name"], names=tuple(p.get("aliases", ())),
                          old=tuple(p.get("old", ()))) for p in data.get("province", []))


def province_name(code: str | None) -> str | None:
    """The current name of a province code."""
    return next((p.name for p in provinces() if p.code == code), None)


@lru_cache(maxsize=1)
def _place_names() -> tuple[str, ...]:
    return tuple(n for p in provinces() for n in (*p.names, *p.old))


def _build(entries: Iterable[tuple[str, str, list[str], str | None, str | None, bool]]) -> Directory:
    by_field: dict[str, list[AgencyRef]] = {}
    by_province: dict[str, list[AgencyRef]] = {}
    for code, name, fields, kind, province, has_email in entries:
        if not has_email:
            continue
        ref = AgencyRef(code=code, name=name)
        if kind == "province" and province:
            by_province.setdefault(province, []).append(ref)
        elif kind != "province":
            for field_code in fields:
                by_field.setdefault(field_code, []).append(ref)
    return Directory(by_field={k: tuple(v) for k, v in by_field.items()},
                     by_province={k: tuple(v) for k, v in by_province.items()})


def directory_from_db(session: Session) -> Directory:
    """The directory as imported (active agencies with an email)."""
    return directory_of(session.exec(select(Agency).where(Agency.active == True)).all())  # noqa: E712


def directory_of(agencies: Sequence[Agency]) -> Directory:
    """The directory of these agency rows (the caller read them, e.g. to pick the chosen one)."""
    return _build((a.code, a.name, json.loads(a.fields), a.kind, a.province, bool(json.loads(a.emails)))
                  for a in agencies)


@lru_cache(maxsize=1)
def demo_directory(folder: Path = DEMO_CARDS) -> Directory:
    """The demo directory from ``config/agencies/*.vcf`` (for the command line and the bench)."""
    cards = [card for path in sorted(folder.glob("*.vcf"))
             for card in agency_directory.read_cards(path.read_bytes())[0]]
    return _build((c.code, c.name, list(c.fields), c.kind, c.province, bool(c.emails)) for c in cards)


def classify_case(title: str, content: str, *, directory: Directory, address: str = "",
                  field_hint: str | None = None, use_model: bool = True) -> Decision:
    """The gateway's decision on one PAKN."""
    result = classify(title, content, rules(), keep_places=_place_names())
    place = detect_province(f"{title}\n{content}", provinces(), address=address)
    model = trained.current() if use_model else None
    opinion = model.opinion(title, content) if model else None
    return decide(result, opinion, place, directory, field_hint=field_hint)
