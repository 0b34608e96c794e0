"""Read functions for pages and the API: few queries, plain rows, keyset pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from consult.models import Account, Agency, Article, AuditEntry, Consultation, ConsultationKind, ConsultationStatus, Role, RoleGrant
from consult.permissions import Principal

PAGE_SIZE = 50
MAX_ID = 2**31  # ids beyond a 32-bit integer column exist nowhere; PostgreSQL would refuse to compare them


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


async def load_principal(account_id: int, session_version: int) -> Principal | None:
    """The signed-in account for a session, or None when the session is stale (password changed)."""
    row = (
        await Account.filter(id=account_id, session_version=session_version)
        .values("id", "email", "display_name", "language", "email_verified_at", "session_version")
    )
    if not row:
        return None
    account = row[0]
    grants = await RoleGrant.filter(account_id=account_id).values_list("role", "agency_id")
    roles = {Role(role) for role, _ in grants}
    return Principal(
        id=account["id"],
        email=account["email"],
        display_name=account["display_name"],
        language=account["language"],
        verified=account["email_verified_at"] is not None,
        session_version=account["session_version"],
        is_admin=Role.ADMIN in roles,
        is_moderator=Role.MODERATOR in roles,
        agency_ids=frozenset(agency for role, agency in grants if Role(role) is Role.OFFICIAL and agency),
    )


async def open_consultations(limit: int = 20) -> list[dict[str, Any]]:
    """Open consultations, closing soonest first, with their agency's names in one query."""
    return (
        await Consultation.filter(status=ConsultationStatus.OPEN)
        .order_by("closes_at", "id")
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
    rows = await Account.filter(id=account_id).values("id", "email", "display_name", "language", "email_verified_at", "created_at")
    return rows[0] if rows else None


async def audit_page(cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    query = AuditEntry.all()
    after = _decode_cursor(cursor)
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(limit + 1).values(
        "id", "action", "target_type", "target_id", "detail", "created_at", "actor__display_name"
    )
    return _keyset_page(rows, limit)


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
        "id", "slug", "title", "summary", "kind", "language", "moderation_mode", "status", "opens_at", "closes_at",
        "agency_id", "agency__name_vi", "agency__name_en",
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
    after = _decode_cursor(cursor)
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(limit + 1).values(*LIST_FIELDS)
    return _keyset_page(rows, limit)


async def public_consultation(slug: str) -> dict[str, Any] | None:
    rows = await Consultation.filter(slug=slug, status__in=PUBLIC_STATUSES).values(*LIST_FIELDS, "agency_id")
    if not rows:
        return None
    consultation = rows[0]
    consultation["articles"] = await Article.filter(consultation_id=consultation["id"]).order_by("position").values(
        "id", "label", "title", "body_html"
    )
    return consultation
