"""Tone of a comment: positive, neutral or negative, in Vietnamese or English, by word lists.

The method (a lexicon method, chosen because it is fast, explainable and needs no training data, which does not
exist for Vietnamese comments on draft laws):

* **Language.** A text is Vietnamese when Vietnamese diacritics (ă, đ, ơ, ư, ạ, ế...) are on most of its
  syllables (at least 4 for every 10 words). Otherwise its words, diacritics removed, are compared with common
  function words: more Vietnamese ones ("khong", "duoc", "nguoi", "cua"...) than English ones ("the", "and",
  "of"...) is Vietnamese typed without diacritics, the opposite English ("I visited Hà Nội and the trains were
  late" is English). None when it cannot tell (then both word lists are tried and the stronger verdict kept).
* **Words.** The text is lowercased (NFC, Vietnamese tone marks in their new places: "hoà" -> "hòa") and cut
  into words and punctuation. Phrases of the word list (``lexicons/sentiment_vi.txt``, ``sentiment_en.txt``)
  are matched longest first, so "không gian" (space) is not "không" (not), and "gây khó khăn" counts once.
  Vietnamese typed without diacritics is matched against the list with its diacritics removed, leaving out the
  phrases that would then be mistaken for common words ("tồi", bad, would be "toi", I). English words also
  match their regular inflections ("supports", "supported").
* **Score.** Each phrase has a weight (about -3 to 3). A negator ("không", "chưa", "chẳng", "chả", "đâu có",
  "not", "no", "never", "n't"...) flips the next weighted phrase within ``NEGATION_SCOPE`` words (a flipped
  positive counts ``NEGATED_POSITIVE`` times its weight, a flipped negative ``NEGATED_NEGATIVE``: "không tốt" is
  clearly negative, "không tệ" only mildly positive); verbs of reducing ("giảm", "hạn chế", "tránh", "reduce",
  "cut") flip the same way ("giảm ô nhiễm" is good news). Intensifiers ("rất", "quá", "lắm", "very",
  "strongly") multiply the neighbouring phrase; Vietnamese puts some after it ("tốt lắm"). After a contrast
  ("nhưng", "tuy nhiên", "but", "however") what came before counts half. A clause ending in "?" counts
  ``QUESTION_FACTOR``, and a text making a request or suggestion ("đề nghị", "cần", "nên", "should",
  "please"...) has its score multiplied by ``REQUEST_FACTOR``: such comments are mostly neutral proposals.
* **Verdict.** Score >= ``THRESHOLD``: positive (1); <= -``THRESHOLD``: negative (-1); otherwise neutral (0).

The word lists were written for this project and tuned on the development half of two labelled sets of citizen
comments (``bench/data/sentiment_vi.tsv``, ``sentiment_en.tsv``), and measured on the held-out half with
``python -m bench.evaluate_sentiment``: ``MEASURED`` holds those figures (a test keeps it equal to a fresh
evaluation): accuracy and macro-F1 0.967 in both languages on 90 held-out sentences each (on the development
half, 1.0: the lists fit the sentences they were written against). Speed, language detection included, on one
core: about 75,000 one-sentence texts a second, 21,000 comments of three sentences. The sentences and the word lists were written by the same
authors, who know which words such comments use, so these figures are an upper bound: real comments, with
sarcasm, typos, comparisons, mixed verdicts and opinions stated without evaluative words ("the plant emits black
smoke all night"), will score lower. The report's check of tone against the side each author chose (support or
oppose) measures the method on a consultation's own comments.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from collections import Counter
from typing import Any, Iterable, NamedTuple, Sequence

__all__ = ["EN_FUNCTION_WORDS", "MEASURED", "TONE_MOVES", "VI_FUNCTION_WORDS", "canonical", "detect_language", "fold",
           "has_vietnamese_marks", "language_and_sentiment", "language_from_counts", "language_of_words", "sentiment", "score",
           "tally"]

# Held-out accuracy (bench/evaluate_sentiment.py on the "test" rows); tests/test_report_sentiment.py checks it.
MEASURED = {
    "vi": {"accuracy": 0.967, "macro_f1": 0.967, "sentences": 90},
    "en": {"accuracy": 0.967, "macro_f1": 0.967, "sentences": 90},
}

MAX_CHARS = 5000  # of a text, analysed
NEGATION_SCOPE = 3  # words after a negator in which it flips a weighted phrase
FLIP_SCOPE = 2  # the same for verbs of reducing, whose object follows them closely
INTENSIFIER_SCOPE = 2
NEGATED_POSITIVE = -0.8
NEGATED_NEGATIVE = 0.5
CONTRAST_FACTOR = 0.5
QUESTION_FACTOR = 0.5
REQUEST_FACTOR = 0.5
THRESHOLD = 0.6

# --- text canonical form (shared with consult.reports.themes) ---------------------------------------------

_VIETNAMESE_MARKS = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯ\u1ea0-\u1ef9]")
TONE_MOVES = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
# "hoà" and "hòa", "thuỷ" and "thủy" are one word written in the old and the new style; "quý" is not affected.
_OLD_TONES = re.compile(r"(?<![qQ])(?:o[àáảãạèéẻẽẹ]|u[ỳýỷỹỵ])(?![^\W\d_])")


def has_vietnamese_marks(text: str) -> bool:
    """Whether ``text`` has a letter only Vietnamese uses (among the Latin scripts likely here)."""
    return _VIETNAMESE_MARKS.search(text) is not None


def _move_tone(match: re.Match) -> str:
    return TONE_MOVES[match.group()]


def canonical(text: str) -> str:
    """NFC, lowercase, Vietnamese tone marks in their new places."""
    text = unicodedata.normalize("NFC", text).lower()
    if not text.isascii():
        text = _OLD_TONES.sub(_move_tone, text)
    return text


def _fold_table() -> dict[int, str]:
    table = {ord("đ"): "d"}
    for code in list(range(0xC0, 0x250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(code).lower()
        if len(ch) != 1:
            continue
        base = unicodedata.normalize("NFD", ch)[0]
        if base != ch and base.isascii():
            table[ord(ch)] = base
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """Lowercase ``text`` without its diacritics (character for character: positions are kept)."""
    return text.translate(_FOLD)


# --- language ---------------------------------------------------------------------------------------------

# Common words of each language, as typed without diacritics; none of them is common in the other language.
VI_FUNCTION_WORDS = frozenset(
    "khong duoc nguoi nhung cua cac voi nay va cho toi chung viec nha nuoc cung rat la co mot trong nhieu thi se da "
    "dang lam ve theo hon phai neu vi khi ra vao chi sao gi nao duong nen tai tren moi nhu minh chua qua thay biet "
    "roi lai ma thoi vay di dan ho cung nhe oi ong ba anh em chi dung tot xau hop ly quy dinh du thao".split()
)
EN_FUNCTION_WORDS = frozenset(
    "the and of to is in that for it this are be with as on not by was or have from will would should we they you "
    "our their which an at has been were can more about all if i my me do does what how please there these those "
    "its than them who also any".split()
)


def language_of_words(words: Sequence[str]) -> str | None:
    """"vi" or "en" from lowercase words written without diacritics (function words counted), or None."""
    return language_from_counts(sum(map(VI_FUNCTION_WORDS.__contains__, words)),
                                sum(map(EN_FUNCTION_WORDS.__contains__, words)))


def language_from_counts(vi: int, en: int) -> str | None:
    """The language of a text with ``vi`` Vietnamese and ``en`` English function words (without diacritics)."""
    if vi > en and (vi >= 2 or en == 0):
        return "vi"
    if en > vi and (en >= 2 or vi == 0):
        return "en"
    return None


def detect_language(text: str) -> str | None:
    """"vi", "en" or None (too short, no letters, or another language)."""
    if not isinstance(text, str):
        return None
    text = canonical(text[:MAX_CHARS])
    return _language(text, _tokens(text))


def _tokens(text: str) -> list[str]:
    """Words and punctuation of a ``canonical`` text."""
    return _TOKEN.findall(text.replace("’", "'"))


def _language(text: str, tokens: list[str]) -> str | None:
    """``detect_language`` from a ``canonical`` text and its tokens (made once for both steps)."""
    words = [token for token in tokens if token not in _PUNCTUATION]
    if "'" in text:  # "it's": "it" and "s", as function words are counted
        words = [part for word in words for part in word.split("'")]
    if not words:
        return None
    if not text.isascii():
        marks = len(_VIETNAMESE_MARKS.findall(text))
        # Vietnamese marks most of its syllables; an English text naming "Hà Nội" has a few marks, and English
        # function words.
        if marks >= 0.4 * len(words) or (marks and len(words) < 4):
            return "vi"
        if marks:
            words = [fold(w) for w in words]
            return language_of_words(words) or ("vi" if marks >= 0.15 * len(words) else None)
    return language_of_words(words)


# --- lexicons ---------------------------------------------------------------------------------------------

_VALUE, _NOT, _FLIP, _TIMES, _BUT, _ASK = range(6)


class _Entry(NamedTuple):
    kind: int
    value: float  # weight; for _NOT the weight when it flips nothing; for _TIMES the factor


_NOT_ENTRY = _Entry(_NOT, 0.0)  # "n't"


class _Lexicon(NamedTuple):
    entries: dict[str, _Entry]  # phrase (words joined by " ") -> entry
    lengths: dict[str, tuple[int, ...]]  # first word -> the lengths of the phrases starting with it, longest first


def _parse(value: str) -> _Entry:
    if value == "BUT":
        return _Entry(_BUT, 0.0)
    if value == "ASK":
        return _Entry(_ASK, 0.0)
    if value == "FLIP":
        return _Entry(_FLIP, 0.0)
    if value.startswith("NOT"):
        return _Entry(_NOT, float(value[3:] or 0))
    if value.startswith("x"):
        return _Entry(_TIMES, float(value[1:]))
    return _Entry(_VALUE, float(value))


def _read(language: str) -> list[tuple[str, _Entry, bool]]:
    text = resources.files("consult.reports").joinpath("lexicons", f"sentiment_{language}.txt").read_text("utf-8")
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        phrase = " ".join(canonical(fields[0]).split())
        out.append((phrase, _parse(fields[1].strip()), len(fields) > 2 and fields[2].strip() == "nofold"))
    return out


def _english_forms(word: str) -> list[str]:
    """Regular inflections of an English word (over-generating is harmless: a wrong form is never typed)."""
    forms = [word + "s", word + "ed", word + "ing", word + "ly"]
    if word.endswith("e"):
        forms += [word + "d", word[:-1] + "ing", word[:-1] + "y"]
    if word.endswith("y"):
        forms += [word[:-1] + "ies", word[:-1] + "ied", word[:-1] + "ily"]
    if word.endswith(("s", "sh", "ch", "x", "z")):
        forms.append(word + "es")
    if len(word) > 2 and word[-1] not in "aeiouywx" and word[-2] in "aeiou" and word[-3] not in "aeiou":
        forms += [word + word[-1] + "ed", word + word[-1] + "ing"]  # "stop" -> "stopped"
    return forms


def _build(items: list[tuple[str, _Entry]]) -> _Lexicon:
    entries: dict[str, _Entry] = {}
    lengths: dict[str, set[int]] = {}
    for phrase, entry in items:
        entries[phrase] = entry
        words = phrase.split(" ")
        lengths.setdefault(words[0], set()).add(len(words))
    return _Lexicon(entries, {word: tuple(sorted(found, reverse=True)) for word, found in lengths.items()})


@lru_cache(maxsize=None)
def _lexicon(language: str, folded: bool = False) -> _Lexicon:
    items = _read(language)
    if language == "en":
        listed = {phrase for phrase, _, _ in items}
        extra = [(form, entry) for phrase, entry, _ in items if " " not in phrase
                 for form in _english_forms(phrase) if form not in listed]
        return _build(extra + [(p, e) for p, e, _ in items])  # listed phrases win over generated forms
    if not folded:
        return _build([(p, e) for p, e, _ in items])
    from consult.reports.themes import stop_words  # lazily: themes imports this module

    # Folded stop words -> their forms with diacritics: a one-syllable phrase folding onto a different stop word
    # ("tồi" onto "tôi") would be read in most texts as that stop word.
    stops: dict[str, set[str]] = {}
    for word in stop_words("vi"):
        if "_" not in word:
            stops.setdefault(fold(word), set()).add(word)
    chosen: dict[str, tuple[str, _Entry]] = {}
    clashes: set[str] = set()
    for phrase, entry, nofold in items:
        key = fold(phrase)
        if nofold or (" " not in phrase and stops.get(key, {phrase}) - {phrase}):
            continue
        if key in chosen and chosen[key][1] != entry:
            clashes.add(key)
        chosen[key] = (phrase, entry)
    return _build([(key, entry) for key, (_, entry) in chosen.items() if key not in clashes])


# --- scoring ----------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|[.!?;:,]")
_CLAUSE_END = frozenset(".!?;:")
_PUNCTUATION = frozenset(".!?;:,")
# A verb of reducing acts on its object, never across a copula: "reducing inspections is reckless".
_COPULAS = frozenset("is are was were be been là thì la thi".split())


def score(text: str, language: str | None = None) -> float:
    """The sentiment score of ``text`` (see the module docstring); ``language`` None: detected."""
    if not isinstance(text, str) or not text:
        return 0.0
    text = canonical(text[:MAX_CHARS])
    tokens = _tokens(text)
    if language not in ("vi", "en"):
        language = _language(text, tokens)
    return _score_in(text, tokens, language)


def _score_in(text: str, tokens: list[str], language: str | None) -> float:
    if language is None:
        both = [_score(tokens, _lexicon("en")), _score(tokens, _lexicon("vi", not _VIETNAMESE_MARKS.search(text)))]
        return max(both, key=abs)
    if language == "vi":
        if not _VIETNAMESE_MARKS.search(text):
            tokens = [fold(t) for t in tokens] if not text.isascii() else tokens
            return _score(tokens, _lexicon("vi", True))
        return _score(tokens, _lexicon("vi"))
    return _score(tokens, _lexicon("en"))


def _verdict(value: float) -> int:
    if value >= THRESHOLD:
        return 1
    if value <= -THRESHOLD:
        return -1
    return 0


def sentiment(text: str, language: str | None = None) -> int:
    """-1 negative, 0 neutral, 1 positive."""
    return _verdict(score(text, language))


def language_and_sentiment(text: object) -> tuple[str | None, int]:
    """``detect_language`` and ``sentiment`` of one text, read once (what the report does for every comment)."""
    if not isinstance(text, str) or not text:
        return None, 0
    text = canonical(text[:MAX_CHARS])
    tokens = _tokens(text)
    language = _language(text, tokens)
    return language, _verdict(_score_in(text, tokens, language))


def tally(items: Iterable[tuple[str | None, object]]) -> dict[str, Any]:
    """The tones of many (stance, text) pairs: how many of each (language or "other", tone), and how often a
    text's tone agrees with the side its author chose (support or oppose), a check on the method with a
    consultation's own data. A plain function of plain data, so that a worker process can run it."""
    counts: Counter = Counter()
    checked = matched = 0
    for stance, text in items:
        language, verdict = language_and_sentiment(text)
        counts[(language or "other", verdict)] += 1
        if verdict and stance in ("support", "oppose"):
            checked += 1
            matched += (verdict == 1) == (stance == "support")
    return {"counts": counts, "checked": checked, "matched": matched}


def _score(tokens: list[str], lexicon: _Lexicon) -> float:
    entries, lengths = lexicon.entries, lexicon.lengths
    total = clause = 0.0
    asked = False
    negation = 0  # words left in the scope of a negator
    negator_weight = 0.0
    flip = False  # the negator is a verb of reducing
    factor, factor_left = 1.0, 0  # an intensifier waiting for its phrase
    last_value = None  # weight of the phrase just before (for intensifiers placed after it), None if not just before
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        if token in _CLAUSE_END or token == ",":
            if negation and negator_weight:
                clause += negator_weight
            negation = factor_left = 0
            last_value = None
            if token in _CLAUSE_END:
                total += clause * (QUESTION_FACTOR if token == "?" else 1.0)
                clause = 0.0
            i += 1
            continue
        entry = None
        sizes = lengths.get(token)
        if sizes is None:  # most words: no phrase starts with them
            i += 1
            if "'" in token and token.endswith("n't"):
                entry = _NOT_ENTRY
        else:
            for length in sizes:
                if length == 1:
                    entry = entries[token]
                elif i + length <= n:
                    entry = entries.get(" ".join(tokens[i:i + length]))
                if entry is not None:
                    i += length
                    break
            else:
                i += 1
        if entry is None:
            if negation and flip and token in _COPULAS:
                negation = 0
            if negation:
                negation -= 1
                if not negation and negator_weight:
                    clause += negator_weight
            if factor_left:
                factor_left -= 1
            last_value = None
            continue
        kind = entry.kind
        if kind == _VALUE:
            value = entry.value
            if factor_left:
                value *= factor
                factor_left = 0
            if negation and value:
                value *= NEGATED_POSITIVE if value > 0 else -NEGATED_NEGATIVE
                negation = 0
            clause += value
            last_value = value if value else None
        elif kind == _NOT or kind == _FLIP:
            if negation and negator_weight:  # a second negator before the first found its phrase
                clause += negator_weight
            flip = kind == _FLIP
            negation, negator_weight = (FLIP_SCOPE if flip else NEGATION_SCOPE), entry.value
            last_value = None
        elif kind == _TIMES:
            if last_value is not None:  # after its phrase: "tốt lắm", "hay quá"
                clause += last_value * (entry.value - 1)
                last_value = None
            else:
                factor, factor_left = entry.value, INTENSIFIER_SCOPE
        elif kind == _BUT:
            total, clause = (total + clause) * CONTRAST_FACTOR, 0.0
            negation = factor_left = 0
            last_value = None
        else:  # _ASK
            asked = True
            last_value = None
    if negation and negator_weight:
        clause += negator_weight
    total += clause
    return total * REQUEST_FACTOR if asked else total
