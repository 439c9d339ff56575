"""Classifying a PAKN by scope, type and field, with the words that decided it (pure).

The rules are data (``config/fields.toml``, loaded by the gateway and passed in).
Matching is accent-aware: a text written with diacritics is matched with them ("đặt"
is not "đất", "khỏi" is not "khói", "lượng" is not "lương"); only a text written
without them (SMS) is matched against folded keywords. Before matching, address
phrases are taken out ("đường Giải Phóng" is an address, not a road problem), phrases
that merely contain a keyword are ignored ("yêu cầu" is not "cầu"), and abbreviations
are expanded (BHXH, CCCD, "ko", "dc"). A phrase weighs as many points as it has
words, a weak keyword half of that, the title ``title_weight`` times.

Scope is decided by cues for complaints, denunciations and requests for legal advice
weighed against what a PAKN says (a delay, a request to act, a proposal): a text is
out of scope *for sure* only with a strong cue and no PAKN cue; a mere mention of
"khiếu nại" in a PAKN about a procedure keeps it in scope.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from normalizer.places import strip_places
from normalizer.text import canon, fold, is_unaccented


class Scope(StrEnum):
    """Whether the PAKN system may handle it."""

    in_scope = "in_scope"
    out_of_scope = "out_of_scope"
    needs_info = "needs_info"


class CaseType(StrEnum):
    """The three kinds of PAKN (hành vi, quy định hành chính, sáng kiến)."""

    hanh_vi = "hanh_vi"
    quy_dinh = "quy_dinh"
    sang_kien = "sang_kien"


OUT_REASONS = ("complaint", "denunciation", "legal_advice")
OUT_LABELS = {"complaint": "Khiếu nại", "denunciation": "Tố cáo", "legal_advice": "Đề nghị tư vấn pháp luật"}


@dataclass(frozen=True)
class Cues:
    """Strong and weak phrases for one out-of-scope reason."""

    strong: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """Everything the classifier knows, as data."""

    fields: Mapping[str, tuple[str, ...]]  # field code → keywords
    complaint: tuple[str, ...] = ()  # strong cues (kept as plain tuples for older callers)
    legal_advice: tuple[str, ...] = ()
    types: Mapping[CaseType, tuple[str, ...]] = field(default_factory=dict)
    min_words: int = 12
    vague_words: int = 25
    min_score: float = 2.0  # a field needs at least this many points…
    min_confidence: float = 0.6  # …and this share of all field points
    weak: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # field code → half-point keywords
    out: Mapping[str, Cues] = field(default_factory=dict)  # complaint, denunciation, legal_advice
    pakn: tuple[str, ...] = ()  # what a PAKN says
    ignore: tuple[str, ...] = ()
    abbreviations: Mapping[str, str] = field(default_factory=dict)
    central: tuple[str, ...] = ()  # names of central agencies
    title_weight: float = 2.0

    def cues(self, reason: str) -> Cues:
        """The cues for ``reason``, falling back to the plain strong lists."""
        if reason in self.out:
            return self.out[reason]
        return Cues(strong={"complaint": self.complaint, "legal_advice": self.legal_advice}.get(reason, ()))


@dataclass(frozen=True)
class Classification:
    """The decision and why."""

    scope: Scope
    scope_reason: str | None  # complaint, denunciation, legal_advice, too_short, too_vague
    case_type: CaseType | None
    field: str | None  # best field, even when not confident (a suggestion for triage)
    confidence: float  # 0..1: share of the best field in all field points
    confident: bool  # the field
    reasons: tuple[str, ...]  # Vietnamese, for the coordinator
    scope_confident: bool = True  # False: cues point both ways; a person decides
    out_suggestion: str | None = None  # the out-of-scope reason the cues point to, even when in scope
    out_points: float = 0.0
    pakn_points: float = 0.0
    field_points: Mapping[str, float] = dataclasses.field(default_factory=dict)
    type_points: Mapping[str, float] = dataclasses.field(default_factory=dict)
    central: tuple[str, ...] = ()  # central agencies named
    unaccented: bool = False


# --- matching ---------------------------------------------------------------------

@dataclass(frozen=True)
class Prepared:
    """A text ready for matching: canonical, addresses out, abbreviations expanded."""

    text: str
    unaccented: bool


def _words(keyword: str, unaccented: bool) -> list[str]:
    words = canon(keyword).split()
    return [fold(w) for w in words] if unaccented else words


@lru_cache(maxsize=16384)
def _pattern(keyword: str, unaccented: bool) -> re.Pattern[str]:
    words = _words(keyword, unaccented)
    return re.compile(r"(?<![\w])" + r"\s+".join(re.escape(w) for w in words) + r"(?![\w])")


@lru_cache(maxsize=16384)
def _needle(keyword: str, unaccented: bool) -> str:
    """A substring every match of the keyword contains (its first word): a cheap test before the regex."""
    words = _words(keyword, unaccented)
    return words[0] if words else ""


def _abbreviation_pattern(keys: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<![\w])({alternatives})(?![\w])")


_ABBREVIATIONS: dict[tuple[tuple[str, str], ...], re.Pattern[str]] = {}


def prepare(text: str, rules: Rules, *, keep_places: Iterable[str] = ()) -> Prepared:
    """Canonical form of ``text`` for matching (see the module docstring)."""
    unaccented = is_unaccented(text)
    stripped = strip_places(text, keep_places)
    value = canon(stripped)
    if rules.abbreviations:
        items = tuple(sorted((canon(k), canon(v)) for k, v in rules.abbreviations.items()))
        pattern = _ABBREVIATIONS.get(items)
        if pattern is None:
            pattern = _ABBREVIATIONS.setdefault(items, _abbreviation_pattern(tuple(k for k, _ in items)))
        table = dict(items)
        value = pattern.sub(lambda m: table[m.group(1)], value)
    if unaccented:
        value = fold(value)
    for phrase in rules.ignore:
        value = _pattern(phrase, unaccented).sub(" ; ", value)
    return Prepared(text=value, unaccented=unaccented)


def hits(prepared: Prepared, keywords: Iterable[str]) -> list[str]:
    """The keywords found in a prepared text (as written in the rules)."""
    text, unaccented = prepared.text, prepared.unaccented
    return [k for k in keywords if _needle(k, unaccented) in text and _pattern(k, unaccented).search(text)]


_OFFICIAL = re.compile(r"\b(?:cán|can) (?:bộ|bo)\b")


def _points(found: list[str], weight: float = 1.0) -> float:
    return weight * float(sum(len(k.split()) for k in found))


def _quote(found: Iterable[str]) -> str:
    return ", ".join(f"«{h}»" for h in found)


@dataclass
class _Score:
    points: float = 0.0
    words: list[str] = field(default_factory=list)

    def add(self, found: list[str], weight: float) -> None:
        self.points += _points(found, weight)
        self.words += [w for w in found if w not in self.words]


def _scored(parts: list[tuple[Prepared, float]], table: Mapping[str, tuple[str, ...]],
            weak: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, _Score]:
    scores: dict[str, _Score] = {}
    for code, keywords in table.items():
        score = _Score()
        for prepared, weight in parts:
            score.add(hits(prepared, keywords), weight)
            if weak and code in weak:
                score.add(hits(prepared, weak[code]), weight / 2)
        if score.points:
            scores[code] = score
    return scores


# --- the decision -------------------------------------------------------------------

def classify(title: str, content: str, rules: Rules, *, keep_places: Iterable[str] = ()) -> Classification:
    """Decide scope, type and field of a PAKN from its title and content."""
    keep = tuple(keep_places)
    parts = [(prepare(content, rules, keep_places=keep), 1.0)]
    if title.strip():
        parts.append((prepare(title, rules, keep_places=keep), rules.title_weight))
    words = len(content.split())

    fields = _scored(parts, rules.fields, rules.weak)
    total = sum(s.points for s in fields.values())
    best = max(fields, key=lambda c: fields[c].points) if fields else None
    score = fields[best].points if best else 0.0
    confidence = score / total if total else 0.0
    confident = best is not None and score >= rules.min_score and confidence >= rules.min_confidence

    types = _scored(parts, {t.value: kw for t, kw in rules.types.items()})
    order = [t.value for t in CaseType]
    kind_code = max(types, key=lambda t: (types[t].points, -order.index(t))) if types else None
    kind = CaseType(kind_code) if kind_code else None

    content_only = parts[:1]
    out_scores: dict[str, tuple[float, list[str], int]] = {}
    for reason in OUT_REASONS:
        cues = rules.cues(reason)
        strong = [h for p, _ in parts for h in hits(p, cues.strong)]
        weak = [h for p, _ in content_only for h in hits(p, cues.weak)]
        points = 2.0 * len(set(strong)) + len(set(weak))
        if reason == "legal_advice" and "?" in content:
            points += 1.0
            weak.append("?")
        if points:
            out_scores[reason] = (points, sorted(set(strong)) + sorted(set(weak) - set(strong)), len(set(strong)))
    pakn_found = sorted({h for p, _ in content_only for h in hits(p, rules.pakn)})
    pakn_points = float(len(pakn_found))
    # "cán bộ tư pháp" is an official, not the Ministry of Justice ("Bộ Tư pháp")
    officials = [(Prepared(text=_OFFICIAL.sub("cán_bộ", p.text), unaccented=p.unaccented), w) for p, w in parts]
    central = tuple(sorted({h for p, _ in officials for h in hits(p, rules.central)}))

    reasons: list[str] = []
    if best:
        reasons.append(f"Lĩnh vực {best} ({score:g} điểm, {confidence:.0%}): {_quote(fields[best].words)}")
    if kind and kind_code:
        reasons.append(f"Loại {kind.value}: {_quote(types[kind_code].words)}")
    suggestion = max(out_scores, key=lambda r: out_scores[r][0]) if out_scores else None
    out_points = out_scores[suggestion][0] if suggestion else 0.0

    scope, why, sure = Scope.in_scope, None, True
    if words < rules.min_words:
        scope, why = Scope.needs_info, "too_short"
        reasons.insert(0, f"Nội dung quá ngắn ({words} từ)")
    elif suggestion and out_points >= 2.0:
        _points_won, cue_words, strong_count = out_scores[suggestion]
        label = OUT_LABELS[suggestion]
        if out_points > pakn_points:
            scope, why = Scope.out_of_scope, suggestion
            sure = strong_count > 0 and pakn_points == 0
            reasons.insert(0, f"{label}: {_quote(cue_words)}" + (
                f"; nhưng cũng có dấu hiệu PAKN: {_quote(pakn_found)}" if pakn_found else ""))
        else:
            sure = False
            reasons.insert(0, f"Có dấu hiệu {label.lower()} ({_quote(cue_words)}) nhưng nội dung là PAKN: "
                              f"{_quote(pakn_found)}")
    vague = best is None and words < rules.vague_words  # no field cue in a short text: what, where, who?
    if scope is Scope.in_scope and vague:
        scope, why = Scope.needs_info, "too_vague"
        reasons.insert(0, "Nội dung chưa nêu rõ việc gì, ở đâu, cơ quan nào")
    return Classification(
        scope=scope, scope_reason=why, case_type=kind, field=best, confidence=round(confidence, 3), confident=confident,
        reasons=tuple(reasons), scope_confident=sure, out_suggestion=suggestion if out_points >= 2.0 else None,
        out_points=out_points, pakn_points=pakn_points,
        field_points={c: s.points for c, s in fields.items()}, type_points={t: s.points for t, s in types.items()},
        central=central, unaccented=all(p.unaccented for p, _ in parts))
