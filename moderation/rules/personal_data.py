"""Personal data in a comment: e-mail addresses, phone numbers, citizen ID numbers, bank cards and accounts, street
addresses. A comment is published, so what a citizen writes about themselves (or someone else) is flagged for the
moderator, who may redact it (``redact``) before publishing.

Invisible characters (zero-width spaces and joiners, direction marks, the byte-order mark, soft hyphens) are
removed before matching, so "0912\\u200b345678" is still a phone number; the spans are given in the original
text's offsets and cover the invisible characters inside what was found. Full-width digits and "＠" count as
their ASCII forms. Text is expected in NFC, as the platform stores it.

Numbers are found once, as runs of digits joined by single spaces, dots or dashes, and then classified with their
context (the words just before them): a date, an amount of money or a percentage is nothing; a number written as
a date or with slashes (decree numbers, "13/2023/NĐ-CP") is never a candidate.
"""

from __future__ import annotations

import re

from moderation.rules import Signal, SignalKind, merge_spans

__all__ = ["find_personal_data", "luhn_valid"]

_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_FULL_WIDTH = re.compile(r"[\uff0b-\uff20]")
_FOLD = str.maketrans({**{chr(0xFF10 + d): str(d) for d in range(10)}, "＠": "@", "．": ".", "－": "-", "＋": "+"})

# --- e-mail -------------------------------------------------------------------------------------------------------

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LOCAL = r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"
_EMAIL = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,24}}(?![\w-])")
_TLD = r"(?:com|net|org|edu|gov|info|biz|io|me|co|vn|us|uk|de|fr|jp|cn|kr|ru|au|ca|sg|in|xyz|online|site|app|dev)"
_AT_BRACKETED = r"\s*[\[\(\{<]\s*(?:at|@|a\s+còng|a\s+cong|a\s+móc|a\s+moc)\s*[\]\)\}>]\s*"
_AT_WORD = r"\s+(?:at|a\s+còng|a\s+cong|a\s+móc|a\s+moc)\s+"
_AT_SPACED = r"(?:\s+@\s*|\s*@\s+)"
_PLAIN_DOT = r"(?:\.|\s*[\[\(\{<]\s*(?:dot|chấm|cham|\.)\s*[\]\)\}>]\s*)"
_COUNTRY = r"(?:vn|uk|au|jp|cn|kr|sg|us|de|fr|in|tw|hk|th|my|id|ph|la|kh)"
_DOT = r"(?:\s*[\[\(\{<]\s*(?:dot|chấm|cham|\.)\s*[\]\)\}>]\s*|\s+(?:dot|chấm|cham)\s+|\s+\.\s*|\s*\.\s+|\.)"
_EMAIL_OBFUSCATED = re.compile(
    rf"(?=[A-Za-z0-9]){_LOCAL}(?P<at>{_AT_BRACKETED}|{_AT_SPACED}|{_AT_WORD}|@){_LABEL}(?:{_DOT}{_LABEL})*?{_DOT}{_TLD}"
    rf"(?:{_PLAIN_DOT}{_COUNTRY})?(?![\w-])",
    re.IGNORECASE)
_AT_HINT = re.compile(r"(?<!\w)(?:at|a\s+còng|a\s+cong|a\s+móc|a\s+moc)(?!\w)", re.IGNORECASE)
_PUBLIC_BODY_EMAIL = re.compile(r"\.gov(?:\.[a-z]{2})?$", re.IGNORECASE)

# --- numbers ------------------------------------------------------------------------------------------------------

# A run of digits joined by single separators, optionally led by "+" or a bracketed prefix "(028)", "(+84)", with
# perhaps a national "(0)" after the country code ("+84 (0) 912 345 678").
_NUMBER = re.compile(r"(?<![\w+/.,-])(?:\+\s?)?(?:\(\+?[0-9]{1,4}\)[ .\-\u00a0]?)?[0-9]+"
                     r"(?:[ .\-\u00a0]?\(0\)[ .\-\u00a0]?[0-9]+)?(?:[ .\-\u00a0][0-9]+)*(?![\w/]|[.,][0-9])")
_CHUNK = re.compile(r"[^ \u00a0]+")
_DIGITS = re.compile(r"[0-9]+")
_DATE = re.compile(r"(?:\d{1,2}[.\-]\d{1,2}[.\-](?:\d{4}|\d{2})|\d{4}[.\-]\d{1,2}[.\-]\d{1,2})")
_MONEY_GROUPS = re.compile(r"[1-9]\d{0,2}(?:([.,])\d{3})(?:\1\d{3})*")
_UNIT_AFTER = re.compile(
    r"\s*(?:%|‰|phần\s+trăm|phan\s+tram|đồng|dong\b|đ\b|vnđ|vnd|usd|\$|€|triệu|trieu|tỷ|tỉ|ty\b|nghìn|nghin|ngàn|ngan\b|"
    r"k\b|người|nguoi\b|năm|tuổi|ha\b|m2|m²|km|kg|tấn|lần|hộ\b|trường hợp)", re.IGNORECASE)
_UNIT_BEFORE = re.compile(r"(?:\$|€|usd|vnd|vnđ)\s*$", re.IGNORECASE)


def _words(*words: str) -> str:
    return r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)"


_PHONE_CONTEXT = re.compile(_words(
    r"sđt", r"sdt", r"số\s+điện\s+thoại", r"so\s+dien\s+thoai", r"điện\s+thoại", r"dien\s+thoai", r"đt", r"dt",
    r"di\s+động", r"di\s+dong", r"phone", r"tel", r"mobile", r"hotline", r"zalo", r"viber", r"whatsapp", r"telegram",
    r"gọi", r"goi", r"liên\s+hệ", r"lien\s+he", r"call", r"nhắn\s+tin", r"sms"), re.IGNORECASE)
_ID_CONTEXT = re.compile(_words(
    r"cccd", r"cmnd", r"cmt", r"căn\s+cước", r"can\s+cuoc", r"chứng\s+minh", r"chung\s+minh", r"định\s+danh",
    r"dinh\s+danh", r"citizen\s+id", r"national\s+id", r"id\s+card", r"identity\s+card", r"id\s+number",
    r"thẻ\s+cc", r"the\s+cc"), re.IGNORECASE)
_ACCOUNT_CONTEXT = re.compile(_words(
    r"stk", r"số\s+tài\s+khoản", r"so\s+tai\s+khoan", r"tài\s+khoản", r"tai\s+khoan", r"tk", r"account", r"acc",
    r"a/c", r"ngân\s+hàng", r"ngan\s+hang", r"bank", r"vietcombank", r"vcb", r"techcombank", r"tcb", r"bidv",
    r"agribank", r"vietinbank", r"vpbank", r"mb", r"mbbank", r"mb\s+bank", r"acb", r"sacombank", r"tpbank", r"shb",
    r"hdbank", r"vib", r"ocb", r"seabank", r"msb", r"eximbank", r"scb", r"lpbank", r"lienvietpostbank", r"bac\s+a\s+bank",
    r"nam\s+a\s+bank", r"pvcombank", r"abbank", r"kienlongbank", r"momo", r"chuyển\s+khoản", r"chuyen\s+khoan",
    r"ck"), re.IGNORECASE)
_CONTEXT_WINDOW = 48

# Province codes that begin a 12-digit citizen ID (CCCD).
_PROVINCES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036 037 038 040 042 "
    "044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075 077 079 080 082 083 084 086 087 "
    "089 091 092 093 094 095 096".split())
_CARD_PREFIX = re.compile(r"(?:4|5[1-5]|2[2-7]|3[47]|35|6|9704)")

# --- addresses ----------------------------------------------------------------------------------------------------

# Upper-case letters of Vietnamese (and other Latin-script languages), for proper names.
_UPPER = "".join(ch for ch in map(chr, range(0x41, 0x1F00)) if ch.isupper() and ch.isalpha()
                 and (ch.isascii() or 0xC0 <= ord(ch) <= 0x24F or 0x1E00 <= ord(ch) <= 0x1EFF))
_CAP = rf"[{_UPPER}][^\W\d_]*"
_NAME = rf"{_CAP}(?:[ \-]{_CAP}){{0,4}}"
_NUMNAME = r"(?:số\s+)?\d{1,4}[A-Za-z]?(?:/\d{1,3}[A-Za-z]?)?(?![\w/])"
_HOUSE = r"\d{1,5}[A-Za-z]?(?:/\d{1,4}[A-Za-z]?){0,3}(?![\w/])"
_LANE_WORD = r"(?i:ngõ|ngách|hẻm|kiệt|ngo|ngach|hem|kiet|hẽm)"
_LANE = rf"{_LANE_WORD}\s+{_HOUSE}"
_STREET = r"(?i:phố|đường|đại\s+lộ|pho|duong|dai\s+lo)"
_PROPER_STREET = rf"(?:{_NAME}|{_NUMNAME}|[A-Z]\d{{1,3}})"
_STREET_NAME = rf"(?:{_PROPER_STREET}|[^\W\d_]+(?:\s+[^\W\d_]+)?)"
_UNIT = (r"(?i:phường|xã|thị\s+trấn|quận|huyện|thị\s+xã|thành\s+phố|tỉnh|tp\.?|tx\.?|p\.|q\.|h\.|tt\.?|"
         r"phuong|xa|thi\s+tran|quan|huyen|thi\s+xa|thanh\s+pho|tinh)")
_UNIT_NAME = rf"(?:{_NAME}|\d{{1,2}}(?!\w))"
_ADMIN_TAIL = rf"(?:\s*,?\s*{_UNIT}\s*{_UNIT_NAME})"
_VILLAGE = r"(?i:thôn|xóm|ấp|bản|tổ\s+dân\s+phố|tổ|khu\s+phố|khóm|khu|thon|xom|ap|ban|to\s+dan\s+pho|khu\s+pho|khom)"
_HOUSE_WORD = r"(?i:số\s+nhà|nhà\s+số|so\s+nha|nha\s+so|số|so)"
_NOT_A_STREET = (r"(?!(?:Điều|Khoản|Điểm|Chương|Mục|Phần|Luật|Nghị|Thông|Quyết|Bộ|Năm|Tháng|Ngày|Người|Lần|Tuổi|"
                 r"Dự|Chính|Quốc|Ủy|Hội|Sở|Ban|Triệu|Tỷ|Nghìn|Trăm)\b)")
# "Luật số 45", "Điều 12": a number that refers to a text of law, not to a house.
_LEGAL_BEFORE = re.compile(r"(?<!\w)(?:luật|điều|khoản|điểm|chương|mục|nghị\s+định|thông\s+tư|quyết\s+định|công\s+văn|"
                           r"nghị\s+quyết|chỉ\s+thị|văn\s+bản|tờ\s+trình|dự\s+thảo)\s*(?:số\s*)?$", re.IGNORECASE)
# Each pattern is tried only where an address can start: at a house number (a digit not preceded by a letter, a
# digit, "/", "." or ","), or at the word "số" / "nhà số" / "số nhà" just before it. A cue ("địa chỉ:", "sống tại")
# just before that start makes a house number and a name enough.
_HOUSE_START = re.compile(r"(?<![\w/.,])\d{1,5}")
# What follows a house number in any pattern: a capital (a street or English name) or a keyword.
_ADDRESS_NEXT = re.compile(rf"[A-Za-z]?(?:/\d{{1,4}}[A-Za-z]?)*\s*,?\s*(?:[{_UPPER}]|{_LANE_WORD}|{_STREET}|"
                           rf"{_VILLAGE}|{_UNIT})")
_HOUSE_WORD_BEFORE = re.compile(rf"(?<!\w){_HOUSE_WORD}\s+$")
_CUE_BEFORE = re.compile(r"(?<!\w)(?i:địa\s+chỉ|dia\s+chi|đ/c|đc|nhà\s+(?:tôi\s+)?ở|sống\s+(?:ở|tại)|cư\s+trú\s+tại|"
                         r"trú\s+tại|thường\s+trú|tạm\s+trú|address|live\s+at|lives\s+at)\s*:?\s*$")
_ADDRESS_PATTERNS = (
    # số 12 ngõ 34 (ngách 5) (phố Hàng Bạc), "12/3 hẻm 45 đường Lê Lợi"
    (re.compile(rf"(?:{_HOUSE_WORD}\s+)?{_HOUSE}\s*,?\s*{_LANE}(?:\s*,?\s*{_LANE}){{0,3}}(?:\s*,?\s*{_STREET}\s+{_STREET_NAME})?"
                rf"{_ADMIN_TAIL}{{0,5}}"), 0.85),
    # (số) 12 phố Hàng Bạc, 45 đường Nguyễn Trãi, số 7 đường số 5
    (re.compile(rf"(?:{_HOUSE_WORD}\s+)?{_HOUSE}\s*,?\s*{_STREET}\s+{_PROPER_STREET}{_ADMIN_TAIL}{{0,5}}"), 0.8),
    # 123 Nguyễn Huệ, phường Bến Nghé, quận 1 (a house number and a name, then an administrative unit)
    (re.compile(rf"(?:{_HOUSE_WORD}\s+)?{_HOUSE}\s+{_NOT_A_STREET}{_NAME}{_ADMIN_TAIL}{{1,5}}"), 0.75),
    # nhà số 5, thôn Đông, xã Yên Bình / số 12 xóm 3 xã Nghi Phong
    (re.compile(rf"{_HOUSE_WORD}\s+{_HOUSE}\s*,?\s*{_VILLAGE}\s+{_UNIT_NAME}{_ADMIN_TAIL}{{0,5}}"), 0.75),
    # 12 Baker Street, 221B Baker St.
    (re.compile(r"\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Boulevard|Blvd\.?|"
                r"Lane|Ln\.?|Drive|Dr\.?|Court|Ct\.?|Place|Pl\.?|Way|Terrace|Close|Square|Sq\.?)(?!\w)"), 0.7),
)
# After a cue: 25 Lý Thường Kiệt(, Hoàn Kiếm, Hà Nội)
_CUED_ADDRESS = re.compile(rf"(?:{_HOUSE_WORD}\s+)?{_HOUSE}\s+{_NOT_A_STREET}{_NAME}(?:{_ADMIN_TAIL}|\s*,\s*{_NAME}){{0,4}}")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a card number (digits only)."""
    if not (digits.isascii() and digits.isdigit()) or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _prepare(text: str) -> tuple[str, list[int] | None]:
    """The text to match (invisible characters removed, full-width forms folded) and, when characters were
    removed, the original offset of each of its characters."""
    kept = None
    if _INVISIBLE.search(text):
        kept = [i for i, ch in enumerate(text) if not _INVISIBLE.match(ch)]
        text = "".join(text[i] for i in kept)
    if _FULL_WIDTH.search(text):
        text = text.translate(_FOLD)
    return text, kept


def _nearest(pattern: re.Pattern, context: str) -> int:
    """How far from the end of context the last match of pattern ends (-1: none)."""
    last = -1
    for match in pattern.finditer(context):
        last = match.end()
    return len(context) - last if last >= 0 else -1


def _context(before: str) -> str | None:
    """Which kind of number the words just before announce ("phone", "id", "account"), the nearest winning."""
    nearest, kind = -1, None
    for name, pattern in (("phone", _PHONE_CONTEXT), ("id", _ID_CONTEXT), ("account", _ACCOUNT_CONTEXT)):
        distance = _nearest(pattern, before)
        if distance >= 0 and (nearest < 0 or distance < nearest):
            nearest, kind = distance, name
    return kind


def _classify(number: str, context: str | None, before: str, after: str) -> tuple[str, float] | None:
    """(rule, score) for one run of digits as written (with its separators), or None."""
    groups = _DIGITS.findall(number)
    digits = "".join(groups)
    n = len(digits)
    if n < 7 or n > 19 or sum(len(group) == 1 for group in groups) > 1:
        return None
    plus = number.lstrip("(").startswith("+")
    if len(groups) > 1 and all(len(g) == 4 and "1900" <= g <= "2099" for g in groups):  # "2020 2021 2022 2023"
        return None
    if _DATE.fullmatch(number) or _MONEY_GROUPS.fullmatch(number) or _UNIT_AFTER.match(after) or _UNIT_BEFORE.search(before):
        return None
    if context is None and n in (9, 12) and _ID_CONTEXT.search(after[:24]):
        context = "id"
    cccd = n == 12 and digits[:3] in _PROVINCES
    if not plus and not cccd and digits.startswith("00") and 9 <= n <= 17:  # 0084..., 001...: international
        plus, digits, n = True, digits[2:], n - 2
    if plus:
        if digits.startswith("84"):
            national = digits[2:]
            if national.startswith("0"):  # "+84 0912 345 678"
                national = national[1:]
            if len(national) == 9 and national[0] in "35789" or len(national) == 10 and national[0] == "2":
                return "pii.phone", 0.95 if context == "phone" else 0.9
        if 8 <= n <= 15:
            return "pii.phone", 0.85 if context == "phone" else 0.8
        return None
    if context == "account" and 8 <= n <= 19:
        return "pii.bank_account", 0.85
    if context == "id":
        if n == 12 and digits[0] == "0" and 1 <= int(digits[:3]) <= 96:
            return "pii.citizen_id", 0.95
        if n == 9:
            return "pii.citizen_id", 0.9
        if n == 12:
            return "pii.citizen_id", 0.7
    mobile = n == 10 and digits[0] == "0" and digits[1] in "35789"
    mobile_84 = n == 11 and digits.startswith("84") and digits[2] in "35789"
    landline = n == 11 and digits.startswith("02")
    if mobile or mobile_84 or landline:
        score = 0.9 if mobile else 0.8
        return "pii.phone", score + 0.05 if context == "phone" else score
    if cccd:
        return "pii.citizen_id", 0.6
    if 13 <= n <= 19 and digits[0] != "0" and luhn_valid(digits):
        tidy = len(groups) == 1 or all(len(g) == 4 for g in groups[:-1])
        return "pii.bank_card", 0.9 if tidy and _CARD_PREFIX.match(digits) else 0.7
    if context == "phone" and 8 <= n <= 12:
        return "pii.phone", 0.6
    if n == 9 and digits[0] in "0123":
        return "pii.citizen_id", 0.3
    return None


def _numbers(text: str):
    """(start, end, rule, score) of every classified number in the (prepared) text.

    A run of digit groups separated by spaces may be several numbers ("0912 345 678 0987 654 321"): the longest
    run of consecutive groups that makes a number is taken, from the left (at most 19 digits, so linear time).
    """
    previous_end = 0
    for match in _NUMBER.finditer(text):
        if match.end() - match.start() < 7:  # fewer than 7 digits: no number worth finding
            continue
        chunks = [(m.start() + match.start(), m.end() + match.start()) for m in _CHUNK.finditer(match.group())]
        digit_groups = [_DIGITS.findall(text, a, b) for a, b in chunks]
        sizes = [sum(map(len, groups)) for groups in digit_groups]
        singles = [sum(len(g) == 1 for g in groups) for groups in digit_groups]
        shorts = [sum(len(g) <= 2 for g in groups) for groups in digit_groups]
        i = 0
        while i < len(chunks):
            # A number has at most 19 digits, one group of a single digit and, unless it starts with "+"
            # ("+33 1 23 45 67 89"), two groups of one or two digits.
            international = text.startswith(("+", "(+"), chunks[i][0])
            last, total, single, short = i, 0, 0, 0
            while (last < len(chunks) and total + sizes[last] <= 19 and single + singles[last] <= 1
                   and (international or short + shorts[last] <= 2)):
                total += sizes[last]
                single += singles[last]
                short += shorts[last]
                last += 1
            start = chunks[i][0]
            before = text[max(previous_end, start - _CONTEXT_WINDOW):start]
            context = _context(before) if total >= 7 else None
            for j in range(last, i, -1):
                end = chunks[j - 1][1]
                found = _classify(text[start:end], context, before, text[end:end + 32]) if total >= 7 else None
                if found:
                    yield start, end, *found
                    previous_end = end
                    i = j
                    break
            else:
                i += 1
        previous_end = max(previous_end, match.end())


def _addresses(text: str):
    """(start, end, score) of the street addresses in the (prepared) text."""
    for digit in _HOUSE_START.finditer(text):
        if not _ADDRESS_NEXT.match(text, digit.end()):
            continue
        number = digit.start()
        starts = [number]
        word = _HOUSE_WORD_BEFORE.search(text, max(0, number - 12), number)
        if word:
            starts.insert(0, word.start())
        if _LEGAL_BEFORE.search(text, max(0, starts[0] - 24), starts[0]):
            continue
        for pattern, score in _ADDRESS_PATTERNS:
            for start in starts:
                match = pattern.match(text, start)
                if match:
                    yield match.start(), match.end(), score
                    break
        if _CUE_BEFORE.search(text, max(0, starts[0] - 32), starts[0]):
            match = _CUED_ADDRESS.match(text, starts[0])
            if match:
                yield match.start(), match.end(), 0.75


def find_personal_data(text: str) -> list[Signal]:
    """One Signal per kind of personal data found, with every span where it is."""
    if not text:
        return []
    prepared, offsets = _prepare(text)
    found: dict[str, tuple[float, list[tuple[int, int]]]] = {}

    def add(rule: str, score: float, start: int, end: int) -> None:
        best, spans = found.get(rule, (0.0, []))
        spans.append((start, end))
        found[rule] = (max(best, score), spans)

    emails: list[tuple[int, int]] = []
    if "@" in prepared:
        for match in _EMAIL.finditer(prepared):
            domain = match.group().rsplit("@", 1)[1]
            add("pii.email", 0.4 if _PUBLIC_BODY_EMAIL.search(domain) else 0.95, *match.span())
            emails.append(match.span())
    obfuscated = _EMAIL_OBFUSCATED.finditer(prepared) if "@" in prepared or _AT_HINT.search(prepared) else ()
    for match in obfuscated:
        if any(s <= match.start() < e or s < match.end() <= e for s, e in emails):
            continue
        word_at = re.fullmatch(_AT_WORD, match.group("at"), re.IGNORECASE) is not None
        add("pii.email", 0.7 if word_at else 0.85, *match.span())
    if any(ch.isdigit() for ch in prepared):
        for start, end, rule, score in _numbers(prepared):
            if not any(s <= start < e for s, e in emails):
                add(rule, score, start, end)
        for start, end, score in _addresses(prepared):
            add("pii.address", score, start, end)

    signals = []
    for rule, (score, spans) in found.items():
        if offsets is not None:
            spans = [(offsets[start], offsets[end - 1] + 1) for start, end in spans]
        signals.append(Signal(SignalKind.PERSONAL_DATA, rule, round(score, 2), merge_spans(spans)))
    return sorted(signals, key=lambda signal: signal.spans[0])
