"""The report's SVG charts: well-formed, labelled, escaped, CSP-safe, with contrast-checked colours.

Every output is parsed with xml.etree, so a chart that is not well-formed XML fails here before it
could reach the HTML checker; the checks read the parsed tree, not substrings, wherever they can.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from consult.reports.charts import (
    MUTED,
    OUTLINE,
    PALETTE,
    TEXT,
    WEEKLY_AFTER_DAYS,
    bar_chart,
    contrast_ratio,
    scatter,
    stacked_bars,
    timeline,
    timeline_series,
)

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert(1)</script>"
VIETNAMESE = "Điều 12. Quyền và nghĩa vụ của công dân trong việc góp ý dự thảo"
STANCES = ["Ủng hộ", "Phản đối", "Đề nghị sửa đổi"]
PHONE_CONTENT_WIDTH = 288  # a 320 px screen less the page's 1rem side padding


def parse(markup: Markup | None) -> ET.Element:
    assert isinstance(markup, Markup)
    text = str(markup)
    assert not text.startswith("<?xml")
    return ET.fromstring(text)  # raises if not well-formed


def tag(element: ET.Element) -> str:
    return element.tag.removeprefix(SVG)


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def own_title(element: ET.Element) -> str:
    titles = [child for child in element if tag(child) == "title"]
    assert len(titles) == 1
    return titles[0].text or ""


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def check_common(markup: Markup | None, chart_id: str, title: str, description: str) -> ET.Element:
    """What every chart must be: an accessible, responsive, CSP-safe picture."""
    root = parse(markup)
    assert tag(root) == "svg" and root.tag.startswith(SVG)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
    assert root.get("width") == "100%"
    assert "height" not in root.attrib  # the viewBox gives the proportions
    x, y, width, height = (float(v) for v in root.get("viewBox").split())
    assert (x, y) == (0, 0) and width > 0 and height > 0
    first, second = list(root)[:2]
    assert (tag(first), first.get("id"), first.text) == ("title", f"{chart_id}-title", title)
    assert (tag(second), second.get("id"), second.text) == ("desc", f"{chart_id}-desc", description)

    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(rf"{re.escape(chart_id)}-[a-z0-9-]+", i) for i in ids)
    for element in root.iter():
        assert tag(element) not in ("style", "script", "foreignObject", "image", "a")
        assert "style" not in element.attrib
        assert not any(name.startswith("{") or name.startswith("on") for name in element.attrib)
        for name in ("href", "fill", "stroke"):
            if element.get(name, "").startswith("url("):
                assert element.get(name) in {f"url(#{i})" for i in ids}  # only this chart's own patterns
    # Readable on a phone: no text below 10 px when the chart is 288 px wide.
    sizes = [float(e.get("font-size")) for e in root.iter() if e.get("font-size")]
    assert sizes and min(sizes) * PHONE_CONTENT_WIDTH / width >= 10
    check_colours(root)
    return root


def check_colours(root: ET.Element) -> None:
    """Text at 4.5:1 on its background, drawn shapes at 3:1 on white (gridlines excepted)."""
    parents = {child: parent for parent in root.iter() for child in parent}

    def inherited_fill(element: ET.Element) -> str:
        while element.get("fill") is None:
            element = parents[element]
        return element.get("fill")

    for text in root.iter(f"{SVG}text"):
        colour = inherited_fill(text).lower()
        if colour == "#ffffff":
            # white text only ever sits on a solid chip drawn just before it
            siblings = list(parents[text])
            chip = siblings[siblings.index(text) - 1]
            assert tag(chip) == "rect"
            assert contrast_ratio(chip.get("fill"), colour) >= 4.5
        else:
            assert contrast_ratio(colour) >= 4.5
    for shape in root.iter():
        if tag(shape) in ("rect", "path", "circle") and parents.get(shape) is not None and tag(parents[shape]) != "pattern":
            fill = shape.get("fill", "")
            if fill.startswith("#") and fill.lower() != "#ffffff":
                assert contrast_ratio(fill) >= 3, fill


# --- colours --------------------------------------------------------------------------------


def test_contrast_ratio_matches_wcag_reference_values():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21)
    assert contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)  # the classic AA grey
    assert contrast_ratio("#123456", "#123456") == pytest.approx(1)


def test_palette_and_text_colours_meet_the_contrast_minimums():
    assert len(set(PALETTE)) == len(PALETTE) >= 6
    for colour in PALETTE:
        # 4.5:1 rather than 3:1: series colours also carry white text (percentages) and legend marks
        assert contrast_ratio(colour) >= 4.5, colour
        assert contrast_ratio("#ffffff", colour) >= 4.5, colour
    assert contrast_ratio(TEXT) >= 4.5
    assert contrast_ratio(MUTED) >= 4.5
    assert contrast_ratio(OUTLINE) >= 3


# --- bar chart ------------------------------------------------------------------------------


def test_bar_chart_draws_one_labelled_bar_per_item_with_values_through_fmt():
    items = [("Điều 1", 12), ("Điều 2", 3), ("Điều 3", 6)]
    root = check_common(
        bar_chart(items, chart_id="comments", title="Bình luận", description="Số bình luận theo điều", fmt=lambda v: f"≈{v}"),
        "comments", "Bình luận", "Số bình luận theo điều",
    )
    groups = by_class(root, "chart-item")
    assert [own_title(g) for g in groups] == ["Điều 1", "Điều 2", "Điều 3"]
    assert [t.text for g in groups for t in by_class(g, "chart-value")] == ["≈12", "≈3", "≈6"]
    widths = [float(g.find(f"{SVG}rect").get("width")) for g in groups]
    assert widths[0] > widths[2] > widths[1] > 0
    assert widths[2] / widths[0] == pytest.approx(0.5, abs=0.01)
    # the longest bar and its value fit in the viewBox
    value_x = float(by_class(groups[0], "chart-value")[0].get("x"))
    assert value_x < float(root.get("viewBox").split()[2])


def test_bar_chart_cuts_long_labels_and_keeps_the_full_label_in_the_title():
    long = "Một nhãn rất dài " * 8
    root = parse(bar_chart([(long, 5), ("ngắn", 1)], chart_id="c", title="t", description="d", max_label=20))
    group = by_class(root, "chart-item")[0]
    shown = group.find(f"{SVG}text").text
    assert len(shown) <= 20 and shown.endswith("…") and not shown.endswith(" …")
    assert long.strip().startswith(shown[:-1])
    assert own_title(group) == " ".join(long.split())
    short = by_class(root, "chart-item")[1]
    assert short.find(f"{SVG}text").text == "ngắn"


def test_vietnamese_text_is_kept_whole_and_composed():
    short = "Quyền và nghĩa vụ của công dân"
    items = [(unicodedata.normalize("NFD", label), 1) for label in (short, VIETNAMESE)]
    root = parse(bar_chart(items, chart_id="c", title=unicodedata.normalize("NFD", "Tiêu đề"), description="Mô tả"))
    whole, cut = by_class(root, "chart-item")
    assert whole.find(f"{SVG}text").text == short
    assert own_title(cut) == VIETNAMESE
    assert VIETNAMESE.startswith(cut.find(f"{SVG}text").text.removesuffix("…"))
    assert root.find(f"{SVG}title").text == "Tiêu đề"
    # A cut right after a letter that carries a (non-composable) mark drops the letter too.
    label = "a" * 9 + "x\u0303" + "yyyy"
    shown = by_class(parse(bar_chart([(label, 1)], chart_id="c", title="t", description="d", max_label=11)), "chart-item")[0][1].text
    assert shown == "a" * 9 + "…"


def test_bar_chart_treats_nan_and_negative_values_as_zero():
    root = parse(bar_chart([("a", math.nan), ("b", -5), ("c", 2.0)], chart_id="c", title="t", description="d"))
    groups = by_class(root, "chart-item")
    assert [by_class(g, "chart-value")[0].text for g in groups] == ["0", "0", "2"]
    assert [float(g.find(f"{SVG}rect").get("width")) for g in groups][:2] == [0, 0]


def test_a_single_item_fills_the_bar_space():
    root = parse(bar_chart([("only", 7)], chart_id="c", title="t", description="d"))
    assert float(by_class(root, "chart-item")[0].find(f"{SVG}rect").get("width")) > 200


# --- empty data -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "draw",
    [
        lambda: bar_chart([], chart_id="c", title="t", description="d"),
        lambda: bar_chart([("a", 0), ("b", 0.0)], chart_id="c", title="t", description="d"),
        lambda: bar_chart([("a", math.nan), ("b", -3)], chart_id="c", title="t", description="d"),
        lambda: stacked_bars([], STANCES, chart_id="c", title="t", description="d"),
        lambda: stacked_bars([("a", [0, 0, 0]), ("b", [])], STANCES, chart_id="c", title="t", description="d"),
        lambda: stacked_bars([("a", [1, 2, 3])], [], chart_id="c", title="t", description="d"),
        lambda: timeline([], chart_id="c", title="t", description="d"),
        lambda: timeline([(dt.date(2024, 1, 1), 0), (dt.date(2024, 3, 1), math.nan)], chart_id="c", title="t", description="d"),
        lambda: scatter([], ["A"], chart_id="c", title="t", description="d"),
        lambda: scatter([{"x": 0, "y": 0, "group": 2}, {"x": 0, "y": 0, "group": 0}], ["A"], chart_id="c", title="t", description="d"),
        lambda: scatter([{"x": 0, "y": 0, "group": 1}], [], chart_id="c", title="t", description="d"),
    ],
)
def test_nothing_to_draw_gives_none(draw):
    assert draw() is None


# --- escaping and ids -----------------------------------------------------------------------


def test_user_text_is_escaped_everywhere():
    day = dt.date(2024, 5, 1)
    outputs = [
        bar_chart([(EVIL, 1)], chart_id="a", title=EVIL, description=EVIL, fmt=lambda v: EVIL),
        stacked_bars([(EVIL, [1, 2])], [EVIL, "ok"], chart_id="b", title=EVIL, description=EVIL, fmt=lambda v: EVIL),
        timeline([(day, 3)], chart_id="c", title=EVIL, description=EVIL, fmt=lambda v: EVIL, date_fmt=lambda d: EVIL),
        scatter([{"x": 0, "y": 0, "group": 1}], [EVIL], chart_id="d", title=EVIL, description=EVIL),
    ]
    for output in outputs:
        text = str(output)
        assert "<script" not in text.lower()
        assert "&amp;lt;" not in text  # escaped once, not twice
        root = parse(output)
        assert not list(root.iter(f"{SVG}script"))
        assert root.find(f"{SVG}title").text == EVIL
        shown = [t for t in texts(root) if "script" in t] + [own_title(e) for e in root.iter() if e.find(f"{SVG}title") is not None]
        assert shown and all("<script>" in s for s in shown)


def test_markup_from_a_formatter_is_not_escaped_twice():
    root = parse(bar_chart([("a", 5)], chart_id="c", title="t", description="d", fmt=lambda v: Markup(f"{v}&nbsp;%")))
    assert by_class(root, "chart-value")[0].text == "5 %"


def test_control_characters_do_not_break_the_xml():
    root = parse(bar_chart([("a\x0b\x00b\nc", 1)], chart_id="c", title="t\x1f", description="d"))
    assert own_title(by_class(root, "chart-item")[0]) == "a b c"


@pytest.mark.parametrize(
    ("chart_id", "expected"),
    [("Bài viết #1 <x>", "b-i-vi-t-1-x"), ("stance_by-article", "stance-by-article"), ("2024", "chart-2024"), ("", "chart"), ('"><', "chart")],
)
def test_chart_ids_are_sanitised(chart_id, expected):
    root = parse(bar_chart([("a", 1)], chart_id=chart_id, title="t", description="d"))
    assert root.get("aria-labelledby") == f"{expected}-title {expected}-desc"


def test_output_is_deterministic():
    def draw():
        return (
            str(stacked_bars([("a", [1.5, 2, 3.25])], STANCES, chart_id="s", title="t", description="d"))
            + str(scatter([{"x": 0.123, "y": -0.456, "group": 2}], ["A", "B"], chart_id="p", title="t", description="d"))
        )

    assert draw() == draw()


# --- stacked bars ---------------------------------------------------------------------------


def test_stacked_bars_segments_legend_and_percentages():
    rows = [("Điều 1", [40, 12, 8]), ("Điều 2", [0, 0, 0]), ("Điều 3", [1, 1, 1]), ("Điều 4", [0, 5, 0])]
    root = check_common(
        stacked_bars(rows, STANCES, chart_id="stance", title="Quan điểm", description="Tỷ lệ", fmt=lambda v: f"#{v}"),
        "stance", "Quan điểm", "Tỷ lệ",
    )
    legend = by_class(root, "chart-legend-item")
    assert [t for item in legend for t in texts(item)] == STANCES
    bars = by_class(root, "chart-row")
    assert [own_title(b) for b in bars] == ["Điều 1", "Điều 2", "Điều 3", "Điều 4"]
    segments = [by_class(b, "chart-segment") for b in bars]
    assert [len(s) for s in segments] == [3, 0, 3, 1]
    # a row of zeros is an empty frame, not an error
    assert len([e for e in bars[1] if tag(e) == "rect"]) == 1

    usable = float(root.get("viewBox").split()[2]) - 4
    for row in segments:
        if row:
            assert sum(float(s.get("width")) for s in row) == pytest.approx(usable, abs=0.2)
            lefts = [float(s.get("x")) for s in row]
            rights = [float(s.get("x")) + float(s.get("width")) for s in row]
            assert lefts[1:] == pytest.approx(rights[:-1], abs=0.05)  # abutting, no gaps

    titles = [own_title(s) for s in segments[0]]
    assert titles == ["Ủng hộ: #40 (#67%)", "Phản đối: #12 (#20%)", "Đề nghị sửa đổi: #8 (#13%)"]
    # thirds are printed as whole numbers that still add up to 100
    percents = [int(re.search(r"\(#(\d+)%\)", own_title(s)).group(1)) for s in segments[2]]
    assert sorted(percents) == [33, 33, 34]
    assert own_title(segments[3][0]) == "Phản đối: #5 (#100%)"
    # the percentage is printed inside segments wide enough for it
    labels = [t for b in bars for label in by_class(b, "chart-segment-label") for t in texts(label)]
    assert "#67%" in labels and "#100%" in labels


def test_stacked_segments_are_told_apart_without_colour():
    root = parse(stacked_bars([("a", [1, 1, 1, 1, 1])], ["s1", "s2", "s3", "s4", "s5"], chart_id="c", title="t", description="d"))
    fills = [s.get("fill") for s in by_class(root, "chart-segment")]
    assert len(set(fills)) == 5
    patterns = {p.get("id"): p for p in root.iter(f"{SVG}pattern")}
    assert len(patterns) == 4  # the first series is solid, the others patterned
    drawings = {ET.tostring(p[1]) + (p.get("patternTransform") or "").encode() for p in patterns.values()}
    assert len(drawings) == 4  # each pattern its own marks, not only its own colour
    legend_fills = [item.find(f"{SVG}rect").get("fill") for item in by_class(root, "chart-legend-item")]
    assert legend_fills == fills


def test_stacked_bars_accept_ragged_rows_and_a_percent_formatter():
    root = parse(
        stacked_bars(
            [("a", [3]), ("b", [1, 1, 1, 99])], ["x", "y"], chart_id="c", title="t", description="d",
            percent_fmt=lambda p: f"{p} %",
        )
    )
    assert [own_title(s) for s in by_class(root, "chart-segment")] == ["x: 3 (100 %)", "x: 1 (50 %)", "y: 1 (50 %)"]


def test_long_legends_wrap_inside_the_width():
    names = [f"Nhóm ý kiến số {i} với tên khá dài" for i in range(6)]
    root = parse(stacked_bars([("a", [1] * 6)], names, chart_id="c", title="t", description="d"))
    width = float(root.get("viewBox").split()[2])
    rows = {item.find(f"{SVG}text").get("y") for item in by_class(root, "chart-legend-item")}
    assert len(rows) > 1
    for item in by_class(root, "chart-legend-item"):
        assert float(item.find(f"{SVG}rect").get("x")) < width


# --- timeline -------------------------------------------------------------------------------


def test_timeline_fills_missing_days_and_draws_round_ticks():
    start = dt.date(2024, 3, 1)
    points = [(start, 3), (start + dt.timedelta(days=4), 17), (start + dt.timedelta(days=4), 4)]
    columns, weekly = timeline_series(points)
    assert not weekly
    assert [c[2] for c in columns] == [3, 0, 0, 0, 21]
    assert [c[0] for c in columns] == [start + dt.timedelta(days=i) for i in range(5)]

    root = check_common(
        timeline(points, chart_id="days", title="Theo ngày", description="Mỗi ngày", fmt=lambda v: f"[{v}]", date_fmt=lambda d: d.strftime("%d/%m")),
        "days", "Theo ngày", "Mỗi ngày",
    )
    drawn = by_class(root, "chart-column")
    assert [own_title(c) for c in drawn] == ["01/03: [3]", "05/03: [21]"]
    tick_labels = [t for t in texts(root) if t.startswith("[")]
    ticks = [int(t.strip("[]")) for t in tick_labels]
    assert ticks[0] == 0 and ticks[-1] >= 21 and len(ticks) >= 3
    step = ticks[1]
    assert all(b - a == step for a, b in zip(ticks, ticks[1:]))
    assert re.fullmatch(r"[125]0*", str(step))
    dates = [t.text for t in by_class(root, "chart-date")]
    assert dates[0] == "01/03" and dates[-1] == "05/03" and 2 <= len(dates) <= 5
    heights = [float(c.get("height")) for c in drawn]
    assert heights[1] / heights[0] == pytest.approx(7, rel=0.02)


def test_timeline_of_one_day():
    root = parse(timeline([(dt.datetime(2024, 3, 1, 15, 30), 2)], chart_id="c", title="t", description="d"))
    assert [own_title(c) for c in by_class(root, "chart-column")] == ["2024-03-01: 2"]
    assert [t.text for t in by_class(root, "chart-date")] == ["2024-03-01"]
    # counts get whole-number ticks, not "0.5"
    assert [t for t in texts(root) if t not in ("2024-03-01",)] == ["0", "1", "2"]


def test_long_timelines_are_drawn_in_weeks_and_say_so():
    start = dt.date(2024, 1, 3)  # a Wednesday
    days = WEEKLY_AFTER_DAYS + 80
    points = [(start + dt.timedelta(days=i), 1) for i in range(days)]
    columns, weekly = timeline_series(points)
    assert weekly
    assert sum(c[2] for c in columns) == days
    assert columns[0][0] == start and columns[0][2] == 5  # Wednesday to Sunday
    assert all(c[0].weekday() == 0 for c in columns[1:])
    assert all(c[2] == 7 for c in columns[1:-1])
    assert len(columns) == math.ceil((days + 2) / 7)

    root = check_common(
        timeline(points, chart_id="weeks", title="t", description="Bình luận.", weekly_note="Mỗi cột là một tuần."),
        "weeks", "t", "Bình luận. Mỗi cột là một tuần.",
    )
    drawn = by_class(root, "chart-column")
    assert len(drawn) == len(columns)
    assert own_title(drawn[0]) == "2024-01-03 – 2024-01-07: 5"
    assert len(by_class(root, "chart-date")) <= 5


def test_a_short_timeline_keeps_its_description():
    points = [(dt.date(2024, 1, 1), 1), (dt.date(2024, 1, 1) + dt.timedelta(days=WEEKLY_AFTER_DAYS - 1), 1)]
    assert not timeline_series(points)[1]
    root = parse(timeline(points, chart_id="c", title="t", description="d", weekly_note="WEEKS"))
    assert root.find(f"{SVG}desc").text == "d"
    assert len(by_class(root, "chart-column")) == 2


def test_fractional_values_get_fractional_ticks():
    root = parse(timeline([(dt.date(2024, 1, 1), 0.3), (dt.date(2024, 1, 2), 0.1)], chart_id="c", title="t", description="d"))
    tick_labels = [t for t in texts(root) if not t.startswith("2024")]
    assert tick_labels[0] == "0" and float(tick_labels[-1]) >= 0.3
    assert all(len(t) <= 4 for t in tick_labels)  # no 0.30000000000000004


# --- scatter --------------------------------------------------------------------------------


def shape_of(path: ET.Element) -> str:
    """A marker's drawing commands without its position: the same shape gives the same string."""
    first = re.split(r"(?=M)", path.get("d"))[1]
    return re.sub(r"^M[-\d.]+ [-\d.]+", "", first)


def test_scatter_groups_have_their_own_colour_shape_and_legend():
    groups = ["Nhóm A", "Nhóm B", "Nhóm C", "Nhóm D", "Nhóm E", "Nhóm F", "Nhóm G"]
    points = [{"x": (i % 7) / 7 - 0.5, "y": 0.1 * (i % 3), "group": i % 7 + 1} for i in range(70)]
    root = check_common(scatter(points, groups, chart_id="map", title="Bản đồ", description="Nhóm"), "map", "Bản đồ", "Nhóm")
    paths = by_class(root, "chart-points")
    assert [own_title(p) for p in paths] == groups
    assert [p.get("d").count("M") for p in paths] == [10] * 7
    assert len({p.get("fill") for p in paths}) == 7
    assert len({shape_of(p) for p in paths}) == 7
    legend = by_class(root, "chart-legend-item")
    assert [texts(item)[0] for item in legend] == groups
    assert [shape_of(item.find(f"{SVG}path")) for item in legend] == [shape_of(p) for p in paths]
    assert [item.find(f"{SVG}path").get("fill") for item in legend] == [p.get("fill") for p in paths]


def test_scatter_places_points_and_skips_bad_ones():
    points = [
        {"x": -1, "y": 1, "group": 1},  # top left
        {"x": 1, "y": -1, "group": 1},  # bottom right
        {"x": math.nan, "y": 5, "group": 1},  # NaN is 0, 5 is pulled to the edge
        {"x": 0, "y": 0, "group": 3},
        {"x": 0, "y": 0, "group": "1"},
        {"x": 0, "y": 0, "group": 1.5},
        {"x": None, "y": 0, "group": 1},
        {"y": 0, "group": 1},
        "not a point",
    ]
    root = parse(scatter(points, ["A", "B"], chart_id="c", title="t", description="d"))
    (path,) = by_class(root, "chart-points")
    starts = [tuple(float(v) for v in m) for m in re.findall(r"M([-\d.]+) ([-\d.]+)", path.get("d"))]
    assert len(starts) == 3
    (x1, y1), (x2, y2), (x3, y3) = starts
    assert x1 < x3 < x2 and y1 < y2 and y3 == pytest.approx(y1)
    width = float(root.get("viewBox").split()[2])
    assert 0 < x1 and x2 + 8 < width


def test_two_thousand_points_stay_small():
    points = [{"x": math.sin(i) * 0.9, "y": math.cos(i * 1.7) * 0.9, "group": i % 4 + 1} for i in range(2000)]
    output = scatter(points, ["A", "B", "C", "D"], chart_id="c", title="t", description="d")
    root = parse(output)
    assert sum(p.get("d").count("M") for p in by_class(root, "chart-points")) == 2000
    assert len(str(output)) < 100_000
    numbers = re.findall(r"-?\d+(?:\.\d+)?", " ".join(p.get("d") for p in by_class(root, "chart-points")))
    assert all(len(n.partition(".")[2]) <= 1 for n in numbers)
