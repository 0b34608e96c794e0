"""Sentiment (consult.reports.sentiment) measured on labelled citizen comments in Vietnamese and English.

    python -m bench.evaluate_sentiment [--errors dev|test]

The sets, ``bench/data/sentiment_vi.tsv`` and ``sentiment_en.tsv``, were written for this project in the style
of comments on draft laws, policies and public services: 60 positive (support, praise, thanks), 60 negative
(opposition, complaints, criticism) and 60 neutral (questions, suggestions, requests for clarification, plain
statements) in each language; a fifth of the Vietnamese ones are typed without diacritics, as many are on
phones. Each row is in the development half (used while writing the word lists) or the held-out test half
(drawn at random, half of each label; only measured). The figures that count are the test half's: accuracy,
macro-F1 (the mean of the three classes' F1, so that no class can be ignored) and the confusion matrix (rows:
true label, columns: predicted, in the order negative, neutral, positive). The development half's are printed
too: the gap between the two says how much the lists were fitted to the development sentences.

Speed: texts per second for ``detect_language`` followed by ``sentiment``, as the report job calls them.

The last line printed is one JSON object with every figure; ``consult.reports.sentiment.MEASURED`` must hold the
test figures (a test checks it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from consult.reports import sentiment as s

DATA = Path(__file__).resolve().parent / "data"
LABELS = (-1, 0, 1)
LANGUAGES = ("vi", "en")


def read(language: str) -> list[tuple[int, str, str]]:
    """(label, split, text) rows of the language's set."""
    rows = []
    with (DATA / f"sentiment_{language}.tsv").open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip() or line.startswith("label\t"):
                continue
            label, split, text = line.rstrip("\n").split("\t", 2)
            rows.append((int(label), split, text))
    return rows


def figures(true: list[int], predicted: list[int]) -> dict:
    matrix = [[sum(1 for t, p in zip(true, predicted) if t == a and p == b) for b in LABELS] for a in LABELS]
    f1s = []
    for k in range(len(LABELS)):
        tp = matrix[k][k]
        predicted_k = sum(row[k] for row in matrix)
        true_k = sum(matrix[k])
        precision = tp / predicted_k if predicted_k else 0.0
        recall = tp / true_k if true_k else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    correct = sum(matrix[k][k] for k in range(len(LABELS)))
    return {"accuracy": round(correct / len(true), 3) if true else 0.0, "macro_f1": round(sum(f1s) / len(f1s), 3),
            "sentences": len(true), "confusion": matrix}


def evaluate(language: str, split: str, language_given: bool = True) -> dict:
    """The figures of ``split`` ("dev" or "test"); ``language_given`` False: detected, as in the report."""
    rows = [row for row in read(language) if row[1] == split]
    predicted = [s.sentiment(text, language if language_given else s.detect_language(text)) for _, _, text in rows]
    return figures([label for label, _, _ in rows], predicted)


def measured() -> dict:
    """What MEASURED must hold."""
    out = {}
    for language in LANGUAGES:
        f = evaluate(language, "test", language_given=False)
        out[language] = {"accuracy": f["accuracy"], "macro_f1": f["macro_f1"], "sentences": f["sentences"]}
    return out


def speed(repeat: int = 200) -> float:
    texts = [text for language in LANGUAGES for _, _, text in read(language)]
    s.sentiment(texts[0], s.detect_language(texts[0]))  # word lists loaded
    started = time.process_time()  # CPU time of this process: other work on the machine does not count
    for _ in range(repeat):
        for text in texts:
            s.sentiment(text, s.detect_language(text))
    return len(texts) * repeat / (time.process_time() - started)


def _matrix(matrix: list[list[int]]) -> str:
    lines = ["            pred -1   pred 0   pred 1"]
    for label, row in zip(LABELS, matrix):
        lines.append(f"    true {label:>2}  " + "  ".join(f"{n:>7}" for n in row))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluate_sentiment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", choices=("dev", "test"), help="also list the misclassified sentences of a half")
    args = parser.parse_args(argv)
    result: dict = {"method": "lexicon", "threshold": s.THRESHOLD}
    for language in LANGUAGES:
        detected = [s.detect_language(text) for _, _, text in read(language)]
        detection = sum(d == language for d in detected) / len(detected)
        result[language] = {"language_detected": round(detection, 3)}
        for split in ("dev", "test"):
            f = evaluate(language, split, language_given=False)
            result[language][split] = f
            print(f"{language} {split:<4}: accuracy {f['accuracy']:.3f}, macro-F1 {f['macro_f1']:.3f}, "
                  f"{f['sentences']} sentences (language detected itself on {detection:.0%} of the set)")
            print(_matrix(f["confusion"]))
            if args.errors == split:
                for label, _, text in (row for row in read(language) if row[1] == split):
                    got = s.sentiment(text, s.detect_language(text))
                    if got != label:
                        print(f"      true {label:>2} got {got:>2} ({s.score(text, s.detect_language(text)):+.2f}): {text}")
    rate = speed()
    result["texts_per_second"] = round(rate)
    result["measured"] = measured()
    result["measured_matches_module"] = result["measured"] == s.MEASURED
    print(f"speed: {rate:,.0f} texts/s (detect_language + sentiment, CPU time of one core)")
    if not result["measured_matches_module"]:
        print(f"MEASURED in consult/reports/sentiment.py is stale; it should be {result['measured']}")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
