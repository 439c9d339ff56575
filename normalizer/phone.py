"""Vietnamese phone numbers to E.164, including the 2018 renumbering.

Vietnamese numbers take a fast path: the national number is checked against
phonenumbers' own metadata for VN (general and per-type descriptions), compiled once,
in the order of phonenumbers' ``_number_type_helper``. Answers are those of
phonenumbers; anything the fast path cannot decide for certain goes to phonenumbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberDesc, PhoneNumberType

DEFAULT_REGION = "VN"
VN_COUNTRY_CODE = "84"

# Eleven-digit mobile prefixes renumbered to ten digits in 2018 (MIC decision 798/QĐ-BTTTT).
OLD_MOBILE_PREFIXES: dict[str, str] = {
    # Viettel
    "0162": "032", "0163": "033", "0164": "034", "0165": "035",
    "0166": "036", "0167": "037", "0168": "038", "0169": "039",
    # MobiFone
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    # VinaPhone
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    # Vietnamobile
    "0186": "056", "0188": "058",
    # Gmobile
    "0199": "059",
}

_KEEP = re.compile(r"[^\d+]")
# A national form phonenumbers reads as 0 (national prefix) + the number: ASCII digits,
# no international prefix (00). An E.164 Vietnamese number whose national number has
# no leading zero and a length phonenumbers accepts (2 to 17 digits).
_VN_NATIONAL = re.compile(r"0([1-9][0-9]*)")
_VN_E164 = re.compile(r"\+84([1-9][0-9]{1,16})")
# The types phonenumbers tries, in its order, before fixed line and mobile.
_SPECIAL_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
                  "voicemail")
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


@dataclass(frozen=True)
class _Desc:
    """A PhoneNumberDesc with its pattern compiled once."""

    pattern: re.Pattern[str]
    lengths: frozenset[int]

    def matches(self, national: str) -> bool:
        """phonenumbers' ``_is_number_matching_desc``: a possible length and the whole pattern."""
        return (not self.lengths or len(national) in self.lengths) and self.pattern.fullmatch(national) is not None


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    """The compiled form of ``desc``, or None where phonenumbers matches nothing."""
    if desc is None or not desc.national_number_pattern:
        return None
    return _Desc(re.compile(desc.national_number_pattern), frozenset(desc.possible_length))


@dataclass(frozen=True)
class _Region:
    """One region's validation metadata, compiled."""

    general: _Desc
    local_only: frozenset[int]  # lengths phonenumbers will not strip the national prefix to
    special: tuple[tuple[int, _Desc], ...]
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line: bool

    def number_type(self, national: str) -> int:
        """phonenumbers' ``_number_type_helper`` for a national significant number."""
        if not self.general.matches(national):
            return PhoneNumberType.UNKNOWN
        for kind, desc in self.special:
            if desc.matches(national):
                return kind
        is_mobile = self.mobile is not None and self.mobile.matches(national)
        if self.fixed_line is not None and self.fixed_line.matches(national):
            return (PhoneNumberType.FIXED_LINE_OR_MOBILE if self.same_mobile_and_fixed_line or is_mobile
                    else PhoneNumberType.FIXED_LINE)
        if not self.same_mobile_and_fixed_line and is_mobile:
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


def _compile_region(region: str) -> _Region:
    """Compile the validation metadata of ``region`` (once, at import)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    assert metadata is not None and metadata.general_desc is not None
    general = _desc(metadata.general_desc)
    assert general is not None
    special = tuple((getattr(PhoneNumberType, name.upper()), desc) for name in _SPECIAL_TYPES
                    if (desc := _desc(getattr(metadata, name))) is not None)
    return _Region(general=general, local_only=frozenset(metadata.general_desc.possible_length_local_only),
                   special=special, fixed_line=_desc(metadata.fixed_line), mobile=_desc(metadata.mobile),
                   same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern))


_VN = _compile_region(DEFAULT_REGION)


def _renumber(digits: str) -> str:
    """Map an old 11-digit national mobile number to its current 10-digit form."""
    if len(digits) == 11 and digits[:4] in OLD_MOBILE_PREFIXES:
        return OLD_MOBILE_PREFIXES[digits[:4]] + digits[4:]
    return digits


def _national_form(raw: str) -> str:
    """Digits of a Vietnamese number in national (0-prefixed) form, or the input."""
    compact = _KEEP.sub("", raw)
    if compact.startswith("+84"):
        compact = "0" + compact[3:]
    elif compact.startswith("0084"):
        compact = "0" + compact[4:]
    elif compact.startswith("84") and len(compact) in (11, 12):
        compact = "0" + compact[2:]
    elif not compact.startswith(("0", "+")) and len(compact) in (9, 10):
        compact = "0" + compact  # leading 0 lost by a spreadsheet
    return _renumber(compact)


def _valid_vn_national(candidate: str) -> str | None:
    """The national number of a valid Vietnamese number in national form, when certain; else None.

    phonenumbers strips the national prefix 0 from such a number when what remains has a
    possible length (not a local-only one), then validates what remains: the same test
    here. None means "ask phonenumbers", not "invalid".
    """
    match = _VN_NATIONAL.fullmatch(candidate)
    if match is None:
        return None
    national = match.group(1)
    if len(national) in _VN.local_only or _VN.number_type(national) == PhoneNumberType.UNKNOWN:
        return None
    return national


def _parsed_e164(candidate: str, region: str) -> str | None:
    """phonenumbers' reading of ``candidate``: its E.164 form, or None when not a valid number."""
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """Return ``raw`` as an E.164 string, or None when it is not a valid number."""
    if not raw or not raw.strip():
        return None
    candidate = raw.strip()
    if not candidate.startswith("+") or candidate.startswith("+84"):
        candidate = _national_form(candidate)
    if region == DEFAULT_REGION and (national := _valid_vn_national(candidate)) is not None:
        return "+" + VN_COUNTRY_CODE + national
    return _parsed_e164(candidate, region)


def _number_type(e164: str) -> int:
    """phonenumbers' PhoneNumberType of an E.164 number (NumberParseException if unreadable)."""
    match = _VN_E164.fullmatch(e164)
    if match is not None:
        return _VN.number_type(match.group(1))
    return phonenumbers.number_type(phonenumbers.parse(e164, None))


def is_mobile(e164: str) -> bool:
    """True when the E.164 number is a mobile (or fixed-or-mobile) line."""
    return _number_type(e164) in _MOBILE_TYPES


@lru_cache(maxsize=4096)
def display(e164: str) -> str:
    """National format for Vietnamese numbers, international for others (as stored if not E.164)."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 84
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)
