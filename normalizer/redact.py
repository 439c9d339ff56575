"""Removing personal data from free text before it is published (pure, no I/O).

Every detector finds spans in the original text; overlapping spans are resolved (the
earlier, then the longer one wins) and each span is replaced by a neutral Vietnamese
marker such as ``[số điện thoại]``. What is found is returned with the text so that the
coordinator sees why each piece went.

Detectors, in the order they win ties:

- identity documents after their name (CCCD, CMND, căn cước, hộ chiếu …), and bare
  12-digit citizen-ID numbers and passport numbers (one letter + 7 digits);
- bank accounts after "tài khoản", "STK", "số TK" (optionally a bank's name between);
- emails;
- licence plates (29A-123.45, 51F-12345, 29-B1 123.45, 59X3-123.45);
- phone numbers, with ``phonenumbers``' own matcher (region VN, leniency VALID), except
  public service numbers (1800…, 1900…);
- house numbers in addresses ("số nhà 15", "số 12 ngõ 34", "123/45 Nguyễn Trãi");
- the sender's full address, email and phone as given on the form;
- the sender's name and its parts, with or without diacritics: the full name, any run of
  two or more of its words that ends with the given name, the family name with the given
  name, and the given name alone after a form of address ("ông", "chị", …) or when it
  stands capitalised on its own (not followed by another capitalised word, so that the
  given name "Hà" does not take "Hà Nội" with it).

PAKN codes (26-000123-4) and legal document numbers (123/2024/NĐ-CP) are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from normalizer.text import fold


class Kind(StrEnum):
    """What a redacted piece was; the value is the marker's text."""

    id_number = "số giấy tờ"
    bank_account = "số tài khoản"
    email = "email"
    plate = "biển số xe"
    phone = "số điện thoại"
    house_number = "số nhà"
    address = "địa chỉ"
    name = "họ tên"


PRIORITY = {kind: rank for rank, kind in enumerate(Kind)}


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: where it was in the original and what it was."""

    start: int
    end: int
    kind: Kind
    text: str


@dataclass(frozen=True)
class Redaction:
    """The redacted text and what was removed."""

    text: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        """True when anything was removed."""
        return bool(self.findings)


def marker(kind: Kind) -> str:
    """The replacement shown in place of a piece of ``kind``."""
    return f"[{kind.value}]"


# --- patterns ---------------------------------------------------------------------

_W = r"[^\W\d_]"  # a letter, any script
_ID_WORDS = (r"(?:CCCD|CMND|CMTND|CMT|căn\s+cước(?:\s+công\s+dân)?|chứng\s+minh(?:\s+nhân\s+dân|\s+thư)?"
             r"|(?:số\s+)?định\s+danh(?:\s+cá\s+nhân)?|hộ\s+chiếu|passport)")
_ID_AFTER_WORD = re.compile(_ID_WORDS + r"(?:\s+(?:số|mang\s+số|là))?\s*[:.]?\s*([A-Z]?\d[\d .]{6,14}\d)",
                            re.IGNORECASE)
_CCCD = re.compile(r"(?<![\d\-./])\d{3}[ .]?\d{3}[ .]?\d{3}[ .]?\d{3}(?![\d\-/]|\.\d)")
_PASSPORT = re.compile(r"(?<![\w\-])[A-Z]\d{7,8}(?![\w\-])")
_BANK = re.compile(
    r"(?:số\s+tài\s+khoản|tài\s+khoản|STK|số\s+TK|\bTK)"
    r"(?:\s+(?:ngân\s+hàng\s+)?(?:[A-Z][\w]*|số)){0,3}\s*[:.]?\s*(\d[\d .\-]{5,22}\d)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
_PLATE = re.compile(
    r"(?<![\w\-./])\d{2}\s?-?\s?[A-Z]{1,2}\d?\s?-?\s?(?:\d{3}\.\d{2}|\d{4,5})(?![\w\-]|\.\d)"
)
_HOUSE_WORDS = r"(?:ngõ|ngách|hẻm|kiệt|đường|phố|tổ|khu|thôn|xóm|ấp|khối|tầng|lô|\s*,)"
_HOUSE = re.compile(
    r"(?:(?:số\s+nhà|nhà\s+số|căn\s+hộ|căn\s+hộ\s+số|phòng)\s*(\d+[A-Za-z]?(?:/\d+[A-Za-z]?)*)"
    r"|\b(?:số|nhà)\s+(\d+[A-Za-z]?(?:/\d+[A-Za-z]?)*)(?=\s+" + _HOUSE_WORDS + r"|\s+[A-ZĐ]" + _W + r"*\s+[A-ZĐ])"
    r"|(?<![\w/])(\d+[A-Za-z]?/\d+[A-Za-z]?(?:/\d+)?)(?=\s+(?:đường\s+|phố\s+)?[A-ZĐ]" + _W + r"*\s+[A-ZĐ]))",
    re.UNICODE,
)
_PROTECTED = re.compile(
    r"(?<!\d)\d{2}[-. ]\d{6,}[-. ]\d(?!\d)"  # PAKN codes
    r"|\d+/\d{4}/[A-ZĐ][\wĐđ\-]*"  # legal documents: 123/2024/NĐ-CP, 23/2021/QĐ-TTg
)
_SERVICE_NUMBER = re.compile(r"^(?:\+?84)?0?(?:18|19)00")
# Forms of address before a given name, folded (matched against folded text).
_ADDRESS_TITLES = r"(?:ong|ba|anh|chi|em|co|chu|bac|chau|cu|toi\s+la|toi\s+ten(?:\s+la)?|ten\s+la|ten|minh\s+la)"


def _spans(pattern: re.Pattern[str], text: str, kind: Kind, group: int | None = None) -> Iterable[Finding]:
    for match in pattern.finditer(text):
        index = group if group is not None else next((i for i in range(1, (pattern.groups or 0) + 1)
                                                      if match.group(i)), 0)
        start, end = match.span(index)
        yield Finding(start, end, kind, text[start:end])


# A mobile or landline number glued to letters ("sdt0912345678", "zalo0912 345 678"): the
# matcher wants a word boundary, SMS writers do not leave one.
_GLUED_PHONE = re.compile(r"(?<=[^\W\d_])((?:\+?84|0)(?:[\s.\-]?\d){9,10})(?!\d)")


def _phones(text: str) -> Iterable[Finding]:
    for match in PhoneNumberMatcher(text, "VN", leniency=Leniency.VALID):
        digits = phonenumbers.normalize_digits_only(match.raw_string)
        if _SERVICE_NUMBER.match(digits):
            continue
        yield Finding(match.start, match.end, Kind.phone, match.raw_string)
    for glued in _GLUED_PHONE.finditer(text):
        try:
            number = phonenumbers.parse(glued.group(1), "VN")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            yield Finding(glued.start(1), glued.end(1), Kind.phone, glued.group(1))


def _own_phone(text: str, phone: str | None) -> Iterable[Finding]:
    """The sender's own number however it is written (+84 912…, 0912 345 678, 0912.345.678)."""
    digits = phonenumbers.normalize_digits_only(phone or "")
    national = digits[2:] if digits.startswith("84") else digits.lstrip("0")
    if len(national) < 8:
        return
    spaced = r"[\s.\-]?".join(national)
    for match in re.finditer(r"(?:\+?84|0)?[\s.\-]?" + spaced + r"(?!\d)", text):
        yield Finding(match.start(), match.end(), Kind.phone, match.group())


def _folded(text: str) -> str:
    """Lower-case folded text of the same length (one character for one)."""
    out = []
    for ch in text:
        folded = fold(ch).casefold()
        out.append(folded if len(folded) == 1 else ch.casefold() if len(ch.casefold()) == 1 else ch)
    return "".join(out)


def _word_pattern(words: Sequence[str]) -> str:
    return r"(?<![\w])" + r"\s+".join(re.escape(_folded(w)) for w in words) + r"(?![\w])"


def _names(text: str, name: str) -> Iterable[Finding]:
    words = [w for w in re.split(r"\s+", name.strip()) if w]
    if not words:
        return
    folded = _folded(text)
    runs = {tuple(words[i:]) for i in range(len(words) - 1)}  # two or more words ending with the given name
    if len(words) >= 3:
        runs.add((words[0], words[-1]))  # "Nguyễn Nhung"
    runs.add(tuple(words))
    for run in sorted(runs, key=len, reverse=True):
        for match in re.finditer(_word_pattern(run), folded):
            yield Finding(match.start(), match.end(), Kind.name, text[match.start():match.end()])
    given = words[-1]
    after_title = re.compile(r"(?<![\w])" + _ADDRESS_TITLES + r"\s+(" + re.escape(_folded(given)) + r")(?![\w])")
    for match in after_title.finditer(folded):
        yield Finding(match.start(1), match.end(1), Kind.name, text[match.start(1):match.end(1)])
    alone = re.compile(r"(?<![\w])" + re.escape(_folded(given)) + r"(?![\w])")
    for match in alone.finditer(folded):
        start, end = match.span()
        original = text[start:end]
        following = re.match(r"\s+(\w)", text[end:])
        capital_follows = following is not None and following.group(1).isupper()
        preceding = re.search(r"(\w+)\s+$", text[:start])
        capital_precedes = preceding is not None and preceding.group(1)[:1].isupper()
        if original[:1].isupper() and not capital_follows and not capital_precedes:
            yield Finding(start, end, Kind.name, original)


def _literal(text: str, value: str | None, kind: Kind) -> Iterable[Finding]:
    if not value or len(value) < 5:
        return
    folded, needle = _folded(text), _folded(value)
    for match in re.finditer(re.escape(needle), folded):
        yield Finding(match.start(), match.end(), kind, text[match.start():match.end()])


def find(text: str, *, names: Sequence[str] = (), emails: Sequence[str] = (), addresses: Sequence[str] = (),
         phones: Sequence[str] = ()) -> list[Finding]:
    """Every piece of personal data in ``text``, non-overlapping, in order."""
    protected = [m.span() for m in _PROTECTED.finditer(text)]
    found: list[Finding] = [
        *_spans(_ID_AFTER_WORD, text, Kind.id_number, 1),
        *_spans(_CCCD, text, Kind.id_number),
        *_spans(_PASSPORT, text, Kind.id_number),
        *_spans(_BANK, text, Kind.bank_account, 1),
        *_spans(_EMAIL, text, Kind.email),
        *_spans(_PLATE, text, Kind.plate),
        *_phones(text),
        *_spans(_HOUSE, text, Kind.house_number),
    ]
    for value in addresses:
        found.extend(_literal(text, value, Kind.address))
    for value in emails:
        found.extend(_literal(text, value, Kind.email))
    for name in names:
        found.extend(_names(text, name))
    for phone in phones:
        found.extend(_own_phone(text, phone))
    found = [f for f in found if f.end > f.start
             and not any(start <= f.start and f.end <= end for start, end in protected)]
    found.sort(key=lambda f: (f.start, -(f.end - f.start), PRIORITY[f.kind]))
    chosen: list[Finding] = []
    for finding in found:
        if chosen and finding.start < chosen[-1].end:
            continue
        chosen.append(finding)
    return chosen


def redact(text: str, *, names: Sequence[str] = (), emails: Sequence[str] = (), addresses: Sequence[str] = (),
           phones: Sequence[str] = ()) -> Redaction:
    """``text`` with every piece of personal data replaced by its marker."""
    findings = find(text, names=names, emails=emails, addresses=addresses, phones=phones)
    out, last = [], 0
    for finding in findings:
        out.append(text[last:finding.start])
        out.append(marker(finding.kind))
        last = finding.end
    out.append(text[last:])
    return Redaction(text="".join(out), findings=tuple(findings))
