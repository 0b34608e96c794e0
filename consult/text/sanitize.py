"""Sanitizing user text on the way in. The only module that imports bleach.

Stored HTML is produced here from Markdown and cleaned against a short allow-list, so it is the one
thing templates may mark safe; everything else is plain text and autoescaped on the way out.
"""

from __future__ import annotations

import re
import unicodedata

import bleach
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "h3", "h4", "h5", "a", "hr",
     "table", "thead", "tbody", "tr", "th", "td"}
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "th": ["align"], "td": ["align"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
# Control characters other than tab and newline, and the invisible characters used to disguise text.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def plain_text(value: str | None) -> str:
    """User text as stored: NFC-normalised (Vietnamese has two encodings of its diacritics), without
    control or invisible characters, with Windows line ends made plain, trimmed."""
    text = unicodedata.normalize("NFC", value or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _INVISIBLE.sub("", text).strip()


def clean_html(html: str) -> str:
    """HTML reduced to the allow-list; links get rel=nofollow and anything else is dropped."""
    cleaned = bleach.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS, strip=True)
    return bleach.linkify(cleaned, callbacks=[_nofollow], skip_tags={"pre", "code"}, parse_email=False)


def _nofollow(attrs, new=False):
    attrs[(None, "rel")] = "nofollow noopener"
    return attrs


def markdown_to_html(text: str) -> str:
    """Markdown written by officials (raw HTML in it is shown as text), rendered and sanitized."""
    return clean_html(_markdown.render(plain_text(text)))


def comment_text(value: str | None) -> str:
    """A citizen's comment as stored: plain text with any markup removed (comments are shown as
    text, so tags would only be noise), blank lines collapsed."""
    text = plain_text(value)
    if "<" in text:  # markup needs a tag's "<"; bleach (an HTML parser, ~1 ms a comment) runs only then
        text = plain_text(bleach.clean(text, tags=set(), strip=True, strip_comments=True))
        # bleach escapes what it keeps; the text is escaped again on the way out, so undo it here.
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"\n{3,}", "\n\n", text)
