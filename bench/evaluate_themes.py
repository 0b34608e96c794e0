"""Themes (consult.reports.themes) evaluated on real comments and timed on a million synthetic ones.

    python -m bench.evaluate_themes [--data ../shared/data]
    python -m bench.evaluate_themes --synthetic 1000000

Real comments, run through ``ThemeFinder`` exactly as the report job runs it (``add_sample`` over every comment
in batches of 1,000, ``fit``, ``assign`` over every comment again, ``result``):

* **regulations.gov dockets** (``regulations-gov-dedup``, English; files that are unions of others skipped, as in
  bench/evaluate_campaigns.py): each docket alone (its themes, with the silhouette of the clustering on the
  sample), then all dockets pooled as if they were one consultation. Pooled, the docket each comment came from is
  a true label of its subject, so the themes are compared with it: purity (share of comments whose theme's most
  common docket is their own), adjusted Rand index and normalised mutual information, as the mean of five runs
  with different seeds (k-means depends on where it starts; the range of the ARI is printed too). Nine dockets
  and at most eight themes: two dockets must share a theme, so purity cannot reach 1.
* **Vietnamese comments** (``vi-offensive-spans/train.csv``, column ``content``: 8,844 real social-media comments,
  short and informal, about anything): the themes found, to read. And the word segmentation, measured: the
  comments are split in two halves; the lexicon is learnt on the first (as ``fit`` does on its sample) and the
  second half is segmented by greedy longest match, compared with pyvi run on every text of that half (word
  boundary F1: a word counts as found when its exact span of syllables is), for the lexicon learnt with pyvi,
  the one learnt without (statistical collocations) and no segmentation at all (every syllable a word).
* ``--synthetic N``: N generated comments of about 300 characters, half Vietnamese (a tenth of them typed
  without diacritics) and half English, each about one of eight planted subjects, generated batch by batch on
  the fly (so that memory measures the finder, not the data), twice with the same seed for the two passes.
  Reported: the time spent inside the finder's calls (generation excluded), as CPU time of the process (one
  core, plus the second one that k-means uses in fit) and as wall time, which on a shared machine also counts
  the waits for a core, with the load average and the CPU time of a fixed reference loop to say how busy the
  machine was; the growth of the process's peak resident memory (``resource.getrusage``); and the agreement of
  the themes with the planted subjects.

The last line printed is one JSON object with every figure. Exit status 2 when the data folder is absent.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from bench.evaluate_campaigns import read_dockets
from consult.reports import themes as th
from consult.reports.sentiment import fold

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
FOLDER = "regulations-gov-dedup"
VI_FOLDER = "vi-offensive-spans"
BATCH = 1000
POOLED_SEEDS = 5

csv.field_size_limit(10_000_000)


def run(items: Sequence[tuple[int, str]], **options) -> tuple[th.ThemeFinder, list[int | None], float]:
    """The finder fed as the job feeds it; its labels for ``items`` and the seconds it took."""
    started = time.perf_counter()
    finder = th.ThemeFinder(**options)
    for start in range(0, len(items), BATCH):
        finder.add_sample(items[start:start + BATCH])
    finder.fit()
    labels: list[int | None] = []
    for start in range(0, len(items), BATCH):
        labels += finder.assign(items[start:start + BATCH])
    finder.result()
    return finder, labels, time.perf_counter() - started


def purity(labels: Sequence, truth: Sequence) -> float:
    """Share of the labelled items whose cluster's most common true label is their own."""
    by_cluster: dict = {}
    for label, true in zip(labels, truth):
        if label is not None:
            by_cluster.setdefault(label, Counter())[true] += 1
    total = sum(sum(c.values()) for c in by_cluster.values())
    return sum(c.most_common(1)[0][1] for c in by_cluster.values()) / total if total else 0.0


def agreement(labels: Sequence, truth: Sequence) -> dict:
    pairs = [(label, true) for label, true in zip(labels, truth) if label is not None]
    if not pairs:
        return {"purity": 0.0, "ari": 0.0, "nmi": 0.0, "assigned": 0}
    predicted, true = [p for p, _ in pairs], [t for _, t in pairs]
    return {"purity": round(purity(predicted, true), 4), "ari": round(adjusted_rand_score(true, predicted), 4),
            "nmi": round(normalized_mutual_info_score(true, predicted), 4), "assigned": len(pairs)}


def show(finder: th.ThemeFinder, labels: Sequence, truth: Sequence | None = None, indent: str = "  ") -> list[dict]:
    themes = finder.result()
    for theme in themes:
        where = ""
        if truth is not None:
            counts = Counter(t for label, t in zip(labels, truth) if label == theme["id"])
            where = "  [" + ", ".join(f"{name[:22]} {n}" for name, n in counts.most_common(2)) + "]"
        print(f"{indent}{theme['size']:>6}  {theme['label']}{where}")
        if theme["quotes"]:
            quote = theme["quotes"][0]
            print(f"{indent}        \"{quote['text'][:160]}\" (#{quote['comment_id']})")
    return [{"label": t["label"], "terms": t["terms"], "size": t["size"]} for t in themes]


def _silhouette(finder: th.ThemeFinder) -> float | None:
    return None if finder.silhouette is None else round(finder.silhouette, 4)


# --- regulations.gov ------------------------------------------------------------------------------------------

def evaluate_dockets(folder: Path) -> dict:
    dockets, skipped = read_dockets(folder)
    print(f"data: {folder}")
    print(f"files used: {', '.join(dockets)}" + (f"; skipped as unions of the others: {', '.join(skipped)}" if skipped else ""))
    per_docket = {}
    for name, rows in dockets.items():
        items = [(i, row["text"]) for i, row in enumerate(rows)]
        finder, labels, seconds = run(items)
        print(f"{name}: {len(items)} comments, {len(finder.result())} themes, silhouette {_silhouette(finder)}, "
              f"{seconds:.2f} s")
        per_docket[name] = {"comments": len(items), "silhouette": _silhouette(finder), "seconds": round(seconds, 3),
                            "unassigned": labels.count(None), "themes": show(finder, labels)}
    items, truth = [], []
    for name, rows in dockets.items():
        for row in rows:
            items.append((len(items), row["text"]))
            truth.append(name)
    # k-means depends on where it starts: the pooled figures are given for POOLED_SEEDS seeds.
    runs = []
    for seed in range(POOLED_SEEDS):
        finder, labels, seconds = run(items, seed=seed)
        runs.append((finder, labels, seconds, agreement(labels, truth)))
    finder, labels, seconds, figures = runs[0]
    mean = {key: round(float(np.mean([r[3][key] for r in runs])), 4) for key in ("purity", "ari", "nmi")}
    print(f"all dockets pooled: {len(items)} comments, {len(finder.result())} themes in {seconds:.2f} s; "
          f"silhouette {_silhouette(finder)} (k tried: "
          f"{', '.join(f'{k}: {v:.3f}' for k, v in finder.silhouettes.items())}); against the dockets, mean of seeds "
          f"0-{POOLED_SEEDS - 1}: purity {mean['purity']:.3f}, ARI {mean['ari']:.3f} (from "
          f"{min(r[3]['ari'] for r in runs):.3f} to {max(r[3]['ari'] for r in runs):.3f}), NMI {mean['nmi']:.3f}; "
          f"the themes of seed 0:")
    pooled = {"comments": len(items), "seeds": POOLED_SEEDS, **mean,
              "ari_per_seed": [r[3]["ari"] for r in runs], "purity_per_seed": [r[3]["purity"] for r in runs],
              "silhouette": _silhouette(finder), "silhouettes": finder.silhouettes, "seconds": round(seconds, 3),
              "themes": show(finder, labels, truth)}
    return {"files": list(dockets), "skipped": skipped, "per_docket": per_docket, "pooled": pooled}


# --- Vietnamese -----------------------------------------------------------------------------------------------

def read_vietnamese(folder: Path) -> list[str]:
    with (folder / "train.csv").open(newline="", encoding="utf-8") as handle:
        return [row["content"] for row in csv.DictReader(handle) if row.get("content")]


def _spans(words: Sequence[str]) -> set[tuple[int, int]]:
    spans, at = set(), 0
    for word in words:
        size = word.count("_") + 1
        spans.add((at, at + size))
        at += size
    return spans


def pyvi_words(texts: Sequence[str]) -> list[list[str]]:
    """pyvi's segmentation of every text: the reference (its words of letters only)."""
    from pyvi import ViTokenizer

    return [[w.lower() for w in ViTokenizer.tokenize(text).split() if all(th._WORD.fullmatch(p) for p in w.split("_"))]
            for text in texts]


def segmentation_f1(references: Sequence[list[str]], segment: Callable[[list[str]], list[str]]) -> float:
    """Word F1 of ``segment`` (greedy longest match with a lexicon) against pyvi's words."""
    found = true = predicted = 0
    for reference in references:
        words = segment([p for w in reference for p in w.split("_")])
        a, b = _spans(reference), _spans(words)
        found += len(a & b)
        true += len(a)
        predicted += len(b)
    precision, recall = found / max(predicted, 1), found / max(true, 1)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def evaluate_vietnamese(folder: Path) -> dict:
    raw = read_vietnamese(folder)
    print(f"\nVietnamese: {folder / 'train.csv'}, {len(raw)} comments")
    items = list(enumerate(raw))
    finder, labels, seconds = run(items)
    print(f"{len(finder.result())} themes in {seconds:.2f} s, silhouette {_silhouette(finder)}, "
          f"{finder.compounds} words of several syllables learnt ({finder.segmentation_used}), "
          f"{labels.count(None)} comments without a known word")
    themes = show(finder, labels)
    # Segmentation: learnt on the first half, measured on the second against pyvi on every text.
    texts = [th.analysed_text(t) for t in raw]
    texts = [t for t in texts if th.has_vietnamese_marks(t)]
    learn, held = texts[: len(texts) // 2], texts[len(texts) // 2:]
    figures = {}
    started = time.perf_counter()
    references = pyvi_words(held)
    pyvi_us = (time.perf_counter() - started) / max(len(held), 1) * 1e6
    learnt = {"pyvi": th.learn_compounds_pyvi(learn), "statistical": th.learn_compounds_statistical(learn),
              "none": {}}
    print(f"lexicon learnt on {len(learn)} comments, measured on {len(held)} others (mean "
          f"{np.mean([len(t) for t in held]):.0f} characters) against pyvi run on each of them ({pyvi_us:.0f} µs a "
          f"comment): word F1 of greedy longest match with")
    for name, compounds in learnt.items():
        f1 = segmentation_f1(references, th.Segmenter(compounds or {}).segment)
        figures[name] = {"words_learnt": len(compounds or {}), "word_f1": round(f1, 4)}
        description = {"pyvi": "the lexicon learnt by pyvi", "statistical": "the lexicon of syllable pairs",
                       "none": "no lexicon (every syllable a word)"}[name]
        print(f"  {description:<36} ({len(compounds or {}):>5} words): {f1:.3f}")
    return {"comments": len(raw), "seconds": round(seconds, 3), "silhouette": _silhouette(finder),
            "segmentation_used": finder.segmentation_used, "compounds": finder.compounds,
            "unassigned": labels.count(None), "themes": themes,
            "segmentation": {"learnt_on": len(learn), "held_out_texts": len(held), "pyvi_us_per_text": round(pyvi_us, 1),
                             **figures}}


# --- synthetic ------------------------------------------------------------------------------------------------

_VI_SUBJECTS = {
    "giáo dục": "học phí, giáo viên, học sinh, trường học, sách giáo khoa, kỳ thi, lớp học, sinh viên",
    "giao thông": "xe máy, ùn tắc, đường bộ, biển báo, mũ bảo hiểm, xe buýt, tai nạn, vỉa hè",
    "đất đai": "thu hồi đất, đền bù, giá đất, quy hoạch, sổ đỏ, tái định cư, chủ đầu tư, mặt bằng",
    "y tế": "bảo hiểm y tế, bệnh viện, khám chữa bệnh, thuốc men, bác sĩ, trạm y tế, viện phí, bệnh nhân",
}
_EN_SUBJECTS = {
    "water": "clean water, drinking water, rivers, coal ash, groundwater, wetlands, streams, lakes",
    "food aid": "SNAP benefits, families, food, utility allowance, grocery, hunger, households, children",
    "pesticides": "pesticides, bees, pollinators, farms, mixtures, crops, insects, spraying",
    "housing": "rent, tenants, affordable housing, eviction, landlords, apartments, zoning, homeless",
}
_VI_FRAMES = [
    "Tôi {o} quy định về {a} vì {b} ảnh hưởng trực tiếp đến {c} của người dân.",
    "Đề nghị ban soạn thảo làm rõ trách nhiệm đối với {a} và {b} trong dự thảo này.",
    "Ở địa phương tôi {a} còn nhiều bất cập, {b} chưa được quan tâm đúng mức.",
    "Cần có hướng dẫn cụ thể về {a}, đặc biệt là {b} và {c}.",
    "Chúng tôi mong cơ quan chức năng sớm giải quyết vấn đề {a} và {b}.",
    "Quy định mới về {a} sẽ giúp {b} minh bạch hơn, tôi {o}.",
]
_EN_FRAMES = [
    "I {o} this proposal on {a} because {b} matter to everyone in my community.",
    "Please clarify how the agency will handle {a} and {b} under the new rule.",
    "In my town {a} are a daily concern and {b} get too little attention.",
    "The rule should say more about {a}, especially {b} and {c}.",
    "We ask the agency to protect {a} and to think about {b} before deciding.",
    "The changes to {a} would affect {b} for years, so I {o} them.",
]
_VI_OPINIONS = ["ủng hộ", "phản đối", "đồng ý với", "lo ngại về"]
_EN_OPINIONS = ["support", "oppose", "agree with", "worry about"]


def synthetic_batches(n: int, seed: int, batch: int = BATCH) -> Iterator[tuple[list[tuple[int, str]], list[str]]]:
    """Batches of (id, text) and their planted subjects; the same seed gives the same comments."""
    rng = random.Random(seed)
    subjects = [("vi", s, [w.strip() for w in words.split(",")]) for s, words in _VI_SUBJECTS.items()]
    subjects += [("en", s, [w.strip() for w in words.split(",")]) for s, words in _EN_SUBJECTS.items()]
    for start in range(0, n, batch):
        items, truth = [], []
        for comment_id in range(start, min(n, start + batch)):
            language, subject, words = subjects[rng.randrange(len(subjects))]
            frames, opinions = (_VI_FRAMES, _VI_OPINIONS) if language == "vi" else (_EN_FRAMES, _EN_OPINIONS)
            parts, length = [], 0
            while length < 260:
                a, b, c = rng.sample(words, 3)
                sentence = rng.choice(frames).format(a=a, b=b, c=c, o=rng.choice(opinions))
                parts.append(sentence)
                length += len(sentence) + 1
            text = " ".join(parts)
            if language == "vi" and rng.random() < 0.1:
                text = fold(text)  # typed without diacritics
            items.append((comment_id, text))
            truth.append(subject)
        yield items, truth


def reference_loop() -> float:
    """CPU seconds of a plain Python loop of 5,000,000 additions: how fast this machine is being right now (about
    0.26 s on an idle machine of this project's kind)."""
    started = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.process_time() - started


def evaluate_synthetic(n: int, seed: int) -> dict:
    reference_before = reference_loop()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finder = th.ThemeFinder(seed=seed)
    wall = {"add_sample": 0.0, "fit": 0.0, "assign": 0.0, "result": 0.0}
    cpu = dict(wall)

    def timed(step: str, call: Callable, *args):
        started, started_cpu = time.perf_counter(), time.process_time()
        out = call(*args)
        wall[step] += time.perf_counter() - started
        cpu[step] += time.process_time() - started_cpu
        return out

    chars = 0
    for items, _ in synthetic_batches(n, seed):
        chars += sum(len(t) for _, t in items)
        timed("add_sample", finder.add_sample, items)
    timed("fit", finder.fit)
    labels: list = []
    truth: list = []
    for items, planted in synthetic_batches(n, seed):
        labels += timed("assign", finder.assign, items)
        truth += planted
    themes = timed("result", finder.result)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reference = (reference_before + reference_loop()) / 2
    total, total_cpu = sum(wall.values()), sum(cpu.values())
    figures = agreement(labels, truth)
    print(f"synthetic: {n:,} comments ({chars / n:.0f} characters on average; half Vietnamese, a tenth of those "
          f"without diacritics; {len(_VI_SUBJECTS) + len(_EN_SUBJECTS)} planted subjects), {len(themes)} themes")
    print(f"time in the finder: {total:.1f} s wall, {total_cpu:.1f} s CPU (add_sample {cpu['add_sample']:.1f}, fit "
          f"{cpu['fit']:.1f}, assign {cpu['assign']:.1f} s CPU); {n / total_cpu:,.0f} comments per CPU second; the "
          f"machine's load average was {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall time counts the "
          f"waits for a core); reference loop {reference:.2f} s CPU (0.26 s when the machine is idle)")
    print(f"peak RSS grew by {(rss_after - rss_before) / 1024:.0f} MiB (to {rss_after / 1024:.0f} MiB, the "
          f"libraries included)")
    print(f"against the planted subjects: purity {figures['purity']:.3f}, ARI {figures['ari']:.3f}, "
          f"NMI {figures['nmi']:.3f}; silhouette {_silhouette(finder)}")
    shown = show(finder, labels, truth)
    return {"mode": "synthetic", "comments": n, "seed": seed, "mean_chars": round(chars / n, 1),
            "seconds": round(total, 2), "cpu_seconds": round(total_cpu, 2),
            **{f"cpu_seconds_{k}": round(v, 2) for k, v in cpu.items()},
            **{f"seconds_{k}": round(v, 2) for k, v in wall.items()},
            "comments_per_cpu_second": round(n / total_cpu), "load_average": round(os.getloadavg()[0], 2),
            "reference_loop_cpu_seconds": round(reference, 3),
            "peak_rss_growth_mib": round((rss_after - rss_before) / 1024, 1), "peak_rss_mib": round(rss_after / 1024, 1),
            "silhouette": _silhouette(finder), **figures, "segmentation_used": finder.segmentation_used,
            "themes": shown}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluate_themes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"the shared data folder (holding {FOLDER}/ and {VI_FOLDER}/) (default {DEFAULT_DATA})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--synthetic", type=int, metavar="N", help="time the finder on N synthetic comments instead")
    args = parser.parse_args(argv)

    if args.synthetic:
        result = evaluate_synthetic(args.synthetic, args.seed)
    else:
        folder = args.data if args.data.name == FOLDER else args.data / FOLDER
        vi_folder = folder.parent / VI_FOLDER
        if not folder.is_dir() or not any(folder.glob("*.csv")) or not (vi_folder / "train.csv").is_file():
            print(f"no data: {folder} (CSV files) or {vi_folder / 'train.csv'} is absent; pass --data, or "
                  f"--synthetic N", file=sys.stderr)
            return 2
        result = {"mode": "real", **evaluate_dockets(folder), "vietnamese": evaluate_vietnamese(vi_folder)}
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
