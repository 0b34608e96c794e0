"""The sanitizer: Markdown in, allow-listed HTML out; plain text normalised."""

import re
import unicodedata
from html.parser import HTMLParser

import pytest

from consult.text.sanitize import ALLOWED_TAGS, clean_html, markdown_to_html, plain_text

DANGEROUS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    '<svg onload="alert(1)">',
    "<iframe src=//evil.example></iframe>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
]


class Elements(HTMLParser):
    """The elements and attributes a browser would build from the HTML (escaped text is just text)."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", DANGEROUS)
def test_nothing_executable_survives(payload):
    for html in (markdown_to_html(payload), clean_html(payload)):
        for tag, attrs in Elements(html).found:
            assert tag in ALLOWED_TAGS, html
            assert set(attrs) <= {"href", "title", "rel", "align"}, html
            href = (attrs.get("href") or "https:").strip().lower()
            assert href.split(":", 1)[0] in ("http", "https", "mailto") or not re.match(r"^[a-z][a-z0-9+.-]*:", href), html


def test_markdown_keeps_structure_and_marks_links():
    html = markdown_to_html("**Điều 1.** Phạm vi\n\n- khoản 1\n- khoản 2\n\n[Cổng](https://chinhphu.vn)")
    assert "<strong>Điều 1.</strong>" in html
    assert "<li>khoản 1</li>" in html
    assert '<a href="https://chinhphu.vn" rel="nofollow noopener">Cổng</a>' in html


def test_plain_text_is_nfc_without_invisible_characters():
    decomposed = unicodedata.normalize("NFD", "Tiếng Việt")
    assert plain_text(f"  {decomposed}\u200b\r\n") == "Tiếng Việt"
    assert plain_text("a\x00b\u202ec") == "abc"
    assert plain_text(None) == ""
