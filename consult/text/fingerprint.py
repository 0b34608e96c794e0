"""Near-duplicate fingerprints of comments, for finding campaigns (form letters).

A comment is reduced to a MinHash signature of its word shingles (``signature``) and to one 64-bit key per
LSH band (``band_keys``). The grouping job stores both per comment and finds the comments that may be copies
of a new one by an indexed lookup of its band keys, never by reading the whole consultation:

1. ``sig = fingerprint(text)`` (None, and nothing more to do, when the text has fewer than MIN_TOKENS words),
   ``keys = band_keys(sig)``;
2. candidates: for each key, the ``PER_KEY_LIMIT`` most recent earlier comments of the same consultation with
   that key (one bounded index range per key, so a campaign of 10,000 identical copies costs no more than one of
   10); of those, the ``MAX_CANDIDATES`` sharing the most keys with the new comment;
3. ``choose_group(sig, candidate_groups, candidate_signatures)``: the candidates whose estimated similarity is at least
   ``THRESHOLD`` are matches. No match: the comment starts alone. Matches in one group: it joins that group.
   Matches in several groups: it joins the oldest of them and the others are merged into it (single linkage:
   a comment that is a near copy of two groups shows that they are one campaign drifting by edits).
4. the comment's signature and band keys are stored for the next ones.

``bench/evaluate_campaigns.py`` runs exactly this, one comment at a time, on real dockets.

Choices, measured with ``python -m bench.evaluate_campaigns`` on the regulations.gov dockets of ../shared/data:

* Text normalisation: NFKD, diacritics removed (``đ`` -> ``d``), case folded, every run of punctuation and
  white space made one separator, zero-width and other format characters dropped. Removing Vietnamese
  diacritics makes a form letter retyped without accents (common on phones) still a copy of the original; with
  shingles of several words the words it conflates (``ma``, ``má``, ``mà``...) almost never make two unrelated
  texts share a whole shingle, so the loss of precision is negligible.
* Shingles of ``SHINGLE_WORDS`` consecutive words (Vietnamese words are syllables between spaces, so they are
  split the same way). Texts of fewer words than that (or scripts written without spaces, such as Chinese) use
  character shingles of ``SHINGLE_CHARS`` characters instead.
* Hashing: each shingle hashed to 32 bits (``shingle_hash``: from blake2b hashes of its words), then datasketch
  2.0's "affine32" permutation scheme (MurmurHash3 finalizer, then ``a*h + b mod 2**32``) with the permutations of
  ``MinHash(num_perm=NUM_PERM, seed=SEED)``, applied to all shingles at once with numpy. The result equals
  ``datasketch.MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=shingle_hash).update_batch(shingles)`` (tested) but
  takes a fraction of the time. Values fit 32 bits; they are returned as uint64 and stored as 4 bytes each.
* THRESHOLD 0.5 (estimated Jaccard similarity of 3-word shingles). On the regulations.gov dockets the pairs
  between 0.5 and 0.7 are copies of one letter to which the sender added a paragraph of their own or in which
  they replaced a sentence (a 200-word letter with 150 words of one's own added is at 0.57); raising the
  threshold to 0.7 loses them (recall against the dockets' labels 0.33 -> 0.25) for little precision (0.957 ->
  0.977). Below 0.5, comments that share only a boilerplate header start to be linked.
* LSH bands: ``BANDS`` bands of ``ROWS`` rows. Two comments of Jaccard similarity s share at least one band key
  with probability ``1 - (1 - s**ROWS)**BANDS``, the S-curve; with 32 x 4 it is 0.23 at s = 0.3, 0.56 at 0.4,
  0.87 at 0.5, 0.98 at 0.6 and above 0.999 at s >= 0.7 (its midpoint, ``(1/BANDS)**(1/ROWS)``, is 0.42). A pair
  at the threshold missed by the bands is usually caught through another member of the same group, so grouping
  finds 98.7% of the pairs an exhaustive comparison would (bench). 16 x 8 (midpoint 0.71) would find only 6% of
  the pairs at 0.5 and 61% at 0.7 (80% of the exhaustive pairs on the dockets); 64 x 2 finds slightly more but
  verifies 50% more candidates, and a candidate whose estimate lands above the threshold by chance chains two
  groups (precision against exhaustive 0.93 instead of 0.98). The price of 32 bands: 32 index rows a comment.
* MIN_TOKENS 15 words (Vietnamese words counted as syllables): shorter comments ("Tôi hoàn toàn đồng ý với dự
  thảo này") are written alike by many people independently. On the dockets any value from 8 to 30 gives the
  same figures.
* The bounded lookup (PER_KEY_LIMIT, MAX_CANDIDATES) loses almost nothing against reading every comment with a
  shared key (F1 0.486 against 0.488 on the dockets), verifying about 12 candidates a comment instead of 67.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

NUM_PERM = 128
BANDS = 32
ROWS = 4
assert BANDS * ROWS == NUM_PERM
# Estimated Jaccard similarity of the shingle sets at or above which two comments are copies of one letter.
THRESHOLD = 0.5
# Texts of fewer words are not fingerprinted: a short comment is written alike by many people independently.
MIN_TOKENS = 15
SHINGLE_WORDS = 3
SHINGLE_CHARS = 5
SEED = 20261122
# The lookup of candidates (see the module docstring).
PER_KEY_LIMIT = 8
MAX_CANDIDATES = 32

_MAX_HASH = np.uint32(0xFFFFFFFF)
_BAND_HASH = hashlib.blake2b(digest_size=8, person=b"consult-lsh")
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch 2.0's affine32 permutation parameters for (num_perm, seed), computed as it does."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


_A, _B = _permutations(NUM_PERM, SEED)
# Odd multipliers combining a shingle's word hashes (position-dependent, so word order counts); the first
# SHINGLE_WORDS are used.
_K = np.random.RandomState(SEED + 1).randint(0, 1 << 62, 8, dtype=np.uint64) * np.uint64(2) + np.uint64(1)

# Characters that are not text: zero-width spaces and joiners, direction marks, the byte-order mark.
_FORMAT = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_WORD = re.compile(r"[^\W_]+")
# Combining marks (the diacritics once NFKD has split them from their letters).
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
# ASCII letters and digits kept (lower-cased), anything else a separator: the same as _WORD on ASCII text.
_ASCII_WORDS = bytes(c if chr(c).isalnum() else 32 for c in range(128)).lower() + b" " * 128


def normalize(text: str) -> str:
    """Text reduced to what makes two copies the same: no diacritics, no case, one space between words."""
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", _FORMAT.sub("", text or ""))).casefold()
    text = text.replace("đ", "d")  # the one Vietnamese letter NFKD does not split (casefold made Đ đ)
    if text.isascii():  # Vietnamese and English after the above: a byte table is 5x faster than a regex
        return " ".join(text.encode().translate(_ASCII_WORDS).decode().split())
    return " ".join(_WORD.findall(text))


def _words(text: str) -> list[str]:
    return normalize(text).split()


def token_count(text: str) -> int:
    """Words in the text, as counted against MIN_TOKENS."""
    return len(_words(text))


def fingerprintable(text: str) -> bool:
    return token_count(text) >= MIN_TOKENS


def _shingles_of(words: list[str]) -> set[bytes]:
    n = SHINGLE_WORDS
    if len(words) >= n:
        return {" ".join(words[i:i + n]).encode() for i in range(len(words) - n + 1)}
    joined = " ".join(words)
    if not joined:
        return set()
    if len(joined) <= SHINGLE_CHARS:
        return {joined.encode()}
    return {joined[i:i + SHINGLE_CHARS].encode() for i in range(len(joined) - SHINGLE_CHARS + 1)}


def shingles(text: str) -> set[bytes]:
    """The text's shingles: SHINGLE_WORDS-word runs of the normalised text, or character SHINGLE_CHARS-grams
    when it has fewer words than that (a text of one long run, such as Chinese, is a single "word")."""
    return _shingles_of(_words(text))


@lru_cache(maxsize=1 << 16)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def shingle_hash(shingle: bytes) -> int:
    """The 32-bit hash of one shingle, stable across processes and versions of Python.

    A word shingle is hashed from its words' 64-bit hashes (each word is hashed once per text, not once per
    shingle it is in: ``signature`` does this for all shingles at once with numpy); a character shingle
    (fewer words) by blake2b.
    """
    words = shingle.decode().split(" ")
    if len(words) != SHINGLE_WORDS:
        return int.from_bytes(hashlib.blake2b(shingle, digest_size=4).digest(), "little")
    combined = sum(int(k) * _word_hash(w) for k, w in zip(_K, words)) & 0xFFFFFFFFFFFFFFFF
    return combined >> 32


def _fmix32(hv: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX
    hv = hv ^ (hv >> s1)
    hv = hv * m1
    hv = hv ^ (hv >> s2)
    hv = hv * m2
    return hv ^ (hv >> s3)


def _minhash(hashes: np.ndarray) -> np.ndarray:
    if hashes.size == 0:
        return np.full(NUM_PERM, _MAX_HASH, dtype=np.uint64)
    mixed = _fmix32(hashes)  # a repeated shingle changes no minimum: not worth removing first
    # (shingles x permutations) in uint32: the wrap-around is the mod 2**32 of the permutation.
    permuted = np.multiply.outer(mixed, _A)
    permuted += _B
    return permuted.min(axis=0).astype(np.uint64)


def signature_of_shingles(items: Iterable[bytes]) -> np.ndarray:
    """The MinHash signature of a set of shingles (NUM_PERM values, uint64, each below 2**32)."""
    return _minhash(np.fromiter((shingle_hash(s) for s in items), dtype=np.uint32))


def signature(text: str) -> np.ndarray:
    """The MinHash signature of a text: ``signature_of_shingles(shingles(text))``, computed faster (each word
    hashed once, the shingles' hashes combined from them with numpy). Deterministic: fixed seed and hashes."""
    return _signature_of_words(_words(text))


def fingerprint(text: str) -> np.ndarray | None:
    """The signature of a text long enough to be a form letter (MIN_TOKENS words or more), else None."""
    words = _words(text)
    return _signature_of_words(words) if len(words) >= MIN_TOKENS else None


def _signature_of_words(words: list[str]) -> np.ndarray:
    if len(words) < SHINGLE_WORDS:
        return signature_of_shingles(_shingles_of(words))
    hashes = np.fromiter((_word_hash(w) for w in words), dtype=np.uint64, count=len(words))
    n = len(words) - SHINGLE_WORDS + 1
    combined = hashes[:n] * _K[0]
    for i in range(1, SHINGLE_WORDS):
        combined += hashes[i:i + n] * _K[i]
    return _minhash((combined >> np.uint64(32)).astype(np.uint32))


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per LSH band (fits a PostgreSQL BIGINT): blake2b of the band's index and values."""
    values = np.asarray(sig, dtype="<u4")
    if values.shape != (NUM_PERM,):
        raise ValueError(f"a signature has {NUM_PERM} values")
    raw = values.tobytes()
    width = ROWS * 4
    keys = []
    for band in range(BANDS):
        h = _BAND_HASH.copy()
        h.update(band.to_bytes(2, "little") + raw[band * width:(band + 1) * width])
        keys.append(int.from_bytes(h.digest(), "little", signed=True))
    return keys


def similarity(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    return float(np.count_nonzero(np.asarray(sig_a) == np.asarray(sig_b))) / NUM_PERM


def similarities(sig: np.ndarray, sigs: np.ndarray) -> np.ndarray:
    """Estimated similarity of one signature with each row of a (n x NUM_PERM) matrix of signatures."""
    sigs = np.asarray(sigs)
    if sigs.size == 0:
        return np.zeros(0)
    return np.count_nonzero(sigs == np.asarray(sig)[None, :], axis=1) / NUM_PERM


def to_bytes(sig: np.ndarray) -> bytes:
    """The signature as stored (BLOB / BYTEA): NUM_PERM little-endian unsigned 32-bit values."""
    values = np.asarray(sig)
    if values.shape != (NUM_PERM,) or (values.size and int(values.max()) > 0xFFFFFFFF):
        raise ValueError(f"a signature has {NUM_PERM} values below 2**32")
    return values.astype("<u4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    if len(data) != NUM_PERM * 4:
        raise ValueError(f"a stored signature has {NUM_PERM * 4} bytes, not {len(data)}")
    return np.frombuffer(data, dtype="<u4").astype(np.uint64)


def choose_group(sig: np.ndarray, groups: Sequence[int], signatures) -> tuple[int | None, list[int]]:
    """The group a new comment joins, given its candidates' groups and signatures (a sequence of signatures or an
    (n x NUM_PERM) array, in the same order), and the other groups to merge into that one. Group ids must grow with
    age: the oldest group has the smallest id.

    (None, []) when no candidate reaches THRESHOLD; the comment then starts alone.
    """
    if len(groups) == 0:
        return None, []
    scores = similarities(sig, np.asarray(signatures))
    matched = sorted({group for group, score in zip(groups, scores) if score >= THRESHOLD})
    if not matched:
        return None, []
    return matched[0], matched[1:]
