"""Server-rendered SVG charts for the consultation report page.

Every chart is one inline ``<svg>`` element returned as Markup, or None when there is nothing to
draw (no data, or only zeros). The page shows a table with the same numbers beside each chart, so
a chart is a picture with a text alternative (``role="img"``, ``<title>`` and ``<desc>``), not a
data structure for assistive technology.

What shapes the code:

- The Content-Security-Policy forbids inline styles, so every colour, size and alignment is an
  SVG presentation attribute; there is no ``style`` attribute and no ``<style>`` element.
- The width is 100 % and the size comes from the viewBox, which is 320 units wide: on a 320 px
  phone (about 288 px of content) one unit is about 0.9 px, so 14-unit labels stay readable.
  The stylesheet should cap the width (``.chart { max-width: 30rem }``) so that text does not
  grow huge on a desktop screen.
- Labels sit on their own line above each bar rather than in a column to its left: at 320 px a
  label column would leave no room for the bars.
- Every class inside a chart starts with "chart-": the site's stylesheet styles plain names such
  as ``.legend`` (fieldset legends, in bold), which would otherwise leak into the SVG.
- Output is deterministic: coordinates are rounded to one decimal and nothing depends on
  randomness or on the order of a set.
- Every text can be user content and is escaped; numbers and dates go through the caller's
  formatters so that they follow the page's language.
- Colours come from the site's stylesheet, each at least 4.5:1 against white so that it serves for
  text and for white text on top of it. Colour is never the only cue: stacked segments also have
  patterns and percentages, scatter groups also have marker shapes.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

from markupsafe import Markup, escape

__all__ = [
    "PALETTE",
    "WEEKLY_AFTER_DAYS",
    "bar_chart",
    "contrast_ratio",
    "scatter",
    "stacked_bars",
    "timeline",
    "timeline_series",
]

# Colours of static/consult.css: text, muted text, thin rules, input borders.
TEXT = "#0b0c0c"
MUTED = "#484949"
RULE = "#b1b4b6"  # gridlines and frames only: decoration, the values are printed
OUTLINE = "#6f777b"
WHITE = "#ffffff"

# Series colours. The first three are the site's stance colours (support, oppose, change), so a
# stacked bar given those series in that order matches the stance labels elsewhere on the site.
PALETTE: tuple[str, ...] = (
    "#00703c",  # green
    "#b10e1e",  # red
    "#594d00",  # olive
    "#1d4f91",  # blue
    "#4c2c92",  # purple
    "#b34d00",  # orange
    "#006778",  # teal
    "#484949",  # grey
)
BAR_COLOUR = PALETTE[3]  # one series: the neutral link blue, not a stance colour

FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Roboto, Noto Sans, Arial, sans-serif"
WIDTH = 320
PAD = 2
FONT_SIZE = 14
SMALL_FONT_SIZE = 12
LABEL_CHARS = 40  # row labels of stacked bars
LEGEND_CHARS = 30

# More days than this and a timeline draws weeks: beyond it daily columns get thinner than about
# two units, which a phone cannot show.
WEEKLY_AFTER_DAYS = 120

Number = int | float
Formatter = Callable[[Number], object]


# --- colour ---------------------------------------------------------------------------------


def _relative_luminance(colour: str) -> float:
    value = colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str = WHITE) -> float:
    """The WCAG 2 contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    lighter, darker = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# --- numbers and text -----------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate with at most one decimal, never "-0": short and deterministic output."""
    rounded = round(value, 1)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.1f}"


def _tidy(value: float) -> Number:
    # Integral floats become ints so that fmt=str prints "3", not "3.0"; sums of floats are
    # rounded so that 0.1 + 0.2 is not printed as 0.30000000000000004.
    if isinstance(value, int):
        return value
    value = round(value, 9)
    return int(value) if value.is_integer() else value


def _amount(value: object) -> Number:
    """A drawable quantity: NaN, infinities, negatives and non-numbers count as 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return max(value, 0)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(number) or number <= 0:
        return 0
    return _tidy(number)


def _clean_text(value: object) -> str:
    """One line of NFC text that is valid in XML and in HTML."""
    if isinstance(value, Markup):
        value = value.unescape()  # escaped again on output; escaping twice would show "&amp;"
    text = unicodedata.normalize("NFC", str(value))
    # XML 1.0 forbids most control characters, lone surrogates and U+FFFE/U+FFFF, and the HTML
    # checker reports them; line breaks would be collapsed by SVG text anyway.
    cleaned = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            cleaned.append(" ")
        elif category == "Cs" or char in "\ufffe\uffff":
            cleaned.append("\ufffd")
        else:
            cleaned.append(char)
    return " ".join("".join(cleaned).split())


def _char_width(char: str) -> float:
    # Fonts cannot be measured on the server: a generous estimate in ems keeps text inside the
    # viewBox for common sans-serif fonts. Combining marks (Vietnamese tones) take no width.
    if unicodedata.combining(char):
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.0
    if char in "iljtfrI.,:;'|!() ":
        return 0.33
    if char in "mwMW@%" or char.isupper():
        return 0.72
    return 0.56


def _text_width(text: str, size: float) -> float:
    return sum(_char_width(char) for char in text) * size


def _truncate(text: str, max_chars: int, max_width: float, size: float) -> str:
    """Text cut to at most max_chars characters and max_width units, "…" included."""
    max_chars = max(1, max_chars)
    if len(text) <= max_chars and _text_width(text, size) <= max_width:
        return text
    budget = max_width - _text_width("…", size)
    cut, used = 0, 0.0
    while cut < min(len(text), max_chars - 1):
        used += _char_width(text[cut]) * size
        if used > budget:
            break
        cut += 1
    # A tone mark cut from its letter would show a different letter: drop the letter too.
    while 0 < cut < len(text) and unicodedata.combining(text[cut]):
        cut -= 1
    return text[:cut].rstrip() + "…"


def _shown(value: object) -> str:
    """A formatter's result as clean text (formatters may return Markup or non-strings)."""
    return _clean_text(value)


def _chart_id(chart_id: str) -> str:
    cid = re.sub(r"[^a-z0-9-]+", "-", str(chart_id).lower()).strip("-")
    cid = re.sub(r"-{2,}", "-", cid)
    if not cid:
        return "chart"
    # ids that start with a digit cannot be used in CSS selectors without escaping
    return cid if cid[0].isalpha() else f"chart-{cid}"


def _svg(cid: str, kind: str, height: float, title: str, description: str, body: Iterable[str], defs: str = "") -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img"'
        f' aria-labelledby="{cid}-title {cid}-desc" viewBox="0 0 {WIDTH} {_n(height)}" width="100%"'
        f' font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}" fill="{TEXT}">'
        f'<title id="{cid}-title">{escape(_clean_text(title))}</title>'
        f'<desc id="{cid}-desc">{escape(_clean_text(description))}</desc>'
    )
    return Markup(head + (f"<defs>{defs}</defs>" if defs else "") + "".join(body) + "</svg>")


# --- legend ---------------------------------------------------------------------------------

LEGEND_LINE = 22
SWATCH = 14


def _legend(entries: Sequence[tuple[Callable[[float, float], str], str]], top: float) -> tuple[list[str], float]:
    """Legend entries that wrap onto as many lines as the width needs.

    Each entry is a function drawing its swatch in the 14-unit box at (x, y), and a name.
    Returns the SVG parts and the bottom of the legend.
    """
    parts = ['<g class="chart-legend">']
    x, line = float(PAD), 0
    usable = WIDTH - 2 * PAD
    for draw_swatch, name in entries:
        shown = _truncate(name, LEGEND_CHARS, usable - SWATCH - 6, FONT_SIZE)
        item_width = SWATCH + 6 + _text_width(shown, FONT_SIZE)
        if x > PAD and x + item_width > WIDTH - PAD:
            x, line = float(PAD), line + 1
        y = top + line * LEGEND_LINE
        tooltip = f"<title>{escape(name)}</title>" if shown != name else ""
        parts.append(
            f'<g class="chart-legend-item">{tooltip}{draw_swatch(x, y)}'
            f'<text x="{_n(x + SWATCH + 6)}" y="{_n(y + 12)}">{escape(shown)}</text></g>'
        )
        x += item_width + 16
    parts.append("</g>")
    return parts, top + (line + 1) * LEGEND_LINE


# --- bar chart ------------------------------------------------------------------------------

LABEL_BASELINE = 16  # room above for Vietnamese capitals with stacked marks (Ể, Ấ)
BAR_OFFSET = 22
BAR_HEIGHT = 18
ROW_GAP = 12
VALUE_GAP = 6
TOP = 4


def bar_chart(
    items: list[tuple[str, float]],
    *,
    chart_id: str,
    title: str,
    description: str,
    fmt: Formatter = str,
    max_label: int = 40,
) -> Markup | None:
    """Horizontal bars, one per item: the label above, the value printed at the end of the bar.

    Labels longer than max_label characters (or than the width) are cut with "…"; each bar group
    carries the full label in its <title>.
    """
    rows = [(_clean_text(label), _amount(value)) for label, value in items]
    if not rows or not any(value for _, value in rows):
        return None
    cid = _chart_id(chart_id)
    value_texts = [_shown(fmt(value)) for _, value in rows]
    usable = WIDTH - 2 * PAD
    value_width = max(_text_width(text, FONT_SIZE) for text in value_texts)
    # Room for the longest value after the longest bar; a wild formatter still leaves some bar.
    bar_space = max(usable - value_width - VALUE_GAP, usable * 0.3)
    largest = max(value for _, value in rows)
    body = []
    y = float(TOP)
    for (label, value), value_text in zip(rows, value_texts):
        shown = _truncate(label, max_label, usable, FONT_SIZE)
        width = value / largest * bar_space if value else 0.0
        if value:
            width = max(width, 1.0)  # a tiny share stays visible next to a large one
        bar_y = y + BAR_OFFSET
        body.append(
            f'<g class="chart-item"><title>{escape(label)}</title>'
            f'<text x="{PAD}" y="{_n(y + LABEL_BASELINE)}">{escape(shown)}</text>'
            f'<rect x="{PAD}" y="{_n(bar_y)}" width="{_n(width)}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"/>'
            f'<text class="chart-value" x="{_n(PAD + width + VALUE_GAP)}" y="{_n(bar_y + 14)}">{escape(value_text)}</text>'
            "</g>"
        )
        y = bar_y + BAR_HEIGHT + ROW_GAP
    return _svg(cid, "bars", y - ROW_GAP + TOP, title, description, body)


# --- stacked 100 % bars ---------------------------------------------------------------------

STACK_HEIGHT = 24


def _pattern(pattern_id: str, index: int, colour: str) -> str:
    """A fill that tells series apart without colour: solid, stripes, dots, hatching..."""
    kind = index % 8
    transform = {1: ' patternTransform="rotate(45)"', 4: ' patternTransform="rotate(45)"', 6: ' patternTransform="rotate(-45)"'}
    marks = {
        1: f'<rect width="2.5" height="8" fill="{WHITE}"/>',
        2: f'<circle cx="4" cy="4" r="1.7" fill="{WHITE}"/>',
        3: f'<rect y="3" width="8" height="2" fill="{WHITE}"/>',
        4: f'<rect width="2" height="8" fill="{WHITE}"/><rect width="8" height="2" fill="{WHITE}"/>',
        5: f'<rect x="3" width="2" height="8" fill="{WHITE}"/>',
        6: f'<rect width="2.5" height="8" fill="{WHITE}"/>',
        7: f'<rect x="3.5" width="1" height="8" fill="{WHITE}"/><rect y="3.5" width="8" height="1" fill="{WHITE}"/>',
    }
    return (
        f'<pattern id="{pattern_id}" width="8" height="8" patternUnits="userSpaceOnUse"{transform.get(kind, "")}>'
        f'<rect width="8" height="8" fill="{colour}"/>{marks.get(kind, "")}</pattern>'
    )


def _percentages(values: Sequence[Number], total: float) -> list[int]:
    # Largest remainder: the printed percentages of a bar add up to exactly 100.
    raw = [value * 100 / total for value in values]
    result = [math.floor(share) for share in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - result[i]), i))
    for i in order[: 100 - sum(result)]:
        result[i] += 1
    return result


def stacked_bars(
    rows: list[tuple[str, list[float]]],
    series: list[str],
    *,
    chart_id: str,
    title: str,
    description: str,
    fmt: Formatter = str,
    percent_fmt: Callable[[int], object] | None = None,
) -> Markup | None:
    """One 100 % bar per row, split into one segment per series, under a legend.

    Segments are told apart by colour, by pattern and, where wide enough, by their percentage
    printed inside. Percentages are whole numbers that add up to 100 per bar, printed with
    percent_fmt (default: fmt(p) followed by "%"). Each segment's <title> gives the series name,
    its value through fmt, and its percentage. A row whose values are all zero is an empty frame.
    """
    names = [_clean_text(name) for name in series]
    if not names:
        return None
    clean_rows = []
    for label, values in rows:
        amounts = [_amount(value) for value in list(values)[: len(names)]]
        amounts += [0] * (len(names) - len(amounts))
        clean_rows.append((_clean_text(label), amounts))
    if not any(any(amounts) for _, amounts in clean_rows):
        return None
    cid = _chart_id(chart_id)

    def percent_text(percent: int) -> str:
        return _shown(percent_fmt(percent)) if percent_fmt else f"{_shown(fmt(percent))}%"

    fills = []
    defs = []
    for index in range(len(names)):
        colour = PALETTE[index % len(PALETTE)]
        if index % 8 == 0:
            fills.append(colour)
        else:
            defs.append(_pattern(f"{cid}-pattern-{index}", index, colour))
            fills.append(f"url(#{cid}-pattern-{index})")

    def swatch(index: int) -> Callable[[float, float], str]:
        return lambda x, y: f'<rect x="{_n(x)}" y="{_n(y)}" width="{SWATCH}" height="{SWATCH}" fill="{fills[index]}"/>'

    body, y = _legend([(swatch(index), name) for index, name in enumerate(names)], TOP)
    y += 6
    usable = WIDTH - 2 * PAD
    for label, amounts in clean_rows:
        shown = _truncate(label, LABEL_CHARS, usable, FONT_SIZE)
        bar_y = y + BAR_OFFSET
        body.append(
            f'<g class="chart-row"><title>{escape(label)}</title>'
            f'<text x="{PAD}" y="{_n(y + LABEL_BASELINE)}">{escape(shown)}</text>'
        )
        total = sum(amounts)
        if not total:
            body.append(
                f'<rect x="{_n(PAD + 0.5)}" y="{_n(bar_y + 0.5)}" width="{_n(usable - 1)}" height="{STACK_HEIGHT - 1}"'
                f' fill="none" stroke="{OUTLINE}" stroke-width="1"/>'
            )
        else:
            percents = _percentages(amounts, total)
            running = 0.0
            left = float(PAD)
            for index, (amount, percent) in enumerate(zip(amounts, percents)):
                if not amount:
                    continue
                running += amount
                # Edges from the running total, rounded once, so segments abut exactly.
                right = round(PAD + running / total * usable, 1)
                width = right - left
                text = percent_text(percent)
                body.append(
                    f'<rect class="chart-segment" x="{_n(left)}" y="{_n(bar_y)}" width="{_n(width)}" height="{STACK_HEIGHT}"'
                    f' fill="{fills[index]}" stroke="{WHITE}" stroke-width="1">'
                    f"<title>{escape(names[index])}: {escape(_shown(fmt(amount)))} ({escape(text)})</title></rect>"
                )
                chip = _text_width(text, SMALL_FONT_SIZE) + 8
                if width >= chip + 4:
                    # A solid chip under the number: white text on a stripe would be unreadable.
                    centre = left + width / 2
                    colour = PALETTE[index % len(PALETTE)]
                    body.append(
                        f'<g class="chart-segment-label"><rect x="{_n(centre - chip / 2)}" y="{_n(bar_y + 4)}" width="{_n(chip)}"'
                        f' height="{STACK_HEIGHT - 8}" fill="{colour}"/>'
                        f'<text x="{_n(centre)}" y="{_n(bar_y + 16.5)}" font-size="{SMALL_FONT_SIZE}" fill="{WHITE}"'
                        f' text-anchor="middle">{escape(text)}</text></g>'
                    )
                left = right
        body.append("</g>")
        y = bar_y + STACK_HEIGHT + ROW_GAP
    return _svg(cid, "stacked", y - ROW_GAP + TOP, title, description, body, "".join(defs))


# --- timeline -------------------------------------------------------------------------------

PLOT_TOP = 10
PLOT_HEIGHT = 150


def timeline_series(
    points: Iterable[tuple[datetime.date, float]],
) -> tuple[list[tuple[datetime.date, datetime.date, Number]], bool]:
    """The columns a timeline draws, for a table that must show the same numbers.

    Returns ``(first day, last day, total)`` per column, every day from the first to the last
    with missing days as 0, and False; or, beyond WEEKLY_AFTER_DAYS days, one column per Monday
    to Sunday week (the first and last clipped to the data) and True. Values on the same day are
    added up; NaN and negative values count as 0.
    """
    totals: dict[datetime.date, Number] = {}
    for day, value in points:
        if isinstance(day, datetime.datetime):
            day = day.date()
        if not isinstance(day, datetime.date):
            continue
        totals[day] = totals.get(day, 0) + _amount(value)
    if not totals:
        return [], False
    first, last = min(totals), max(totals)
    one_day = datetime.timedelta(days=1)
    if (last - first).days + 1 <= WEEKLY_AFTER_DAYS:
        days = [first + one_day * offset for offset in range((last - first).days + 1)]
        return [(day, day, _tidy(totals.get(day, 0))) for day in days], False
    weeks = []
    start = first - one_day * first.weekday()
    while start <= last:
        total = sum(totals.get(start + one_day * offset, 0) for offset in range(7))
        weeks.append((max(start, first), min(start + one_day * 6, last), _tidy(total)))
        start += one_day * 7
    return weeks, True


def _ticks(largest: Number, whole: bool) -> list[Number]:
    """Round axis values from 0 to at least `largest`: steps of 1, 2 or 5 times a power of ten."""
    rough = largest / 4
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    if whole:
        step = max(step, 1)  # no "0.5 comments"
    count = math.ceil(largest / step - 1e-9)
    return [_tidy(round(i * step, 10)) for i in range(count + 1)]


def timeline(
    points: list[tuple[datetime.date, float]],
    *,
    chart_id: str,
    title: str,
    description: str,
    fmt: Formatter = str,
    date_fmt: Callable[[datetime.date], object] = lambda d: d.isoformat(),
    weekly_note: str = "Each column is the total of one week, Monday to Sunday.",
) -> Markup | None:
    """Columns per day, or per week beyond WEEKLY_AFTER_DAYS days, over a y axis of round ticks.

    When weeks are drawn, weekly_note (pass it translated) is added to the description. A few
    dates label the x axis; each column's <title> gives its date (or first and last day) and value.
    """
    columns, weekly = timeline_series(points)
    if not columns or not any(total for _, _, total in columns):
        return None
    cid = _chart_id(chart_id)
    largest = max(total for _, _, total in columns)
    ticks = _ticks(largest, all(isinstance(total, int) for _, _, total in columns))
    tick_texts = [_shown(fmt(tick)) for tick in ticks]
    x0 = PAD + max(_text_width(text, SMALL_FONT_SIZE) for text in tick_texts) + 6
    x1 = WIDTH - PAD
    base = PLOT_TOP + PLOT_HEIGHT
    scale = PLOT_HEIGHT / ticks[-1]
    body = []
    for tick, text in zip(ticks, tick_texts):
        y = base - tick * scale
        body.append(
            f'<line x1="{_n(x0)}" y1="{_n(y)}" x2="{_n(x1)}" y2="{_n(y)}" stroke="{RULE}" stroke-width="1"/>'
            f'<text x="{_n(x0 - 5)}" y="{_n(y + 4)}" font-size="{SMALL_FONT_SIZE}" fill="{MUTED}" text-anchor="end">{escape(text)}</text>'
        )
    count = len(columns)
    slot = (x1 - x0) / count
    gap = slot * 0.2 if slot >= 3 else 0.0  # below 3 units a gap would eat the column
    column_width = min(slot - gap, 24.0)
    labels = [_shown(date_fmt(start)) for start, _, _ in columns]
    for index, ((start, end, total), label) in enumerate(zip(columns, labels)):
        if not total:
            continue
        height = max(total * scale, 1.0)
        x = x0 + index * slot + (slot - column_width) / 2
        when = label if start == end else f"{label} – {_shown(date_fmt(end))}"
        body.append(
            f'<rect class="chart-column" x="{_n(x)}" y="{_n(base - height)}" width="{_n(column_width)}" height="{_n(height)}"'
            f' fill="{BAR_COLOUR}"><title>{escape(when)}: {escape(_shown(fmt(total)))}</title></rect>'
        )
    body.append(f'<line x1="{_n(x0)}" y1="{base}" x2="{_n(x1)}" y2="{base}" stroke="{TEXT}" stroke-width="1"/>')

    # As many date labels as fit side by side, at most five, always the first and the last.
    label_width = max(_text_width(label, SMALL_FONT_SIZE) for label in labels)
    fitting = max(1, int((x1 - x0 + 12) // (label_width + 12)))
    shown_count = min(count, fitting, 5)
    if shown_count == 1:
        chosen = [0]
    else:
        chosen = sorted({round(i * (count - 1) / (shown_count - 1)) for i in range(shown_count)})
    for index in chosen:
        left = x0 + index * slot
        if count == 1:
            x, anchor = left + slot / 2, "middle"
        elif index == 0:
            x, anchor = left + (slot - column_width) / 2, "start"
        elif index == count - 1:
            x, anchor = left + (slot + column_width) / 2, "end"
        else:
            x, anchor = left + slot / 2, "middle"
        tick_x = left + slot / 2
        body.append(
            f'<line x1="{_n(tick_x)}" y1="{base}" x2="{_n(tick_x)}" y2="{base + 4}" stroke="{TEXT}" stroke-width="1"/>'
            f'<text class="chart-date" x="{_n(x)}" y="{base + 18}" font-size="{SMALL_FONT_SIZE}" fill="{MUTED}"'
            f' text-anchor="{anchor}">{escape(labels[index])}</text>'
        )
    if weekly:
        description = f"{_clean_text(description)} {_clean_text(weekly_note)}".strip()
    return _svg(cid, "timeline", base + 24, title, description, body)


# --- scatter --------------------------------------------------------------------------------


def _outline_offsets(points: Sequence[tuple[float, float]]) -> str:
    """Relative path steps through polygon corners given as offsets from the marker's centre."""
    rounded = [(round(x, 1), round(y, 1)) for x, y in points]
    steps = ""
    for (ax, ay), (bx, by) in zip(rounded, rounded[1:]):
        dx, dy = _n(bx - ax), _n(by - ay)
        # SVG path syntax: a minus sign separates numbers, so "2-2.3" needs no space.
        steps += (dx if not steps or dx.startswith("-") else f" {dx}") + (dy if dy.startswith("-") else f" {dy}")
    return f"l{steps}z"


_PLUS = [(-1.6, -4.8), (1.6, -4.8), (1.6, -1.6), (4.8, -1.6), (4.8, 1.6), (1.6, 1.6),
         (1.6, 4.8), (-1.6, 4.8), (-1.6, 1.6), (-4.8, 1.6), (-4.8, -1.6), (-1.6, -1.6)]
_COS45 = math.sqrt(0.5)
_CROSS = [((x - y) * _COS45, (x + y) * _COS45) for x, y in _PLUS]
_CROSS_START = (round(_CROSS[0][0], 1), round(_CROSS[0][1], 1))
_CROSS_STEPS = _outline_offsets(_CROSS)

# Each marker: (name, path from its centre). Relative steps after one absolute move keep
# 2,000 points to a few tens of kilobytes.
MARKERS: tuple[tuple[str, Callable[[float, float], str]], ...] = (
    ("circle", lambda x, y: f"M{_n(x - 4)} {_n(y)}a4 4 0 1 0 8 0a4 4 0 1 0-8 0z"),
    ("square", lambda x, y: f"M{_n(x - 3.5)} {_n(y - 3.5)}h7v7h-7z"),
    ("triangle", lambda x, y: f"M{_n(x)} {_n(y - 5.4)}l4.7 8.1h-9.4z"),
    ("diamond", lambda x, y: f"M{_n(x)} {_n(y - 5)}l5 5-5 5-5-5z"),
    ("plus", lambda x, y: f"M{_n(x - 1.6)} {_n(y - 4.8)}h3.2v3.2h3.2v3.2h-3.2v3.2h-3.2v-3.2h-3.2v-3.2h3.2z"),
    ("triangle-down", lambda x, y: f"M{_n(x)} {_n(y + 5.4)}l4.7-8.1h-9.4z"),
    ("cross", lambda x, y: f"M{_n(x + _CROSS_START[0])} {_n(y + _CROSS_START[1])}{_CROSS_STEPS}"),
)

PLOT_MARGIN = 7  # markers at ±1 stay inside the frame


def _coordinate(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return 0.0
    return min(max(number, -1.0), 1.0)


def _group_index(value: object, count: int) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        index = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return None
    if index != value or not 1 <= index <= count:
        return None
    return index - 1


def scatter(
    points: list[dict],
    groups: list[str],
    *,
    chart_id: str,
    title: str,
    description: str,
) -> Markup | None:
    """Points in the square [-1, 1]², each group with its own colour and marker shape, and a legend.

    Points whose group is not 1..len(groups), or whose x or y is missing or not a number, are left
    out; NaN counts as 0 and values outside [-1, 1] are pulled to the edge. Each group is one
    <path> holding all its markers, with the group's name as its <title>.
    """
    names = [_clean_text(name) for name in groups]
    by_group: list[list[tuple[float, float]]] = [[] for _ in names]
    for point in points:
        if not isinstance(point, Mapping):
            continue
        index = _group_index(point.get("group"), len(names))
        x, y = _coordinate(point.get("x")), _coordinate(point.get("y"))
        if index is None or x is None or y is None:
            continue
        by_group[index].append((x, y))
    if not any(by_group):
        return None
    cid = _chart_id(chart_id)
    size = WIDTH - 2 * PAD
    top = float(TOP)
    inner = size - 2 * PLOT_MARGIN
    centre_x, centre_y = PAD + size / 2, top + size / 2
    body = [
        f'<rect x="{PAD}" y="{_n(top)}" width="{size}" height="{size}" fill="none" stroke="{RULE}" stroke-width="1"/>'
        f'<line x1="{PAD}" y1="{_n(centre_y)}" x2="{PAD + size}" y2="{_n(centre_y)}" stroke="{RULE}" stroke-width="1"/>'
        f'<line x1="{_n(centre_x)}" y1="{_n(top)}" x2="{_n(centre_x)}" y2="{_n(top + size)}" stroke="{RULE}" stroke-width="1"/>'
    ]

    def marker_attributes(index: int) -> str:
        # A white rim separates overlapping markers without lowering their contrast on white.
        colour = PALETTE[index % len(PALETTE)]
        return f'fill="{colour}" stroke="{WHITE}" stroke-width="0.8" stroke-linejoin="round"'

    for index, members in enumerate(by_group):
        if not members:
            continue
        name, draw = MARKERS[index % len(MARKERS)]
        path = "".join(
            draw(PAD + PLOT_MARGIN + (x + 1) / 2 * inner, top + PLOT_MARGIN + (1 - y) / 2 * inner) for x, y in members
        )
        body.append(
            f'<path class="chart-points chart-group-{index + 1} chart-marker-{name}" {marker_attributes(index)} d="{path}">'
            f"<title>{escape(names[index])}</title></path>"
        )

    def swatch(index: int) -> Callable[[float, float], str]:
        draw = MARKERS[index % len(MARKERS)][1]
        return lambda x, y: f'<path {marker_attributes(index)} d="{draw(x + SWATCH / 2, y + SWATCH / 2)}"/>'

    legend, bottom = _legend([(swatch(index), name) for index, name in enumerate(names)], top + size + 8)
    body.extend(legend)
    return _svg(cid, "scatter", bottom + TOP, title, description, body)
