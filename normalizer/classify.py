"""Classifying a PAKN by scope, type and field, with the words that decided it (pure).

The rules are data (``config/fields.toml``, loaded by the gateway and passed in):
keyword lists written with diacritics, matched on folded text as whole words, so
"so do" in an unaccented SMS matches "sổ đỏ". A phrase weighs as many points as it has
words, so "giấy phép xây dựng" outweighs a stray "đường".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from normalizer.text import fold


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


@dataclass(frozen=True)
class Rules:
    """Everything the classifier knows, as data."""

    fields: Mapping[str, tuple[str, ...]]  # field code → keywords
    complaint: tuple[str, ...]
    legal_advice: tuple[str, ...]
    types: Mapping[CaseType, tuple[str, ...]]
    min_words: int = 12
    vague_words: int = 25
    min_score: float = 2.0  # a field needs at least this many points…
    min_confidence: float = 0.6  # …and this share of all field points


@dataclass(frozen=True)
class Classification:
    """The decision and why."""

    scope: Scope
    scope_reason: str | None  # complaint, legal_advice, too_short, too_vague
    case_type: CaseType | None
    field: str | None  # best field, even when not confident (a suggestion for triage)
    confidence: float  # 0..1: share of the best field in all field points
    confident: bool
    reasons: tuple[str, ...]  # Vietnamese, for the coordinator


@lru_cache(maxsize=4096)
def _pattern(keyword: str) -> re.Pattern[str]:
    words = fold(keyword).lower().split()
    return re.compile(r"(?<![\w])" + r"\s+".join(re.escape(w) for w in words) + r"(?![\w])")


def _hits(text: str, keywords: Iterable[str]) -> list[str]:
    """The keywords found in ``text`` (already folded and lower-cased)."""
    return [k for k in keywords if _pattern(k).search(text)]


def _points(hits: list[str]) -> float:
    return float(sum(len(k.split()) for k in hits))


def _quote(hits: list[str]) -> str:
    return ", ".join(f"«{h}»" for h in hits)


def _field(text: str, rules: Rules) -> tuple[str | None, float, float, list[str]]:
    scores = {code: (_points(h), h) for code, kw in rules.fields.items() if (h := _hits(text, kw))}
    if not scores:
        return None, 0.0, 0.0, []
    best = max(scores, key=lambda c: scores[c][0])
    total = sum(points for points, _ in scores.values())
    return best, scores[best][0], scores[best][0] / total, scores[best][1]


def _type(text: str, rules: Rules) -> tuple[CaseType | None, list[str]]:
    scored = [(_points(h), t, h) for t, kw in rules.types.items() if (h := _hits(text, kw))]
    if not scored:
        return None, []
    order = list(CaseType)
    _points_won, kind, hits = max(scored, key=lambda s: (s[0], -order.index(s[1])))
    return kind, hits


def classify(title: str, content: str, rules: Rules) -> Classification:
    """Decide scope, type and field of a PAKN from its title and content."""
    text = fold(f"{title}\n{content}").lower()
    words = len(content.split())
    field, score, confidence, field_hits = _field(text, rules)
    kind, type_hits = _type(text, rules)
    confident = field is not None and score >= rules.min_score and confidence >= rules.min_confidence
    reasons = []
    if field:
        reasons.append(f"Lĩnh vực {field} ({score:g} điểm, {confidence:.0%}): {_quote(field_hits)}")
    if kind:
        reasons.append(f"Loại {kind.value}: {_quote(type_hits)}")
    scope, why = Scope.in_scope, None
    if complaint := _hits(text, rules.complaint):
        scope, why = Scope.out_of_scope, "complaint"
        reasons.insert(0, f"Khiếu nại, tố cáo: {_quote(complaint)}")
    elif advice := _hits(text, rules.legal_advice):
        scope, why = Scope.out_of_scope, "legal_advice"
        reasons.insert(0, f"Đề nghị tư vấn pháp luật: {_quote(advice)}")
    elif words < rules.min_words:
        scope, why = Scope.needs_info, "too_short"
        reasons.insert(0, f"Nội dung quá ngắn ({words} từ)")
    elif words < rules.vague_words and field is None and kind is None:
        scope, why = Scope.needs_info, "too_vague"
        reasons.insert(0, "Nội dung chưa nêu rõ việc gì, ở đâu, cơ quan nào")
    return Classification(scope=scope, scope_reason=why, case_type=kind, field=field,
                          confidence=round(confidence, 3), confident=confident, reasons=tuple(reasons))
