"""Text folding for matching: the same word written in many ways comes out as one string.

``fold`` lowercases, removes diacritics (Vietnamese ones included: "Địt" -> "dit"), drops the invisible
characters used to split words (zero-width and bidi controls), maps compatibility forms ("ｆ", "𝐟" -> "f") and
undoes the common leetspeak substitutions inside words ("sh1t" -> "shit", "f@ck" -> "fack"), and says for every
character of the result which character of the ORIGINAL text it came from, so anything found in the folded text
maps back to exact original offsets. Input may be NFC or NFD (a combining mark written separately belongs to
the letter before it).

``tokens`` splits the folded text into words with their original spans. Each token also keeps its ``marked``
form: lowercased, with the diacritics kept (NFC), so a caller can tell "đéo" from "đeo" after matching on the
folded "deo".

Everything is precompiled at import; per character work is a dictionary lookup.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple, Sequence

__all__ = ["Folded", "Token", "analyze", "fold", "remove_diacritics", "token_tuples", "tokens"]

# Invisible characters dropped: zero-width space/non-joiner/joiner, word joiner, BOM, bidi marks, embeddings,
# overrides and isolates. Every other format character (category Cf: soft hyphen, tag characters...) too.
_INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u00ad"
)
# Letters that carry their mark as part of the letter, so decomposition leaves them alone.
_STROKE = {"đ": "d", "ð": "d", "ł": "l", "ø": "o", "ħ": "h", "ŧ": "t", "ƀ": "b", "ɨ": "i", "ı": "i"}
# Leetspeak: digits and symbols standing for letters. Applied only inside words (see _LEET_RUN).
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "@": "a", "$": "s", "!": "i"}
# A run of leet characters with a letter right before and right after it ("sh1t", "n00b", "f@ck", "sh!t"),
# or dollar signs ending a word ("a$$"). Digits next to digits ("covid19", "0912345678") and words that only
# start or end with a digit ("mp3", "4g", "10k") are left as they are.
_LEET_RUN = re.compile(r"(?<=[^\W\d_])[0134@$!]+(?=[^\W\d_])|(?<=[^\W\d_])\$+(?![^\W_])")
_LEET_ANY = re.compile(r"[0134@$!]")
# What follows an "@" in an e-mail address: then the "@" stays.
_EMAIL_TAIL = re.compile(r"[^\W_]+(?:[.\-][^\W_]+)*\.[^\W\d_]{2,}")
# A word: letters and digits, with "*" masking allowed after the first character ("f*ck", "sh**", "f***").
_TOKEN = re.compile(r"[^\W_]+(?:\*+[^\W_]*)*")
_DIACRITIC_RUN = re.compile(r"[^\x00-\x7f]")

# Per character: None to drop it, "" for a combining mark (it joins the letter before), otherwise a tuple of
# (folded character, marked grapheme) pairs - usually one pair; compatibility forms may expand ("ﬁ" -> f, i).
_Entry = tuple[tuple[str, str], ...] | str | None
_CACHE: dict[str, _Entry] = {}


def _char_entry(ch: str) -> _Entry:
    if ch in _INVISIBLE:
        return None
    category = unicodedata.category(ch)
    if category == "Cf":
        return None
    if category in ("Mn", "Me"):
        return ""
    lower = ch.lower()
    pairs: list[list[str]] = []  # [folded, marked-base, marks]
    for part in unicodedata.normalize("NFKD", lower):
        if unicodedata.category(part) in ("Mn", "Me"):
            if pairs:
                pairs[-1][2] += part
            continue
        if unicodedata.category(part) == "Cf":
            continue
        pairs.append([_STROKE.get(part, part), part, ""])
    if not pairs:
        return ""
    return tuple((folded, unicodedata.normalize("NFC", base + marks)) for folded, base, marks in pairs)


for _code in range(128):
    _CACHE[chr(_code)] = ((chr(_code).lower(), chr(_code).lower()),)


class Folded(NamedTuple):
    """A folded text. ``starts[i]``/``ends[i]``: the original span of folded character i (a combining mark
    written after a letter, and invisible characters inside a word, are covered by the spans around them).
    ``marked[i]``: folded character i lowercased with its diacritics (one NFC grapheme). The sequences may be
    lists, ranges or a string (when every character maps to exactly one)."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]
    marked: Sequence[str]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) of folded characters [start, end) (end > start)."""
        return self.starts[start], self.ends[end - 1]


class Token(NamedTuple):
    text: str  # folded
    start: int  # half-open span in the original text
    end: int
    marked: str = ""  # lowercased with diacritics, leetspeak undone; same length as text for Latin script

    @property
    def accented(self) -> bool:
        return self.marked != self.text


# Characters that fold to exactly one character, with one-character marked form: the whole text can then be
# folded with str.translate and keeps its offsets (nearly all NFC text without invisible characters).
_SIMPLE: dict[str, bool] = {}
_FOLD_TABLE: dict[int, str] = {}
_MARK_TABLE: dict[int, str] = {}


def _is_simple(ch: str) -> bool:
    simple = _SIMPLE.get(ch)
    if simple is None:
        entry = _CACHE.get(ch, False)
        if entry is False:
            entry = _CACHE[ch] = _char_entry(ch)
        simple = bool(entry) and len(entry) == 1 and len(entry[0][0]) == 1 and len(entry[0][1]) == 1
        if simple:
            _FOLD_TABLE[ord(ch)], _MARK_TABLE[ord(ch)] = entry[0]
        _SIMPLE[ch] = simple
    return simple


def analyze(text: str) -> Folded:
    if all(map(_is_simple, set(text))):
        folded = text.translate(_FOLD_TABLE)
        marked: Sequence[str] = text.translate(_MARK_TABLE)
        starts: Sequence[int] = range(len(text))
        ends: Sequence[int] = range(1, len(text) + 1)
        if _LEET_ANY.search(folded):
            folded, marked = _undo_leet(folded, marked)
        return Folded(folded, starts, ends, marked)
    out: list[str] = []
    marked_list: list[str] = []
    start_list: list[int] = []
    end_list: list[int] = []
    cache = _CACHE
    for index, ch in enumerate(text):
        entry = cache.get(ch, False)
        if entry is False:
            entry = cache[ch] = _char_entry(ch)
        if entry is None:
            continue
        if entry == "":
            # A combining mark: part of the previous letter, if it was the character just before.
            if out and end_list[-1] == index:
                marked_list[-1] = unicodedata.normalize("NFC", marked_list[-1] + ch)
                end_list[-1] = index + 1
            continue
        for folded_ch, marked_ch in entry:
            out.append(folded_ch)
            marked_list.append(marked_ch)
            start_list.append(index)
            end_list.append(index + 1)
    folded = "".join(out)
    if _LEET_ANY.search(folded):
        folded, marked_list = _undo_leet(folded, marked_list)
    return Folded(folded, start_list, end_list, marked_list)


def _undo_leet(folded: str, marked: Sequence[str]) -> tuple[str, Sequence[str]]:
    out = None
    was_string = isinstance(marked, str)
    for match in _LEET_RUN.finditer(folded):
        for position in range(match.start(), match.end()):
            ch = folded[position]
            if ch == "@" and _EMAIL_TAIL.match(folded, position + 1):
                continue
            if out is None:
                out, marked = list(folded), list(marked)
            out[position] = marked[position] = _LEET[ch]
    if out is None:
        return folded, marked
    return "".join(out), "".join(marked) if was_string else marked


def fold(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index in ``text`` it came from."""
    folded = analyze(text)
    return folded.text, folded.starts


def tokens(text: str | Folded) -> list[Token]:
    """The words of ``text`` (letters and digits; "*" allowed inside as a mask), folded, with original spans."""
    new = tuple.__new__
    return [new(Token, item) for item in token_tuples(text)]


def token_tuples(text: str | Folded) -> list[tuple[str, int, int, str]]:
    """``tokens`` as plain (folded, start, end, marked) tuples: the fast form for matchers."""
    folded = text if isinstance(text, Folded) else analyze(text)
    starts, ends, marked = folded.starts, folded.ends, folded.marked
    result = []
    append = result.append
    if isinstance(starts, range) and isinstance(marked, str):  # offsets unchanged
        for match in _TOKEN.finditer(folded.text):
            a, b = match.span()
            append((match.group(), a, b, marked[a:b]))
    elif isinstance(marked, str):
        for match in _TOKEN.finditer(folded.text):
            a, b = match.span()
            append((match.group(), starts[a], ends[b - 1], marked[a:b]))
    else:
        for match in _TOKEN.finditer(folded.text):
            a, b = match.span()
            append((match.group(), starts[a], ends[b - 1], "".join(marked[a:b])))
    return result


def remove_diacritics(text: str) -> str:
    """``text`` with its diacritics removed (đ -> d), case and everything else kept, NFC."""
    if not _DIACRITIC_RUN.search(text):
        return text
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Me"))
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))
