"""Read functions for pages and the API: few queries, plain rows, keyset pagination."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count

from consult import db
from consult.models import (
    Account, Agency, Answer, Article, Attachment, AuditEntry, Comment, CommentStatus, Consultation, ConsultationKind, ConsultationStatus, ConsultationTopic, Follow,
    IdentityLink, ModerationMode, ParticipationRule, OpenDataRelease, OutcomeItem, Question, QuestionKind, QuestionResponse, Role, RoleGrant, Stance, Topic, Vote,
)
from consult.permissions import Principal

PAGE_SIZE = 50
MAX_ID = 2**31  # ids beyond a 32-bit integer column exist nowhere; PostgreSQL would refuse to compare them


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


PRINCIPAL_SQL = """
SELECT a.id, a.email, a.display_name, a.language, a.email_verified_at, a.identity_verified_at, a.session_version, g.role, g.agency_id
FROM account a LEFT JOIN role_grant g ON g.account_id = a.id
WHERE a.id = $1 AND a.session_version = $2
"""


async def load_principal(account_id: int, session_version: int) -> Principal | None:
    """The signed-in account for a session, or None when the session is stale (password changed).

    Runs on every signed-in request: one hand-written query, the account joined with its grants."""
    if not (0 < account_id < MAX_ID and 0 < session_version < MAX_ID):
        return None
    rows = await db.fetch(PRINCIPAL_SQL, account_id, session_version)
    if not rows:
        return None
    account = rows[0]
    grants = [(Role(row["role"]), row["agency_id"]) for row in rows if row["role"]]
    roles = {role for role, _ in grants}
    return Principal(
        id=account["id"],
        email=account["email"],
        display_name=account["display_name"],
        language=account["language"],
        verified=account["email_verified_at"] is not None,
        identity_verified=account["identity_verified_at"] is not None,
        session_version=account["session_version"],
        is_admin=Role.ADMIN in roles,
        is_moderator=Role.MODERATOR in roles,
        agency_ids=frozenset(agency for role, agency in grants if role is Role.OFFICIAL and agency),
        moderates_everywhere=any(role is Role.MODERATOR and not agency for role, agency in grants),
        moderated_agency_ids=frozenset(agency for role, agency in grants if role is Role.MODERATOR and agency),
    )


CONSULTATION_STATE_SQL = "SELECT id, slug, status, moderation_mode, participation, opened_at FROM consultation WHERE {} = $1"


async def consultation_state(consultation_id: int | None = None, slug: str | None = None) -> dict[str, Any] | None:
    """What taking part checks on every comment: id, slug, status, moderation mode, when it opened."""
    if slug is None and not (consultation_id and 0 < consultation_id < MAX_ID):
        return None
    rows = await db.fetch(CONSULTATION_STATE_SQL.format("slug" if slug is not None else "id"), slug if slug is not None else consultation_id)
    if not rows:
        return None
    row = rows[0]
    return {**row, "status": ConsultationStatus(row["status"]), "moderation_mode": ModerationMode(row["moderation_mode"]),
            "participation": ParticipationRule(row["participation"])}


TOOK_PART_SQL = (
    "SELECT 1 FROM comment WHERE author_id = $1 AND consultation_id = $2 "
    "UNION ALL SELECT 1 FROM question_response WHERE account_id = $3 AND consultation_id = $4 "
    "UNION ALL SELECT 1 FROM vote v JOIN comment c ON c.id = v.comment_id WHERE v.account_id = $5 AND c.consultation_id = $6 "
    "LIMIT 1"
)  # each parameter once: SQLite's ? are positional


async def took_part(account_id: int, consultation_id: int) -> bool:
    """Whether the person commented, answered the questions or voted in the consultation."""
    return bool(await db.fetch(TOOK_PART_SQL, *(account_id, consultation_id) * 3))


async def satisfaction_given(account_id: int, consultation_id: int, question: str) -> bool:
    """Whether the person answered this satisfaction question here (asked after every comment: hand-written SQL)."""
    return bool(await db.fetch(
        "SELECT 1 FROM satisfaction_given WHERE account_id = $1 AND consultation_id = $2 AND question = $3", account_id, consultation_id, question,
    ))


async def open_consultations(limit: int = 20) -> list[dict[str, Any]]:
    """Open consultations, closing soonest first, with their agency's names in one query."""
    return (
        await Consultation.filter(status=ConsultationStatus.OPEN)
        .order_by("closes_at", "id")
        .limit(limit)
        .values(*LIST_FIELDS)
    )


async def recently_closed(limit: int = 6) -> list[dict[str, Any]]:
    """Closed consultations, the most recently closed first, those with a published outcome among them."""
    return (
        await Consultation.filter(status__in=(ConsultationStatus.CLOSED, ConsultationStatus.OUTCOME_PUBLISHED))
        .order_by("-closes_at", "-id")
        .limit(limit)
        .values(*LIST_FIELDS)
    )


async def site_counts() -> dict[str, int]:
    return {
        "open": await Consultation.filter(status=ConsultationStatus.OPEN).count(),
        "agencies": await Agency.all().count(),
    }


async def agencies() -> list[dict[str, Any]]:
    return await Agency.all().order_by("name_vi").values("id", "slug", "name_vi", "name_en")


def _keyset_page(rows: list[dict[str, Any]], limit: int) -> Page:
    """Rows fetched with limit + 1, newest id first: the page, and the cursor to the next one if any."""
    return Page(rows[:limit], str(rows[limit - 1]["id"]) if len(rows) > limit else None)


def _decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = int(cursor)
    except ValueError:
        return None
    return value if 0 < value < MAX_ID else None


async def accounts_page(search: str = "", cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """Accounts for the administrators' page, newest first, keyset-paginated by id."""
    query = Account.all()
    search = (search or "").strip()
    if search:
        query = query.filter(Q(email__icontains=search.lower()) | Q(display_name__icontains=search))
    after = _decode_cursor(cursor)
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(limit + 1).values("id", "email", "display_name", "email_verified_at", "created_at")
    page = _keyset_page(rows, limit)
    rows = page.rows
    grants = await RoleGrant.filter(account_id__in=[r["id"] for r in rows]).values(
        "id", "account_id", "role", "agency__name_vi", "agency__name_en"
    )
    by_account: dict[int, list[dict[str, Any]]] = {}
    for grant in grants:
        by_account.setdefault(grant["account_id"], []).append(grant)
    for row in rows:
        row["grants"] = by_account.get(row["id"], [])
    return page


async def account_with_grants(account_id: int) -> dict[str, Any] | None:
    if not 0 < account_id < MAX_ID:
        return None
    rows = await Account.filter(id=account_id).values("id", "email", "display_name", "email_verified_at", "created_at", "language")
    if not rows:
        return None
    account = rows[0]
    account["grants"] = await RoleGrant.filter(account_id=account_id).order_by("id").values(
        "id", "role", "agency_id", "agency__name_vi", "agency__name_en", "granted_at"
    )
    return account


async def account_profile(account_id: int) -> dict[str, Any] | None:
    rows = await Account.filter(id=account_id).values(
        "id", "email", "display_name", "language", "email_verified_at", "created_at", "province", "respondent_kind", "password_hash",
        "identity_verified_at", "verified_by", "verified_name", "birth_year", "verified_fields",
    )
    if not rows:
        return None
    row = rows[0]
    row["has_password"] = bool(row.pop("password_hash"))
    row["verified"] = set(filter(None, row["verified_fields"].split(",")))
    row["identity_links"] = {link["provider"]: link["linked_at"] for link in await IdentityLink.filter(account_id=account_id).values(
        "provider", "linked_at")}
    return row


async def managed_consultations(account: Principal, limit: int = 200) -> list[dict[str, Any]]:
    """The consultations an official may manage (all of them for an administrator), newest first."""
    query = Consultation.all() if account.is_admin else Consultation.filter(agency_id__in=list(account.agency_ids))
    return await query.order_by("-id").limit(limit).values(
        "id", "title", "status", "language", "opens_at", "closes_at", "agency_id", "agency__name_vi", "agency__name_en"
    )


async def consultation_for_editing(consultation_id: int) -> dict[str, Any] | None:
    if not 0 < consultation_id < MAX_ID:
        return None
    rows = await Consultation.filter(id=consultation_id).values(
        "id", "slug", "title", "summary", "kind", "language", "moderation_mode", "participation", "status", "opens_at", "closes_at",
        "agency_id", "agency__name_vi", "agency__name_en", "outcome_summary",
    )
    if not rows:
        return None
    consultation = rows[0]
    consultation["articles"] = await Article.filter(consultation_id=consultation_id).order_by("position").values(
        "id", "position", "label", "title", "body_markdown", "body_html"
    )
    return consultation


async def article_for_editing(article_id: int) -> dict[str, Any] | None:
    if not 0 < article_id < MAX_ID:
        return None
    rows = await Article.filter(id=article_id).values("id", "consultation_id", "label", "title", "body_markdown", "consultation__title", "consultation__agency_id")
    return rows[0] if rows else None


# --- participation: comments, tallies, results, a person's own activity -----------------------------

COMMENT_FIELDS = (
    "id", "article_id", "parent_id", "stance", "body", "proposed_wording", "created_at", "published_at",
    "agree_count", "disagree_count", "pass_count", "author_id", "author__display_name", "article__label",
)
COMMENT_ORDERS = ("newest", "agreed")


def _decode_pair(cursor: str | None) -> tuple[int, int] | None:
    """A cursor of two numbers "count.id" for lists ordered by a counter, then id."""
    if not cursor or cursor.count(".") != 1:
        return None
    first, second = cursor.split(".")
    if not (first.isdigit() and second.isdigit()) or len(first) > 10 or len(second) > 10:
        return None
    count, after = int(first), int(second)
    return (count, after) if count < MAX_ID and 0 < after < MAX_ID else None


COMMENT_SELECT = """
SELECT c.id, c.article_id, c.parent_id, c.stance, c.body, c.proposed_wording, c.created_at, c.published_at,
       c.agree_count, c.disagree_count, c.pass_count, c.author_id, c.redacted_at IS NOT NULL AS redacted,
       a.display_name AS author__display_name, ar.label AS article__label
FROM comment c LEFT JOIN account a ON a.id = c.author_id LEFT JOIN article ar ON ar.id = c.article_id
"""


class _Params:
    """Numbered placeholders ($1, $2...) in the order the values are added, as db.fetch wants them."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _comment_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the ORM would give it: the stance as its enum, times as aware datetimes (SQLite gives text)."""
    row["stance"] = Stance(row["stance"]) if row["stance"] else None
    for name in ("created_at", "published_at"):
        if isinstance(row[name], str):
            row[name] = datetime.fromisoformat(row[name])
    return row


async def published_comments(
    consultation_id: int, *, article_id: int | None = None, order: str = "newest", cursor: str | None = None, limit: int = PAGE_SIZE
) -> Page:
    """Published comments of a consultation (or of one article), each with its published replies,
    newest first or most agreed first, keyset-paginated.

    Hand-written: it is most of the consultation page's database time (5.7 ms through .values() for 50
    comments with their author and article)."""
    p = _Params()
    where = [f"c.consultation_id = {p(consultation_id)}", f"c.status = {p(CommentStatus.PUBLISHED.value)}", "c.parent_id IS NULL"]
    if article_id is not None:
        where.append(f"c.article_id = {p(article_id)}")
    if order == "agreed":
        after_pair = _decode_pair(cursor)
        if after_pair is not None:
            count, after = after_pair
            where.append(f"(c.agree_count < {p(count)} OR (c.agree_count = {p(count)} AND c.id < {p(after)}))")
        order_by = "c.agree_count DESC, c.id DESC"
    else:
        after = _decode_cursor(cursor)
        if after is not None:
            where.append(f"c.id < {p(after)}")
        order_by = "c.id DESC"
    sql = f"{COMMENT_SELECT} WHERE {' AND '.join(where)} ORDER BY {order_by} LIMIT {p(limit + 1)}"
    rows = [_comment_row(row) for row in await db.fetch(sql, *p.values)]
    if order == "agreed":
        page = Page(rows[:limit], f"{rows[limit - 1]['agree_count']}.{rows[limit - 1]['id']}" if len(rows) > limit else None)
    else:
        page = _keyset_page(rows, limit)
    replies: dict[int, list[dict[str, Any]]] = {}
    if page.rows:
        p = _Params()
        parents = ", ".join(p(row["id"]) for row in page.rows)
        sql = f"{COMMENT_SELECT} WHERE c.parent_id IN ({parents}) AND c.status = {p(CommentStatus.PUBLISHED.value)} ORDER BY c.id"
        for reply in await db.fetch(sql, *p.values):
            replies.setdefault(reply["parent_id"], []).append(_comment_row(reply))
    for row in page.rows:
        row["replies"] = replies.get(row["id"], [])
    return page


async def comment_tallies(consultation_id: int) -> dict[int | None, dict[str, int]]:
    """Published comments (not replies) by article (None: the whole draft), with their stance split."""
    rows = (
        await Comment.filter(consultation_id=consultation_id, status=CommentStatus.PUBLISHED, parent_id=None)
        .annotate(n=Count("id"))
        .group_by("article_id", "stance")
        .values("article_id", "stance", "n")
    )
    tallies: dict[int | None, dict[str, int]] = {}
    for row in rows:
        tally = tallies.setdefault(row["article_id"], {"total": 0, **{s.value: 0 for s in Stance}})
        stance = getattr(row["stance"], "value", row["stance"])
        tally[stance] = tally.get(stance, 0) + row["n"]
        tally["total"] += row["n"]
    return tallies


async def question_results(consultation_id: int) -> list[dict[str, Any]]:
    """Each question with the number of responses that answered it and, for the choice kinds, the
    count of each option (scale: 1 to 5); free-text answers are counted, not listed."""
    questions = await Question.filter(consultation_id=consultation_id).order_by("position").values("id", "kind", "prompt", "options", "required")
    counts = (
        await Answer.filter(question__consultation_id=consultation_id, option__isnull=False)
        .annotate(n=Count("id"))
        .group_by("question_id", "option")
        .values("question_id", "option", "n")
    )
    answered = (
        await Answer.filter(question__consultation_id=consultation_id)
        .annotate(n=Count("response_id", distinct=True))
        .group_by("question_id")
        .values("question_id", "n")
    )
    by_question: dict[int, dict[int, int]] = {}
    for row in counts:
        by_question.setdefault(row["question_id"], {})[row["option"]] = row["n"]
    answered_by = {row["question_id"]: row["n"] for row in answered}
    results = []
    for q in questions:
        kind = QuestionKind(q["kind"])
        option_counts = by_question.get(q["id"], {})
        if kind is QuestionKind.SCALE:
            options = [{"value": value, "label": str(value), "count": option_counts.get(value, 0)} for value in range(1, 6)]
        elif kind is QuestionKind.TEXT:
            options = []
        else:
            options = [{"value": index, "label": label, "count": option_counts.get(index, 0)} for index, label in enumerate(q["options"])]
        results.append({**q, "kind": kind.value, "answered": answered_by.get(q["id"], 0), "results": options})
    return results


async def response_count(consultation_id: int) -> int:
    return await QuestionResponse.filter(consultation_id=consultation_id).count()


async def comment_for_action(comment_id: int) -> dict[str, Any] | None:
    """A comment with what the reply, vote and flag pages need of its consultation."""
    if not 0 < comment_id < MAX_ID:
        return None
    rows = await Comment.filter(id=comment_id).values(
        *COMMENT_FIELDS, "status", "consultation_id", "consultation__slug", "consultation__title", "consultation__status", "consultation__language",
        "reason_code", "decision_note", "appeal_state", "decided_by_id",
    )
    return rows[0] if rows else None


async def own_votes(account_id: int, comment_ids: list[int]) -> dict[int, str]:
    if not comment_ids:
        return {}
    rows = await Vote.filter(account_id=account_id, comment_id__in=comment_ids).values_list("comment_id", "value")
    return {comment_id: getattr(value, "value", value) for comment_id, value in rows}


async def is_following(account_id: int, consultation_id: int) -> bool:
    return await Follow.filter(account_id=account_id, consultation_id=consultation_id).exists()


async def own_response(account_id: int, consultation_id: int) -> dict[int, list[Any]]:
    """The account's answers by question id: option numbers, or the text."""
    answers = await Answer.filter(response__account_id=account_id, response__consultation_id=consultation_id).order_by("id").values("question_id", "option", "text")
    by_question: dict[int, list[Any]] = {}
    for answer in answers:
        by_question.setdefault(answer["question_id"], []).append(answer["text"] if answer["option"] is None else answer["option"])
    return by_question


async def my_comments(account_id: int, cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    query = Comment.filter(author_id=account_id)
    after = _decode_cursor(cursor)
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(limit + 1).values(
        *COMMENT_FIELDS, "status", "reason_code", "consultation__slug", "consultation__title", "consultation__status",
        "decision_note", "decided_by_id", "appeal_state", "redacted_at",
    )
    return _keyset_page(rows, limit)


async def my_votes(account_id: int, limit: int = 200) -> list[dict[str, Any]]:
    return await Vote.filter(account_id=account_id).order_by("-id").limit(limit).values(
        "id", "value", "updated_at", "comment_id", "comment__body", "comment__consultation__slug", "comment__consultation__title"
    )


async def my_responses(account_id: int) -> list[dict[str, Any]]:
    return await QuestionResponse.filter(account_id=account_id).order_by("-id").values(
        "id", "updated_at", "consultation_id", "consultation__slug", "consultation__title", "consultation__status"
    )


async def my_follows(account_id: int) -> list[dict[str, Any]]:
    return await Follow.filter(account_id=account_id).order_by("-id").values("id", "consultation__slug", "consultation__title", "consultation__status")


PUBLIC_STATUSES = (
    ConsultationStatus.SCHEDULED, ConsultationStatus.OPEN, ConsultationStatus.CLOSED,
    ConsultationStatus.OUTCOME_PUBLISHED, ConsultationStatus.ARCHIVED,
)
LIST_FIELDS = ("id", "slug", "title", "summary", "kind", "language", "status", "opens_at", "closes_at", "agency__name_vi", "agency__name_en")


@dataclass
class ConsultationFilters:
    agency: int | None = None
    kind: str = ""
    status: str = ""
    q: str = ""
    topic: str = ""  # a topic's slug


async def public_consultations(filters: ConsultationFilters, cursor: str | None = None, limit: int = 20) -> Page:
    """Published consultations, newest first, filtered, keyset-paginated by id."""
    query = Consultation.filter(status__in=PUBLIC_STATUSES)
    if filters.agency:
        query = query.filter(agency_id=filters.agency)
    if filters.kind in {k.value for k in ConsultationKind}:
        query = query.filter(kind=filters.kind)
    if filters.status in {s.value for s in PUBLIC_STATUSES}:
        query = query.filter(status=filters.status)
    if filters.q:
        query = query.filter(Q(title__icontains=filters.q) | Q(summary__icontains=filters.q))
    if filters.topic:
        query = query.filter(id__in=Subquery(ConsultationTopic.filter(topic__slug=filters.topic).values("consultation_id")))
    after = _decode_cursor(cursor)
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(limit + 1).values(*LIST_FIELDS)
    return _keyset_page(rows, limit)


async def public_consultation(slug: str) -> dict[str, Any] | None:
    """A published consultation with its articles, topics, questions and attachments."""
    rows = await Consultation.filter(slug=slug, status__in=PUBLIC_STATUSES).values(*LIST_FIELDS, "agency_id", "moderation_mode", "participation",
                                                                                    "opened_at")
    if not rows:
        return None
    consultation = rows[0]
    consultation.update(await consultation_parts(consultation))
    return consultation


# The text of a consultation cannot change once it has opened (services.EDITABLE), so each process keeps
# these parts of the opened ones, keyed with the opening time: a deleted database's ids are never mixed up.
_OPENED_PARTS: OrderedDict[tuple[int, Any], dict[str, list[dict[str, Any]]]] = OrderedDict()
_OPENED_PARTS_KEPT = 256


async def consultation_parts(consultation: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Articles, topics, questions and attachments: four queries, run once per process after opening."""
    frozen = consultation["status"] not in (ConsultationStatus.DRAFT, ConsultationStatus.SCHEDULED) and consultation.get("opened_at")
    key = (consultation["id"], consultation.get("opened_at"))
    if frozen and key in _OPENED_PARTS:
        return _OPENED_PARTS[key]
    parts = {
        "articles": await Article.filter(consultation_id=consultation["id"]).order_by("position").values("id", "label", "title", "body_html"),
        "topics": await consultation_topics(consultation["id"]),
        "questions": await consultation_questions(consultation["id"]),
        "attachments": await consultation_attachments(consultation["id"]),
    }
    if frozen:
        _OPENED_PARTS[key] = parts
        if len(_OPENED_PARTS) > _OPENED_PARTS_KEPT:
            _OPENED_PARTS.popitem(last=False)
    return parts


# --- API: the read-only JSON API and the Atom feed --------------------------------------------------

# Question results are published with the rest of the outcome, never while people can still answer.
RESULTS_STATUSES = (ConsultationStatus.CLOSED, ConsultationStatus.OUTCOME_PUBLISHED, ConsultationStatus.ARCHIVED)
API_MAX_LIMIT = 100


def valid_cursor(cursor: str, order: str = "newest") -> bool:
    """Whether a cursor is one this site hands out: a client walking pages with a mangled cursor is
    told so, rather than silently sent back to the first page and looping."""
    return (_decode_pair(cursor) if order == "agreed" else _decode_cursor(cursor)) is not None


async def topics_by_consultation(consultation_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The topic tags of several consultations in one query, each as consultation_topics gives them."""
    if not consultation_ids:
        return {}
    rows = await ConsultationTopic.filter(consultation_id__in=consultation_ids).order_by("topic__name_vi", "topic_id").values(
        "consultation_id", "topic_id", "topic__slug", "topic__name_vi", "topic__name_en"
    )
    topics: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        topics.setdefault(row["consultation_id"], []).append(
            {"id": row["topic_id"], "slug": row["topic__slug"], "name_vi": row["topic__name_vi"], "name_en": row["topic__name_en"]}
        )
    return topics


async def api_consultations(filters: ConsultationFilters, cursor: str | None = None, limit: int = 20) -> Page:
    """The same page as the public list, each row with its agency's id, its last change and its topics
    (two more queries for the whole page)."""
    page = await public_consultations(filters, cursor, limit)
    ids = [row["id"] for row in page.rows]
    extras = {row["id"]: row for row in await Consultation.filter(id__in=ids).values("id", "agency_id", "updated_at")} if ids else {}
    topics = await topics_by_consultation(ids)
    for row in page.rows:
        row["agency_id"] = extras[row["id"]]["agency_id"]
        row["updated_at"] = extras[row["id"]]["updated_at"]
        row["topics"] = topics.get(row["id"], [])
    return page


async def api_consultation(consultation_id: int) -> dict[str, Any] | None:
    """A public consultation by id, as the list shows it; None for a draft or an id that exists nowhere."""
    if not 0 < consultation_id < MAX_ID:
        return None
    rows = await Consultation.filter(id=consultation_id, status__in=PUBLIC_STATUSES).values(*LIST_FIELDS, "agency_id", "updated_at")
    return rows[0] if rows else None


async def api_consultation_detail(consultation: dict[str, Any]) -> dict[str, Any]:
    """What the page of a public consultation shows besides its summary: articles in order, topics,
    questions and attachments."""
    consultation_id = consultation["id"]
    return {
        "articles": await Article.filter(consultation_id=consultation_id).order_by("position").values("id", "position", "label", "title", "body_html"),
        "topics": await consultation_topics(consultation_id),
        "questions": await consultation_questions(consultation_id),
        "attachments": await consultation_attachments(consultation_id),
    }


async def article_in_consultation(article_id: int, consultation_id: int) -> bool:
    if not 0 < article_id < MAX_ID:
        return False
    return await Article.filter(id=article_id, consultation_id=consultation_id).exists()


async def api_tallies(consultation: dict[str, Any]) -> dict[str, Any]:
    """Stance per article (every article, in order, after the whole draft, with zeros where nobody
    commented) and, once the consultation has closed, the question results."""
    tallies = await comment_tallies(consultation["id"])
    articles = await Article.filter(consultation_id=consultation["id"]).order_by("position").values("id", "label")
    empty = {"total": 0, **{s.value: 0 for s in Stance}}
    rows = [{"article_id": None, "label": None, **tallies.get(None, empty)}]
    rows += [{"article_id": a["id"], "label": a["label"], **tallies.get(a["id"], empty)} for a in articles]
    closed = ConsultationStatus(consultation["status"]) in RESULTS_STATUSES
    return {
        "articles": rows,
        "comments_total": sum(tally["total"] for tally in tallies.values()),
        "questions_available": closed,
        "responses": await response_count(consultation["id"]) if closed else None,
        "questions": await question_results(consultation["id"]) if closed else None,
    }


# --- topics, questions, attachments ---------------------------------------------------------------


async def topics() -> list[dict[str, Any]]:
    return await Topic.all().order_by("name_vi", "id").values("id", "slug", "name_vi", "name_en")


async def consultation_topics(consultation_id: int) -> list[dict[str, Any]]:
    """A consultation's topic tags (id, slug, name_vi, name_en), by Vietnamese name."""
    rows = await ConsultationTopic.filter(consultation_id=consultation_id).order_by("topic__name_vi", "topic_id").values(
        "topic_id", "topic__slug", "topic__name_vi", "topic__name_en"
    )
    return [{"id": r["topic_id"], "slug": r["topic__slug"], "name_vi": r["topic__name_vi"], "name_en": r["topic__name_en"]} for r in rows]


async def public_consultation_cards(filters: ConsultationFilters, cursor: str | None = None, limit: int = 20) -> Page:
    """The public list's page, each row with its topic tags (one more query for the page)."""
    page = await public_consultations(filters, cursor, limit)
    tags = await topics_by_consultation([row["id"] for row in page.rows])
    for row in page.rows:
        row["topics"] = tags.get(row["id"], [])
    return page


def _question_row(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "kind": QuestionKind(row["kind"]).value}


async def consultation_questions(consultation_id: int) -> list[dict[str, Any]]:
    """The questions in order: id, position, kind ("single", "multiple", "scale", "text"), prompt,
    options (a list of strings, empty for scale and text) and required."""
    rows = await Question.filter(consultation_id=consultation_id).order_by("position", "id").values(
        "id", "position", "kind", "prompt", "options", "required"
    )
    return [_question_row(row) for row in rows]


async def question_for_editing(question_id: int) -> dict[str, Any] | None:
    if not 0 < question_id < MAX_ID:
        return None
    rows = await Question.filter(id=question_id).values(
        "id", "consultation_id", "kind", "prompt", "options", "required", "consultation__title", "consultation__agency_id"
    )
    return _question_row(rows[0]) if rows else None


async def consultation_attachments(consultation_id: int) -> list[dict[str, Any]]:
    """The PDF attachments in the order they were added: id, title, filename, size in bytes."""
    return await Attachment.filter(consultation_id=consultation_id).order_by("id").values("id", "title", "filename", "size")


async def public_attachment(slug: str, attachment_id: int) -> dict[str, Any] | None:
    """An attachment of a public consultation, found by the consultation's address and its id."""
    if not 0 < attachment_id < MAX_ID:
        return None
    rows = await Attachment.filter(
        id=attachment_id, consultation__slug=slug, consultation__status__in=PUBLIC_STATUSES
    ).values("id", "filename", "stored_name", "size")
    return rows[0] if rows else None


async def attachment_for_managing(attachment_id: int) -> dict[str, Any] | None:
    if not 0 < attachment_id < MAX_ID:
        return None
    rows = await Attachment.filter(id=attachment_id).values(
        "id", "consultation_id", "filename", "stored_name", "size", "consultation__agency_id"
    )
    return rows[0] if rows else None


# --- reports, outcomes and open data --------------------------------------------------------------


async def comment_excerpts(comment_ids: list[int], limit: int = 300) -> dict[int, str]:
    """The text of published comments a report names by id (opinion groups store ids only)."""
    ids = sorted({int(i) for i in comment_ids})
    if not ids:
        return {}
    p = _Params()
    rows = await db.fetch(f"SELECT id, body FROM comment WHERE status = 'published' AND id IN ({', '.join(p(i) for i in ids)})", *p.values)
    out = {}
    for row in rows:
        text = " ".join(row["body"].split())
        out[int(row["id"])] = text if len(text) <= limit else (text[:limit].rsplit(" ", 1)[0] or text[:limit]) + "…"
    return out


async def published_comment(comment_id: int) -> dict[str, Any] | None:
    """One published comment with its consultation, for the page the report's quotes link to."""
    if not 0 < comment_id < MAX_ID:
        return None
    rows = await db.fetch(
        COMMENT_SELECT.replace("FROM comment c", ", k.slug AS consultation__slug, k.title AS consultation__title, "
                               "ar.title AS article__title FROM comment c JOIN consultation k ON k.id = c.consultation_id")
        + " WHERE c.id = $1 AND c.status = 'published' AND k.status <> 'draft'",
        comment_id,
    )
    return _comment_row(rows[0]) if rows else None


async def open_data_releases() -> list[dict[str, Any]]:
    rows = await OpenDataRelease.filter(released_at__isnull=False).order_by("-released_at").values(
        "consultation__slug", "consultation__title", "consultation__agency__name_vi", "consultation__agency__name_en",
        "licence", "files", "released_at", "folder",
    )
    return rows


async def open_data_release(slug: str) -> dict[str, Any] | None:
    rows = await OpenDataRelease.filter(consultation__slug=slug, released_at__isnull=False).values("folder", "files", "licence", "released_at")
    return rows[0] if rows else None


async def outcome_items(consultation_id: int) -> list[dict[str, Any]]:
    return await OutcomeItem.filter(consultation_id=consultation_id).order_by("position").values(
        "id", "position", "kind", "article_id", "title", "comment_count", "summary", "decision", "reason"
    )


async def published_outcome(consultation_id: int) -> dict[str, Any] | None:
    """The agency's published answer: its introduction, its rows, and whether the open data is out."""
    rows = await Consultation.filter(id=consultation_id, outcome_published_at__isnull=False).values("outcome_summary", "outcome_published_at")
    if not rows:
        return None
    items = await outcome_items(consultation_id)
    for item in items:
        item["decision"] = getattr(item["decision"], "value", item["decision"])
    released = await OpenDataRelease.filter(consultation_id=consultation_id, released_at__isnull=False).exists()
    return {"intro": rows[0]["outcome_summary"], "published_at": rows[0]["outcome_published_at"], "items": items, "open_data": released}
