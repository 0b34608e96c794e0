"""Screening rules: small pure functions over a comment's text.

Each rule returns ``Signal``s: what it found, how sure it is (0-1) and the character spans of the original text
that triggered it, so a moderator sees exactly why a comment was held. Rules never touch the database; what needs
the author's history (repeats, velocity) or other comments (campaigns) is decided in ``moderation.screening``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from consult.text.redaction import merge_spans  # noqa: F401  (the rules' helper, shared with redaction)


class SignalKind(str, Enum):
    ABUSE = "abuse"
    SPAM = "spam"
    PERSONAL_DATA = "personal_data"
    CAMPAIGN = "campaign"


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    # What exactly matched, a stable machine name such as "abuse.word", "spam.link", "pii.phone".
    rule: str
    score: float
    # Half-open [start, end) offsets into the ORIGINAL text (Python str indices), sorted, not overlapping.
    spans: tuple[tuple[int, int], ...] = field(default_factory=tuple)

    def as_json(self) -> dict:
        return {"kind": self.kind.value, "rule": self.rule, "score": round(self.score, 3),
                "spans": [list(span) for span in self.spans]}

    @classmethod
    def from_json(cls, data: dict) -> "Signal":
        return cls(SignalKind(data["kind"]), data["rule"], float(data["score"]),
                   tuple((int(a), int(b)) for a, b in data.get("spans", ())))
