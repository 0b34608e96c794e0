"""A comment's text cut into plain and matched parts, so a moderator sees exactly what the screening
found. The template marks the matched parts up; the text itself stays autoescaped."""

from __future__ import annotations

from typing import Any, NamedTuple

# Whole-text signals (a campaign, a repeated post) say nothing about a part of it: not highlighted.
WHOLE_TEXT_RULES = {"campaign.near_duplicate", "spam.repeated_post"}


class Part(NamedTuple):
    text: str
    kinds: tuple[str, ...]  # the signal kinds that matched this part; empty for plain text


def highlighted(text: str, signals: list[dict[str, Any]], field: str) -> list[Part]:
    spans = [
        (max(0, a), min(len(text), b), s["kind"])
        for s in signals if s.get("field", "body") == field and s["rule"] not in WHOLE_TEXT_RULES
        for a, b in s["spans"] if a < b
    ]
    if not text:
        return []
    cuts = sorted({0, len(text), *(a for a, _, _ in spans), *(b for _, b, _ in spans)})
    parts: list[Part] = []
    for start, end in zip(cuts, cuts[1:]):
        kinds = tuple(sorted({kind for a, b, kind in spans if a <= start and end <= b}))
        if parts and parts[-1].kinds == kinds:
            parts[-1] = Part(parts[-1].text + text[start:end], kinds)
        else:
            parts.append(Part(text[start:end], kinds))
    return parts
