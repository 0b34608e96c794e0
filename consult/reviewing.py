"""What moderation does to content: record the screening's outcome, group near-identical comments into
campaigns, moderators' decisions (one at a time or in bulk), authors' appeals, redaction and its retention.

The moderation package decides (rules, the queue pages, jobs); it changes comments only through these
functions. Same shape as consult.services: validate, check permission, one transaction, mail after commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable, NamedTuple

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from consult import db, i18n, mail
from consult.queries import MAX_ID, _Params, load_principal
from consult.i18n import gettext as _
from consult.models import (
    Account,
    AppealState,
    AuditEntry,
    BulkDecision,
    Campaign,
    Comment,
    CommentFingerprint,
    CommentStatus,
    DecisionReason,
    FingerprintBand,
    Flag,
    RedactedOriginal,
    ReviewReason,
)
from consult.permissions import Principal, can_decide_on, can_moderate
from consult.queue import enqueue
from consult.services import PermissionDenied, ServiceError, Validator, _audit, now, send_queued
from consult.settings import Settings
from consult.text import fingerprint
from consult.text.redaction import MARKER as REDACTION_MARKER, redact  # noqa: F401  (the marker, for callers of decide)
from consult.text.sanitize import plain_text

NOTE_MAX = 1000
APPEAL_MAX = 2000
BULK_JOB = "bulk_decide"
BULK_BATCH = 100
# Candidates read for one comment's campaign look-up: band keys are selective, this only bounds a
# pathological consultation where one text is posted tens of thousands of times.
CAMPAIGN_CANDIDATES = 400

ACTIONS = ("approve", "reject", "redact", "hide")
REASON_LABELS = {
    DecisionReason.ABUSE: i18n.lazy("Abusive or offensive language"),
    DecisionReason.SPAM: i18n.lazy("Spam or advertising"),
    DecisionReason.PERSONAL_DATA: i18n.lazy("Personal data that must not be published"),
    DecisionReason.OFF_TOPIC: i18n.lazy("Not about this consultation"),
    DecisionReason.DUPLICATE: i18n.lazy("A duplicate of another comment"),
    DecisionReason.ILLEGAL: i18n.lazy("Illegal content"),
    DecisionReason.OTHER: i18n.lazy("Another reason (see the note)"),
}
# Reasons recorded by the platform itself rather than chosen by a moderator.
SYSTEM_REASON_LABELS = {"flagged": i18n.lazy("Reported by several people; waiting for a moderator")}


def reason_label(code: str | None) -> str:
    if not code:
        return ""
    try:
        return _(REASON_LABELS[DecisionReason(code)])
    except ValueError:
        label = SYSTEM_REASON_LABELS.get(code)
        return _(label) if label else code


# --- screening ------------------------------------------------------------------------------------


class CampaignMatch(NamedTuple):
    campaign_id: int
    size: int


async def join_campaign(comment_id: int, consultation_id: int, text: str, when: datetime) -> CampaignMatch | None:
    """Fingerprint a comment and group it with the earlier comments of its consultation it nearly repeats,
    by the algorithm of consult.text.fingerprint (which bench/evaluate_campaigns.py measures on real dockets):
    candidates from a bounded, indexed look-up per LSH band key, never a scan; a match in one group joins
    it, matches in several merge them into the oldest. A second run for the same comment changes nothing."""
    if await CommentFingerprint.exists(comment_id=comment_id):
        return await _current_campaign(comment_id)
    signature = fingerprint.fingerprint(text)
    if signature is None:  # too short to be a form letter
        return None
    keys = sorted(set(fingerprint.band_keys(signature)))
    candidates = await _candidates(consultation_id, comment_id, keys)
    # A comment not yet in a campaign is a group of its own: keyed apart from campaigns, older ones first.
    groups = [((row["campaign_id"] or 0, row["comment_id"]), fingerprint.from_bytes(bytes(row["signature"]))) for row in candidates]
    matched = _matched_groups(signature, groups)
    async with in_transaction():
        await CommentFingerprint.create(comment_id=comment_id, signature=fingerprint.to_bytes(signature))
        await FingerprintBand.bulk_create(
            [FingerprintBand(consultation_id=consultation_id, key=key, comment_id=comment_id) for key in keys]
        )
        if not matched:
            return None
        campaign_ids = sorted({campaign for campaign, _ in matched if campaign})
        singles = sorted({comment for campaign, comment in matched if not campaign})
        if campaign_ids:
            target = campaign_ids[0]  # the oldest campaign; the others are the same letter drifting by edits
            if campaign_ids[1:]:
                await Comment.filter(campaign_id__in=campaign_ids[1:]).update(campaign_id=target)
                first = await Campaign.filter(id__in=campaign_ids).order_by("first_seen").limit(1).values_list("first_seen", flat=True)
                await Campaign.filter(id=target).update(first_seen=first[0])
                await Campaign.filter(id__in=campaign_ids[1:]).delete()
        else:
            first_seen = await Comment.filter(id=singles[0]).values_list("created_at", flat=True)
            target = (await Campaign.create(consultation_id=consultation_id, size=1, first_seen=first_seen[0], last_seen=when)).id
        # Singles join unless another worker grouped them meanwhile (then they stay in that group).
        joined = await Comment.filter(id__in=[*singles, comment_id], campaign_id=None).update(campaign_id=target)
        if len(campaign_ids) == 1 and not singles:
            # The common case, one more copy of a known letter: no need to count the whole campaign.
            await Campaign.filter(id=target).update(size=F("size") + joined, last_seen=when)
            size = (await Campaign.filter(id=target).values_list("size", flat=True))[0]
        else:
            size = await Comment.filter(campaign_id=target).count()
            await Campaign.filter(id=target).update(size=size, last_seen=when)
    return CampaignMatch(target, size)


async def _current_campaign(comment_id: int) -> CampaignMatch | None:
    rows = await Comment.filter(id=comment_id, campaign_id__not_isnull=True).values("campaign_id", "campaign__size")
    return CampaignMatch(rows[0]["campaign_id"], rows[0]["campaign__size"]) if rows else None


async def _candidates(consultation_id: int, comment_id: int, keys: list[int]) -> list[dict[str, Any]]:
    """The earlier comments sharing band keys with this one: per key only the most recent few (one short
    index range each, so a campaign of ten thousand copies costs what one of ten does), then the ones
    sharing the most keys, with their signatures and campaigns."""
    p = _Params()
    parts = [
        f"SELECT * FROM (SELECT comment_id FROM fingerprint_band WHERE consultation_id = {p(consultation_id)} AND key = {p(key)} "
        f"AND comment_id < {p(comment_id)} ORDER BY comment_id DESC LIMIT {fingerprint.PER_KEY_LIMIT}) AS k{n}"
        for n, key in enumerate(keys)
    ]
    shared: dict[int, int] = {}
    for row in await db.fetch(" UNION ALL ".join(parts), *p.values):
        shared[row["comment_id"]] = shared.get(row["comment_id"], 0) + 1
    best = sorted(shared, key=lambda c: (-shared[c], -c))[: fingerprint.MAX_CANDIDATES]
    if not best:
        return []
    p = _Params()
    return await db.fetch(
        "SELECT f.comment_id, f.signature, c.campaign_id FROM comment_fingerprint f JOIN comment c ON c.id = f.comment_id "
        f"WHERE f.comment_id IN ({', '.join(p(c) for c in best)})",
        *p.values,
    )


def _matched_groups(signature: Any, groups: list[tuple[tuple[int, int], Any]]) -> list[tuple[int, int]]:
    """The (campaign id or 0, comment id) of every candidate at or above the threshold."""
    if not groups:
        return []
    scores = fingerprint.similarities(signature, [sig for _, sig in groups])
    return [group for (group, _), score in zip(groups, scores) if score >= fingerprint.THRESHOLD]


async def record_screening(comment_id: int, signals: list[dict[str, Any]], *, hold: bool, premoderated: bool) -> str:
    """The screening's outcome for a pending, unscreened comment: published, held with its signals, or
    waiting for a moderator under pre-moderation. Returns what happened ("skipped" on a second run)."""
    moment = now()
    pending = Comment.filter(id=comment_id, status=CommentStatus.PENDING, screened_at=None)
    if hold or premoderated:
        reason = ReviewReason.SCREENING if hold else ReviewReason.PREMODERATION
        top = max(signals, key=lambda s: s["score"])["kind"] if signals else None
        changed = await pending.update(
            screened_at=moment, signals=signals or None, top_signal=top, review=reason, review_since=moment
        )
        return ("held" if hold else "premoderation") if changed else "skipped"
    changed = await pending.update(
        status=CommentStatus.PUBLISHED, screened_at=moment, published_at=moment, signals=signals or None
    )
    return "published" if changed else "skipped"


# --- decisions -------------------------------------------------------------------------------------


class Decision(NamedTuple):
    comment_id: int
    status: CommentStatus
    action: str


def _check_decision(v: Validator, action: str, reason_code: str, note: str) -> tuple[DecisionReason | None, str]:
    if action not in ACTIONS:
        raise ServiceError({"": _("Choose a decision: approve, reject, redact or hide")})
    note = plain_text(note or "")
    if len(note) > NOTE_MAX:
        v.fail("note", _("Write %(max)s characters or fewer (you wrote %(count)s)", max=NOTE_MAX, count=len(note)))
    reason = None
    if action in ("reject", "hide"):
        try:
            reason = DecisionReason(reason_code)
        except ValueError:
            v.fail("reason", _("Choose a reason from the list"))
        if reason is DecisionReason.OTHER and not note:
            v.fail("note", _("Say what the other reason is; the author will read it"))
    elif action == "redact":
        reason = DecisionReason.PERSONAL_DATA
    return reason, note


def _spans_of(text: str, phrases: Iterable[str]) -> list[tuple[int, int]]:
    spans = []
    for phrase in phrases:
        phrase = phrase.strip()
        if not phrase:
            continue
        start = text.find(phrase)
        while start != -1:
            spans.append((start, start + len(phrase)))
            start = text.find(phrase, start + len(phrase))
    return spans


COMMENT_FIELDS = (
    "id", "status", "review", "review_since", "created_at", "published_at", "author_id", "body", "proposed_wording",
    "moderation_version", "decided_by_id", "appeal_state", "consultation_id", "consultation__agency_id",
    "consultation__title", "consultation__slug", "author__email", "author__language", "author__display_name",
)


async def _load(comment_id: int) -> dict[str, Any] | None:
    if not 0 < comment_id < MAX_ID:
        return None
    rows = await Comment.filter(id=comment_id).values(*COMMENT_FIELDS)
    return rows[0] if rows else None


def _refuse_stale(comment: dict[str, Any], version: int | None) -> None:
    if version is not None and version != comment["moderation_version"]:
        raise ServiceError({"": _("Another moderator decided on this comment a moment ago; here is where it stands now")}, 409)


def _new_state(comment: dict[str, Any], action: str) -> dict[str, Any]:
    """The comment's fields after the decision, or a refusal when the decision does not apply to it."""
    status, review = comment["status"], comment["review"]
    appeal = review is ReviewReason.APPEAL
    if action == "approve":
        if review is None:
            raise ServiceError({"": _("This comment is not waiting for a decision")}, 409)
        changes: dict[str, Any] = {"status": CommentStatus.PUBLISHED, "reason_code": None}
        if comment["published_at"] is None:
            changes["published_at"] = now()
        if appeal:
            changes["appeal_state"] = AppealState.OVERTURNED
        return changes
    if action == "reject":
        if review is None:
            raise ServiceError({"": _("This comment is not waiting for a decision; hide it if it must come down")}, 409)
        if appeal:
            return {"appeal_state": AppealState.UPHELD}
        # Once public, a rejected comment is hidden; never shown, it is rejected.
        was_public = status in (CommentStatus.PUBLISHED, CommentStatus.HIDDEN) and comment["published_at"] is not None
        return {"status": CommentStatus.HIDDEN if was_public else CommentStatus.REJECTED}
    if action == "hide":
        if status is not CommentStatus.PUBLISHED:
            raise ServiceError({"": _("Only a published comment can be hidden")}, 409)
        return {"status": CommentStatus.HIDDEN}
    # redact
    if status in (CommentStatus.WITHDRAWN,) or (status is CommentStatus.REJECTED and not appeal):
        raise ServiceError({"": _("This comment is not shown, so there is nothing to redact")}, 409)
    changes = {"status": CommentStatus.PUBLISHED, "redacted_at": now()}
    if comment["published_at"] is None:
        changes["published_at"] = now()
    if appeal:
        changes["appeal_state"] = AppealState.OVERTURNED
    return changes


async def _apply(
    actor: Principal,
    settings: Settings,
    comment: dict[str, Any],
    action: str,
    reason: DecisionReason | None,
    note: str,
    *,
    redaction: tuple[str, str | None] | None = None,
    bulk_id: int | None = None,
) -> tuple[Decision, list[int]]:
    """Apply one checked decision in the caller's transaction; returns it and the outbox ids to send."""
    if not can_decide_on(actor, comment["consultation__agency_id"], comment["author_id"]):
        if comment["author_id"] == actor.id:
            raise ServiceError({"": _("You cannot decide on your own comment; another moderator will")}, 403)
        raise PermissionDenied()
    if comment["review"] is ReviewReason.APPEAL and comment["decided_by_id"] == actor.id:
        raise ServiceError({"": _("You made the first decision on this comment; a different moderator decides on the appeal")}, 403)
    changes = _new_state(comment, action)
    moment = now()
    entered = comment["review_since"] or comment["created_at"]
    if isinstance(entered, str):
        entered = datetime.fromisoformat(entered)
    if reason is not None and action != "approve" and not (comment["review"] is ReviewReason.APPEAL and action == "reject"):
        changes["reason_code"] = reason.value
    if redaction is not None:
        changes["body"], changes["proposed_wording"] = redaction
    changes.update(
        review=None, review_since=None, decided_by_id=actor.id, decided_at=moment, decision_note=note or None,
        decision_seconds=max(0, int((moment - entered).total_seconds())) if entered else None,
        moderation_version=comment["moderation_version"] + 1,
    )
    updated = await Comment.filter(id=comment["id"], moderation_version=comment["moderation_version"]).update(**changes)
    if not updated:
        raise ServiceError({"": _("Another moderator decided on this comment a moment ago; here is where it stands now")}, 409)
    await Flag.filter(comment_id=comment["id"], resolved_at=None).update(resolved_at=moment)
    detail: dict[str, Any] = {"reason": reason.value if reason else None, "note": note, "from": comment["status"].value,
                              "to": changes.get("status", comment["status"]).value,
                              "review": comment["review"].value if comment["review"] else None}
    if bulk_id:
        detail["bulk"] = bulk_id
    if redaction is not None:
        detail["after"] = redaction[0]
        if redaction[1]:
            detail["after_wording"] = redaction[1]
    entry = await AuditEntry.create(
        actor_id=actor.id, action=f"comment.{action}", target_type="comment", target_id=str(comment["id"]), detail=detail
    )
    if redaction is not None:
        await RedactedOriginal.create(
            audit_entry=entry, body=comment["body"], proposed_wording=comment["proposed_wording"],
            erase_after=moment + timedelta(days=settings.redaction_retention_days),
        )
    outbox = await _tell_author(settings, comment, action, changes, reason, note)
    return Decision(comment["id"], changes.get("status", comment["status"]), action), outbox


async def _tell_author(
    settings: Settings, comment: dict[str, Any], action: str, changes: dict[str, Any], reason: DecisionReason | None, note: str
) -> list[int]:
    """The author hears of every decision that changes what they see, in their language."""
    if not comment["author__email"]:
        return []
    appeal = comment["review"] is ReviewReason.APPEAL
    if appeal:
        outcome = "overturned" if changes.get("appeal_state") is AppealState.OVERTURNED else "upheld"
    elif action in ("reject", "hide", "redact"):
        outcome = action if action != "reject" else changes["status"].value
    else:
        return []
    code = reason.value if reason else None
    outbox = await mail.queue_mail(
        comment["author__email"], "comment_decision", comment["author__language"] or settings.default_language,
        {
            "site": settings.site_name,
            "name": comment["author__display_name"],
            "title": comment["consultation__title"],
            "outcome": outcome,
            # Called while the mail renders, so the reason is written in the author's language.
            "reason": lambda: reason_label(code),
            "note": note,
            "link": f"{settings.base_url.rstrip('/')}/account/participation",
        },
    )
    return [outbox.id]


async def decide(
    actor: Principal | None,
    settings: Settings,
    comment_id: int,
    *,
    action: str,
    version: int | None,
    reason_code: str = "",
    note: str = "",
    redact_spans: Iterable[tuple[str, int, int]] = (),
    redact_phrases: Iterable[str] = (),
) -> Decision:
    """One moderator's decision on one comment. ``version`` is the moderation version the moderator saw:
    of two decisions made at once on it, the first wins and the second is told."""
    if not can_moderate(actor):
        raise PermissionDenied()
    v = Validator({})
    reason, note = _check_decision(v, action, reason_code, note)
    comment = await _load(comment_id)
    if comment is None:
        raise ServiceError({"": _("This comment does not exist")}, 404)
    redaction = None
    if action == "redact":
        redaction = _redaction(v, comment, redact_spans, redact_phrases)
    v.raise_if_any()
    _refuse_stale(comment, version)
    async with in_transaction():
        decision, outbox = await _apply(actor, settings, comment, action, reason, note, redaction=redaction)
    await send_queued(outbox)
    return decision


def _redaction(v: Validator, comment: dict[str, Any], spans: Iterable[tuple[str, int, int]], phrases: Iterable[str]) -> tuple[str, str | None] | None:
    body, wording = comment["body"], comment["proposed_wording"]
    phrases = list(phrases)
    chosen = {"body": _spans_of(body, phrases), "proposed_wording": _spans_of(wording or "", phrases)}
    for field, start, end in spans:
        if field in chosen:
            chosen[field].append((start, end))
    if not chosen["body"] and not chosen["proposed_wording"]:
        v.fail("spans", _("Choose the parts to remove, or type text that appears in the comment"))
        return None
    new_body = redact(body, chosen["body"])
    new_wording = redact(wording, chosen["proposed_wording"]) if wording else wording
    return new_body, new_wording


# --- bulk decisions --------------------------------------------------------------------------------


async def start_bulk(
    actor: Principal | None,
    *,
    action: str,
    reason_code: str = "",
    note: str = "",
    comment_ids: Iterable[int] = (),
    campaign_id: int | None = None,
) -> BulkDecision:
    """One decision for a selection or for every comment of a campaign that waits for one. It runs as a
    job in batches (thousands of comments do not fit one request); its progress is on its own page."""
    if not can_moderate(actor):
        raise PermissionDenied()
    v = Validator({})
    if action not in ("approve", "reject", "hide"):
        raise ServiceError({"": _("Choose a decision for the selected comments: approve, reject or hide")})
    reason, note = _check_decision(v, action, reason_code, note)
    ids = sorted({int(i) for i in comment_ids if 0 < int(i) < MAX_ID})
    if campaign_id is not None:
        if not await Campaign.exists(id=campaign_id):
            raise ServiceError({"": _("This campaign does not exist")}, 404)
        ids = sorted(set(await Comment.filter(campaign_id=campaign_id, review__not_isnull=True).values_list("id", flat=True)))
    if not ids:
        v.fail("", _("Select at least one comment"))
    v.raise_if_any()
    bulk = await BulkDecision.create(
        actor_id=actor.id, action=action, reason_code=reason.value if reason else None, note=note,
        campaign_id=campaign_id, comment_ids=ids, total=len(ids),
    )
    await _audit(actor, "bulk.start", "bulk", bulk.id, decision=action, reason=reason.value if reason else None, total=len(ids), campaign=campaign_id)
    await enqueue(BULK_JOB, bulk.id, _job_id=bulk_job_id(bulk.id))
    return bulk


async def run_bulk(settings: Settings, bulk_id: int) -> str:
    """The bulk job: decide batch by batch, saving progress after each, so a second run resumes where the
    first stopped. Comments that no longer wait, or that this moderator may not decide on, are skipped."""
    bulk = await BulkDecision.get_or_none(id=bulk_id)
    if bulk is None or bulk.state == "done":
        return "skipped"
    actor = await _principal(bulk.actor_id)
    await BulkDecision.filter(id=bulk_id).update(state="running")
    reason = DecisionReason(bulk.reason_code) if bulk.reason_code else None
    position = bulk.done + bulk.skipped
    ids: list[int] = bulk.comment_ids
    while position < len(ids):
        batch = ids[position:position + BULK_BATCH]
        rows = {row["id"]: row for row in await Comment.filter(id__in=batch).values(*COMMENT_FIELDS)}
        done = skipped = 0
        outbox: list[int] = []
        async with in_transaction():
            for comment_id in batch:
                comment = rows.get(comment_id)
                try:
                    if comment is None or actor is None:
                        raise PermissionDenied()
                    _decision, sent = await _apply(actor, settings, comment, bulk.action, reason, bulk.note, bulk_id=bulk_id)
                    outbox += sent
                    done += 1
                except (ServiceError, PermissionDenied):
                    skipped += 1
            await BulkDecision.filter(id=bulk_id).update(done=F("done") + done, skipped=F("skipped") + skipped)
        await send_queued(outbox)
        position += len(batch)
    await BulkDecision.filter(id=bulk_id).update(state="done", finished_at=now())
    return "done"


def bulk_job_id(bulk_id: int) -> str:
    return f"{BULK_JOB}:{bulk_id}"


async def unfinished_bulk_ids(older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Bulk decisions no job finished (the queue was down, or a worker died), for the sweep to re-enqueue."""
    return await BulkDecision.filter(state__in=("queued", "running"), created_at__lt=now() - older_than).order_by("id").limit(100).values_list("id", flat=True)


async def _principal(account_id: int | None) -> Principal | None:
    """The moderator who started a bulk decision, with the roles they hold now (a revoked role stops it)."""
    if account_id is None:
        return None
    version = await Account.filter(id=account_id).values_list("session_version", flat=True)
    return await load_principal(account_id, version[0]) if version else None


# --- appeals ---------------------------------------------------------------------------------------


async def appeal(actor: Principal | None, settings: Settings, comment_id: int, *, note: str) -> None:
    """The author asks once for a rejected or hidden comment to be looked at again, by another moderator."""
    if actor is None:
        raise PermissionDenied()
    comment = await _load(comment_id)
    if comment is None or comment["author_id"] != actor.id:
        raise ServiceError({"": _("You can only appeal decisions on your own comments")}, 404 if comment is None else 403)
    v = Validator({})
    note = plain_text(note or "")
    if not note:
        v.fail("note", _("Say why the decision should change"))
    elif len(note) > APPEAL_MAX:
        v.fail("note", _("Write %(max)s characters or fewer (you wrote %(count)s)", max=APPEAL_MAX, count=len(note)))
    if comment["appeal_state"] is not None:
        raise ServiceError({"": _("You have already appealed this decision; the second decision is final")}, 409)
    if comment["status"] not in (CommentStatus.REJECTED, CommentStatus.HIDDEN) or comment["decided_by_id"] is None:
        raise ServiceError({"": _("Only a moderator's decision to reject or take down a comment can be appealed")}, 409)
    v.raise_if_any()
    async with in_transaction():
        updated = await Comment.filter(id=comment_id, appeal_state=None, moderation_version=comment["moderation_version"]).update(
            appeal_state=AppealState.PENDING, appeal_note=note, appealed_at=now(), review=ReviewReason.APPEAL,
            review_since=now(), moderation_version=comment["moderation_version"] + 1,
        )
        if not updated:
            raise ServiceError({"": _("You have already appealed this decision; the second decision is final")}, 409)
        await _audit(actor, "comment.appeal", "comment", comment_id)


# --- retention -------------------------------------------------------------------------------------


async def erase_expired_originals(when: datetime | None = None) -> int:
    """Erase the original texts of redacted comments whose retention period is over."""
    return await RedactedOriginal.filter(erase_after__lt=when or now()).delete()
