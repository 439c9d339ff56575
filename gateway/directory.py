"""The agency directory: vCards (2.1, 3.0, 4.0) from real address books → agencies."""

from __future__ import annotations

import json
import quopri
import re
from dataclasses import dataclass, field

import vobject
from sqlmodel import Session, select

from gateway.fields import is_field
from gateway.models import Agency, utcnow
from normalizer.text import fold

_BEGIN = re.compile(r"^BEGIN:VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^END:VCARD\s*$", re.IGNORECASE)
_QP = re.compile(r"ENCODING=QUOTED-PRINTABLE|;QUOTED-PRINTABLE[;:]", re.IGNORECASE)
_CHARSET = re.compile(r";CHARSET=([\w-]+)", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class AgencyCard:
    """What a card says about an agency."""

    code: str
    name: str
    emails: tuple[str, ...]
    fields: tuple[str, ...]
    vcard: str
    line: int
    kind: str | None = None  # ministry, province (X-PAKN-KIND)
    province: str | None = None  # province code (X-PAKN-PROVINCE), for a People's Committee


@dataclass(frozen=True)
class CardProblem:
    """A card that could not be read: who (as far as can be told), where, why."""

    name: str
    line: int
    reason: str


@dataclass
class DirectoryImport:
    """Result of importing a file of cards."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    problems: list[CardProblem] = field(default_factory=list)
    without_email: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    """A stable ASCII code for an agency name."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text).lower()).strip("-")[:60] or "agency"


def _split(text: str) -> list[tuple[int, list[str]]]:
    cards, current, start = [], None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        if _BEGIN.match(line.strip()):
            current, start = [line.strip()], number
        elif current is not None:
            current.append(line)
            if _END.match(line.strip()):
                cards.append((start, current))
                current = None
    if current is not None:
        cards.append((start, current))
    return cards


def _join_soft_breaks(lines: list[str]) -> list[str]:
    """vCard 2.1 quoted-printable: a line ending in '=' continues on the next line."""
    out: list[str] = []
    for line in lines:
        if out and _QP.search(out[-1].split(":", 1)[0] + ":") and out[-1].endswith("="):
            out[-1] = out[-1][:-1] + line
        else:
            out.append(line)
    return out


def _decode_qp(line: str) -> str:
    """A 2.1 QP property → the same property in plain text (vobject reads that)."""
    head, _, value = line.partition(":")
    if not _QP.search(head + ":"):
        return line
    charset = (_CHARSET.search(head).group(1) if _CHARSET.search(head) else "utf-8")  # type: ignore[union-attr]
    text = quopri.decodestring(value.encode("ascii", "replace")).decode(charset, "replace")
    head = re.sub(r";(ENCODING=)?QUOTED-PRINTABLE|;CHARSET=[\w-]+", "", head, flags=re.IGNORECASE)
    return head + ":" + text.replace("\r\n", "\\n").replace("\n", "\\n")


NEEDED = frozenset({"BEGIN", "END", "VERSION", "FN", "N", "ORG", "EMAIL", "CATEGORIES", "X-PAKN-AGENCY", "X-PAKN-KIND",
                    "X-PAKN-PROVINCE"})
KINDS = ("ministry", "province")


_PROPERTY = re.compile(r"^[A-Za-z0-9.\-]+([;:])")


def _needed_only(lines: list[str], start: int) -> list[str]:
    """Drop what the directory does not use (photos, keys, sounds…) with its folded lines.

    Binary blobs folded the 2.1 way are where exports differ most and break parsers. A
    line that is not a property at all means the card is damaged: ValueError names it.
    """
    kept: list[str] = []
    keep = False
    for offset, line in enumerate(lines):
        if not line.strip():
            continue  # 2.1 ends base64 values with an empty line
        if line[0] in " \t":
            if keep:
                kept.append(line)
            continue
        if not _PROPERTY.match(line) or ":" not in line:
            raise ValueError(f"line {start + offset} is not a vCard property: {line[:40]!r}")
        name = re.split(r"[;:]", line, maxsplit=1)[0].split(".")[-1].upper()
        keep = name in NEEDED
        if keep:
            kept.append(line)
    return kept


def _flat(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return " – ".join(part for part in (_flat(v) for v in value) if part)
    return str(value).strip()


def _guess_name(lines: list[str]) -> str:
    for prefix in ("FN", "ORG", "N"):
        for line in lines:
            if line.upper().startswith((prefix + ":", prefix + ";")):
                return _decode_qp(line).split(":", 1)[1].replace(";", " ").strip() or "?"
    return "?"


def _card(start: int, lines: list[str]) -> AgencyCard:
    if not _END.match(lines[-1].strip()):
        raise ValueError("the card has no END:VCARD (the file is cut short)")
    normalized = [_decode_qp(line) for line in _needed_only(_join_soft_breaks(lines), start)]
    parsed = vobject.readOne("\r\n".join(normalized) + "\r\n")
    emails = tuple(v for v in (_flat(e.value) for e in parsed.contents.get("email", [])) if _EMAIL.fullmatch(v))
    candidates = [_flat(parsed.contents[key][0].value) for key in ("org", "fn", "n") if key in parsed.contents]
    name = next((c for c in candidates if c), emails[0] if emails else "")
    if not name:
        raise ValueError("the card names no one (no ORG, FN, N or EMAIL)")
    categories: list[str] = []
    for entry in parsed.contents.get("categories", []):
        values = entry.value if isinstance(entry.value, list) else str(entry.value).split(",")
        categories += [v.strip().lower() for v in values if v.strip()]
    explicit = parsed.contents.get("x-pakn-agency")
    code = explicit[0].value.strip() if explicit else slug(str(name))
    extra = {key: _flat(parsed.contents[key][0].value).lower() or None
             for key in ("x-pakn-kind", "x-pakn-province") if key in parsed.contents}
    kind, province = extra.get("x-pakn-kind"), extra.get("x-pakn-province")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"X-PAKN-KIND must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "province" and not province:
        raise ValueError("a province's card needs X-PAKN-PROVINCE (its code, see config/provinces.toml)")
    return AgencyCard(code=code, name=str(name).strip()[:200], emails=emails,
                      fields=tuple(c for c in categories if is_field(c)), vcard="\r\n".join(lines), line=start,
                      kind=kind, province=province or None)


def read_cards(data: bytes) -> tuple[list[AgencyCard], list[CardProblem]]:
    """Every readable card of an export; unreadable ones are reported by name and line."""
    text = data.decode("utf-8-sig", errors="replace")
    cards, problems = [], []
    for start, lines in _split(text):
        try:
            cards.append(_card(start, lines))
        except Exception as exc:  # vobject raises many kinds; each is a problem with this card only
            problems.append(CardProblem(name=_guess_name(lines), line=start, reason=f"{type(exc).__name__}: {exc}"))
    if not cards and not problems:
        problems.append(CardProblem(name="?", line=1, reason="no BEGIN:VCARD … END:VCARD in the file"))
    return cards, problems


def import_cards(session: Session, *, cards: list[AgencyCard]) -> DirectoryImport:
    """Create or update agencies by code (idempotent)."""
    result = DirectoryImport()
    for card in cards:
        agency = session.exec(select(Agency).where(Agency.code == card.code)).first()
        if agency is None:
            agency = Agency(code=card.code, name="", emails="[]", fields="[]", vcard="")
            result.created.append(card.code)
        else:
            result.updated.append(card.code)
        agency.name, agency.vcard = card.name, card.vcard
        agency.emails, agency.fields = json.dumps(list(card.emails)), json.dumps(list(card.fields))
        agency.kind, agency.province = card.kind, card.province
        agency.updated_at = utcnow()
        session.add(agency)
        if not card.emails:
            result.without_email.append(card.code)
    session.commit()
    return result


def for_field(session: Session, *, field_code: str) -> list[Agency]:
    """Active agencies (not provinces) that take cases of ``field_code``, with an email to send them to."""
    agencies = session.exec(select(Agency).where(Agency.active == True)).all()  # noqa: E712
    return [a for a in agencies
            if a.kind != "province" and field_code in json.loads(a.fields) and json.loads(a.emails)]


def for_province(session: Session, *, province: str) -> list[Agency]:
    """The active People's Committee(s) of ``province`` with an email."""
    agencies = session.exec(select(Agency).where(Agency.active == True, Agency.province == province)).all()  # noqa: E712
    return [a for a in agencies if a.kind == "province" and json.loads(a.emails)]
