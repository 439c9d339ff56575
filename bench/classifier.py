"""The classifier on the held-out set: automatic and right, confident and wrong, triage.

    .venv/bin/python bench/classifier.py [--set heldout|train] [--no-model] [--show-wrong]

Targets (issue 14): confident-and-wrong ≤ 3% of all items; decided automatically and
right ≥ 80%; unaccented SMS rewrites within 5 points of their accented originals.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.classifier import model as trained
from gateway.classifier.evaluate import Score, evaluate
from gateway.classifier.service import classify_case, demo_directory


def _line(name: str, score: Score) -> str:
    rates = (score.rate(score.auto_right), score.rate(score.confident_wrong), score.rate(score.triage))
    return f"{name:<28} {score.items:>5} " + " ".join(f"{r:>8.1%}" for r in rates)


def main() -> int:
    """Print the figures; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("heldout", "train"), default="heldout")
    parser.add_argument("--no-model", action="store_true", help="rules only")
    parser.add_argument("--show-wrong", action="store_true")
    args = parser.parse_args()
    items = trained.load_items(trained.HELDOUT_PATH if args.set == "heldout" else trained.TRAIN_PATH)
    directory = demo_directory()
    if not args.no_model and trained.current() is None:
        print("no usable model (see the warning above): run `flask --app wsgi classifier train`", file=sys.stderr)
        return 1
    started = time.perf_counter()
    report = evaluate(items, lambda i: classify_case(i["title"], i["content"], directory=directory,
                                                     use_model=not args.no_model), directory)
    elapsed = time.perf_counter() - started
    print(f"{args.set}: {len(items)} items, {'rules only' if args.no_model else 'rules + model'}, "
          f"{elapsed / len(items) * 1000:.1f} ms an item")
    print(f"{'':<28} {'items':>5} {'auto ok':>8} {'conf bad':>8} {'triage':>8}")
    print(_line("all", report.overall))
    for scope, score in sorted(report.by_scope.items()):
        print(_line(f"  scope {scope}", score))
    print(_line("unaccented SMS rewrites", report.sms))
    print(_line("  their accented originals", report.originals))
    gap = abs(report.sms.rate(report.sms.auto_right) - report.originals.rate(report.originals.auto_right))
    if args.show_wrong:
        print("confidently wrong:", ", ".join(report.overall.wrong_ids) or "none")
    ok = (report.overall.rate(report.overall.confident_wrong) <= 0.03
          and report.overall.rate(report.overall.auto_right) >= 0.80 and gap <= 0.05)
    print(f"SMS gap {gap * 100:.1f} points; targets {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
