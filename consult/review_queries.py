"""Reads for moderation: what the screening needs of a comment, the moderators' queue (filters, counts,
keyset pages that stay fast at any depth), one item with everything needed to decide, bulk progress,
the audit log's search, and the public transparency figures."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from statistics import median
from typing import Any

from consult import db
from consult.models import (
    AuditEntry,
    BulkDecision,
    Campaign,
    Comment,
    CommentStatus,
    Consultation,
    DecisionReason,
    Flag,
    ModerationMode,
    RedactedOriginal,
    ReviewReason,
)
from consult.permissions import Principal
from consult.queries import MAX_ID, PAGE_SIZE, Page, _Params

QUEUE_ORDERS = ("oldest", "flagged")
AGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
SIGNAL_KINDS = ("abuse", "spam", "personal_data", "campaign")


def _aware(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


# --- screening -------------------------------------------------------------------------------------


async def screening_subject(comment_id: int) -> dict[str, Any] | None:
    """A pending, unscreened comment as the screening needs it; None once screened (or gone)."""
    if not 0 < comment_id < MAX_ID:
        return None
    rows = await Comment.filter(id=comment_id, status=CommentStatus.PENDING, screened_at=None).values(
        "id", "body", "proposed_wording", "author_id", "consultation_id", "created_at", "consultation__moderation_mode"
    )
    if not rows:
        return None
    row = rows[0]
    row["premoderated"] = row.pop("consultation__moderation_mode") == ModerationMode.PRE
    return row


async def author_recent(subject: dict[str, Any], velocity_window: timedelta, repeat_window: timedelta) -> dict[str, int]:
    """How many comments the author wrote just before this one, and how many of the last day's carry
    the very same text: both read through the (author_id, id) index, bounded by the window."""
    if subject["author_id"] is None:
        return {"recent": 0, "repeats": 0}
    created = subject["created_at"]
    rows = await db.fetch(
        "SELECT body, created_at FROM comment WHERE author_id = $1 AND id < $2 AND created_at >= $3 ORDER BY id DESC LIMIT 500",
        subject["author_id"], subject["id"], created - repeat_window,
    )
    since = created - velocity_window
    recent = sum(1 for row in rows if _aware(row["created_at"]) >= since)
    repeats = sum(1 for row in rows if row["body"] == subject["body"])
    return {"recent": recent, "repeats": repeats}


# --- the queue -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    consultation: int | None = None
    agency: int | None = None
    reason: str | None = None  # a ReviewReason value
    signal: str | None = None  # a SignalKind value
    campaign: int | None = None
    age: str | None = None  # a key of AGES: waiting longer than that
    order: str = "oldest"

    @classmethod
    def parse(cls, params: Any) -> "QueueFilter":
        def number(name: str) -> int | None:
            raw = params.get(name) or ""
            return int(raw) if raw.isdigit() and 0 < int(raw) < MAX_ID else None

        reason = params.get("reason") or None
        signal = params.get("signal") or None
        age = params.get("age") or None
        order = params.get("order") or "oldest"
        return cls(
            consultation=number("consultation"),
            agency=number("agency"),
            reason=reason if reason in {r.value for r in ReviewReason} else None,
            signal=signal if signal in SIGNAL_KINDS else None,
            campaign=number("campaign"),
            age=age if age in AGES else None,
            order=order if order in QUEUE_ORDERS else "oldest",
        )

    def query(self, **changes: Any) -> dict[str, str]:
        """The filter as query parameters (without empty ones), with some changed."""
        values = {**self.__dict__, **changes}
        return {k: str(v) for k, v in values.items() if v not in (None, "") and not (k == "order" and v == "oldest")}


def _scope(account: Principal, p: _Params, where: list[str]) -> None:
    """A moderator limited to agencies sees only their consultations."""
    if not account.moderates_everywhere:
        ids = sorted(account.moderated_agency_ids) or [0]
        where.append(f"c.agency_id IN ({', '.join(p(i) for i in ids)})")


def _filters(account: Principal, f: QueueFilter, p: _Params, *, with_reason: bool = True) -> list[str]:
    where = ["cm.review IS NOT NULL"]
    _scope(account, p, where)
    if f.consultation:
        where.append(f"cm.consultation_id = {p(f.consultation)}")
    if f.agency:
        where.append(f"c.agency_id = {p(f.agency)}")
    if with_reason and f.reason:
        where.append(f"cm.review = {p(f.reason)}")
    if with_reason and f.signal:
        where.append(f"cm.top_signal = {p(f.signal)}")
    if f.campaign:
        where.append(f"cm.campaign_id = {p(f.campaign)}")
    if f.age:
        where.append(f"cm.review_since < {p(datetime.now(timezone.utc) - AGES[f.age])}")
    return where


QUEUE_COLUMNS = (
    "cm.id, cm.body, cm.proposed_wording, cm.status, cm.review, cm.review_since, cm.signals, cm.top_signal, "
    "cm.flag_count, cm.campaign_id, cm.author_id, cm.moderation_version, cm.created_at, cm.appeal_note, "
    "cm.decided_by_id, cm.reason_code, cm.decision_note, cm.stance, cm.parent_id, cm.consultation_id, "
    "c.title AS consultation_title, c.slug AS consultation_slug, c.agency_id, a.display_name AS author_name"
)


def _decode_queue_cursor(cursor: str | None, order: str) -> tuple[Any, int] | None:
    if not cursor or "~" not in cursor:
        return None
    first, _, last = cursor.rpartition("~")
    try:
        after = int(last)
        key: Any = int(first) if order == "flagged" else datetime.fromisoformat(first)
    except ValueError:
        return None
    if not 0 < after < MAX_ID or (order == "flagged" and not 0 <= key < MAX_ID):
        return None
    return key, after


def _queue_cursor(row: dict[str, Any], order: str) -> str:
    key = row["flag_count"] if order == "flagged" else row["review_since"].isoformat()
    return f"{key}~{row['id']}"


def _queue_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the ORM would give it: enums, aware datetimes, the signals as a list (SQLite gives text)."""
    row["review"] = ReviewReason(row["review"]) if row["review"] else None
    row["status"] = CommentStatus(row["status"])
    for name in ("review_since", "created_at", "redacted_at", "decided_at"):
        if name in row:
            row[name] = _aware(row[name])
    if isinstance(row["signals"], str):
        row["signals"] = json.loads(row["signals"])
    row["signals"] = row["signals"] or []
    return row


async def queue_page(account: Principal, f: QueueFilter, cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """Items waiting for a decision, oldest first (or most flagged first), keyset-paginated: a deep page
    costs what the first one does."""
    p = _Params()
    where = _filters(account, f, p)
    after = _decode_queue_cursor(cursor, f.order)
    # Row comparisons, which PostgreSQL uses as index conditions: a deep page reads what the first one does
    # (written as "a > x OR (a = x AND id > y)" it walked the index from the start).
    if f.order == "flagged":
        if after:
            where.append(f"(cm.flag_count, cm.id) < ({p(after[0])}, {p(after[1])})")
        order_by = "cm.flag_count DESC, cm.id DESC"
    else:
        if after:
            where.append(f"(cm.review_since, cm.id) > ({p(after[0])}, {p(after[1])})")
        order_by = "cm.review_since, cm.id"
    rows = await db.fetch(
        f"SELECT {QUEUE_COLUMNS} FROM comment cm JOIN consultation c ON c.id = cm.consultation_id "
        f"LEFT JOIN account a ON a.id = cm.author_id WHERE {' AND '.join(where)} ORDER BY {order_by} LIMIT {limit + 1}",
        *p.values,
    )
    rows = [_queue_row(row) for row in rows]
    page = Page(rows[:limit], _queue_cursor(rows[limit - 1], f.order) if len(rows) > limit else None)
    await _attach_context(page.rows)
    return page


async def _attach_context(rows: list[dict[str, Any]]) -> None:
    """The flags, the campaign and the author's history of each item, in three queries for the page."""
    if not rows:
        return
    ids = [row["id"] for row in rows]
    flags: dict[int, list[dict[str, Any]]] = {}
    for flag in await Flag.filter(comment_id__in=ids, resolved_at=None).order_by("id").values("comment_id", "reason", "note", "created_at"):
        flags.setdefault(flag["comment_id"], []).append(flag)
    campaign_ids = {row["campaign_id"] for row in rows if row["campaign_id"]}
    campaigns = {
        c["id"]: c for c in await Campaign.filter(id__in=campaign_ids).values("id", "size", "first_seen", "last_seen")
    } if campaign_ids else {}
    if campaign_ids:
        p = _Params()
        waiting = await db.fetch(
            f"SELECT campaign_id, COUNT(*) AS n FROM comment WHERE campaign_id IN ({', '.join(p(i) for i in sorted(campaign_ids))}) "
            "AND review IS NOT NULL GROUP BY campaign_id",
            *p.values,
        )
        for row in waiting:
            campaigns[row["campaign_id"]]["waiting"] = row["n"]
    history = await author_history([row["author_id"] for row in rows if row["author_id"]])
    for row in rows:
        row["flags"] = flags.get(row["id"], [])
        row["campaign"] = campaigns.get(row["campaign_id"])
        row["history"] = history.get(row["author_id"], {})


async def author_history(author_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per author: how many of their comments are published, rejected, hidden, pending."""
    ids = sorted(set(author_ids))
    if not ids:
        return {}
    p = _Params()
    rows = await db.fetch(
        f"SELECT author_id, status, COUNT(*) AS n FROM comment WHERE author_id IN ({', '.join(p(i) for i in ids)}) GROUP BY author_id, status",
        *p.values,
    )
    history: dict[int, dict[str, int]] = {}
    for row in rows:
        history.setdefault(row["author_id"], {})[row["status"]] = row["n"]
    return history


@dataclass
class QueueCounts:
    total: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    by_signal: dict[str, int] = field(default_factory=dict)
    consultations: list[dict[str, Any]] = field(default_factory=list)


_counts_cache: dict[tuple, tuple[float, QueueCounts]] = {}
_counting: dict[tuple, asyncio.Lock] = {}


def _needs_agency_join(account: Principal, f: QueueFilter) -> bool:
    return not account.moderates_everywhere or bool(f.agency)


async def queue_counts(account: Principal, f: QueueFilter, max_age: float) -> QueueCounts:
    """How many items wait per reason and per signal within the other filters, and per consultation.
    Kept for a few seconds per scope and filter, and counted by one request at a time: every moderator's
    page load would otherwise count the queue again."""
    key = (account.moderates_everywhere, account.moderated_agency_ids, f.consultation, f.agency, f.campaign, f.age)
    cached = _counts_cache.get(key)
    if cached and time.monotonic() - cached[0] < max_age:
        return cached[1]
    lock = _counting.setdefault(key, asyncio.Lock())
    async with lock:
        cached = _counts_cache.get(key)  # counted by the request this one waited for
        if cached and time.monotonic() - cached[0] < max_age:
            return cached[1]
        counts = await _count(account, f)
        if len(_counts_cache) > 500:
            _counts_cache.clear()
        _counts_cache[key] = (time.monotonic(), counts)
    if len(_counting) > 500:
        _counting.clear()
    return counts


async def _count(account: Principal, f: QueueFilter) -> QueueCounts:
    # The join to consultation only when agencies are involved: without it the counts are an index-only
    # scan of (review, top_signal, consultation_id).
    source = "comment cm JOIN consultation c ON c.id = cm.consultation_id" if _needs_agency_join(account, f) else "comment cm"
    p = _Params()
    where = " AND ".join(_filters(account, f, p, with_reason=False))
    counts = QueueCounts()
    for row in await db.fetch(f"SELECT cm.review, cm.top_signal, COUNT(*) AS n FROM {source} WHERE {where} GROUP BY cm.review, cm.top_signal", *p.values):
        counts.total += row["n"]
        counts.by_reason[row["review"]] = counts.by_reason.get(row["review"], 0) + row["n"]
        if row["top_signal"]:
            counts.by_signal[row["top_signal"]] = counts.by_signal.get(row["top_signal"], 0) + row["n"]
    p = _Params()
    scope: list[str] = ["cm.review IS NOT NULL"]
    _scope(account, p, scope)
    source = "comment cm" if account.moderates_everywhere else "comment cm JOIN consultation c ON c.id = cm.consultation_id"
    busiest = await db.fetch(
        f"SELECT cm.consultation_id AS id, COUNT(*) AS n FROM {source} WHERE {' AND '.join(scope)} "
        "GROUP BY cm.consultation_id ORDER BY n DESC, cm.consultation_id LIMIT 50",
        *p.values,
    )
    titles = dict(await Consultation.filter(id__in=[row["id"] for row in busiest]).values_list("id", "title")) if busiest else {}
    counts.consultations = [{"id": row["id"], "title": titles.get(row["id"], ""), "n": row["n"]} for row in busiest]
    return counts


async def queue_item(comment_id: int) -> dict[str, Any] | None:
    """One comment with everything a moderator needs to decide on it, whether or not it waits."""
    if not 0 < comment_id < MAX_ID:
        return None
    rows = await db.fetch(
        f"SELECT {QUEUE_COLUMNS}, cm.redacted_at, cm.appeal_state, cm.decided_at, d.display_name AS decided_by_name "
        "FROM comment cm JOIN consultation c ON c.id = cm.consultation_id LEFT JOIN account a ON a.id = cm.author_id "
        "LEFT JOIN account d ON d.id = cm.decided_by_id WHERE cm.id = $1",
        comment_id,
    )
    if not rows:
        return None
    row = _queue_row(rows[0])
    await _attach_context([row])
    row["log"] = await AuditEntry.filter(target_type="comment", target_id=str(comment_id)).order_by("-id").limit(20).values(
        "id", "action", "detail", "created_at", "actor__display_name"
    )
    return row


async def bulk_progress(bulk_id: int) -> dict[str, Any] | None:
    if not 0 < bulk_id < MAX_ID:
        return None
    rows = await BulkDecision.filter(id=bulk_id).values(
        "id", "actor_id", "action", "reason_code", "note", "campaign_id", "total", "done", "skipped", "state", "created_at", "finished_at"
    )
    return rows[0] if rows else None


# --- the audit log ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    target: str = ""  # a comment (or other target) id
    actor: str = ""  # part of the actor's display name

    @classmethod
    def parse(cls, params: Any) -> "AuditFilter":
        return cls(
            action=(params.get("action") or "").strip()[:60],
            target=(params.get("target") or "").strip()[:40],
            actor=(params.get("actor") or "").strip()[:80],
        )


async def audit_page(f: AuditFilter, cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """The log, newest first, searchable by action (or its family: "comment."), target id and actor name;
    a redaction shows the original text while it is kept."""
    query = AuditEntry.all()
    if f.action:
        query = query.filter(action__startswith=f.action)
    if f.target:
        query = query.filter(target_id=f.target)
    if f.actor:
        query = query.filter(actor__display_name__icontains=f.actor)
    after = int(cursor) if cursor and cursor.isdigit() and 0 < int(cursor) < MAX_ID else None
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(limit + 1).values(
        "id", "action", "target_type", "target_id", "detail", "created_at", "actor__display_name"
    )
    page = Page(rows[:limit], str(rows[limit - 1]["id"]) if len(rows) > limit else None)
    redactions = [row["id"] for row in page.rows if row["action"] == "comment.redact"]
    originals = {
        o["audit_entry_id"]: o
        for o in await RedactedOriginal.filter(audit_entry_id__in=redactions).values("audit_entry_id", "body", "proposed_wording", "erase_after")
    } if redactions else {}
    for row in page.rows:
        row["original"] = originals.get(row["id"])
    return page


# --- transparency ----------------------------------------------------------------------------------


async def transparency(consultation_id: int | None = None) -> dict[str, Any]:
    """The public moderation figures, site-wide or for one consultation: comments published, waiting,
    rejected and hidden by reason, appealed and overturned, and the median time to a moderator's decision."""
    p = _Params()
    where = f"WHERE consultation_id = {p(consultation_id)}" if consultation_id else ""
    rows = await db.fetch(
        f"SELECT status, reason_code, review IS NOT NULL AS waiting, appeal_state, COUNT(*) AS n, "
        f"SUM(CASE WHEN decided_by_id IS NOT NULL THEN 1 ELSE 0 END) AS by_moderator "
        f"FROM comment {where} GROUP BY status, reason_code, review IS NOT NULL, appeal_state",
        *p.values,
    )
    figures: dict[str, Any] = {
        "total": 0, "published": 0, "pending": 0, "waiting": 0, "rejected": 0, "hidden": 0, "withdrawn": 0,
        "rejected_by_reason": {r.value: 0 for r in DecisionReason}, "hidden_by_reason": {r.value: 0 for r in DecisionReason},
        "appealed": 0, "appeals_waiting": 0, "overturned": 0, "upheld": 0, "decided_by_moderator": 0,
    }
    for row in rows:
        n = int(row["n"])
        figures["total"] += n
        figures["decided_by_moderator"] += int(row["by_moderator"] or 0)
        if row["waiting"]:
            figures["waiting"] += n
        status = row["status"]
        figures[status] += n
        if status in ("rejected", "hidden") and row["reason_code"] in figures[f"{status}_by_reason"]:
            figures[f"{status}_by_reason"][row["reason_code"]] += n
        if row["appeal_state"]:
            figures["appealed"] += n
            figures[{"pending": "appeals_waiting", "overturned": "overturned", "upheld": "upheld"}[row["appeal_state"]]] += n
    figures["median_decision_seconds"] = await _median_decision_seconds(consultation_id)
    return figures


async def _median_decision_seconds(consultation_id: int | None) -> int | None:
    """The median in SQL on both databases: the middle row(s) of the ordered decision times."""
    p = _Params()
    where = "decision_seconds IS NOT NULL" + (f" AND consultation_id = {p(consultation_id)}" if consultation_id else "")
    count_rows = await db.fetch(f"SELECT COUNT(*) AS n FROM comment WHERE {where}", *p.values)
    n = int(count_rows[0]["n"])
    if n == 0:
        return None
    middle = await db.fetch(
        f"SELECT decision_seconds FROM comment WHERE {where} ORDER BY decision_seconds LIMIT {2 - n % 2} OFFSET {(n - 1) // 2}",
        *p.values,
    )
    return int(median(row["decision_seconds"] for row in middle))


async def transparency_consultation(slug: str) -> dict[str, Any] | None:
    """A public consultation (not a draft) by its address, for its transparency page."""
    rows = await Consultation.filter(slug=slug).exclude(status="draft").values("id", "slug", "title", "status")
    return rows[0] if rows else None
