"""Bounds on values from outside: lengths, forbidden characters, strict numbers, tokens.

Pure functions, shared by the channel parsers and the views, so that every string that
is stored or looked up has been checked the same way before it reaches the database
(PostgreSQL refuses NUL bytes and lone surrogates; a varchar overflow is an error there).
Each check answers with a short problem code (``too_long``, ``control_chars``, …) or
None; the callers turn the codes into Vietnamese (or English for the API) messages.
"""

from __future__ import annotations

import re
from enum import StrEnum

# C0 controls except tab, newline and carriage return (whitespace the cleaners fold),
# DEL, C1 controls, and UTF-16 surrogates (only a JSON "\ud800" escape can produce one).
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")  # no space: identifiers, never prose
_URLSAFE = re.compile(r"[A-Za-z0-9_-]+")
INT32_MAX = 2**31 - 1  # database INTEGER columns (and ids)

# Lengths of the identifiers that come from outside (the columns allow more where noted).
MAX_CALL_ID = 100  # hotline_call.call_id, inbound_message.external_id
MAX_MESSAGE_SID = 64  # Twilio's are 34 ("SM"/"MM" + 32 hex); external_id allows 100
MAX_SMS_BODY = 1600  # Twilio's own limit for one (concatenated) message
MAX_SMS_ADDRESS = 64  # From/To: E.164, a short code, or a channel prefix like "whatsapp:+84…"
MAX_USERNAME = 64  # staff_user.username
MAX_PASSWORD = 1024  # hashing a megabyte of password is a denial of service, not a login
MAX_RECEIPT = 32  # pakn_case.receipt
MAX_QUERY = 200  # a search or lookup box
MAX_NOTE = 500  # call-back and coordinator notes
MAX_REMOTE_ADDR = 64  # inbound_message.remote_addr


class Problem(StrEnum):
    """Why a value was refused."""

    required = "required"
    too_long = "too_long"
    control_chars = "control_chars"
    not_identifier = "not_identifier"
    not_number = "not_number"


def has_forbidden(value: str) -> bool:
    """True when ``value`` holds a NUL, another control character or a lone surrogate."""
    return _FORBIDDEN.search(value) is not None


def strip_forbidden(value: str) -> str:
    """``value`` without the characters :func:`has_forbidden` looks for."""
    return _FORBIDDEN.sub("", value)


def check_text(value: str, *, max_len: int, required: bool = False) -> Problem | None:
    """Free text (a name, a note, an answer): bounded, no control characters."""
    if has_forbidden(value):
        return Problem.control_chars
    if len(value) > max_len:
        return Problem.too_long
    if required and not value.strip():
        return Problem.required
    return None


def check_identifier(value: str, *, max_len: int) -> Problem | None:
    """An identifier from another system (call id, MessageSid): 1..max_len printable ASCII, no spaces."""
    if not value:
        return Problem.required
    if len(value) > max_len:
        return Problem.too_long
    if has_forbidden(value):
        return Problem.control_chars
    if not _PRINTABLE_ASCII.fullmatch(value):
        return Problem.not_identifier
    return None


def is_token(value: str, *, max_len: int) -> bool:
    """A URL-safe token we issued (letters, digits, ``-``, ``_``), at most ``max_len`` long."""
    return 0 < len(value) <= max_len and _URLSAFE.fullmatch(value) is not None


def ascii_int(value: object, *, maximum: int = INT32_MAX) -> int | None:
    """A non-negative integer written in ASCII digits only, at most ``maximum``; else None.

    ``str.isdigit`` accepts "²" and "٣" (and ``int`` then fails or reads another script),
    and ``int`` refuses more than 4300 digits: neither may reach a parser unchecked.
    """
    text = value.strip() if isinstance(value, str) else ""
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(maximum)):
        return None
    number = int(significant)
    return number if number <= maximum else None
