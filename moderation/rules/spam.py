"""Spam in a comment's text alone: links, characters or words repeated, shouting, advertising and contact wording.

Pure text rules; what needs the author's history (the same comment posted again, too many comments) is decided
elsewhere. Each rule gives one Signal with a score from 0 to 1 and the spans that triggered it, in the original
text's offsets. Matching is on a lower-cased copy of the text of the same length, so offsets never shift.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from moderation.rules import Signal, SignalKind, merge_spans

__all__ = ["find_spam"]

# --- links --------------------------------------------------------------------------------------------------------

_TLDS = ("com|net|org|info|biz|vn|io|co|me|xyz|top|site|online|club|shop|store|app|link|live|ly|gl|to|cc|tk|ml|ga|"
         "cf|gq|ru|cn|us|uk|tv|asia|pro|bet|casino|win|vip|fun|icu|gg|tech|website|space|blog|news|click|today|work|"
         "one|ai|in|edu|gov|int|eu|de|fr|jp|kr|sg|au|ca|la|kh|th|ph|my|tw|hk")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`{}|\\^]+")
# A bare domain, perhaps with a path: abc.com, shop.abc.com.vn/khuyen-mai, bit.ly/x (not the domain of an e-mail).
# Matched on the text as written: the top-level domain in lower case ("đồng ý.Com" is a missing space, not a link).
_DOMAIN = re.compile(rf"(?<![\w@.\-/])(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{{0,61}}[A-Za-z0-9])?\.)+(?:{_TLDS})(?![\w\-])"
                     r"(?:/[^\s<>\"']*)?")
# "nhu the.de nguoi": in Vietnamese typed without accents, a missing space after a full stop can make a syllable and
# a short word look like a domain. A bare domain of one label that is a Vietnamese syllable before one of these
# is taken for that, not for a link (abc.de, tiki.vn, garena.vn are still links: not syllables).
_SYLLABLE = re.compile(r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?")
_WORDLIKE_TLDS = frozenset("de to me co la ca my ai in th vn us tv cc kh ph id one eu fr".split())
_TLD_HINT = re.compile(rf"\.(?:{_TLDS})(?![\w\-])")
_TRAILING = ".,;:!?)]}'\"”’…"
_SHORTENERS = re.compile(r"^(?:https?://)?(?:www\.)?(?:bit\.ly|tinyurl\.com|goo\.gl|t\.co|ow\.ly|is\.gd|buff\.ly|"
                         r"rebrand\.ly|cutt\.ly|shorturl\.at|tiny\.cc|s\.id|rb\.gy|t\.ly|v\.gd|bom\.so|t\.me|"
                         r"zalo\.me|linktr\.ee|shope\.ee|s\.shopee\.vn|vt\.tiktok\.com)(?:/|$)")
_PUBLIC = re.compile(r"^(?:https?://)?(?:[a-z0-9\-]+\.)*(?:[a-z0-9\-]+\.gov(?:\.[a-z]{2})?|[a-z0-9\-]+\.edu\.vn|chinhphu\.vn|"
                     r"quochoi\.vn|dangcongsan\.vn)(?::\d+)?(?:[/?#]|$)")

# --- repetition ---------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")

# --- shouting -----------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W\d_]+(?:[.\-][^\W\d_]+)*")
_VOWELS = set("aeiouyăâêôơưáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")
# Acronyms with a vowel (those without one, such as HĐND, CCCD, NĐ-CP, TP.HCM, are recognised as acronyms anyway).
_ACRONYMS = frozenset(
    "UBND UBMTTQ MTTQ ATTP ATGT BHYT BHTN BHXH KCN KCX DN DNNN DNNVV NHNN VKSND TAND HĐTP BQL BCĐ BTC BCA BQP BYT "
    "BGDĐT GDĐT GD ĐH CĐ THCS THPT TCCS CBCC CBCCVC CNTT KHCN TNMT NNPTNT GTVT XD LĐTBXH VHTTDL TTTT NV TƯ ĐU HU TU "
    "UB HĐ QĐ TT NQ CT CV KH BC TTR ĐA ASEAN APEC EU UN UNDP UNICEF WHO WTO IMF ODA FDI GDP CPI VAT PIT USD VND EUR "
    "COVID SARS AIDS HIV OTP PIN SIM ID IT AI OK CEO CFO PR".split())
_MIN_SHOUT_LETTERS = 20
_SHOUT_SHARE = 0.7

# --- advertising and contact wording ------------------------------------------------------------------------------


# (weight, terms) found in the lower-cased text's words; the score is the sum of the weights of the distinct terms.
_WEIGHTED_TERMS = (
    # gambling, quick money, scams: rarely anything but an advertisement
    (0.5, ("casino", "cá cược", "ca cuoc", "nhà cái", "nha cai", "nổ hũ", "no hu", "tài xỉu", "tai xiu", "lô đề", "lo de",
           "số đề", "game bài", "game bai", "đổi thưởng", "doi thuong", "cá độ", "ca do", "kèo bóng", "soi kèo",
           "keo bong", "kiếm tiền online", "kiem tien online", "kiếm tiền tại nhà", "kiem tien tai nha",
           "việc nhẹ lương cao", "viec nhe luong cao", "vay tiền nhanh", "vay tien nhanh", "vay online", "vay nhanh",
           "giải ngân trong ngày", "không cần thế chấp", "forex", "airdrop", "viagra", "kubet")),
    # selling and recruiting
    (0.3, ("mua ngay", "đặt hàng ngay", "dat hang ngay", "đăng ký ngay", "dang ky ngay", "inbox", "ib", "add zalo",
           "kết bạn zalo", "ket ban zalo", "vay tiền", "vay tien", "giải ngân", "giai ngan", "giá rẻ", "gia re",
           "freeship", "free ship", "click", "nhấp vào", "sale off", "siêu sale", "flash sale", "ưu đãi khủng",
           "tuyển ctv", "tuyển cộng tác viên", "hoa hồng cao", "sinh lời", "lãi suất thấp", "đầu tư tiền ảo",
           "tiền ảo", "xem ngay", "truy cập ngay", "chốt đơn", "chot don", "sex")),
    # contact and promotion words that ordinary comments use too
    (0.15, ("liên hệ", "lien he", "lh", "hotline", "zalo", "telegram", "tele", "whatsapp", "wechat", "viber",
            "khuyến mãi", "khuyen mai", "giảm giá", "giam gia", "ưu đãi", "uu dai", "miễn phí", "mien phi", "tư vấn",
            "tu van", "nhắn tin", "nhan tin", "free", "sale", "link", "shop")),
)
# Betting brands: fb88, w88, jun88, 188bet, shbet...
_BRAND = re.compile(r"[a-z]{1,4}\d?88|\d{2,3}bet|(?:sh|ku|vi|8x|f8|qq|bk|hb|nh|jbo|cmd)bet")


def _index_terms() -> dict[str, list[tuple[tuple[str, ...], float]]]:
    """First word -> [(the term's words, weight)], longest first: terms are found by looking words up, which is five
    times faster than one regular expression of them all."""
    index: dict[str, list[tuple[tuple[str, ...], float]]] = {}
    for weight, terms in _WEIGHTED_TERMS:
        for term in terms:
            index.setdefault(term.split()[0], []).append((tuple(term.split()), weight))
    for entries in index.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return index


_TERM_INDEX = _index_terms()
# A messaging handle or "call me" followed by a number: "zalo 09xx", "ib zalo: 0912 345 678", "tele @ban".
_CONTACT_NUMBER = re.compile(
    r"(?:zalo|zl|telegram|tele|tg|viber|whatsapp|wechat|sđt|sdt|đt|hotline|liên\s+hệ|lien\s+he|lh|ib|inbox|"
    r"gọi|goi|call)\s*(?:ngay\s*)?[:.\-]?\s*(?:\+?\d[\d .\-]{6,}\d|0\d{1,3}\s?x{2,}[x\d]*|@[a-z0-9_]{4,})")
_CONTACT_CAP = 0.8


def _lower(text: str) -> str:
    """text.lower(), one character for one (the few characters that lower-case to two keep their first)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(ch.lower()[:1] for ch in text)


def _missing_space(domain: str) -> bool:
    label, _, tld = domain.partition(".")
    return "/" not in domain and tld in _WORDLIKE_TLDS and _SYLLABLE.fullmatch(label) is not None


def _links(text: str, lowered: str) -> Signal | None:
    spans: list[tuple[int, int]] = []
    kinds: list[str] = []
    taken = bytearray(len(text))  # characters already in a link (a URL's host is also a bare domain)
    for pattern, source in ((_URL, lowered), (_DOMAIN, text)):
        if pattern is _DOMAIN and not _TLD_HINT.search(text):
            continue
        for match in pattern.finditer(source):
            start, end = match.span()
            while end > start and lowered[end - 1] in _TRAILING:
                end -= 1
            if end <= start or taken[start]:
                continue
            if pattern is _DOMAIN and _missing_space(lowered[start:end]):
                continue
            taken[start:end] = b"\x01" * (end - start)
            link = lowered[start:end]
            spans.append((start, end))
            kinds.append("short" if _SHORTENERS.match(link) else "public" if _PUBLIC.match(link) else "link")
    if not spans:
        return None
    if len(spans) >= 3:
        score = 0.9
    elif len(spans) == 2:
        score = 0.5 if kinds.count("public") == 2 else 0.75
    else:
        score = {"public": 0.1, "link": 0.5, "short": 0.7}[kinds[0]]
    return Signal(SignalKind.SPAM, "spam.link", score, merge_spans(spans))


def _codes(text: str) -> np.ndarray:
    """The text's code points (lone surrogates included), one per character of the str."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _runs(equal: np.ndarray, least: int) -> list[tuple[int, int]]:
    """[start, end) of the runs of True at least `least` long."""
    if not equal.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], equal.view(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= least]


def _repeated_chars(text: str, codes: np.ndarray) -> Signal | None:
    if len(text) < 6:
        return None
    spans = []
    # The same character 6 times or more (codes[i] == codes[i + 1] five times in a row), or the same two or three
    # characters 5 times or more; not digits or white space ("1000000" is a number, "1 1 1 1" a list).
    for period, least in ((1, 6), (2, 10), (3, 15)):
        if len(codes) < least:
            break
        for start, end in _runs(codes[period:] == codes[:-period], least - period):
            unit = text[start:start + period]
            if any(ch.isspace() or ch.isdigit() for ch in unit) or (period > 1 and len(set(unit)) == 1):
                continue
            repeats = (end - start + period) // period
            spans.append((start, start + repeats * period))
    if not spans:
        return None
    spans = list(merge_spans(spans))
    longest = max(end - start for start, end in spans)
    score = min(0.8, 0.3 + 0.02 * (longest - 6) + 0.1 * (len(spans) - 1))
    return Signal(SignalKind.SPAM, "spam.repeated_chars", round(score, 2), tuple(spans))


def _repeated_words(words: list[tuple[str, int, int]]) -> Signal | None:
    n = len(words)
    if n < 4:
        return None
    tokens = [w for w, _, _ in words]
    spans: list[tuple[int, int]] = []
    covered = 0
    i = 0
    # Runs: the same word 4 times or more in a row, or the same phrase of 2 to 4 words 3 times or more.
    while i < n:
        best = None
        for size, least in ((1, 4), (2, 3), (3, 3), (4, 3)):
            if i + size * least > n:
                break
            if tokens[i + size] != tokens[i]:
                continue
            phrase = tokens[i:i + size]
            repeats = 1
            while tokens[i + repeats * size:i + (repeats + 1) * size] == phrase:
                repeats += 1
            if repeats >= least and (best is None or size * repeats > best[0] * best[1]):
                best = (size, repeats)
        if best:
            size, repeats = best
            end = i + size * repeats
            spans.append((words[i][1], words[end - 1][2]))
            covered += size * repeats
            i = end
        else:
            i += 1
    # Or one word making up most of a text of some length ("ok ok ok, ok. ok ok" ...).
    word, count = Counter(tokens).most_common(1)[0]
    dominant = n >= 8 and count / n >= 0.4
    if dominant:
        spans += [(s, e) for w, s, e in words if w == word]
        covered = max(covered, count)
    if not spans:
        return None
    score = min(0.9, 0.35 + 0.55 * covered / n)
    return Signal(SignalKind.SPAM, "spam.repeated_words", round(score, 2), merge_spans(spans))


def _is_acronym(token: str) -> bool:
    return token in _ACRONYMS or not any(ch in _VOWELS for ch in token.lower())


def _shouting(text: str, codes: np.ndarray, lowered: str) -> Signal | None:
    # Acronyms aside, the share of capitals can only drop: when all capitals are too few, stop here.
    capitals = int(np.count_nonzero(codes != _codes(lowered)))
    if capitals < _SHOUT_SHARE * _MIN_SHOUT_LETTERS:
        return None
    upper = text.upper()
    if len(upper) == len(text):
        small = int(np.count_nonzero(codes != _codes(upper)))
        if capitals < _SHOUT_SHARE * (capitals + small):
            return None
    upper_letters = cased_letters = 0
    shouted: list[tuple[int, int]] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        letters = [ch for ch in token if ch.isalpha() and (ch.isupper() or ch.islower())]
        if len(letters) < 2:
            continue
        if token.isupper() and _is_acronym(token):
            continue
        cased_letters += len(letters)
        if token.isupper():
            upper_letters += len(letters)
            shouted.append(match.span())
    if cased_letters < _MIN_SHOUT_LETTERS or upper_letters < _SHOUT_SHARE * cased_letters:
        return None
    share = upper_letters / cased_letters
    score = 0.4 + (share - _SHOUT_SHARE) / (1 - _SHOUT_SHARE) * 0.3 + min(0.1, cased_letters / 2000)
    # One span per run of shouted words (what lies between two of them in the run is part of it).
    runs: list[list[int]] = []
    for start, end in shouted:
        if runs and not any(ch.islower() for ch in text[runs[-1][1]:start]):
            runs[-1][1] = end
        else:
            runs.append([start, end])
    return Signal(SignalKind.SPAM, "spam.shouting", round(min(score, 0.8), 2), tuple((a, b) for a, b in runs))


def _contact(lowered: str, words: list[tuple[str, int, int]]) -> Signal | None:
    spans: list[tuple[int, int]] = []
    found: dict[str, float] = {}
    tokens = [word for word, _, _ in words]
    for i, (word, start, _) in enumerate(words):
        entries = _TERM_INDEX.get(word)
        if entries:
            for term, weight in entries:
                if tuple(tokens[i:i + len(term)]) == term:
                    found[" ".join(term)] = weight
                    spans.append((start, words[i + len(term) - 1][2]))
                    break
        elif word[-1] in "8t" and _BRAND.fullmatch(word):
            found[word] = 0.5
            spans.append((start, words[i][2]))
    for match in _CONTACT_NUMBER.finditer(lowered):
        if match.start() and lowered[match.start() - 1].isalnum():
            continue
        found["contact number " + match.group()] = 0.5
        spans.append(match.span())
    if not found:
        return None
    score = min(_CONTACT_CAP, sum(found.values()))
    return Signal(SignalKind.SPAM, "spam.contact", round(score, 2), merge_spans(spans))


def find_spam(text: str) -> list[Signal]:
    """The spam signals of a comment's text, in the order of the rules."""
    if not text:
        return []
    lowered = _lower(text)
    codes = _codes(text)
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(lowered)]
    found = (_links(text, lowered), _repeated_chars(text, codes), _repeated_words(words),
             _shouting(text, codes, lowered), _contact(lowered, words))
    return [signal for signal in found if signal is not None]
