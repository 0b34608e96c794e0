"""Campaign (form letter) grouping, evaluated on real regulations.gov dockets and timed on synthetic ones.

    python -m bench.evaluate_campaigns [--data ../shared/data] [--order file|shuffled]
    python -m bench.evaluate_campaigns --synthetic 100000

Each docket file is one consultation. Its comments are grouped one at a time, in file order, exactly as the
grouping job does it with the database (see consult.text.fingerprint): signature and band keys; candidates from
a dict band key -> comment ids standing in for the fingerprint_band index (at most PER_KEY_LIMIT most recent per
key, then the MAX_CANDIDATES sharing most keys); ``choose_group`` verifies them against THRESHOLD and the comment
joins the oldest matching group, merging the others into it, or starts alone.

The groups are compared with the files' ``comp`` labels (and, for information, ``clust``) by pairwise precision,
recall and F1 over all pairs of comments of one docket, and by the adjusted Rand index; and with the exhaustive
reference: every pair's exact Jaccard similarity of shingles computed, comments linked at THRESHOLD or more and
the connected components taken, i.e. what the job would find if it compared each comment with all others. That
last comparison measures what the LSH shortcut (and the bounded lookup) loses.

Files: every ``*.csv`` of regulations-gov-dedup; a file all of whose rows (name and text) are also in other files
is a union of them and is skipped, so that no comment is counted twice (``clustered_comments.csv`` is not: it
shares no comment with the others and is a ninth docket, on SNAP utility allowances).

About the labels: ``comp`` (the source project's machine labels, not human ones) often puts different form letters
of one docket together: in USDA-2020-0009, three letters sharing at most 9 of their 3-word shingles (Jaccard
similarity 0.03) are one comp; it also sometimes splits copies of one letter. The run prints the share of the
pairs that comp puts together whose texts share less than 10% of their shingles (58% over the nine files): a
near-duplicate grouping cannot join those without also joining unrelated comments, so its recall against comp
stays low while its precision is high. The figures against the exhaustive reference say how well the job does
what it is meant to do.

``--synthetic N`` makes N comments in one consultation (60% copies of 50 form letters with small edits, the rest
unique) and reports the time, the rate and the growth of the peak resident memory of the process while grouping.
That memory is mostly the in-memory stand-in for the database (the band key index, 32 rows a comment, and the
signatures); the job itself holds one comment's candidates at a time.

The last line printed is one JSON object with every figure. Exit status 2 when the data folder is absent.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from consult.text import fingerprint as fp

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
FOLDER = "regulations-gov-dedup"

csv.field_size_limit(10_000_000)


# --- the grouping, as the job does it -------------------------------------------------------------------------

class Grouping:
    """One consultation's fingerprint index and groups, in memory: what the job keeps in the database."""

    def __init__(self, per_key_limit: int = fp.PER_KEY_LIMIT, max_candidates: int = fp.MAX_CANDIDATES) -> None:
        self.per_key_limit = per_key_limit
        self.max_candidates = max_candidates
        self.index: dict[int, list[int]] = {}  # fingerprint_band: key -> comment ids, oldest first
        self.signatures = np.zeros((1024, fp.NUM_PERM), dtype=np.uint32)  # comment_fingerprint, by comment id
        self.group_of: list[int] = []  # comment.campaign (here a group's id is its first comment's)
        self.members: dict[int, list[int]] = {}
        self.candidates_read = self.candidates_verified = self.merges = self.fingerprinted = 0

    def add(self, text: str) -> int:
        """Group the next comment; return its id (its position)."""
        comment = len(self.group_of)
        self.group_of.append(comment)
        self.members[comment] = [comment]
        sig = fp.fingerprint(text)
        if sig is None:
            return comment
        self.fingerprinted += 1
        keys = fp.band_keys(sig)
        shared: Counter[int] = Counter()
        for key in keys:
            rows = self.index.get(key)
            if rows:
                recent = rows[-self.per_key_limit:]
                self.candidates_read += len(recent)
                shared.update(recent)
        if shared:
            chosen = [c for c, _ in sorted(shared.items(), key=lambda item: (-item[1], -item[0]))[:self.max_candidates]]
            self.candidates_verified += len(chosen)
            target, others = fp.choose_group(sig, [self.group_of[c] for c in chosen], self.signatures[chosen])
            if target is not None:
                del self.members[comment]
                self.group_of[comment] = target
                self.members[target].append(comment)
                for other in others:
                    self.merges += 1
                    for member in self.members[other]:
                        self.group_of[member] = target
                    self.members[target].extend(self.members.pop(other))
        if comment >= len(self.signatures):
            self.signatures = np.concatenate([self.signatures, np.zeros_like(self.signatures)])
        self.signatures[comment] = sig
        for key in keys:
            self.index.setdefault(key, []).append(comment)
        return comment


def group(texts: Iterable[str]) -> Grouping:
    grouping = Grouping()
    for text in texts:
        grouping.add(text)
    return grouping


# --- measures -----------------------------------------------------------------------------------------------

def _pairs(counts: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


@dataclass(frozen=True)
class PairCounts:
    same_both: int  # pairs in one predicted group and one true group
    same_predicted: int
    same_true: int
    total: int

    def __add__(self, other: "PairCounts") -> "PairCounts":
        return PairCounts(self.same_both + other.same_both, self.same_predicted + other.same_predicted,
                          self.same_true + other.same_true, self.total + other.total)

    @property
    def precision(self) -> float:
        return self.same_both / self.same_predicted if self.same_predicted else 1.0

    @property
    def recall(self) -> float:
        return self.same_both / self.same_true if self.same_true else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def ari(self) -> float:
        """Adjusted Rand index (Hubert and Arabie), from the same pair counts."""
        if self.total == 0:
            return 1.0
        expected = self.same_predicted * self.same_true / self.total
        maximum = (self.same_predicted + self.same_true) / 2
        if maximum == expected:  # both partitions trivial (all together or all apart) and equal
            return 1.0
        return (self.same_both - expected) / (maximum - expected)


def pair_counts(predicted: Sequence, true: Sequence) -> PairCounts:
    if len(predicted) != len(true):
        raise ValueError("two labelings of different lengths")
    return PairCounts(_pairs(Counter(zip(predicted, true)).values()), _pairs(Counter(predicted).values()),
                      _pairs(Counter(true).values()), len(true) * (len(true) - 1) // 2)


def adjusted_rand_index(predicted: Sequence, true: Sequence) -> float:
    return pair_counts(predicted, true).ari


def _jaccard_pairs(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, exact Jaccard similarity of shingles) for every pair i < j of fingerprintable texts sharing a shingle
    (all pairs compared at once, with a sparse matrix product)."""
    from scipy.sparse import csr_matrix

    vocabulary: dict[bytes, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        if fp.fingerprintable(text):
            for shingle in fp.shingles(text):
                rows.append(i)
                cols.append(vocabulary.setdefault(shingle, len(vocabulary)))
    x = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(texts), max(len(vocabulary), 1)))
    sizes = np.asarray(x.sum(axis=1)).ravel()
    inter = (x @ x.T).tocoo()
    upper = inter.row < inter.col
    i, j, shared = inter.row[upper], inter.col[upper], inter.data[upper]
    return i, j, shared / (sizes[i] + sizes[j] - shared)


def exhaustive_groups(texts: Sequence[str], threshold: float) -> list[int]:
    """Connected components of the graph linking every two fingerprintable comments whose exact Jaccard similarity
    of shingles is at least threshold."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    i, j, similarity = _jaccard_pairs(texts)
    keep = similarity >= threshold
    graph = csr_matrix((np.ones(int(keep.sum())), (i[keep], j[keep])), shape=(len(texts), len(texts)))
    return list(connected_components(graph, directed=False)[1])


def unrelated_share(texts: Sequence[str], labels: Sequence, below: float = 0.1) -> float:
    """Of the pairs of comments that the labels put in one group, the share whose texts have a Jaccard similarity
    below `below` (different letters: nothing a near-duplicate measure can link), counting short texts as unrelated."""
    i, j, similarity = _jaccard_pairs(texts)
    labels = np.asarray(labels)
    related = int(np.count_nonzero((similarity >= below) & (labels[i] == labels[j])))
    together = _pairs(Counter(labels.tolist()).values())
    return 1 - related / together if together else 0.0


# --- data -----------------------------------------------------------------------------------------------------

def read_dockets(folder: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """The docket files' rows by file name, and the files skipped as unions of others."""
    files = {path.name: _read(path) for path in sorted(folder.glob("*.csv"))}
    keys = {name: {(row.get("name"), row.get("text")) for row in rows} for name, rows in files.items()}
    skipped = []
    for name in list(files):
        others = set().union(*(k for other, k in keys.items() if other != name and other not in skipped))
        if keys[name] and keys[name] <= others:
            skipped.append(name)
            del files[name]
    return files, skipped


def _read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- runs -----------------------------------------------------------------------------------------------------

def _fmt(counts: PairCounts) -> str:
    return f"P {counts.precision:.3f} R {counts.recall:.3f} F1 {counts.f1:.3f} ARI {counts.ari:.3f}"


def _figures(counts: PairCounts) -> dict:
    return {"precision": round(counts.precision, 4), "recall": round(counts.recall, 4), "f1": round(counts.f1, 4),
            "ari": round(counts.ari, 4)}


def evaluate_real(folder: Path, order: str, seed: int) -> dict:
    dockets, skipped = read_dockets(folder)
    print(f"data: {folder}")
    print(f"files used: {', '.join(dockets)}" + (f"; skipped as unions of the others: {', '.join(skipped)}" if skipped else ""))
    print(f"parameters: shingles of {fp.SHINGLE_WORDS} words, NUM_PERM {fp.NUM_PERM} = {fp.BANDS} bands x {fp.ROWS} rows, "
          f"THRESHOLD {fp.THRESHOLD}, MIN_TOKENS {fp.MIN_TOKENS}, PER_KEY_LIMIT {fp.PER_KEY_LIMIT}, "
          f"MAX_CANDIDATES {fp.MAX_CANDIDATES}; order: {order}")
    total_comp = total_clust = total_exact = PairCounts(0, 0, 0, 0)
    pooled_pred: list = []
    pooled_true: list = []
    seconds = 0.0
    unrelated_pairs = 0.0
    comments = 0
    per_file = {}
    peak = 0
    header = f"{'file':<34} {'n':>5} {'groups':>6}  {'vs comp':<38}  {'vs clust':<38}  vs exhaustive"
    print(header)
    for name, rows in dockets.items():
        if order == "shuffled":
            rows = rows[:]
            random.Random(seed).shuffle(rows)
        texts = [row["text"] for row in rows]
        started = time.perf_counter()
        grouping = group(texts)
        seconds += time.perf_counter() - started
        tracemalloc.start()  # again, for the memory alone: tracemalloc slows Python down by half
        group(texts)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        comments += len(texts)
        predicted = grouping.group_of
        comp = pair_counts(predicted, [row["comp"] for row in rows])
        clust = pair_counts(predicted, [row["clust"] for row in rows])
        exact = pair_counts(predicted, exhaustive_groups(texts, fp.THRESHOLD))
        unrelated = unrelated_share(texts, [row["comp"] for row in rows])
        unrelated_pairs += unrelated * comp.same_true
        total_comp, total_clust, total_exact = total_comp + comp, total_clust + clust, total_exact + exact
        pooled_pred += [(name, g) for g in predicted]
        pooled_true += [(name, row["comp"]) for row in rows]
        groups = sum(1 for members in grouping.members.values() if len(members) > 1)
        print(f"{name:<34} {len(texts):>5} {groups:>6}  {_fmt(comp):<38}  {_fmt(clust):<38}  {_fmt(exact)}")
        per_file[name] = {"comments": len(texts), "groups": groups, "labelled_comps": len({r['comp'] for r in rows}),
                          "vs_comp": _figures(comp), "vs_clust": _figures(clust), "vs_exhaustive": _figures(exact),
                          "candidates_verified_per_comment": round(grouping.candidates_verified / max(len(texts), 1), 2),
                          "merges": grouping.merges, "comp_pairs_unrelated": round(unrelated, 4)}
    pooled_ari = adjusted_rand_index(pooled_pred, pooled_true)
    print(f"{'all (pairs within each docket)':<34} {comments:>5} {'':>6}  {_fmt(total_comp):<38}  {_fmt(total_clust):<38}  {_fmt(total_exact)}")
    print(f"ARI over all comments (labels prefixed by docket): {pooled_ari:.3f}; "
          f"mean ARI of the dockets vs comp: {np.mean([f['vs_comp']['ari'] for f in per_file.values()]):.3f}")
    print(f"of the pairs the comp labels put together, {unrelated_pairs / total_comp.same_true:.1%} are of texts sharing "
          f"less than 10% of their shingles (different letters, or texts under MIN_TOKENS), which a near-duplicate "
          f"grouping can only reach through chains of comments in between")
    print(f"grouping: {seconds:.3f} s for {comments} comments ({comments / seconds:,.0f} comments/s); "
          f"peak memory allocated while grouping one docket (tracemalloc, largest docket) {peak / 2**20:.2f} MiB")
    return {"mode": "real", "files": list(dockets), "skipped": skipped, "order": order, **_parameters(),
            "comments": comments, "vs_comp": _figures(total_comp), "vs_clust": _figures(total_clust),
            "vs_exhaustive": _figures(total_exact), "pooled_ari_vs_comp": round(pooled_ari, 4),
            "comp_pairs_unrelated": round(unrelated_pairs / total_comp.same_true, 4),
            "seconds": round(seconds, 3), "peak_traced_mib": round(peak / 2**20, 2), "per_file": per_file}


def _parameters() -> dict:
    return {"shingle_words": fp.SHINGLE_WORDS, "num_perm": fp.NUM_PERM, "bands": fp.BANDS, "rows": fp.ROWS,
            "threshold": fp.THRESHOLD, "min_tokens": fp.MIN_TOKENS, "per_key_limit": fp.PER_KEY_LIMIT,
            "max_candidates": fp.MAX_CANDIDATES}


# --- synthetic ------------------------------------------------------------------------------------------------

_ONSETS = ["", "b", "c", "ch", "d", "đ", "g", "gi", "h", "k", "kh", "l", "m", "n", "ng", "nh", "ph", "qu", "s", "t",
           "th", "tr", "v", "x"]
_RHYMES = ["a", "à", "á", "ả", "ã", "ạ", "ai", "an", "ang", "anh", "ao", "ăn", "âm", "ân", "ất", "e", "ê", "ếu", "i",
           "inh", "o", "ó", "oa", "oi", "ong", "ô", "ốc", "ơ", "ới", "u", "ú", "ung", "ư", "ước", "ương", "uyên"]
_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
_GIVEN = ["Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thu Hà", "Đức Huy", "Ngọc Lan", "Hải Nam", "Thanh Tâm"]
_PLACES = ["Hà Nội", "Hải Phòng", "Đà Nẵng", "Huế", "Cần Thơ", "Nghệ An", "Thanh Hóa", "Bình Dương", "Lào Cai"]


def synthetic(n: int, seed: int = 7, letters: int = 50, share: float = 0.6) -> tuple[list[str], list[int]]:
    """n comments in one consultation and their true groups: `share` of them are copies of `letters` form
    letters (one edit or a few: a word changed, the sender's name and town put first, one to four sentences of
    their own added or one of the letter's left out); the rest are unique comments from the same Zipf-distributed
    vocabulary of Vietnamese-like words (label -1 - i: alone)."""
    rng = random.Random(seed)
    vocabulary = sorted({rng.choice(_ONSETS) + rng.choice(_RHYMES) for _ in range(40000)})
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]

    def words(k: int) -> list[str]:
        return rng.choices(vocabulary, weights=weights, k=k)

    def sentence() -> str:
        return " ".join(words(rng.randint(8, 20))).capitalize() + "."

    forms = [[sentence() for _ in range(rng.randint(6, 16))] for _ in range(letters)]
    texts: list[str] = []
    labels: list[int] = []
    for i in range(n):
        if rng.random() < share:
            form = rng.randrange(letters)
            sentences = list(forms[form])
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                edit = rng.random()
                if edit < 0.4:  # a word changed
                    s = rng.randrange(len(sentences))
                    w = sentences[s].split()
                    w[rng.randrange(len(w))] = rng.choice(vocabulary)
                    sentences[s] = " ".join(w)
                elif edit < 0.65:  # the sender's name and town first
                    sentences.insert(0, f"Tôi là {rng.choice(_FAMILY)} {rng.choice(_GIVEN)}, sống tại {rng.choice(_PLACES)}.")
                elif edit < 0.9:  # a few sentences of their own
                    at = rng.randrange(len(sentences) + 1)
                    sentences[at:at] = [sentence() for _ in range(rng.randint(1, 4))]
                elif len(sentences) > 4:  # a sentence left out
                    del sentences[rng.randrange(len(sentences))]
            texts.append(" ".join(sentences))
            labels.append(form)
        else:
            texts.append(" ".join(sentence() for _ in range(rng.randint(1, 8))))
            labels.append(-1 - i)
    return texts, labels


def evaluate_synthetic(n: int, seed: int) -> dict:
    started = time.perf_counter()
    texts, labels = synthetic(n, seed)
    made = time.perf_counter() - started
    chars = sum(map(len, texts))
    print(f"synthetic: {n} comments ({chars / n:.0f} characters on average) made in {made:.1f} s; "
          f"{sum(1 for label in labels if label >= 0)} copies of 50 form letters, the rest unique")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    grouping = group(texts)
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counts = pair_counts(grouping.group_of, labels)
    groups = sum(1 for members in grouping.members.values() if len(members) > 1)
    index_rows = sum(map(len, grouping.index.values()))
    print(f"grouping: {seconds:.1f} s, {n / seconds:,.0f} comments/s, {seconds / n * 1e3:.3f} ms a comment; "
          f"peak RSS grew by {(rss_after - rss_before) / 1024:.0f} MiB (to {rss_after / 1024:.0f} MiB)")
    print(f"groups of 2 or more: {groups}; {_fmt(counts)}; candidates verified per comment "
          f"{grouping.candidates_verified / n:.1f}; merges {grouping.merges}; index rows {index_rows:,} "
          f"(database: ~{(grouping.fingerprinted * fp.NUM_PERM * 4 + index_rows * 28) / 2**20:.0f} MiB of "
          f"signatures and band rows before indexes)")
    return {"mode": "synthetic", "comments": n, "seed": seed, **_parameters(), "seconds": round(seconds, 2),
            "comments_per_second": round(n / seconds), "ms_per_comment": round(seconds / n * 1e3, 4),
            "peak_rss_growth_mib": round((rss_after - rss_before) / 1024, 1), "peak_rss_mib": round(rss_after / 1024, 1),
            "groups": groups, **_figures(counts),
            "candidates_verified_per_comment": round(grouping.candidates_verified / n, 2), "index_rows": index_rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluate_campaigns", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"the shared data folder (holding {FOLDER}/) or {FOLDER}/ itself (default {DEFAULT_DATA})")
    parser.add_argument("--order", choices=("file", "shuffled"), default="file",
                        help="comments in file order (grouped by the labels) or shuffled, as they would arrive")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--synthetic", type=int, metavar="N", help="time the grouping of N synthetic comments instead")
    args = parser.parse_args(argv)

    if args.synthetic:
        result = evaluate_synthetic(args.synthetic, args.seed)
    else:
        folder = args.data if args.data.name == FOLDER else args.data / FOLDER
        if not folder.is_dir() or not any(folder.glob("*.csv")):
            print(f"no data: {folder} is absent or holds no CSV file; pass --data, or --synthetic N", file=sys.stderr)
            return 2
        result = evaluate_real(folder, args.order, args.seed)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
