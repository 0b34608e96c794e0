"""Replacing parts of a text by a visible marker: personal data a moderator removes before publishing."""

from __future__ import annotations

from typing import Iterable

MARKER = "[…]"


def merge_spans(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, overlapping or touching spans joined."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((a, b) for a, b in merged)


def redact(text: str, spans: Iterable[tuple[int, int]], marker: str = MARKER) -> str:
    """The text with each span (merged first when they overlap or touch, cut to the text) replaced by marker."""
    pieces = []
    position = 0
    for start, end in merge_spans((max(0, a), min(len(text), b)) for a, b in spans if b > a):
        if start < position:
            continue
        pieces.append(text[position:start])
        pieces.append(marker)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)
