"""The screening of one new comment: the text rules, the author's recent history, the campaign look-up,
then one outcome: publish, hold for a moderator with the signals (personal data with a suggested
redaction: its spans), or wait for approval under pre-moderation.

Idempotent (a second run finds the comment screened and stops) and bounded: it reads the comment, the
author's last few comments and the fingerprints sharing a band key, never the whole consultation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from consult import review_queries, reviewing
from consult.settings import Settings
from moderation.rules import Signal, SignalKind
from moderation.rules.abuse import find_abuse
from moderation.rules.personal_data import find_personal_data
from moderation.rules.spam import find_spam

VELOCITY_WINDOW = timedelta(minutes=10)
REPEAT_WINDOW = timedelta(days=1)
HOLDING_KINDS = {SignalKind.ABUSE.value, SignalKind.SPAM.value, SignalKind.PERSONAL_DATA.value}
# Writing in capitals is how some people type, not a reason to keep an opinion from the public: recorded only.
RECORDED_ONLY = {"spam.shouting"}


def screen_text(text: str) -> list[Signal]:
    """Every text rule over one text."""
    return [*find_abuse(text), *find_spam(text), *find_personal_data(text)]


def _tagged(signal: Signal, field: str) -> dict[str, Any]:
    return {**signal.as_json(), "field": field}


async def screen(settings: Settings, comment_id: int) -> str:
    subject = await review_queries.screening_subject(comment_id)
    if subject is None:
        return "skipped"
    signals = [_tagged(s, "body") for s in screen_text(subject["body"])]
    if subject["proposed_wording"]:
        signals += [_tagged(s, "proposed_wording") for s in screen_text(subject["proposed_wording"])]
    hold = any(
        s["score"] >= settings.screening_hold_score and s["kind"] in HOLDING_KINDS and s["rule"] not in RECORDED_ONLY for s in signals
    )

    history = await review_queries.author_recent(subject, VELOCITY_WINDOW, REPEAT_WINDOW)
    if history["repeats"]:
        # The same text again from the same account: an accident at best, flooding at worst.
        signals.append({"kind": "spam", "rule": "spam.repeated_post", "score": min(1.0, 0.6 + 0.2 * history["repeats"]),
                        "spans": [[0, len(subject["body"])]], "field": "body", "count": history["repeats"]})
        hold = True
    if history["recent"] >= settings.screening_velocity_limit:
        signals.append({"kind": "spam", "rule": "spam.velocity", "score": 1.0, "spans": [], "field": "body",
                        "count": history["recent"]})
        hold = True

    match = await reviewing.join_campaign(comment_id, subject["consultation_id"], subject["body"], subject["created_at"])
    if match is not None:
        held_for_campaign = match.size >= settings.campaign_hold_size
        signals.append({"kind": "campaign", "rule": "campaign.near_duplicate", "score": 1.0 if held_for_campaign else 0.5,
                        "spans": [[0, len(subject["body"])]], "field": "body", "campaign": match.campaign_id, "size": match.size})
        hold = hold or held_for_campaign
    return await reviewing.record_screening(comment_id, signals, hold=hold, premoderated=subject["premoderated"])
