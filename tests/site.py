"""The registry of the site's pages, and a seeded world to show them in.

Every page a person can reach is one line in PAGES: the route it belongs to, who views it, and how to
build its address from the seeded world. Accessibility, HTML validity, security headers and screenshots
all iterate over it; a test fails when a GET route of the app has no line here.
"""

from __future__ import annotations

import secrets

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import httpx

from consult import demo, security
from consult.models import (
    Account, AccountToken, Agency, Article, AuditEntry, Consultation, ConsultationKind, ConsultationStatus, Role, RoleGrant, TokenPurpose,
)
from consult.text.sanitize import markdown_to_html
from tests.helpers import PASSWORD, sign_in

# Roles as the tests name them; "official" is an official of the world's first agency.
ROLES = ("anonymous", "citizen", "official", "other_official", "moderator", "admin")


@dataclass
class World:
    """What the pages need: one account per role, two agencies, and live single-use tokens."""

    accounts: dict[str, Account] = field(default_factory=dict)
    agencies: list[Agency] = field(default_factory=list)
    verify_token: str = ""
    reset_token: str = ""
    draft_id: int = 0  # a draft of the first agency, with one article
    article_id: int = 0
    open_id: int = 0  # an open consultation of the first agency
    open_slug: str = ""
    draft_slug: str = ""


@dataclass(frozen=True)
class SitePage:
    name: str
    route: str | None  # the route's path template; None for pages that are not a route (errors)
    role: str = "anonymous"  # who looks at it
    path: str | Callable[[World], str] | None = None  # defaults to the route
    status: int = 200

    def url(self, world: World) -> str:
        if callable(self.path):
            return self.path(world)
        return self.path or self.route or "/"


PAGES: list[SitePage] = [
    SitePage("home", "/"),
    SitePage("home, signed in", "/", role="citizen"),
    SitePage("accessibility statement", "/accessibility"),
    SitePage("privacy notice", "/privacy"),
    SitePage("sign up", "/account/signup"),
    SitePage("check your e-mail", "/account/check-email"),
    SitePage("confirm e-mail", "/account/verify/{token}", path=lambda w: f"/account/verify/{w.verify_token}"),
    SitePage("link that cannot be used", None, path="/account/verify/not-a-token", status=404),
    SitePage("sign in", "/account/signin"),
    SitePage("forgotten password", "/account/reset"),
    SitePage("choose a new password", "/account/reset/{token}", path=lambda w: f"/account/reset/{w.reset_token}"),
    SitePage("your account", "/account", role="citizen"),
    SitePage("change password", "/account/password", role="citizen"),
    SitePage("administration", "/admin", role="admin"),
    SitePage("accounts and roles", "/admin/accounts", role="admin"),
    SitePage("one account", "/admin/accounts/{account_id:int}", role="admin", path=lambda w: f"/admin/accounts/{w.accounts['official'].id}"),
    SitePage("audit log", "/moderation/audit", role="moderator"),
    SitePage("consultations", "/consultations"),
    SitePage("consultations, filtered", "/consultations", path=lambda w: f"/consultations?status=open&kind=policy&agency={w.agencies[1].id}&q=zone"),
    SitePage("an open consultation", "/consultations/{slug:str}", path=lambda w: f"/consultations/{w.open_slug}"),
    SitePage("a scheduled consultation", "/consultations/{slug:str}", path="/consultations/quy-hoach-diem-do-xe-cong-cong"),
    SitePage("a draft is not public", None, path=lambda w: f"/consultations/{w.draft_slug}", status=404),
    SitePage("manage consultations", "/manage", role="official"),
    SitePage("create a consultation", "/manage/new", role="official"),
    SitePage("edit a draft", "/manage/{consultation_id:int}", role="official", path=lambda w: f"/manage/{w.draft_id}"),
    SitePage("manage an open consultation", "/manage/{consultation_id:int}", role="official", path=lambda w: f"/manage/{w.open_id}"),
    SitePage("preview a draft", "/manage/{consultation_id:int}/preview", role="official", path=lambda w: f"/manage/{w.draft_id}/preview"),
    SitePage("edit an article", "/manage/articles/{article_id:int}", role="official", path=lambda w: f"/manage/articles/{w.article_id}"),
    SitePage("page not found", None, path="/no-such-page", status=404),
    SitePage("no permission", None, role="citizen", path="/admin", status=403),
]

# GET routes that are not pages: a JSON document, files.
NOT_PAGES = {"/healthz", "/static"}


async def seed_world(settings) -> World:
    """Demo data plus one signed-up account per role and a live token of each kind."""
    await demo.load(settings)
    world = World(agencies=list(await Agency.all().order_by("id")))
    now = datetime.now(timezone.utc)
    password_hash = security.hash_password(PASSWORD)
    grants = {
        "citizen": [],
        "official": [(Role.OFFICIAL, world.agencies[0].id)],
        "other_official": [(Role.OFFICIAL, world.agencies[1].id)],
        "moderator": [(Role.MODERATOR, None)],
        "admin": [(Role.ADMIN, None)],
    }
    for role, role_grants in grants.items():
        account = await Account.create(
            email=f"{role}@example.vn", display_name=f"Người {role}", password_hash=password_hash, email_verified_at=now
        )
        for grant_role, agency_id in role_grants:
            await RoleGrant.create(account=account, role=grant_role, agency_id=agency_id)
        world.accounts[role] = account
    unverified = await Account.create(email="new@example.vn", display_name="Người mới", password_hash=password_hash)
    for purpose, attribute in ((TokenPurpose.VERIFY_EMAIL, "verify_token"), (TokenPurpose.RESET_PASSWORD, "reset_token")):
        token, digest = security.new_token()
        await AccountToken.create(account=unverified, purpose=purpose, token_hash=digest, expires_at=now + timedelta(hours=1))
        setattr(world, attribute, token)
    world.draft_id, world.article_id = await new_draft(world.agencies[0].id)
    opened = await Consultation.filter(agency_id=world.agencies[0].id, status=ConsultationStatus.OPEN).order_by("id").first()
    world.open_id, world.open_slug = opened.id, opened.slug
    world.draft_slug = (await Consultation.get(id=world.draft_id)).slug
    # The open consultation has articles too, as citizens will read them.
    await Article.create(consultation=opened, position=1, label="Điều 1", title="Phạm vi điều chỉnh",
                         body_markdown="Luật này quy định về **tiếp cận thông tin**.", body_html=markdown_to_html("Luật này quy định về **tiếp cận thông tin**."))
    await AuditEntry.create(actor=world.accounts["admin"], action="role.grant", target_type="account", target_id=str(world.accounts["official"].id), detail={"role": "official"})
    return world


async def new_draft(agency_id: int, title: str = "Dự thảo Nghị định về dữ liệu mở") -> tuple[int, int]:
    """A draft with one article: (consultation id, article id)."""
    draft = await Consultation.create(
        agency_id=agency_id, slug=f"draft-{secrets.token_hex(4)}", title=title, summary="Tóm tắt dự thảo để lấy ý kiến.",
        kind=ConsultationKind.LEGAL_TEXT, language="vi",
    )
    article = await Article.create(consultation=draft, position=1, label="Điều 1", title="Phạm vi điều chỉnh",
                                   body_markdown="Nghị định này **quy định** về dữ liệu mở.", body_html=markdown_to_html("Nghị định này **quy định** về dữ liệu mở."))
    return draft.id, article.id


async def session_cookie(app, role: str) -> dict[str, str]:
    """The cookies of a browser signed in as the role (empty for anonymous), signed in over HTTP."""
    if role == "anonymous":
        return {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        await sign_in(client, f"{role}@example.vn")
        return dict(client.cookies)


def page_routes(app) -> set[str]:
    """Path templates of every GET route of the app (mounted files excluded)."""
    routes = set()
    for route in app.routes:
        methods = getattr(route, "methods", None)
        if methods is None:  # a Mount: static files
            routes.add(route.path)
        elif "GET" in methods:
            routes.add(route.path)
    return routes
