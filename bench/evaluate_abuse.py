"""Evaluate the abuse screening rule on real Vietnamese comments (ViHOS, ../shared/data/vi-offensive-spans).

    .venv/bin/python -m bench.evaluate_abuse [--data ../shared/data]

Prints comment-level precision/recall/F1 (a comment is offensive if it has a labelled span, predicted offensive if
find_abuse returns any signal), character-level precision/recall/F1 over the labelled offsets, the same on a copy
with the diacritics removed, a comment-level sweep over the signal score, throughput, and last one JSON line.
Exits 2 when the data folder is absent. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import unicodedata
from pathlib import Path

from moderation.rules.abuse import find_abuse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DATASET = Path("vi-offensive-spans") / "train.csv"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def load(path: Path) -> list[tuple[str, set[int]]]:
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append((row["content"], set(json.loads(row["index_spans"] or "[]"))))
    return rows


def strip_diacritics(text: str, labels: set[int]) -> tuple[str, set[int], bool]:
    """``text`` without diacritics, its labels moved to the new offsets, and whether offsets had to move.

    A precomposed letter ("ệ") becomes its base letter in place, so offsets stay; a combining mark written as
    its own character (NFD text) is removed, and the offsets after it shift."""
    out: list[str] = []
    new_index: dict[int, int] = {}
    moved = False
    for index, ch in enumerate(text):
        if unicodedata.combining(ch):
            moved = True
            continue
        if ch in "đĐ":
            base = "d" if ch == "đ" else "D"
        else:
            decomposed = unicodedata.normalize("NFD", ch)
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            if len(base) != 1:
                base = ch
        new_index[index] = len(out)
        out.append(base)
    return "".join(out), {new_index[i] for i in labels if i in new_index}, moved


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "tp": tp, "fp": fp, "fn": fn}


def evaluate(rows: list[tuple[str, set[int]]]) -> dict:
    comment = [0, 0, 0]
    chars = [0, 0, 0]
    sweep = {t: [0, 0, 0] for t in THRESHOLDS}
    elapsed = 0.0
    for text, gold in rows:
        started = time.perf_counter()
        signals = find_abuse(text)
        elapsed += time.perf_counter() - started
        predicted: set[int] = set()
        for signal in signals:
            for start, end in signal.spans:
                predicted.update(range(start, end))
        offensive = bool(gold)
        _count(comment, bool(signals), offensive)
        top = max((s.score for s in signals), default=0.0)
        for threshold, counts in sweep.items():
            _count(counts, top >= threshold, offensive)
        chars[0] += len(predicted & gold)
        chars[1] += len(predicted - gold)
        chars[2] += len(gold - predicted)
    return {
        "comments": len(rows),
        "offensive": sum(1 for _, gold in rows if gold),
        "comment": prf(*comment),
        "span": prf(*chars),
        "sweep": {str(t): prf(*counts) for t, counts in sweep.items()},
        "seconds": round(elapsed, 3),
        "comments_per_second": round(len(rows) / elapsed) if elapsed else None,
    }


def _count(counts: list[int], predicted: bool, actual: bool) -> None:
    if predicted and actual:
        counts[0] += 1
    elif predicted:
        counts[1] += 1
    elif actual:
        counts[2] += 1


def report(name: str, result: dict) -> None:
    c, s = result["comment"], result["span"]
    print(f"{name}: {result['comments']} comments, {result['offensive']} labelled offensive")
    print(f"  comment level: precision {c['precision']:.3f}  recall {c['recall']:.3f}  F1 {c['f1']:.3f}"
          f"  (tp {c['tp']}, fp {c['fp']}, fn {c['fn']})")
    print(f"  span (character) level: precision {s['precision']:.3f}  recall {s['recall']:.3f}  F1 {s['f1']:.3f}")
    print("  comment level when a signal must score at least:")
    for threshold, figures in result["sweep"].items():
        print(f"    >= {threshold}: precision {figures['precision']:.3f}  recall {figures['recall']:.3f}"
              f"  F1 {figures['f1']:.3f}")
    print(f"  throughput: {result['comments_per_second']} comments/second ({result['seconds']} s in find_abuse)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluate_abuse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"the shared data folder (default {DEFAULT_DATA})")
    args = parser.parse_args(argv)
    path = args.data / DATASET
    if not path.is_file():
        print(f"The evaluation data is not here: {path} does not exist. "
              f"Pass --data with the folder that holds {DATASET}.")
        return 2
    rows = load(path)
    stripped_rows = []
    moved = 0
    for text, labels in rows:
        stripped, new_labels, shifted = strip_diacritics(text, labels)
        moved += shifted
        if not shifted and len(stripped) != len(text):
            raise AssertionError(f"length changed without combining marks: {text!r}")
        stripped_rows.append((stripped, new_labels))

    with_diacritics = evaluate(rows)
    without_diacritics = evaluate(stripped_rows)
    print(f"data: {path}")
    report("with diacritics (as written)", with_diacritics)
    report("without diacritics", without_diacritics)
    print(f"  ({moved} comments were written with separate combining marks; their offsets were shifted"
          f" when the marks were removed, all other comments kept their length)")
    print(json.dumps({"dataset": str(DATASET), "with_diacritics": with_diacritics,
                      "without_diacritics": without_diacritics, "nfd_comments_shifted": moved},
                     ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
