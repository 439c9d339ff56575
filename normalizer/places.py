"""Places in a citizen's text (pure): address phrases to ignore, and the province.

Citizens write addresses small to large ("số 7 đường Lê Lợi, phường X, huyện Y cũ,
tỉnh Z"), often with the names of the provinces before the 2025 merger, with or
without diacritics. Street and commune names are often names of provinces or fields
("đường Hải Phòng", "phường Hòa Bình", "đường Giải Phóng"), so they are taken out
first: a place word followed by capitalised words or a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from normalizer.text import canon, fold

# Place words (compared accent-aware: "bản" is a village, "bán" is not). Each is
# followed by a name.
_STREET = ("đường", "phố", "ngõ", "ngách", "hẻm", "kiệt", "đại lộ", "số nhà")
_LOCAL = ("phường", "xã", "quận", "huyện", "thị xã", "thị trấn", "thôn", "ấp", "bản", "xóm", "khối", "tổ dân phố",
          "khu phố", "tổ", "khu công nghiệp", "kcn", "cụm công nghiệp", "khu đô thị", "làng")
_REGION = ("tỉnh", "thành phố", "tp", "tp.")
_TOKEN = re.compile(r"[^\W_]+(?:[.'’/-][^\W_]+)*\.?|[,;:()!?\n]")


@dataclass(frozen=True)
class Province:
    """A province or centrally-run city after 2025, with every name it is written by."""

    code: str
    name: str
    names: tuple[str, ...]  # current names and short forms
    old: tuple[str, ...] = ()  # names of the provinces merged into it


@dataclass(frozen=True)
class ProvinceFound:
    """Which province, and the words that said so."""

    code: str
    name: str
    matched: str  # as written by the citizen
    old_name: bool  # written with a name from before the 2025 merger
    source: str  # "address" or "text"


T = TypeVar("T")

_fold = lru_cache(maxsize=65_536)(fold)  # single words, compared thousands of times per text


def _key(word: str) -> str:
    return canon(word).rstrip(".") if word not in ("tp.", "TP.") else "tp."


def _same(keys: list[str], at: int, words: tuple[str, ...]) -> bool:
    """Tokens from ``at`` spell ``words``: exactly when written with diacritics, folded when not."""
    if at + len(words) > len(keys):
        return False
    for key, word in zip(keys[at:at + len(words)], words, strict=True):
        if key != word and not (_fold(key) == key and _fold(word) == key):
            return False
    return True


def _is_name(token: str) -> bool:
    return token[:1].isupper() or token[:1].isdigit()


@dataclass(frozen=True)
class _Index(Generic[T]):
    """Word sequences (longest first) with a value each, indexed by their first word.

    A token then tries only the entries it can start. ``exact`` holds each first word
    as written, ``folded`` the same without diacritics, for tokens written without them
    (see :func:`_same`).
    """

    exact: dict[str, tuple[tuple[tuple[str, ...], T], ...]]
    folded: dict[str, tuple[tuple[tuple[str, ...], T], ...]]

    def at(self, keys: list[str], i: int) -> tuple[tuple[str, ...], T] | None:
        """The first (longest) entry spelled by the tokens from ``i``, or None."""
        key = keys[i]
        candidates = self.folded.get(key, ()) if _fold(key) == key else self.exact.get(key, ())
        return next((e for e in candidates if _same(keys, i, e[0])), None)


def _indexed(entries: Iterable[tuple[tuple[str, ...], T]]) -> _Index[T]:
    ordered = sorted((e for e in entries if e[0]), key=lambda e: len(e[0]), reverse=True)
    exact: dict[str, list[tuple[tuple[str, ...], T]]] = {}
    folded: dict[str, list[tuple[tuple[str, ...], T]]] = {}
    for entry in ordered:  # each list keeps the longest-first order
        exact.setdefault(entry[0][0], []).append(entry)
        folded.setdefault(_fold(entry[0][0]), []).append(entry)
    return _Index({k: tuple(v) for k, v in exact.items()}, {k: tuple(v) for k, v in folded.items()})


def _markers(groups: Iterable[tuple[str, ...]]) -> _Index[None]:
    return _indexed((tuple(m.split()), None) for group in groups for m in group)


_STRIP_ALL = _markers((_STREET, _LOCAL, _REGION, ("số",)))
_STRIP_LOCAL = _markers((_STREET, _LOCAL, ("số",)))
_REGION_MARKERS = _markers((_REGION,))


def _spans(text: str, markers: _Index[None], stop: _Index[None]) -> list[tuple[int, int]]:
    """Character spans of "place word + name" in ``text``."""
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    keys = [_key(t[0]) for t in tokens]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        entry = markers.at(keys, i)
        if entry is None:
            skip = _REGION_MARKERS.at(keys, i)  # "thành phố" is not "phố"
            i += len(skip[0]) if skip else 1
            continue
        marker = entry[0]
        j = i + len(marker)
        if marker == ("số",) and not (j < len(tokens) and tokens[j][0][:1].isdigit()):
            i += 1
            continue
        end = j
        while end < len(tokens) and end - j < 5 and _is_name(tokens[end][0]):
            if end > j and stop.at(keys, end) is not None:
                break  # "xã Việt Yên Bắc Giang": the province is not part of the commune's name
            end += 1
        if end > j:
            spans.append((tokens[i][1], tokens[end - 1][2]))
            i = end
        else:
            i += 1
    return spans


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(" ")
        last = end
    out.append(text[last:])
    return "".join(out)


def strip_places(text: str, keep_provinces: Iterable[str] = ()) -> str:
    """``text`` without address phrases ("đường Lê Lợi", "phường 24", "tỉnh Nghệ An").

    Only capitalised names and numbers after a place word are taken out, so "mặt đường
    bong tróc" stays. Lower-case SMS text is left as it is (no way to tell where a name
    ends). ``keep_provinces`` stops a commune's name from swallowing a province after it.
    """
    return _cut(text, _spans(text, _STRIP_ALL, _stop(tuple(keep_provinces))))


def _words(name: str) -> tuple[str, ...]:
    return tuple(canon(name).replace("-", " ").split())


@lru_cache(maxsize=256)
def _stop(names: tuple[str, ...]) -> _Index[None]:
    return _indexed((_words(n), None) for n in names)


@lru_cache(maxsize=8)
def _index(provinces: tuple[Province, ...]) -> _Index[tuple[Province, bool]]:
    entries = [(_words(n), (p, False)) for p in provinces for n in p.names]
    entries += [(_words(n), (p, True)) for p in provinces for n in p.old]
    return _indexed(entries)


@lru_cache(maxsize=8)
def _all_names(provinces: tuple[Province, ...]) -> tuple[str, ...]:
    return tuple(n for p in provinces for n in (*p.names, *p.old))


def _find(text: str, provinces: tuple[Province, ...], source: str) -> ProvinceFound | None:
    index = _index(provinces)
    cleaned = _cut(text, _spans(text, _STRIP_LOCAL, _stop(_all_names(provinces)))).replace("-", " ")
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(cleaned)]
    keys = [_key(t[0]) for t in tokens]
    found: list[tuple[bool, int, ProvinceFound]] = []
    i = 0
    while i < len(tokens):
        hit = index.at(keys, i)
        if hit is None:
            i += 1
            continue
        words, (province, old) = hit
        end = i + len(words)
        marked = i > 0 and _fold(keys[i - 1]) in ("tinh", "pho", "tp", "tp.")
        matched = cleaned[tokens[i][1]:tokens[end - 1][2]]
        found.append((marked, i, ProvinceFound(code=province.code, name=province.name, matched=matched,
                                               old_name=old, source=source)))
        i = end
    if not found:
        return None
    marked_hits = [f for f in found if f[0]]
    return (marked_hits or found)[-1][2]  # addresses run small to large: the last is the province


def detect_province(text: str, provinces: tuple[Province, ...], address: str = "") -> ProvinceFound | None:
    """The province a PAKN is about: from the address if it names one, else from the text."""
    return (_find(address, provinces, "address") if address else None) or _find(text, provinces, "text")
