"""Vietnamese phone numbers to E.164, including the 2018 renumbering."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

DEFAULT_REGION = "VN"

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


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """Return ``raw`` as an E.164 string, or None when it is not a valid number."""
    if not raw or not raw.strip():
        return None
    candidate = raw.strip()
    if not candidate.startswith("+") or candidate.startswith("+84"):
        candidate = _national_form(candidate)
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """True when the E.164 number is a mobile (or fixed-or-mobile) line."""
    number = phonenumbers.parse(e164, None)
    kind = phonenumbers.number_type(number)
    return kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


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
