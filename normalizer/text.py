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


# --- SMS: GSM 03.38 / UCS-2 ------------------------------------------------------

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")  # each costs two septets (ESC + char)
SINGLE_GSM7, MULTI_GSM7 = 160, 153  # septets per segment
SINGLE_UCS2, MULTI_UCS2 = 70, 67  # UTF-16 code units per segment
_GSM_SUBSTITUTES = str.maketrans({
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'",
    "–": "-", "—": "-", "‑": "-", "…": "...", "\u00a0": " ", "\t": " ", "•": "-", "·": ".",
    "`": "'", "´": "'", "×": "x",
})


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` exists in the GSM 7-bit alphabet."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _units(text: str) -> list[int]:
    """Cost of each character: septets for GSM-7, UTF-16 code units for UCS-2."""
    if is_gsm7(text):
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [len(ch.encode("utf-16-le")) // 2 for ch in text]


def segments(text: str) -> int:
    """Number of SMS segments ``text`` takes (GSM-7 160/153, else UCS-2 70/67).

    A character is never split across segments (an escaped GSM-7 character or a
    UTF-16 surrogate pair moves whole to the next segment), as handsets do.
    """
    if not text:
        return 1
    gsm = is_gsm7(text)
    units = _units(text)
    single, multi = (SINGLE_GSM7, MULTI_GSM7) if gsm else (SINGLE_UCS2, MULTI_UCS2)
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for cost in units:
        if used + cost > multi:
            count, used = count + 1, 0
        used += cost
    return count


def to_gsm7(text: str) -> str:
    """Unaccented text that fits the GSM 7-bit alphabet (SMS without diacritics)."""
    folded = fold(nfc(text)).translate(_GSM_SUBSTITUTES)
    return "".join(ch if ch in GSM7_BASIC or ch in GSM7_EXTENSION else "?" for ch in folded)


def fit(text: str, *, max_segments: int = 2, tail: str = "") -> str:
    """``text`` if it fits in ``max_segments``; else cut at a word boundary + `` ... `` + ``tail``."""
    if segments(text) <= max_segments:
        return text
    suffix = " ... " + tail if tail else " ..."
    words = text.split(" ")
    low, high = 0, len(words)
    while low < high:  # the most words that still fit
        mid = (low + high + 1) // 2
        if segments(" ".join(words[:mid]).rstrip(" ,.;:") + suffix) <= max_segments:
            low = mid
        else:
            high = mid - 1
    head = " ".join(words[:low]).rstrip(" ,.;:")
    if not head:  # one giant word: cut by characters
        head = text
        while head and segments(head + suffix) > max_segments:
            head = head[:-1]
    return head + suffix


# --- accent-aware matching ---------------------------------------------------------

# Old and new tone placement ("hoà"/"hòa", "thuỷ"/"thủy"): one canonical form, tone on
# the first vowel of oa/oe/uy when nothing follows them in the syllable.
_TONE_MOVES = {
    f"{first}{toned}": f"{new}{plain}"
    for first, plain, pairs in (("o", "a", "àòáóảỏãõạọ"), ("o", "e", "èòéóẻỏẽõẹọ"), ("u", "y", "ỳùýúỷủỹũỵụ"))
    for toned, new in zip(pairs[::2], pairs[1::2], strict=True)
}
_TONE_RE = re.compile("(" + "|".join(_TONE_MOVES) + r")(?![^\W\d_])")


def canon(value: str) -> str:
    """NFC, lower-case, one tone placement: the form keywords and texts are compared in."""
    text = nfc(value).lower()
    return _TONE_RE.sub(lambda m: _TONE_MOVES[m.group(1)], text)


def is_unaccented(value: str, threshold: float = 0.03) -> bool:
    """True when ``value`` is written without Vietnamese diacritics (SMS style).

    Accented Vietnamese has a diacritic on roughly every third letter; a text with
    fewer than 3% is treated as unaccented (a stray "đ" or a quoted name aside).
    """
    letters = [ch for ch in value if ch.isalpha()]
    if not letters:
        return True
    marked = sum(1 for ch in letters if fold(ch) != ch)
    return marked / len(letters) < threshold
