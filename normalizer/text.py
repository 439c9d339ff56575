"""Unicode text helpers: NFC, whitespace, diacritic folding for matching."""

from __future__ import annotations

import re
import unicodedata

# Characters whose base letter is not reachable by NFD decomposition.
_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D"})
_SPACES = re.compile(r"\s+")
# C0/C1 controls except tab, newline and carriage return.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
REPLACEMENT_CHAR = "\ufffd"


def nfc(value: str) -> str:
    """Return ``value`` in Unicode Normalization Form C."""
    return unicodedata.normalize("NFC", value)


def clean_line(value: str) -> str:
    """NFC, drop control characters, collapse all whitespace to single spaces."""
    return _SPACES.sub(" ", _CONTROLS.sub("", nfc(value))).strip()


def clean_block(value: str) -> str:
    """NFC multi-line text: unify newlines, drop controls, trim trailing blanks."""
    text = nfc(value).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def fold(value: str) -> str:
    """Remove Vietnamese diacritics (đ→d included), keeping letter case."""
    decomposed = unicodedata.normalize("NFD", value.translate(_FOLD_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def match_key(value: str) -> str:
    """Key for lenient matching: folded, lower-case, single-spaced."""
    return clean_line(fold(value)).casefold()


def has_invalid_chars(value: str) -> bool:
    """True when text carries U+FFFD, the trace of bytes that were not UTF-8."""
    return REPLACEMENT_CHAR in value
