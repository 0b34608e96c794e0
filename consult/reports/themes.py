"""Themes: groups of comments about the same thing, each named by its key words and shown with a few quotes.

The method, in two passes over the comments so that memory stays bounded however many there are:

1. **Sample.** ``add_sample`` keeps a uniform random sample (reservoir sampling) of at most ``sample_size``
   comments (20,000 by default) that contain a letter, each cut to its first ``MAX_CHARS`` characters.
2. **Words.** Texts are read in canonical form (HTML tags, entities, web and e-mail addresses removed; Unicode
   NFC; lowercase; Vietnamese tone marks in the new places, "hoà" and "thuỷ" read as "hòa" and "thủy"), and a
   word is a run of letters. Vietnamese writes a word of several syllables with spaces ("thủ tục hành chính" is
   two words of two syllables each), so it needs *word segmentation*. The pyvi segmenter (a CRF model) takes
   about 0.3 ms for a comment of 55 characters on this project's machines, hours for a million comments, so it
   runs only on ``PYVI_CHARS`` characters of the sample's Vietnamese text (about 1 s); every word of 2 or 3
   syllables it finds at least twice goes into a lexicon (a few hundred to a few thousand words). A comment's
   terms are then its single syllables and every run of 2 or 3 syllables that is a lexicon word, found by
   lookups rather than by segmenting each comment. ``python -m bench.evaluate_themes`` measures the lexicon on
   real Vietnamese comments: greedy longest match with it agrees with pyvi run on every held-out text on 92% of
   the words (word F1 0.916), against 0.853 for a lexicon learnt without pyvi (syllable pairs seen together far
   more often than chance, used when pyvi is not installed) and 0.830 for no segmentation at all.
   Comments typed without diacritics (common on phones) are recognised by their function words ("khong",
   "duoc", "nguoi"...) and given back their diacritics word by word: each syllable, or run of syllables that
   is a lexicon word, becomes the form with diacritics seen most often in the sample, so "thu tuc hanh chinh"
   counts as "thủ tục hành chính", while a text with diacritics keeps words that differ only by them ("thuế",
   tax, and "thuê", rent) apart.
   Stop words (Vietnamese and English function words, pronouns, chat abbreviations, the greetings of letters;
   ``lexicons/``) and words of one letter are not terms; English stop words only without diacritics, so "số"
   is not taken for "so". Comments mixing both languages simply have terms of both.
3. **Vectors.** TF-IDF over the terms of at least two sampled comments (at most ``MAX_VOCABULARY``, the most
   frequent), with sublinear term frequency and unit length, then latent semantic analysis: the vectors are
   projected on their ``LSA_DIMENSIONS`` main directions (truncated SVD) and set to unit length again, so
   comments using related words come close even when they share few of them.
4. **Clusters.** k-means on the projected vectors. k is chosen on a subsample of ``SELECTION_SAMPLE`` texts:
   every k from 2 to the largest allowed (never more than ``max_themes``, nor the distinct texts, nor one theme
   for every ``MIN_PER_THEME`` texts, so a handful of comments gives one or two themes) is fitted (the best of
   ``SELECTION_STARTS`` starts: with two, the agreement with the real dockets varied from run to run), a k whose
   smallest cluster is under ``MIN_THEME_SHARE`` of the texts (a few odd comments such as "#NAME?") is set
   aside, and the k whose clustering has the best silhouette (how much closer each text is to its own cluster
   than to the next one, on ``SILHOUETTE_SAMPLE`` texts) is kept. (Keeping instead the largest k within 90% of
   the best silhouette, to get more themes, split planted subjects of the tests by their sentence templates;
   on the real dockets both choose alike.) With no k admissible, one theme. The chosen k is then fitted on the
   whole sample (from the subsample's centroids and from ``FINAL_RESTARTS`` k-means++ starts; the lowest inertia
   wins).
5. **Names.** A theme's key terms (at most ``TERMS``) are those whose mean TF-IDF weight in its sampled comments
   most exceeds their mean weight in the other themes' comments; the label is the first ``LABEL_TERMS`` (the last
   replaced by a later term when a larger theme has that label already). A
   syllable found more often inside lexicon words than alone ("thủ" of "thủ tục") is not a key term, nor is a
   term contained in a better one. Words are shown as most often written inside sentences ("SNAP", "Hà Nội").
6. **Assignment.** ``assign`` gives every comment the theme of the nearest centroid (cosine) in the same
   space, or None when none of its terms is in the vocabulary. It works a batch at a time without making a
   Python object of any word: the batch's texts are prepared together as one string, encoded as UTF-8, every
   word is hashed in numpy from prefix sums over the bytes, and looked up in hash tables of the vocabulary's
   syllables and lexicon words; copies of one text (form letters) in a batch are read once. Each theme keeps,
   in a small heap, the ``quotes`` distinct comments closest to its centroid (with fewer than three known terms
   a comment counts half), which are its representative quotes; sizes count every assigned comment.

Memory does not grow with the number of comments: the sample, a vocabulary, a projection, a few centroids and
heaps.

Measured (``python -m bench.evaluate_themes``): on 4,026 real public comments of nine regulations.gov dockets
taken together as one consultation, the eight themes agree with the docket each comment came from (purity 0.89,
adjusted Rand index 0.77, mean of five seeds; two dockets must share a theme); a million synthetic comments of
300 characters, half Vietnamese, take about 36 to 45 s of one core (fit 6 s, assignment 30 to 37 s, depending on
how busy the shared machine was) and 155 MB of memory beyond the libraries.
"""

from __future__ import annotations

import contextlib
import heapq
import random
import re
import unicodedata
import warnings
from collections import Counter, defaultdict
from functools import lru_cache
from importlib import resources
from typing import Iterable, Iterator, Sequence

import numpy as np
from scipy import sparse

from consult.reports.sentiment import (EN_FUNCTION_WORDS, TONE_MOVES, VI_FUNCTION_WORDS, canonical, fold,
                                       has_vietnamese_marks, language_from_counts)

__all__ = ["ThemeFinder", "Segmenter", "analysed_text", "excerpt", "learn_compounds_pyvi",
           "learn_compounds_statistical", "prepared", "stop_words", "tokens", "words_of"]

MAX_CHARS = 5000  # of a comment, analysed (and kept in the sample)
EXCERPT_CHARS = 300
PYVI_CHARS = 200_000  # of Vietnamese sample text segmented with pyvi to learn the lexicon
MIN_COMPOUND_COUNT = 2
MAX_COMPOUND_SYLLABLES = 3
MAX_VOCABULARY = 30_000
LSA_DIMENSIONS = 100
MIN_PER_THEME = 5
MIN_THEME_SHARE = 0.01  # of the sample: smaller clusters make k inadmissible
SELECTION_SAMPLE = 5000  # texts on which k is chosen
SILHOUETTE_SAMPLE = 2500
FINAL_RESTARTS = 2
SELECTION_STARTS = 4  # k-means starts for every k tried on the subsample
TERMS = 6
LABEL_SAMPLE = 4000  # sampled texts read for how words are written and which stand alone
LABEL_TERMS = 3
SPAN_CHUNK = 1 << 20  # bytes hashed at once
FIT_CHUNK = 2000  # sampled texts featurised at once
MAX_WORD_CHARS = 30  # longer "words" are URLs, hashes or keyboard mashing

_WORD = re.compile(r"[^\W\d_]+")
_LETTER = re.compile(r"[^\W\d_]")
# Tags, entities, web and e-mail addresses; never across \x01, which separates the texts of a batch.
_MARKUP = re.compile(r"<[^<>\x01]{0,300}>|&#?\w{1,10};|\b(?:https?://|www\.)[^\s\x01]+|[^\s\x01]+@[^\s\x01]+\.\w+")
_SEPARATOR = "\x01"
_SPACE = re.compile(r"\s+")
# Words are found in the UTF-8 bytes of the lowercased text: every ASCII byte that is not a letter made a space
# (bytes.translate), so that words are the runs of other bytes. That is exact when every character is ASCII or a
# letter of the Latin blocks Vietnamese uses (lead bytes C3-C6 and E1); a text with anything else (other
# punctuation, emoji, other scripts) has its words found by a regular expression and joined by spaces. The
# assignment pass never makes a Python object of a word: see _Batch.
_BYTE_TABLE = bytes(b if b >= 128 or chr(b).isalpha() else 32 for b in range(256))
_SAFE_BYTES = bytes(b for b in range(256) if b < 0xC0 or b in (0xC3, 0xC4, 0xC5, 0xC6, 0xE1))
_OLD_STYLE = {new: old for old, new in TONE_MOVES.items()}


def prepared(text: object) -> str:
    """What the words are taken from: at most MAX_CHARS characters, markup and addresses removed, NFC,
    lowercase (tone marks left where they are: see ``_new_style``)."""
    return unicodedata.normalize("NFC", _cleaned(text)).lower()


def _letters(text: str) -> bytes:
    """A prepared text's words as UTF-8, separated by spaces (runs of them)."""
    data = text.encode("utf-8", "ignore")
    if not data.translate(None, _SAFE_BYTES):
        return data.translate(_BYTE_TABLE)
    return " ".join(_WORD.findall(text)).encode("utf-8", "ignore")


def tokens(text: str) -> list[bytes]:
    """The words (runs of letters) of a prepared text, as UTF-8 bytes."""
    return _letters(text).split()


def words_of(text: str) -> list[str]:
    """``tokens`` as strings."""
    return [word for word in _letters(text).decode("utf-8", "ignore").split(" ") if word]


def _new_style(word: str) -> str:
    """A syllable with its tone mark moved where the new style puts it ("hoà" -> "hòa")."""
    new = TONE_MOVES.get(word[-2:])
    if new is None or (word[-2] == "u" and word[-3:-2] == "q"):
        return word
    return word[:-2] + new


@lru_cache(maxsize=None)
def stop_words(language: str) -> frozenset[str]:
    """The stop words of ``language`` ("vi" or "en"), words of several syllables joined by "_"."""
    text = resources.files("consult.reports").joinpath("lexicons", f"stopwords_{language}.txt").read_text("utf-8")
    words = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.add("_".join(unicodedata.normalize("NFC", line).lower().split()))
    return frozenset(words)


def _cleaned(text: object) -> str:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[:MAX_CHARS]
    if _SEPARATOR in text:
        text = text.replace(_SEPARATOR, " ")
    if "<" in text or "&" in text or "@" in text or "://" in text or "www." in text:
        text = _MARKUP.sub(" ", text)
    return text


def analysed_text(text: object) -> str:
    """The part of a comment that is analysed, in canonical form: at most MAX_CHARS characters, without markup or
    addresses, NFC, lowercase, tone marks in the new places."""
    return canonical(_cleaned(text))


def excerpt(text: object, limit: int = EXCERPT_CHARS) -> str:
    """``text`` with white space collapsed and control characters dropped, cut at a word to at most ``limit``
    characters (an ellipsis marks the cut)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text.lstrip()
    cut_short = len(text) > limit * 2
    text = _SPACE.sub(" ", text[: limit * 2])
    if not text.isprintable():  # control and format characters dropped (a rare, slower path)
        text = "".join(ch for ch in text if ch.isprintable() or ch == " ")
    text = text.strip()
    if len(text) <= limit and not cut_short:
        return text
    cut = text.rfind(" ", 0, limit)
    if cut < limit // 2:  # no space near the end: a run without spaces
        cut = limit - 1
    return text[:cut].rstrip() + "…"


def _old_style(syllable: str) -> str:
    """``syllable`` with its tone mark where the old style puts it ("hòa" -> "hoà"), or itself."""
    old = _OLD_STYLE.get(syllable[-2:])
    if old is None or (old.startswith("u") and syllable[-3:-2] == "q"):
        return syllable
    return syllable[:-2] + old


# --- word segmentation ------------------------------------------------------------------------------------

class Segmenter:
    """A lexicon of Vietnamese words of several syllables, for text with diacritics and for text without (matched
    on the folded lexicon, then given the most frequent form with diacritics)."""

    def __init__(self, compounds: dict[tuple[str, ...], int], syllables: dict[str, Counter] | None = None) -> None:
        # compounds: marked syllables -> count. syllables: folded syllable -> Counter of its marked forms.
        self.compounds = {"_".join(c) for c in compounds}
        self.marked_compounds = {c: c for c in self.compounds}  # the same shape as folded_compounds
        self.sizes = sorted({len(c) for c in compounds})
        self.longest: dict[str, int] = {}
        for c in compounds:
            self.longest[c[0]] = max(self.longest.get(c[0], 0), len(c))
        folded: dict[str, tuple[int, str]] = {}
        for c, count in compounds.items():
            key = "_".join(fold(s) for s in c)
            if key not in folded or count > folded[key][0]:
                folded[key] = (count, "_".join(c))
        self.folded_compounds = {key: marked for key, (_, marked) in folded.items()}
        self.folded_longest: dict[str, int] = {}
        for key in self.folded_compounds:
            first = key.split("_", 1)[0]
            self.folded_longest[first] = max(self.folded_longest.get(first, 0), key.count("_") + 1)
        self.restore = {f: forms.most_common(1)[0][0] for f, forms in (syllables or {}).items() if forms}

    def segment(self, words: Sequence[str]) -> list[str]:
        """Greedy longest match of words with diacritics into the lexicon's words ("thủ_tục")."""
        return self._segment(words, self.longest, self.marked_compounds, {})

    def segment_folded(self, words: Sequence[str]) -> list[str]:
        """The same for words without diacritics, given back their diacritics."""
        return self._segment(words, self.folded_longest, self.folded_compounds, self.restore)

    @staticmethod
    def _segment(words: Sequence[str], longest: dict[str, int], compounds: dict[str, str],
                 restore: dict[str, str]) -> list[str]:
        out = []
        i, n = 0, len(words)
        while i < n:
            w = words[i]
            for length in range(min(longest.get(w, 0), n - i), 1, -1):
                marked = compounds.get("_".join(words[i:i + length]))
                if marked is not None:
                    out.append(marked)
                    i += length
                    break
            else:
                out.append(restore.get(w, w))
                i += 1
        return out


def _vietnamese_texts(texts: Iterable[str], budget: int) -> list[str]:
    chosen, used = [], 0
    for text in texts:
        if used >= budget:
            break
        if has_vietnamese_marks(text):
            chosen.append(text)
            used += len(text)
    return chosen


def learn_compounds_pyvi(texts: Iterable[str], budget: int = PYVI_CHARS) -> dict[tuple[str, ...], int] | None:
    """Words of several syllables found by pyvi in ``budget`` characters of the Vietnamese ``texts`` (canonical
    form), with their counts; None when pyvi is not installed."""
    chosen = _vietnamese_texts(texts, budget)
    if not chosen:
        return {}
    try:
        from pyvi import ViTokenizer
    except ImportError:
        return None
    counts: Counter = Counter()
    for text in chosen:
        try:
            segmented = ViTokenizer.tokenize(text)
        except Exception:  # pyvi fails on a few odd inputs; a text less to learn from
            continue
        for token in segmented.split():
            if "_" in token:
                parts = tuple(token.split("_"))
                if 1 < len(parts) <= MAX_COMPOUND_SYLLABLES and all(map(str.isalpha, parts)):
                    counts[parts] += 1
    return {c: n for c, n in counts.items() if n >= MIN_COMPOUND_COUNT}


def learn_compounds_statistical(texts: Iterable[str], budget: int = PYVI_CHARS * 10, min_count: int = 5,
                                min_dependency: float = 0.3) -> dict[tuple[str, ...], int]:
    """Without pyvi: pairs of adjacent syllables of the Vietnamese ``texts`` that are seen at least ``min_count``
    times and make up at least ``min_dependency`` of the occurrences of the rarer of their two syllables (so
    "thủ tục", whose "thủ" rarely stands elsewhere, is a word; "của người" is not)."""
    stops = stop_words("vi")
    syllables: Counter = Counter()
    pairs: Counter = Counter()
    for text in _vietnamese_texts(texts, budget):
        for chunk in re.split(r"[^\w\s]+", text):
            words = words_of(chunk)
            syllables.update(words)
            pairs.update(zip(words, words[1:]))
    out = {}
    for (a, b), n in pairs.items():
        if n >= min_count and n >= min_dependency * min(syllables[a], syllables[b]) and not (a in stops and b in stops):
            out[(a, b)] = n
    return out



# --- the finder -------------------------------------------------------------------------------------------

# Words are hashed in numpy: h(word) = sum of byte_j * P**j (j from 0 at the word's first byte) modulo 2**64,
# from prefix sums over a batch's bytes. Two different words of a vocabulary share a hash with probability
# about n**2 / 2**64: never, in practice.
_P = np.uint64(0x100000001B3)
_P_INVERSE = np.uint64(pow(0x100000001B3, -1, 2**64))


class _Powers:
    """P**j and P**-j modulo 2**64 for j < n, grown as needed."""

    up = np.ones(1, dtype=np.uint64)
    down = np.ones(1, dtype=np.uint64)

    @classmethod
    def get(cls, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(cls.up) < n:
            size = max(n, 2 * len(cls.up))
            up = np.full(size, _P, dtype=np.uint64)
            down = np.full(size, _P_INVERSE, dtype=np.uint64)
            up[0] = down[0] = 1
            with np.errstate(over="ignore"):
                cls.up = np.cumprod(up, dtype=np.uint64)
                cls.down = np.cumprod(down, dtype=np.uint64)
        return cls.up[:n], cls.down[:n]


def _spans(buffer: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts, ends and hashes of the words (runs of bytes other than spaces) of ``buffer``, in pieces of at most
    about SPAN_CHUNK bytes cut at spaces (the arrays of powers and prefix sums stay small)."""
    if len(buffer) > SPAN_CHUNK:
        parts, at = [], 0
        while at < len(buffer):
            end = at + SPAN_CHUNK
            if end < len(buffer):
                cut = buffer.rfind(b" ", at, end)
                end = cut + 1 if cut > at else end
            starts, ends, hashes = _spans(buffer[at:end])
            parts.append((starts + at, ends + at, hashes))
            at = end
        return tuple(np.concatenate([part[i] for part in parts]) for i in range(3))  # type: ignore[return-value]
    data = np.frombuffer(buffer, dtype=np.uint8)
    if not data.size:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.uint64)
    inside = data != 32
    edges = np.diff(np.concatenate(([False], inside, [False])).astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    up, down = _Powers.get(data.size)
    with np.errstate(over="ignore"):
        prefix = np.cumsum(data.astype(np.uint64) * up, dtype=np.uint64)
        before = np.where(starts > 0, prefix[np.maximum(starts - 1, 0)], np.uint64(0))
        hashes = (prefix[ends - 1] - before) * down[starts]
    return starts, ends, hashes


def word_hashes(words: Sequence[bytes]) -> np.ndarray:
    """The hashes _Batch gives these words."""
    return _spans(b" ".join(words))[2] if words else np.zeros(0, dtype=np.uint64)


class _Table:
    """Word hashes and a value for each, looked up for a whole batch at once: a direct-mapped table (slot from the
    top bits of the hash times a Fibonacci constant), hashes that collided at building in a sorted overflow."""

    _MIX = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, words: Sequence[bytes], values: Sequence[int]) -> None:
        hashes = word_hashes(words)
        values_array = np.asarray(values, dtype=np.int64).reshape(-1)
        bits = max(4, int(len(hashes) * 4).bit_length())
        self.shift = np.uint64(64 - bits)
        size = 1 << bits
        self.keys = np.zeros(size, dtype=np.uint64)
        self.values = np.zeros(size, dtype=np.int64)
        self.used = np.zeros(size, dtype=bool)
        self.spilled = np.zeros(size, dtype=bool)  # a hash of this slot is in the overflow
        slots = self._slots(hashes)
        first = np.ones(len(hashes), dtype=bool)
        order = np.argsort(slots, kind="stable")
        if len(hashes):
            first[order[1:]] = slots[order[1:]] != slots[order[:-1]]
        self.keys[slots[first]] = hashes[first]
        self.values[slots[first]] = values_array[first]
        self.used[slots[first]] = True
        self.spilled[slots[~first]] = True
        rest = np.argsort(hashes[~first], kind="stable")
        self.overflow_keys = hashes[~first][rest]
        self.overflow_values = values_array[~first][rest]

    def _slots(self, hashes: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((hashes * self._MIX) >> self.shift).astype(np.int64)

    def get(self, hashes: np.ndarray, default: int = -1) -> np.ndarray:
        slots = self._slots(hashes)
        found = self.used[slots] & (self.keys[slots] == hashes)
        out = np.where(found, self.values[slots], default)
        other = np.flatnonzero(~found & self.spilled[slots])
        if other.size:
            at = np.minimum(np.searchsorted(self.overflow_keys, hashes[other]), self.overflow_keys.size - 1)
            hit = self.overflow_keys[at] == hashes[other]
            out[other[hit]] = self.overflow_values[at[hit]]
        return out


_UNSAFE = np.ones(256, dtype=np.uint8)
_UNSAFE[np.frombuffer(_SAFE_BYTES, dtype=np.uint8)] = 0


def _any_between(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each range [start, end) of ``values`` (uint8) holds a nonzero value; the bytes between ranges
    must be 0. One pass without widening (a cumulative sum in int64 of every byte was a tenth of assign)."""
    out = np.zeros(len(starts), dtype=bool)
    filled = ends > starts
    if filled.any():
        out[filled] = np.maximum.reduceat(values, starts[filled]) > 0
    return out


_FUNCTION_WORDS = _Table([w.encode() for w in VI_FUNCTION_WORDS] + [w.encode() for w in EN_FUNCTION_WORDS],
                         [1] * len(VI_FUNCTION_WORDS) + [2] * len(EN_FUNCTION_WORDS))


class _Batch:
    """The words of a list of texts as hashes in one array, with the text each belongs to: what the featuriser
    and fit's counting share."""

    def __init__(self, texts: Sequence[object], prepare: bool = True) -> None:
        # The whole batch is prepared at once, its texts joined by \x01 (taken out of them first): removing
        # markup, NFC, lowercasing, encoding and translating bytes are then one call each, not one a text, and
        # translate keeps every byte in place, so the separators still mark where each text starts.
        parts = []
        for text in texts:
            if not isinstance(text, str):
                text = "" if text is None else str(text)
            text = text[:MAX_CHARS]
            parts.append(text.replace(_SEPARATOR, " ") if _SEPARATOR in text else text)
        joined = _SEPARATOR.join(parts)
        if prepare:
            if "<" in joined or "&" in joined or "@" in joined or "://" in joined or "www." in joined:
                joined = _MARKUP.sub(" ", joined)
            joined = unicodedata.normalize("NFC", joined).lower()
        data = joined.encode("utf-8", "ignore")
        self.size = len(parts)
        raw = np.frombuffer(data, dtype=np.uint8)
        separators = np.flatnonzero(raw == 1)
        starts_of_rows = np.concatenate(([0], separators + 1)).astype(np.int64)
        ends_of_rows = np.concatenate((separators, [len(data)])).astype(np.int64)
        unsafe = _UNSAFE[raw]
        unsafe[separators] = 0
        unsafe_rows = np.flatnonzero(_any_between(unsafe, starts_of_rows, ends_of_rows)).tolist()
        if not unsafe_rows:
            self.buffer = data.translate(_BYTE_TABLE)  # \x01 becomes a space too
        else:  # rows with other characters: their words by the regular expression
            pieces = data.split(b"\x01")
            for row in unsafe_rows:
                pieces[row] = _letters(pieces[row].decode("utf-8", "ignore"))
            unsafe_set = set(unsafe_rows)
            pieces = [piece if row in unsafe_set else piece.translate(_BYTE_TABLE) for row, piece in enumerate(pieces)]
            self.buffer = b" ".join(pieces)
            lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
            ends_of_rows = np.cumsum(lengths + 1) - 1
            starts_of_rows = ends_of_rows - lengths
        self.offsets, self.ends_of_rows = starts_of_rows, ends_of_rows
        self.ascii = ~_any_between(np.frombuffer(self.buffer, dtype=np.uint8) >> 7, starts_of_rows, ends_of_rows)
        offsets = starts_of_rows
        self.starts, self.ends, self.hashes = _spans(self.buffer)
        self.row_of = np.searchsorted(offsets, self.starts, side="right") - 1
        # Texts without diacritics whose function words are mostly Vietnamese were typed without diacritics.
        kind = _FUNCTION_WORDS.get(self.hashes, 0)
        vi = np.bincount(self.row_of, weights=kind == 1, minlength=self.size).astype(int).tolist()
        en = np.bincount(self.row_of, weights=kind == 2, minlength=self.size).astype(int).tolist()
        self.folded = self.ascii & np.array([language_from_counts(a, b) == "vi" for a, b in zip(vi, en)], dtype=bool)

    def row_texts(self) -> Iterator[list[str]]:
        """Every text's words (for fit: the assignment pass never makes them)."""
        buffer = self.buffer
        for start, end in zip(self.offsets.tolist(), self.ends_of_rows.tolist()):
            yield [word for word in buffer[start:end].decode("utf-8", "ignore").split(" ") if word]


class ThemeFinder:
    """Finds themes in two passes: ``add_sample`` over all comments, ``fit``, ``assign`` over all comments
    again, then ``result``. See the module docstring for the method."""

    def __init__(self, *, max_themes: int = 8, sample_size: int = 20000, quotes: int = 3, seed: int = 0,
                 segmentation: str = "auto") -> None:
        # segmentation: "auto" (pyvi when installed, else statistical), "pyvi", "statistical" or "none".
        self.max_themes = max(0, int(max_themes))
        self.sample_size = max(1, int(sample_size))
        self.quotes = max(0, int(quotes))
        self.seed = seed
        self.segmentation = segmentation
        self._rng = random.Random(seed)
        self._sample: list[tuple[int, str]] = []
        self._seen = 0
        self._fitted = False
        self._segmenter = Segmenter({})
        self._vocabulary: dict[str, int] = {}
        self._idf = np.zeros(0, dtype=np.float32)
        # Lookup tables of the featuriser (see _index_vocabulary).
        self._ids = _Table([], [])
        self._folded_ids = _Table([], [])
        self._unigram_column = np.zeros(0, dtype=np.int64)
        self._base = 1
        self._codes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._projection: np.ndarray | None = None  # vocabulary x dimensions, None: TF-IDF space itself
        self._centroids = np.zeros((0, 0), dtype=np.float32)
        self._terms: list[list[str]] = []
        self._sizes: list[int] = []
        self._heaps: list[list[tuple]] = []
        self._order = 0
        self.silhouette: float | None = None  # of the clustering kept, on the sample
        self.silhouettes: dict[int, float] = {}  # every k tried
        self.segmentation_used = "none"
        self.compounds = 0  # words of several syllables in the lexicon
        self.sample_ids: list[int] = []
        self.sample_labels: list[int | None] = []  # theme of every sampled comment (for evaluation)

    # pass 1 ------------------------------------------------------------------------------------------------

    def add_sample(self, batch: Iterable[tuple[int, str]]) -> None:
        """Offer comments to the sample (Algorithm R: every comment with a letter has the same chance)."""
        sample, size, rng = self._sample, self.sample_size, self._rng
        for comment_id, text in batch:
            if not isinstance(text, str) or not _LETTER.search(text):
                continue
            self._seen += 1
            if len(sample) < size:
                sample.append((comment_id, text[:MAX_CHARS]))
            else:
                j = rng.randrange(self._seen)
                if j < size:
                    sample[j] = (comment_id, text[:MAX_CHARS])

    # fit ---------------------------------------------------------------------------------------------------

    def fit(self) -> None:
        """Learn the lexicon, vocabulary, IDF, projection and clusters from the sample."""
        with _one_thread():
            self._fit()

    def _fit(self) -> None:
        self._fitted = True
        sample = self._sample
        originals = [text for _, text in sample]
        texts = [analysed_text(text) for text in originals]
        self._learn_segmentation(texts)
        # Fit reads the texts with tone marks moved to the new places; assign reads the old spellings through
        # aliases of the vocabulary's syllables (see _index_vocabulary), which is the same and faster.
        df, hidden = self._sample_terms(texts)
        self._build_vocabulary(df, len(texts))
        self._index_vocabulary()
        # In chunks: the hashes of 20,000 texts at once would take a hundred megabytes.
        parts = [self._counts(_Batch(texts[at:at + FIT_CHUNK], prepare=False))[0]
                 for at in range(0, len(texts), FIT_CHUNK)]
        counts = sparse.vstack(parts, format="csr") if parts else sparse.csr_matrix((0, max(len(self._vocabulary), 1)))
        x = self._weighted(counts)
        usable = np.flatnonzero(np.diff(x.indptr) > 0)
        self.sample_ids = [comment_id for comment_id, _ in sample]
        self.sample_labels = [None] * len(sample)
        self._centroids = np.zeros((0, 0), dtype=np.float32)
        self._terms, self._sizes, self._heaps = [], [], []
        if usable.size == 0 or self.max_themes == 0:
            self._vocabulary = {}
            return
        x = x[usable]
        z = self._project_fit(x)
        labels = self._cluster(z)
        k = int(labels.max()) + 1
        # Themes numbered by their size in the sample, largest first.
        order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        labels = rank[labels]
        self._centroids = _unit(np.vstack([z[labels == c].mean(axis=0) for c in range(k)]))
        shown = self._shown_forms([originals[i] for i in self._subsample(len(originals), LABEL_SAMPLE)])
        self._terms = self._key_terms(x, labels, k, shown, hidden)
        self._sizes = [0] * k
        self._heaps = [[] for _ in range(k)]
        for row, label in zip(usable.tolist(), labels.tolist()):
            self.sample_labels[row] = label

    def _learn_segmentation(self, texts: list[str]) -> None:
        compounds: dict[tuple[str, ...], int] | None = None
        self.segmentation_used = "none"
        if self.segmentation != "none" and any(map(has_vietnamese_marks, texts)):
            if self.segmentation in ("auto", "pyvi"):
                # From a random part of the sample: below sample_size comments, it is in the order they came.
                compounds = learn_compounds_pyvi(random.Random(self.seed).sample(texts, len(texts)))
                if compounds is not None:
                    self.segmentation_used = "pyvi"
            if compounds is None:
                compounds = learn_compounds_statistical(texts)
                self.segmentation_used = "statistical"
        compounds = compounds or {}
        # Forms with diacritics of every syllable, for restoring them in texts typed without.
        counts: Counter = Counter()
        for text in texts:
            if has_vietnamese_marks(text):
                # Syllables without marks count too: "ban" (committee) competes with "bạn" and "bán".
                counts.update(words_of(text))
        syllables: dict[str, Counter] = defaultdict(Counter)
        for word, n in counts.items():
            syllables[fold(word)][word] += n
        self._segmenter = Segmenter(compounds, syllables)
        self.compounds = len(compounds)

    def _sample_terms(self, texts: list[str]) -> tuple[Counter, set[str]]:
        """The document frequency of every term of the sampled texts, as the featuriser will find them: their
        words (given back their diacritics if typed without) and runs of 2 or 3 words that are lexicon words
        (stop words and words of one letter are left out when the vocabulary is made). Also the single words
        that are not to name a theme: those found inside lexicon words more often than alone ("thủ" of "thủ
        tục"), on a subsample."""
        segmenter = self._segmenter
        restore, sizes = segmenter.restore, segmenter.sizes
        probed = set(self._subsample(len(texts), LABEL_SAMPLE))
        df: Counter = Counter()
        standalone: Counter = Counter()
        occurrences: Counter = Counter()
        for at in range(0, len(texts), FIT_CHUNK):
            batch = _Batch(texts[at:at + FIT_CHUNK], prepare=False)
            rows = zip(batch.row_texts(), batch.folded.tolist(), batch.ascii.tolist())
            for row, (words, folded, is_ascii) in enumerate(rows, start=at):
                keys = list(map(restore.get, words, words)) if folded else words[:]
                if sizes and not (is_ascii and not folded):  # runs of words: Vietnamese text only
                    table = segmenter.folded_compounds if folded else segmenter.marked_compounds
                    for n in sizes:
                        keys.extend(filter(None, map(table.get, map("_".join, zip(*(words[i:] for i in range(n)))))))
                    if row in probed:
                        occurrences.update(keys[:len(words)])
                        alone = segmenter.segment_folded(words) if folded else segmenter.segment(words)
                        standalone.update(w for w in alone if "_" not in w)
                df.update(set(keys))
        hidden = {w for w, n in occurrences.items() if standalone[w] * 2 < n}
        return df, hidden

    def _subsample(self, n: int, size: int) -> list[int]:
        return sorted(random.Random(self.seed).sample(range(n), min(n, size)))

    def _build_vocabulary(self, df: Counter, n: int) -> None:
        min_df = 1 if n < 50 else 2
        kept = [(c, t) for t, c in df.items() if c >= min_df and _is_term(t)]
        kept.sort(key=lambda item: (-item[0], item[1]))
        terms = sorted(t for _, t in kept[:MAX_VOCABULARY])  # sorted: deterministic columns
        self._vocabulary = {t: i for i, t in enumerate(terms)}
        counts = np.array([df[t] for t in terms], dtype=np.float64)
        self._idf = (np.log((1 + n) / (1 + counts)) + 1).astype(np.float32)

    def _index_vocabulary(self) -> None:
        """The featuriser's tables: an id for every syllable of the vocabulary (its old-style spelling too) and
        for every form without diacritics that restores to one; the vocabulary column of each id's single word;
        and the column of each lexicon word as a code of its syllables' ids, sorted for searchsorted."""
        vocabulary, segmenter = self._vocabulary, self._segmenter
        ids: dict[bytes, int] = {}
        folded_ids: dict[bytes, int] = {}
        column: list[int] = []

        def marked_id(syllable: str) -> int:
            key = syllable.encode()
            if key not in ids:
                ids[key] = len(column)
                column.append(-1)
                old = _old_style(syllable)
                if old != syllable:
                    ids.setdefault(old.encode(), ids[key])
            return ids[key]

        def folded_id(syllable: str) -> int:
            key = syllable.encode()
            if key not in folded_ids:
                folded_ids[key] = len(column)
                column.append(vocabulary.get(segmenter.restore.get(syllable, syllable), -1))
            return folded_ids[key]

        compound_terms = []
        for term, col in vocabulary.items():
            if "_" in term:
                compound_terms.append((term, col))
            else:
                column[marked_id(term)] = col
        for syllable, marked in segmenter.restore.items():
            if marked in vocabulary:
                folded_id(syllable)
        for term in vocabulary:
            if "_" not in term and term.isascii() and term not in segmenter.restore:
                folded_id(term)
        entries: dict[int, list[tuple[list[int], int]]] = defaultdict(list)
        for term, col in compound_terms:
            parts = term.split("_")
            entries[len(parts)].append(([marked_id(p) for p in parts], col))
        for key, marked in segmenter.folded_compounds.items():
            if marked in vocabulary:
                parts = key.split("_")
                entries[len(parts)].append(([folded_id(p) for p in parts], vocabulary[marked]))
        self._ids = _Table(list(ids), list(ids.values()))
        self._folded_ids = _Table(list(folded_ids), list(folded_ids.values()))
        self._unigram_column = np.array(column + [-1], dtype=np.int64)  # id -1 (unknown) reads the last: -1
        self._base = max(len(column), 1)
        self._codes = {}
        for n, items in entries.items():
            if self._base ** n >= 2 ** 62:  # codes would overflow int64 (never with real vocabularies)
                continue
            codes = np.array([_code(parts, self._base) for parts, _ in items], dtype=np.int64)
            cols = np.array([col for _, col in items], dtype=np.int64)
            order = np.argsort(codes, kind="stable")
            self._codes[n] = (codes[order], cols[order])

    def _features(self, batch: _Batch) -> tuple[sparse.csr_matrix, np.ndarray]:
        """TF-IDF rows (unit length) of a batch, and the number of known terms of each text."""
        counts, known = self._counts(batch)
        return self._weighted(counts), known

    def _counts(self, batch: _Batch) -> tuple[sparse.csr_matrix, np.ndarray]:
        """How often each vocabulary term occurs in each text of a batch, and the known terms of each text."""
        row_of = batch.row_of
        ids = self._ids.get(batch.hashes)
        folded = batch.folded[row_of] if row_of.size else np.zeros(0, dtype=bool)
        if folded.any():
            ids[folded] = self._folded_ids.get(batch.hashes[folded])
        columns = self._unigram_column[ids]
        rows = [row_of[columns >= 0]]
        cols = [columns[columns >= 0]]
        vietnamese = ~batch.ascii[row_of] | folded if row_of.size else np.zeros(0, dtype=bool)
        for n, (codes, code_cols) in self._codes.items():
            m = len(ids) - n + 1
            if m <= 0:
                continue
            valid = (row_of[:m] == row_of[n - 1:]) & vietnamese[:m]  # within one Vietnamese text
            code = np.zeros(m, dtype=np.int64)
            for j in range(n):
                part = ids[j:j + m]
                valid &= part >= 0
                code = code * self._base + np.maximum(part, 0)
            candidates = np.flatnonzero(valid)
            if not candidates.size:
                continue
            found = np.minimum(np.searchsorted(codes, code[candidates]), len(codes) - 1)
            hit = codes[found] == code[candidates]
            rows.append(row_of[candidates[hit]])
            cols.append(code_cols[found[hit]])
        r, c = np.concatenate(rows), np.concatenate(cols)
        known = np.bincount(r, minlength=batch.size)
        x = sparse.csr_matrix((np.ones(len(r), dtype=np.float32), (r, c)),
                              shape=(batch.size, max(len(self._vocabulary), 1)))
        x.sum_duplicates()
        return x, known

    def _weighted(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Counts -> TF-IDF (1 + log tf), rows of unit length."""
        x = counts.copy()
        size = x.shape[0]
        if x.nnz:
            x.data = (1 + np.log(x.data)) * self._idf[x.indices]
        lengths = np.diff(x.indptr)
        norms = np.sqrt(np.bincount(np.repeat(np.arange(size), lengths),
                                    weights=x.data.astype(np.float64) ** 2, minlength=size))
        scale = np.zeros(size, dtype=np.float32)
        scale[norms > 0] = 1 / norms[norms > 0]
        x.data *= np.repeat(scale, lengths)
        return x

    def _shown_forms(self, originals: list[str]) -> dict[str, str]:
        """How to show words that are mostly written with capitals inside sentences ("SNAP", "Hà Nội", "EPA")."""
        capitals: dict[str, Counter] = defaultdict(Counter)
        for original in originals:
            original = unicodedata.normalize("NFC", _cleaned(original))
            for match in _WORD.finditer(original):
                word = match.group()
                if word.islower():
                    continue
                j = match.start() - 1
                while j >= 0 and original[j].isspace():
                    j -= 1
                if j < 0 or original[j] in ".!?:;\"'“‘(-–—•*#>":
                    continue  # a capital at the start of a sentence says nothing about the word
                capitals[_new_style(word.lower())][word] += 1
        if not capitals:
            return {}
        totals: Counter = Counter()
        for original in originals:
            totals.update(w for w in map(_new_style, words_of(prepared(original))) if w in capitals)
        shown = {}
        for lower, forms in capitals.items():
            form, n = forms.most_common(1)[0]
            if n * 2 > totals[lower]:
                shown[lower] = form
        return shown

    def _project_fit(self, x: sparse.csr_matrix) -> np.ndarray:
        dimensions = min(LSA_DIMENSIONS, x.shape[1] - 1, x.shape[0] - 1)
        if x.shape[1] <= LSA_DIMENSIONS or dimensions < 2:
            self._projection = None
            return _unit(x.toarray())
        from sklearn.decomposition import TruncatedSVD

        svd = TruncatedSVD(n_components=dimensions, algorithm="randomized", n_iter=3, random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            svd.fit(x)
        self._projection = np.ascontiguousarray(svd.components_.T, dtype=np.float32)
        return _unit(np.asarray(x @ self._projection))

    def _project(self, x: sparse.csr_matrix) -> np.ndarray:
        if self._projection is None:
            return _unit(x.toarray())
        return _unit(np.asarray(x @ self._projection))

    def _cluster(self, z: np.ndarray) -> np.ndarray:
        n = z.shape[0]
        distinct = np.unique(np.round(z, 4), axis=0).shape[0]
        k_max = min(self.max_themes, distinct, n // MIN_PER_THEME)
        self.silhouettes = {}
        self.silhouette = None
        if k_max < 2:
            return np.zeros(n, dtype=np.int64)
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        rng = np.random.default_rng(self.seed)
        # k is chosen on a subsample (k-means for every k on the whole sample would take seconds each).
        subset = rng.permutation(n)[:SELECTION_SAMPLE]
        zs = z[subset]
        probe = np.arange(min(len(subset), SILHOUETTE_SAMPLE))  # the subset is in random order already
        k_max = min(k_max, np.unique(np.round(zs, 4), axis=0).shape[0])
        fits = {}
        for k in range(2, k_max + 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "fewer distinct points than clusters" on degenerate samples
                model = KMeans(n_clusters=k, n_init=SELECTION_STARTS, max_iter=100, random_state=self.seed).fit(zs)
            fits[k] = model.cluster_centers_
            probe_labels = model.labels_[probe]
            smallest = np.bincount(model.labels_, minlength=k).min()
            if smallest < max(MIN_PER_THEME, MIN_THEME_SHARE * len(subset)):
                continue  # a theme of a handful of odd comments ("#NAME?") is not a theme
            if 1 < len(set(probe_labels.tolist())) < len(probe):
                self.silhouettes[k] = round(float(silhouette_score(zs[probe], probe_labels)), 4)
        if self.silhouettes:
            chosen = max(self.silhouettes, key=lambda k: (self.silhouettes[k], k))
            self.silhouette = self.silhouettes[chosen]
        else:
            chosen = 1  # no k without a tiny cluster: one theme
        if chosen < 2:
            return np.zeros(n, dtype=np.int64)
        # On the whole sample: started from the subsample's centroids and FINAL_RESTARTS times from k-means++;
        # the lowest inertia wins (one start often ends in a poor local optimum, two themes merged).
        best_model = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for start, init in enumerate([fits[chosen]] + ["k-means++"] * FINAL_RESTARTS):
                model = KMeans(n_clusters=chosen, init=init, n_init=1, random_state=self.seed + start).fit(z)
                if best_model is None or model.inertia_ < best_model.inertia_:
                    best_model = model
        return np.unique(best_model.labels_, return_inverse=True)[1].reshape(-1)  # no empty cluster numbers

    def _key_terms(self, x: sparse.csr_matrix, labels: np.ndarray, k: int, shown: dict[str, str],
                   hidden: set[str]) -> list[list[str]]:
        """Each theme's key terms: the terms whose mean TF-IDF weight in the theme's sampled comments most exceeds
        their mean weight in the others'. (Compared on the real dockets with class-based TF-IDF, as BERTopic
        uses, and with differences of document frequency: those favour words of a single form letter,
        "entirety, inviting, eliminates" where this gives "government, religious, funded".)"""
        terms = sorted(self._vocabulary, key=self._vocabulary.__getitem__)
        member = sparse.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
        sums = np.asarray((member @ x).todense(), dtype=np.float64)
        sizes = np.bincount(labels, minlength=k).astype(np.float64)
        total = sums.sum(axis=0)
        scores = np.empty_like(sums)
        for c in range(k):
            others = len(labels) - sizes[c]
            outside = (total - sums[c]) / others if others else 0.0
            scores[c] = sums[c] / sizes[c] - outside  # what sets the theme apart, not what every comment says
        out = []
        for c in range(k):
            score = scores[c]
            chosen: list[tuple[set[str], str]] = []
            for i in np.argsort(-score, kind="stable")[: TERMS * 4].tolist():
                if score[i] <= 0 or terms[i] in hidden:
                    continue
                parts = {_stem(p) for p in terms[i].split("_")}
                # "thủ tục" and "thủ tục hành chính", "state" and "states": one of them says enough.
                if any(parts <= other for other, _ in chosen):
                    continue
                chosen = [(other, t) for other, t in chosen if not other <= parts]
                chosen.append((parts, terms[i]))
                if len(chosen) == TERMS:
                    break
            out.append([_show(t, shown) for _, t in chosen])
        return out

    # pass 2 ------------------------------------------------------------------------------------------------

    def assign(self, batch: Sequence[tuple[int, str]]) -> list[int | None]:
        """The theme of every comment of ``batch`` (None: no known word, or no themes), counted and considered
        for the quotes."""
        if not self._fitted:
            self.fit()
        batch = list(batch)
        if not batch or not self._vocabulary or len(self._centroids) == 0:
            return [None] * len(batch)
        with _one_thread():
            return self._assign(batch)

    def _assign(self, batch: list[tuple[int, str]]) -> list[int | None]:
        # Copies of one text (form letters) are analysed once.
        texts = [text if isinstance(text, str) else "" for _, text in batch]
        unique = {text: i for i, text in enumerate(dict.fromkeys(texts))}
        x, known_unique = self._features(_Batch(list(unique)))
        z_unique = self._project(x)
        similarity = z_unique @ self._centroids.T
        best_unique = similarity.argmax(axis=1)
        score_unique = similarity[np.arange(len(unique)), best_unique]
        usable_unique = (known_unique > 0) & (np.abs(z_unique).sum(axis=1) > 0)
        where = np.fromiter(map(unique.__getitem__, texts), dtype=np.int64, count=len(texts))
        best, score, known, usable = best_unique[where], score_unique[where], known_unique[where], usable_unique[where]
        labels: list[int | None] = [int(b) if u else None for b, u in zip(best.tolist(), usable.tolist())]
        counts = np.bincount(best[usable], minlength=len(self._centroids))
        for c, n in enumerate(counts.tolist()):
            self._sizes[c] += n
        if self.quotes:
            weighted = np.where(known >= 3, score, score * 0.5)  # a quote of two words illustrates little
            for c in np.unique(best[usable]).tolist():
                members = np.flatnonzero(usable & (best == c))
                top = members[np.argsort(-weighted[members], kind="stable")[: self.quotes + 2]]
                for i in top.tolist():
                    self._offer(c, float(weighted[i]), batch[i])
        return labels

    def _offer(self, theme: int, score: float, item: tuple[int, str]) -> None:
        heap = self._heaps[theme]
        if len(heap) >= self.quotes and score <= heap[0][0]:
            return
        comment_id, text = item
        shown = excerpt(text)
        key = fold(shown.lower())
        if any(entry[3] == key for entry in heap):  # copies of one letter: one quote
            return
        self._order += 1
        entry = (score, -self._order, int(comment_id), key, shown)
        if len(heap) < self.quotes:
            heapq.heappush(heap, entry)
        else:
            heapq.heapreplace(heap, entry)

    # result ------------------------------------------------------------------------------------------------

    def result(self) -> list[dict]:
        """The themes with at least one assigned comment, largest first (ties: by id); no two with one label."""
        themes = []
        for c, size in enumerate(self._sizes):
            if size == 0:
                continue
            terms = self._terms[c]
            themes.append({
                "id": c,
                "terms": list(terms),
                "size": int(size),
                "quotes": [{"comment_id": entry[2], "text": entry[4]} for entry in sorted(self._heaps[c], reverse=True)],
            })
        themes.sort(key=lambda theme: (-theme["size"], theme["id"]))
        used: set[str] = set()
        for theme in themes:
            theme["label"] = _distinct_label(theme["terms"], used)
            used.add(theme["label"])
        return [{"id": t["id"], "label": t["label"], "terms": t["terms"], "size": t["size"], "quotes": t["quotes"]}
                for t in themes]


def _distinct_label(terms: list[str], used: set[str]) -> str:
    """The first LABEL_TERMS key terms, or, when a larger theme has that label already (k-means split one subject
    in two), the first ones with the last replaced by a later term that tells this theme apart."""
    label = ", ".join(terms[:LABEL_TERMS])
    if label not in used:
        return label
    for term in terms[LABEL_TERMS:]:
        candidate = ", ".join([*terms[:LABEL_TERMS - 1], term])
        if candidate not in used:
            return candidate
    return f"{label} ({1 + sum(other.startswith(label) for other in used)})"  # the count grows: never repeated


_CONTROLLER = None


def _one_thread() -> contextlib.AbstractContextManager:
    """BLAS and OpenMP limited to one thread: the matrix products of a batch are small, and OpenBLAS's threads
    spin waiting for work, which doubled the CPU time of assign (measured). The report job runs on one core."""
    global _CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController  # a dependency of scikit-learn
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    if _CONTROLLER is None:
        import sklearn.cluster  # noqa: F401  (its OpenMP runtime loaded, so that it is limited too)

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


def _is_term(key: str) -> bool:
    if key in _STOPS_VI:
        return False
    if "_" in key:
        return True
    return 1 < len(key) <= MAX_WORD_CHARS and not (key in _STOPS_EN and key.isascii())


def _code(ids: Sequence[int], base: int) -> int:
    code = 0
    for i in ids:
        code = code * base + i
    return code


def _unit(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float32)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return z / np.where(norms > 0, norms, 1)


def _stem(word: str) -> str:
    """English plural folded for comparing terms ("states" -> "state")."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word.isascii() else word


def _show(term: str, shown: dict[str, str]) -> str:
    return " ".join(shown.get(part, part) for part in term.split("_"))


_STOPS_VI = stop_words("vi")
_STOPS_EN = stop_words("en")
