"""Abuse screening: profanity, insults and slurs in Vietnamese and English, from word lists.

The lists (``moderation/wordlists/abuse_vi.txt``, ``abuse_en.txt``; their format is described at their top) are
read once at import and compiled into dictionaries keyed by folded words (``consult.text.normalize``: lowercase,
no diacritics, no invisible characters, leetspeak undone). The text is folded the same way and matched word by
word, never inside a longer word, so "class", "cocktail" and "Scunthorpe" are safe.

Vietnamese syllables are short and many offensive ones are ordinary words once the diacritics are gone ("ngu"
stupid / "ngủ" sleep, "đéo" / "đeo" wear, "cút" / "cụt", "chó" dog / "cho" give). So a word written with
diacritics matches only the entry with the same diacritics (tone placement "hoà"/"hòa" aside); a word written
without them matches with the entry's lower ``plain`` score when the whole comment has no diacritics, or its
``mixed`` score when the rest of the comment has them; ambiguous single words only count inside phrases ("óc
chó", "đồ ngu"); and safe phrases ("đi ngủ", "chim cút", "đeo khẩu trang") are consumed before their words can
match on their own.

Also caught: spaced-out or punctuated letters ("đ ị t", "n.g.u", "f u c k"), words run together ("ditme"),
elongation ("nguuuu", "fuuuck") and "*" masks ("f*ck", "sh*t"). An unlisted word that splits into listed
teencode that is unambiguous without diacritics plus a few glue syllables ("dmmay", "caiditmemay") counts at a
lower score (see ``_segment``).

``find_abuse`` returns at most one Signal per language ("abuse.vi", "abuse.en"), plus "abuse.symbol" for an
obscene emoji; spans are offsets of the original text, merged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from consult.text.normalize import Folded, analyze, token_tuples, tokens
from moderation.rules import Signal, SignalKind, merge_spans

__all__ = ["MIN_SCORE", "find_abuse", "load_wordlist"]

WORDLISTS = Path(__file__).resolve().parent.parent / "wordlists"
# Matches scoring below this are not reported.
MIN_SCORE = 0.3
# In a comment that reads as English, Vietnamese matches need this much (teencode "dm", "cc", "ml" are English too).
_ENGLISH_MIN_SCORE = 0.7
_SPACED_TWO_FACTOR = 0.85  # "d m", "v l": two spaced letters are less certain than "đ ị t"

# Vietnamese tone marks: where they sit is a matter of style ("hoà"/"hòa"), so they are compared apart.
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
_COLUMNS = re.compile(r"\t+| {2,}")
_BRACES = re.compile(r"^(.*)\{([^}]*)\}(.*)$")
# What may separate the letters of a spaced-out word: "đ ị t", "n.g.u", "f-u-c-k", "d_m".
_SPACER = re.compile(r"[ .,\-_*'`~+|/\\:]{1,3}")
_OBSCENE_SYMBOLS = re.compile("\U0001f595")  # middle finger
# The shape of a Vietnamese syllable written without diacritics. A comment without diacritics in which many
# words cannot be Vietnamese syllables ("please", "this", "with", "dose") reads as English.
_VIETNAMESE_SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?")
_HAS_VOWEL = re.compile(r"[aeiouy]")


@dataclass(frozen=True)
class _Entry:
    term: str
    lang: str
    words: tuple[str, ...]  # folded words
    sigs: tuple[str, ...]  # per word: its diacritics signature (equal to the folded word when it has none)
    marked: str  # the words joined, lowercased with diacritics
    score: float
    plain: float | None
    mixed: float | None
    nonum: bool


@lru_cache(maxsize=65536)
def _sig(marked: str) -> str:
    """The word with its vowel-quality marks and đ kept (NFC), its tone marks moved to the end."""
    if marked.isascii():
        return marked
    base, tones = [], []
    for ch in unicodedata.normalize("NFD", marked):
        (tones if ch in _TONES else base).append(ch)
    quality = unicodedata.normalize("NFC", "".join(base))
    return quality + "\x00" + "".join(tones) if tones else quality


def _expand(term: str) -> list[str]:
    match = _BRACES.match(term)
    if not match:
        return [term]
    head, endings, tail = match.groups()
    return [variant for ending in endings.split(",") for variant in _expand(head + ending + tail)]


def _option_score(value: str) -> float | None:
    return None if value == "-" else float(value)


def load_wordlist(path: Path, lang: str) -> list[_Entry]:
    entries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        columns = _COLUMNS.split(line)
        if len(columns) < 2:
            raise ValueError(f"{path.name}:{number}: expected 'term<TAB>score', got {raw!r}")
        term, score = columns[0].strip(), float(columns[1])
        options = " ".join(columns[2:]).split()
        plain: float | None = score
        mixed: float | None | bool = True  # True: same as plain
        nonum = False
        for option in options:
            if option == "exact":
                plain = mixed = None
            elif option == "nonum":
                nonum = True
            elif option.startswith("plain="):
                plain = _option_score(option[6:])
            elif option.startswith("mixed="):
                mixed = _option_score(option[6:])
            else:
                raise ValueError(f"{path.name}:{number}: unknown option {option!r}")
        if mixed is True:
            # Without an explicit mixed=, an undiacritized word in a text with diacritics counts only when the
            # plain spelling is nearly as sure as the exact one ("suc vat"), not when it is an ordinary word
            # ("cho cái" is "give the", not "chó cái").
            mixed = plain if plain is not None and plain >= 0.75 * score else None
        for variant in _expand(unicodedata.normalize("NFC", term.lower())):
            words = tokens(variant)
            if not words:
                raise ValueError(f"{path.name}:{number}: no word in {term!r}")
            entries.append(_make_entry(variant, lang, [w.marked for w in words], score, plain, mixed, nonum))
            if lang == "vi" and score > 0:
                # Teencode respellings, one word at a time: "jết", "zốt", "fò", "kặc", "nứg", "đjt", "vô hok".
                for position, word in enumerate(words):
                    for respelled in _teencode(word.marked):
                        marked = [w.marked for w in words]
                        marked[position] = respelled
                        entries.append(_make_entry(variant, lang, marked, score * _TEENCODE_FACTOR,
                                                   _times(plain, _TEENCODE_FACTOR), _times(mixed, _TEENCODE_FACTOR),
                                                   nonum))
    return entries


def _make_entry(term: str, lang: str, marked: list[str], score, plain, mixed, nonum) -> _Entry:
    folded = [tokens(word)[0].text for word in marked]
    return _Entry(term, lang, tuple(folded), tuple(_sig(word) for word in marked), "".join(marked), score, plain,
                  mixed, nonum)


def _times(score: float | None, factor: float) -> float | None:
    return None if score is None else score * factor


_TEENCODE_FACTOR = 0.95
_VOWELS = "aăâeêioôơuưy"
_CONSONANT_I = re.compile(r"(?<=[bcdđghklmnpqrstvx])[iíìỉĩị](?=[bcdđghklmnpqrstvx])")


def _base_vowel(ch: str) -> str:
    return unicodedata.normalize("NFD", ch)[0]


def _teencode(word: str) -> set[str]:
    """Common teencode respellings of a Vietnamese syllable (NFC, lower case). Only spellings Vietnamese
    orthography does not use (j, z, f, w; k before a/o/u; -g, -k endings), so they do not collide with words."""
    if not word.isalpha() or len(word) < 2:
        return set()
    out = set()
    if word.startswith("gi") and len(word) > 2:
        out.update({"j" + word[2:], "z" + word[2:]})
    elif word.startswith("d"):
        out.add("z" + word[1:])
    if word.startswith("ph"):
        out.add("f" + word[2:])
    if word.startswith("qu"):
        out.add("w" + word[2:])
    if word[0] == "c" and word[1] != "h" and _base_vowel(word[1]) in "aou":
        out.add("k" + word[1:])
    if word.endswith("ng") and len(word) > 2 and _base_vowel(word[-3]) in _VOWELS:
        out.add(word[:-2] + "g")
    if word.endswith("ch") and len(word) > 2:
        out.add(word[:-2] + "k")
    elif word.endswith("c") and len(word) > 1 and _base_vowel(word[-2]) in _VOWELS:
        out.add(word[:-1] + "k")
    if _CONSONANT_I.search(word):
        out.add(_CONSONANT_I.sub("j", word))
    out.discard(word)
    return out


class _Index:
    """The entries for lookup: single words by folded word; phrases by their first two folded words (longest
    first); every entry by its words joined ("ditme", "dcmm"); single words by length for masked text."""

    def __init__(self, entries: list[_Entry]):
        singles: dict[str, list[_Entry]] = {}
        phrases: dict[tuple[str, str], dict[tuple[str, ...], list[_Entry]]] = {}
        joined: dict[str, list[_Entry]] = {}
        for entry in entries:
            if len(entry.words) == 1:
                singles.setdefault(entry.words[0], []).append(entry)
            else:
                phrases.setdefault(entry.words[:2], {}).setdefault(entry.words, []).append(entry)
            key = "".join(entry.words)
            if len(entry.words) == 1 or len(key) >= 4:
                # Words run together ("cailon", "chetme") are no ordinary word: written without diacritics they
                # count as plain even in a text that has diacritics.
                mixed = entry.mixed if len(entry.words) == 1 else entry.plain
                joined.setdefault(key, []).append(_Entry(entry.term, entry.lang, (key,), (_sig(entry.marked),),
                                                         entry.marked, entry.score, entry.plain, mixed, entry.nonum))
        self.singles = singles
        self.phrases = {pair: sorted(groups.items(), key=lambda item: -len(item[0])) for pair, groups in phrases.items()}
        self.starts = frozenset(singles) | frozenset(pair[0] for pair in phrases) | frozenset(joined)
        self.joined = joined
        self.max_joined = max((len(k) for k in joined), default=0)
        self.masked: dict[tuple[int, str], list[tuple[str, list[_Entry]]]] = {}
        for key, group in joined.items():
            if len(key) >= 3 and not any(e.score == 0 for e in group):
                self.masked.setdefault((len(key), key[0]), []).append((key, group))


_ENTRIES = load_wordlist(WORDLISTS / "abuse_vi.txt", "vi") + load_wordlist(WORDLISTS / "abuse_en.txt", "en")
_INDEX = _Index(_ENTRIES)


# A word of the text as the matcher sees it: (variants, start, end, numeric, letters, marked). variants: the folded
# spellings to try, as written then with elongation undone, each with its diacritics signature; letters: for a
# spaced-out run of single letters ("đ ị t"), which is one word, the letters as token tuples; marked: the word
# lowercased with its diacritics.
_VARIANTS, _START, _END, _NUMERIC, _LETTERS, _MARKED = range(6)
_Word = tuple


_DOUBLED = re.compile(r"(.)\1")


def _variants(folded: str, marked: str) -> tuple[tuple[str, str], ...]:
    """(folded, signature) spellings to look up: as written; with letters repeated 3+ times cut to two
    ("asssss" -> "ass"); with every repeated letter cut to one ("nguuuu" -> "ngu", "đmmm" -> "đm")."""
    result = [(folded, _sig(marked))]
    if len(folded) < 3 or not _DOUBLED.search(folded):
        return tuple(result)
    aligned = len(marked) == len(folded)
    for keep in (2, 1):
        chars, marks = [], []
        for group_start, group_end in _groups(folded):
            length = group_end - group_start
            take = length if length < 3 and keep == 2 else min(length, keep)
            chars.append(folded[group_start] * take)
            marks.append(marked[group_start:group_start + take] if aligned else folded[group_start] * take)
        variant = "".join(chars)
        if all(variant != known for known, _ in result):
            result.append((variant, _sig("".join(marks))))
    return tuple(result)


def _groups(text: str):
    start = 0
    for index in range(1, len(text) + 1):
        if index == len(text) or text[index] != text[start]:
            yield start, index
            start = index


def _words(text: str, folded: Folded) -> tuple[list[_Word], bool, bool]:
    """The words of the text, whether it uses diacritics, and whether it reads as English."""
    toks = token_tuples(folded)
    words: list[_Word] = []
    append = words.append
    latin = accented = 0
    doubled, sig = _DOUBLED.search, _sig
    index, count = 0, len(toks)
    while index < count:
        key, start, end, marked = toks[index]
        first = key[0]
        if first.isascii() and first.isalpha():
            latin += 1
            if marked != key:
                accented += 1
        if len(key) == 1 and first.isalpha():
            # A spaced-out run: single letters separated only by a little punctuation or space on one line.
            last = index + 1
            while last < count and len(toks[last][0]) == 1 and toks[last][0].isalpha() and \
                    _SPACER.fullmatch(text, toks[last - 1][2], toks[last][1]):
                last += 1
            if last - index >= 2:
                run = toks[index:last]
                for extra in run[1:]:
                    latin += 1
                    accented += extra[3] != extra[0]
                run_marked = "".join(t[3] for t in run)
                append((_variants("".join(t[0] for t in run), run_marked), start, run[-1][2], False, run,
                        run_marked))
                index = last
                continue
        if len(key) >= 3 and doubled(key):
            variants = _variants(key, marked)
        else:
            variants = ((key, key if marked == key else sig(marked)),)
        append((variants, start, end, key.isdigit(), None, marked))
        index += 1
    uses_diacritics = accented >= 3 or (latin > 0 and accented / latin >= 0.2)
    return words, uses_diacritics, not uses_diacritics and latin >= 3 and _reads_as_english(toks)


def _reads_as_english(toks) -> bool:
    syllable, vowel = _VIETNAMESE_SYLLABLE.fullmatch, _HAS_VOWEL.search
    words = other = 0
    for key, _, _, _ in toks:
        if key.isascii() and key.isalpha() and len(key) > 1 and vowel(key):
            words += 1
            if not syllable(key):
                other += 1
    return words >= 2 and other / words >= 0.3


def _entry_score(entry: _Entry, sigs: list[str], keys: list[str], accented_text: bool) -> float | None:
    stripped = exact_accented = False
    for key, sig, entry_sig, entry_word in zip(keys, sigs, entry.sigs, entry.words):
        if sig != key:  # written with diacritics: they must be the entry's
            if sig != entry_sig:
                return None
            exact_accented = True
        elif entry_sig != entry_word:
            stripped = True
    if stripped:
        return entry.mixed if accented_text else entry.plain
    if exact_accented or accented_text:
        return entry.score
    return entry.plain


def _best(entries: list[_Entry], sigs: list[str], keys: list[str], accented_text: bool, previous_numeric: bool):
    best: tuple[float, _Entry] | None = None
    for entry in entries:
        if entry.nonum and previous_numeric:
            continue
        score = _entry_score(entry, sigs, keys, accented_text)
        if score is not None and (best is None or score > best[0]):
            best = (score, entry)
    return best


def _match_at(words: list[_Word], index: int, accented_text: bool):
    """The longest listed phrase or word starting at words[index]: (number of words, score, entry), or None."""
    previous_numeric = index > 0 and words[index - 1][_NUMERIC]
    variants = words[index][_VARIANTS]
    count = len(words)
    if index + 1 < count:
        phrases = _INDEX.phrases
        best_length, best = 0, None
        for key, sig in variants:
            for second_key, second_sig in words[index + 1][_VARIANTS]:
                groups = phrases.get((key, second_key))
                if not groups:
                    continue
                for phrase, entries in groups:
                    length = len(phrase)
                    if length <= best_length or index + length > count:
                        continue
                    keys, sigs = [key, second_key], [sig, second_sig]
                    for offset in range(2, length):
                        for other_key, other_sig in words[index + offset][_VARIANTS]:
                            if other_key == phrase[offset]:
                                keys.append(other_key)
                                sigs.append(other_sig)
                                break
                        else:
                            break
                    if len(keys) != length:
                        continue
                    found = _best(entries, sigs, keys, accented_text, previous_numeric)
                    if found is not None:
                        best_length, best = length, found
                        break
        if best is not None:
            return best_length, best[0], best[1]
    singles = _INDEX.singles
    for key, sig in variants:
        entries = singles.get(key)
        if entries:
            found = _best(entries, [sig], [key], accented_text, previous_numeric)
            if found is not None:
                return 1, found[0], found[1]
    return None


def _match_joined(word: _Word, accented_text: bool, previous_numeric: bool):
    for key, sig in word[_VARIANTS]:
        entries = _INDEX.joined.get(key)
        if entries:
            best = _best(entries, [sig], [key], accented_text, previous_numeric)
            if best is not None:
                return best
    return None


_MASK_CHARS = frozenset("*@$!")


def _match_masked(word: _Word, text: str):
    """A word with letters masked by symbols ("f*ck", "f@ck", "sh!t"): each symbol stands for any letter."""
    key = word[_VARIANTS][0][0]
    original = text[word[_START] : word[_END]]
    if len(original) == len(key) and not _MASK_CHARS.isdisjoint(original):
        key = "".join("*" if ch in _MASK_CHARS else k for ch, k in zip(original, key))
    stars = key.count("*")
    if not stars or stars == len(key) or key[0] == "*":
        return None
    if key.rstrip("*") == key[: len(key) - stars] and stars < len(key) - stars:
        return None  # only trailing stars after most of the word: emphasis ("*very good*"), not a mask
    return _masked_lookup(key)


@lru_cache(maxsize=4096)
def _masked_lookup(key: str):
    best = None
    for candidate, entries in _INDEX.masked.get((len(key), key[0]), ()):
        if all(a == "*" or a == b for a, b in zip(key, candidate)):
            score = max(e.score for e in entries) * 0.9
            if best is None or score > best[0]:
                best = (score, entries[0])
    return best


def _match_inside_run(word: _Word, accented_text: bool):
    """Listed words of 3+ letters inside a spaced-out run ("a đ ị t" -> "địt")."""
    letters = word[_LETTERS]
    key = "".join(t[0] for t in letters)
    marked = "".join(t[3] for t in letters)
    aligned = len(marked) == len(key)
    found, start = [], 0
    while start < len(key):
        for length in range(min(_INDEX.max_joined, len(key) - start), 2, -1):
            part = key[start : start + length]
            entries = _INDEX.joined.get(part)
            if entries:
                sig = _sig(marked[start : start + length]) if aligned else part
                best = _best(entries, [sig], [part], accented_text, False)
                if best is not None:
                    found.append((letters[start][1], letters[start + length - 1][2], best[0], best[1]))
                    start += length
                    break
        else:
            start += 1
    return found


# --- words run together: "dmmay", "caiditmemay", "vklm", "cailozcatkhong" ---------------------------------
# A word that is no listed word may be listed teencode run together with other teencode or with the few
# syllables that get glued to it (pronouns, kin, "cái", exclamations). Only pieces that are unambiguous without
# diacritics count as abuse ("dm", "vcl", "loz", "djt", "ditme"; not "ngu", "lon", "cho"), at least one piece must
# be abuse and every other piece must be glue, so "dmca", "vlog", "ccTLD" and English words stay clear. Glue has
# no single letter but "m" (mày), so laughter ("kakaka") is not "kak" + "a".
_MIN_RUN = 4
_RUN_TOGETHER_FACTOR = 0.85
_RUN_MIN_PLAIN = 0.5
_GLUE = frozenset("""
    m may mi tao me ma bo cha cu to ong ba con cai thang tk thg nay no chung bon tui lu nha luon lun qua ghe
    that thiet vay the oi roi chu ne nhe di vai oc do ngu cho mm cs
""".split())


def _run_pieces() -> dict[str, list[_Entry]]:
    pieces = {}
    for key, entries in _INDEX.joined.items():
        if len(key) < 2 or not key.isascii() or not key.isalpha():
            continue
        usable = [e for e in entries if e.lang == "vi" and e.score > 0 and e.plain is not None
                  and e.plain >= _RUN_MIN_PLAIN]
        if usable and not any(e.score == 0 for e in entries):
            pieces[key] = usable
    return pieces


_RUN_PIECES = _run_pieces()
_RUN_MAX = max((len(k) for k in _RUN_PIECES), default=0)


def _match_run_together(word: _Word):
    key = word[_VARIANTS][0][0]
    if not key.isascii() or not key.isalpha():
        return None
    return _segment(key, word[_MARKED])


@lru_cache(maxsize=16384)
def _segment(key: str, marked: str):
    """The best abuse piece of ``key`` split into listed abuse pieces and glue, or None."""
    aligned = len(marked) == len(key)
    count = len(key)
    # best[i]: (pieces used, best score so far, entry) for key[:i], or None when key[:i] cannot be split.
    best: list[tuple[int, float, _Entry | None] | None] = [None] * (count + 1)
    best[0] = (0, 0.0, None)
    for end in range(1, count + 1):
        for start in range(max(0, end - max(_RUN_MAX, 6)), end):
            before = best[start]
            if before is None:
                continue
            piece = key[start:end]
            score, entry = before[1], before[2]
            entries = _RUN_PIECES.get(piece)
            if entries:
                piece_sig = _sig(marked[start:end]) if aligned else piece
                found = _best(entries, [piece_sig], [piece], False, False)
                if found is not None and found[0] > score:
                    score, entry = found
            elif piece not in _GLUE:
                continue
            candidate = (before[0] + 1, score, entry)
            current = best[end]
            if current is None or (candidate[1], -candidate[0]) > (current[1], -current[0]):
                best[end] = candidate
    result = best[count]
    if result is None or result[2] is None or result[0] < 2:
        return None
    return result[1] * _RUN_TOGETHER_FACTOR, result[2]


def find_abuse(text: str) -> list[Signal]:
    """Abusive words and phrases in ``text`` (Vietnamese and English), as Signals of kind ABUSE."""
    if not text:
        return []
    words, accented_text, english_text = _words(text, analyze(text))
    found: list[tuple[int, int, float, _Entry]] = []
    starts = _INDEX.starts
    masks = not _MASK_CHARS.isdisjoint(text)
    index, count = 0, len(words)
    while index < count:
        word = words[index]
        variants = word[_VARIANTS]
        if len(variants) == 1 and variants[0][0] not in starts and word[_LETTERS] is None and not masks:
            if len(variants[0][0]) >= _MIN_RUN and not english_text:
                best = _match_run_together(word)
                if best is not None:
                    found.append((word[_START], word[_END], best[0], best[1]))
            index += 1
            continue
        match = _match_at(words, index, accented_text)
        if match is not None:
            length, score, entry = match
            if score > 0:
                found.append((word[_START], words[index + length - 1][_END], score, entry))
            index += length
            continue
        best = _match_joined(word, accented_text, index > 0 and words[index - 1][_NUMERIC])
        if best is None and masks:
            best = _match_masked(word, text)
        if best is None and not english_text and word[_LETTERS] is None and len(variants[0][0]) >= _MIN_RUN:
            best = _match_run_together(word)
        if best is not None:
            found.append((word[_START], word[_END], best[0], best[1]))
        elif word[_LETTERS] is not None:
            found.extend(_match_inside_run(word, accented_text))
        index += 1

    by_lang: dict[str, tuple[list[tuple[int, int]], dict[str, float]]] = {}
    for start, end, score, entry in found:
        if _two_spaced_letters(entry, text, start, end):
            score *= _SPACED_TWO_FACTOR
        if score < MIN_SCORE or (english_text and entry.lang == "vi" and score < _ENGLISH_MIN_SCORE):
            continue
        spans, terms = by_lang.setdefault(entry.lang, ([], {}))
        spans.append((start, end))
        terms[entry.term] = max(score, terms.get(entry.term, 0.0))
    signals = [Signal(SignalKind.ABUSE, f"abuse.{lang}", _combine(terms.values()), merge_spans(spans))
               for lang, (spans, terms) in sorted(by_lang.items())]
    symbols = [m.span() for m in _OBSCENE_SYMBOLS.finditer(text)]
    if symbols:
        signals.append(Signal(SignalKind.ABUSE, "abuse.symbol", 0.6, merge_spans(symbols)))
    return signals


def _two_spaced_letters(entry: _Entry, text: str, start: int, end: int) -> bool:
    """A two-letter term written as two spaced letters ("d m")."""
    return len(entry.words) == 1 and len(entry.words[0]) == 2 and end - start > 2 and \
        _SPACER.fullmatch(text, start + 1, end - 1) is not None


def _combine(scores) -> float:
    remaining = 1.0
    for score in scores:
        remaining *= 1.0 - score
    return round(min(0.99, 1.0 - remaining), 3)
