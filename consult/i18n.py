"""Languages: Babel catalogs for vi (default) and en, the current locale per request, and formatting.

Message ids are English. Catalogs are the .po files under consult/locale; they are compiled in memory
when first needed, so no binary .mo file is kept in the repository.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("vi", "en")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locale"

_current_language: ContextVar[str] = ContextVar("consult_language", default="vi")


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=None)
def translations(language: str) -> Translations:
    with po_path(language).open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf)


def set_language(language: str):
    return _current_language.set(language if language in LANGUAGES else "vi")


def reset_language(token) -> None:
    _current_language.reset(token)


def current_language() -> str:
    return _current_language.get()


def gettext(message: str, **variables: object) -> str:
    text = translations(current_language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(current_language()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def lazy(message: str) -> str:
    """Marks a message for extraction where it must be translated later, at use."""
    return message


def negotiate(accept_language: str | None, default: str) -> str:
    if not accept_language:
        return default
    preferred = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            preferred.append((quality, tag.strip()))
    preferred.sort(key=lambda item: -item[0])
    chosen = Locale.negotiate([tag for q, tag in preferred if q > 0], list(LANGUAGES), sep="-")
    return str(chosen) if chosen else default


def file_size(size: int) -> str:
    """A size in bytes as people read it, in the current language: "850 KB", "1,5 MB"."""
    if size < 1024 * 1024:
        return f"{numbers.format_decimal(max(1, round(size / 1024)), locale=current_language())} KB"
    return f"{numbers.format_decimal(round(size / (1024 * 1024), 1), locale=current_language())} MB"


def duration(seconds: int) -> str:
    """A length of time as people say it, in the current language: "3 hours", "2 ngày"."""
    return dates.format_timedelta(dt.timedelta(seconds=seconds), threshold=1.1, locale=current_language())


def percent(share: float | None) -> str:
    """A share (0 to 1) as a percentage with one decimal, in the current language: "12,5%"."""
    if share is None:
        return ""
    # As Babel's "#,##0.0%" (the tests compare them) without its ~30 us a call: the dashboards print hundreds.
    language = current_language()
    scaled = (Decimal(repr(float(share))) * 100).quantize(_TENTH, rounding=ROUND_HALF_EVEN)
    return _localised(f"{scaled:,f}", language) + _percent_sign(language)


_TENTH, _THOUSANDTH = Decimal("0.1"), Decimal("0.001")


def _localised(text: str, language: str) -> str:
    """A number Python formatted with "," and "." in the language's group and decimal symbols."""
    return text.translate({44: "\0", 46: _decimal_symbol(language)}).replace("\0", _group_symbol(language))


class Formatter:
    """Formats times in the site's time zone and numbers in the current language."""

    def __init__(self, tz_name: str):
        self.tz = ZoneInfo(tz_name)

    def local(self, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(self.tz)

    def datetime(self, value: dt.datetime | None, fmt: str = "medium") -> str:
        if value is None:
            return ""
        return _format_datetime(self.local(value), fmt, self.tz, current_language())

    def date(self, value: dt.datetime | None, fmt: str = "long") -> str:
        if value is None:
            return ""
        return dates.format_date(self.local(value).date(), fmt, locale=current_language())

    def date_only(self, value: dt.date | str, fmt: str = "medium") -> str:
        """A calendar day (already local, as the reports count them), or its ISO text."""
        if isinstance(value, str):
            value = dt.date.fromisoformat(value)
        return dates.format_date(value, fmt, locale=current_language())

    def input_value(self, value: dt.datetime | None) -> str:
        """A stored time as a datetime-local field shows it, in the site's time zone."""
        return self.local(value).strftime("%Y-%m-%dT%H:%M") if value else ""

    def parse_input(self, text: str) -> dt.datetime | None:
        """A datetime-local field's value, read in the site's time zone, as UTC; None when empty.
        Raises ValueError when it is not a date and time."""
        text = (text or "").strip()
        if not text:
            return None
        return dt.datetime.fromisoformat(text).replace(tzinfo=self.tz).astimezone(dt.timezone.utc)

    def until(self, value: dt.datetime | None) -> str:
        """How long from now, in words: "in 5 days", "3 hours ago"."""
        if value is None:
            return ""
        delta = self.local(value) - dt.datetime.now(self.tz)
        return dates.format_timedelta(delta, add_direction=True, threshold=1.1, locale=current_language())

    def number(self, value: int | float) -> str:
        if isinstance(value, int):
            # Whole numbers (counts) are most of what pages show: Babel's general formatter costs ~35 us each.
            return f"{value:,}".replace(",", _group_symbol(current_language()))
        if isinstance(value, float) and abs(value) < 1e15:
            # Babel's default pattern (#,##0.###), written by Python: ~35 us a number saved on pages full of them.
            text = f"{Decimal(repr(value)).quantize(_THOUSANDTH, rounding=ROUND_HALF_EVEN):,f}".rstrip("0").rstrip(".")
            return _localised(text, current_language())
        return numbers.format_decimal(value, locale=current_language())


@lru_cache(maxsize=8192)
def _format_datetime(value: dt.datetime, fmt: str, tz: ZoneInfo, language: str) -> str:
    # Pages show the same times (comments, deadlines) to every visitor: Babel's formatting, ~100 us, runs once.
    return dates.format_datetime(value, fmt, tzinfo=tz, locale=language)


@lru_cache(maxsize=8)
def _group_symbol(language: str) -> str:
    return numbers.get_group_symbol(language)


@lru_cache(maxsize=None)
def _decimal_symbol(language: str) -> str:
    return numbers.get_decimal_symbol(language)


@lru_cache(maxsize=None)
def _percent_sign(language: str) -> str:
    return numbers.format_percent(0, "0%", locale=language)[1:]  # what follows the number, as Babel writes it
