"""Scoring decisions against the labelled set (used by bench/classifier.py and the tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.classifier.decide import Decision, Directory


def expected_agency(item: dict[str, Any], directory: Directory) -> str | None:
    """Where a labelled in-scope item should go, by the labelling guide's routing rule."""
    if item["scope"] != "in":
        return None
    local = item.get("type") not in ("quy_dinh", "sang_kien")
    if local and item.get("province") and item.get("level") != "central":
        ref = directory.province(item["province"])
    else:
        ref = directory.ministry(item.get("field"))
    return ref.code if ref else None


def is_right(item: dict[str, Any], decision: Decision, directory: Directory) -> bool:
    """The decision does what the label says should be done."""
    if item["scope"] != decision.scope:
        return False
    if item["scope"] == "out":
        return bool(decision.reason == item["reason"])
    if item["scope"] == "needs_info":
        return True
    wanted = expected_agency(item, directory)
    return wanted is not None and decision.agency is not None and decision.agency.code == wanted


@dataclass
class Score:
    """Counts over a set of items."""

    items: int = 0
    auto_right: int = 0
    confident_wrong: int = 0
    triage: int = 0
    wrong_ids: list[str] = field(default_factory=list)

    def add(self, item: dict[str, Any], decision: Decision, directory: Directory) -> None:
        """Count one decision."""
        self.items += 1
        if not decision.confident:
            self.triage += 1
        elif is_right(item, decision, directory):
            self.auto_right += 1
        else:
            self.confident_wrong += 1
            self.wrong_ids.append(str(item["id"]))

    def rate(self, count: int) -> float:
        """``count`` as a share of all items."""
        return count / self.items if self.items else 0.0


@dataclass
class Report:
    """The figures the issue asks for."""

    overall: Score
    sms: Score  # unaccented SMS rewrites
    originals: Score  # the accented originals of those rewrites
    by_scope: dict[str, Score]


def evaluate(items: list[dict[str, Any]], classify: Callable[[dict[str, Any]], Decision],
             directory: Directory) -> Report:
    """Decide every item and count."""
    decisions = {str(i["id"]): classify(i) for i in items}
    report = Report(overall=Score(), sms=Score(), originals=Score(), by_scope={})
    by_id = {str(i["id"]): i for i in items}
    for item in items:
        decision = decisions[str(item["id"])]
        report.overall.add(item, decision, directory)
        report.by_scope.setdefault(item["scope"], Score()).add(item, decision, directory)
        original = by_id.get(str(item.get("sms_of")))
        if original is not None:
            report.sms.add(item, decision, directory)
            report.originals.add(original, decisions[str(original["id"])], directory)
    return report
