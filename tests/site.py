"""The registry of the site's pages, and a seeded world to show them in.

Every page a person can reach is one line in PAGES: the route it belongs to, who views it, and how to
build its address from the seeded world. Accessibility, HTML validity, security headers and screenshots
all iterate over it; a test fails when a GET route of the app has no line here.
"""

from __future__ import annotations

import hashlib
import secrets

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import httpx

from consult import demo, demo_outcome, outcomes, queries, security
from consult.models import (
    Account, AccountToken, Agency, Article, AuditEntry, Consultation, ConsultationKind, ConsultationStatus, Role, RoleGrant, TokenPurpose,
)
from consult.models import Attachment, Comment, CommentStatus, ConsultationTopic, Question, QuestionKind, Stance, Topic
from consult.models import BulkDecision, Campaign, Flag, FlagReason, ReviewReason, Vote
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
    topic_slug: str = ""  # a topic of the draft and of the open consultation
    question_id: int = 0  # a question of the draft
    attachment_id: int = 0  # a PDF of the draft
    open_attachment_id: int = 0  # a PDF of the open consultation
    open_article_id: int = 0  # the open consultation's article
    open_question_id: int = 0  # a question of the open consultation
    comment_id: int = 0  # a published comment on the open consultation, with a reply, by a citizen not among the roles
    author: Account | None = None  # that citizen
    held_id: int = 0  # a comment held by the screening (abuse and a phone number), waiting for a moderator
    campaign_id: int = 0  # a campaign of near-identical comments waiting for a decision
    rejected_id: int = 0  # the citizen's comment, rejected by the moderator (they may appeal)
    bulk_id: int = 0  # a finished bulk decision of the moderator
    finished_id: int = 0  # the demo's consultation with a published outcome, report and open data (a third agency's)
    finished_slug: str = ""
    closed_id: int = 0  # a closed consultation of the second agency, its answer table drafted from its report


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
    SitePage("what an identity provider vouches for, to agree to", "/account/identity/confirm", role="newcomer"),
    SitePage("an identity sign-in that did not work", "/account/identity/{provider}/callback", path="/account/identity/test/callback?error=access_denied",
             status=400),
    SitePage("change password", "/account/password", role="citizen"),
    SitePage("administration", "/admin", role="admin"),
    SitePage("accounts and roles", "/admin/accounts", role="admin"),
    SitePage("one account", "/admin/accounts/{account_id:int}", role="admin", path=lambda w: f"/admin/accounts/{w.accounts['official'].id}"),
    SitePage("audit log", "/moderation/audit", role="moderator"),
    SitePage("audit log, searched", "/moderation/audit", role="moderator", path="/moderation/audit?action=comment.&actor=x&target=1"),
    SitePage("moderation queue", "/moderation/", role="moderator"),
    SitePage("moderation queue, a campaign", "/moderation/", role="moderator", path=lambda w: f"/moderation/?campaign={w.campaign_id}"),
    SitePage("moderation queue, filtered", "/moderation/", role="moderator",
             path=lambda w: f"/moderation/?reason=flags&order=flagged&consultation={w.open_id}&age=1h"),
    SitePage("a comment to decide on", "/moderation/comments/{comment_id:int}", role="moderator", path=lambda w: f"/moderation/comments/{w.held_id}"),
    SitePage("a bulk decision's progress", "/moderation/bulk/{bulk_id:int}", role="moderator", path=lambda w: f"/moderation/bulk/{w.bulk_id}"),
    SitePage("moderation transparency", "/transparency"),
    SitePage("a consultation's moderation figures", "/consultations/{slug:str}/transparency", path=lambda w: f"/consultations/{w.open_slug}/transparency"),
    SitePage("appeal a decision", "/comments/{comment_id:int}/appeal", role="citizen", path=lambda w: f"/comments/{w.rejected_id}/appeal"),
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
    SitePage("edit a question", "/manage/questions/{question_id:int}", role="official", path=lambda w: f"/manage/questions/{w.question_id}"),
    SitePage("consultations of a topic", "/consultations", path=lambda w: f"/consultations?topic={w.topic_slug}"),
    SitePage("an article and its comments", "/consultations/{slug:str}/articles/{article_id:int}",
             path=lambda w: f"/consultations/{w.open_slug}/articles/{w.open_article_id}"),
    SitePage("a consultation, signed in", "/consultations/{slug:str}", role="citizen", path=lambda w: f"/consultations/{w.open_slug}"),
    SitePage("comments, most agreed first", "/consultations/{slug:str}", path=lambda w: f"/consultations/{w.open_slug}?order=agreed"),
    SitePage("an article, signed in", "/consultations/{slug:str}/articles/{article_id:int}", role="citizen",
             path=lambda w: f"/consultations/{w.open_slug}/articles/{w.open_article_id}"),
    SitePage("write a comment", "/consultations/{slug:str}/comment", role="citizen", path=lambda w: f"/consultations/{w.open_slug}/comment"),
    SitePage("answer the questions", "/consultations/{slug:str}/respond", role="citizen", path=lambda w: f"/consultations/{w.open_slug}/respond"),
    SitePage("reply to a comment", "/comments/{comment_id:int}/reply", role="citizen", path=lambda w: f"/comments/{w.comment_id}/reply"),
    SitePage("report a comment", "/comments/{comment_id:int}/flag", role="citizen", path=lambda w: f"/comments/{w.comment_id}/flag"),
    SitePage("my participation", "/account/participation", role="citizen"),
    SitePage("delete my account", "/account/delete", role="citizen"),
    SitePage("report of a finished consultation", "/consultations/{slug:str}/report", path=lambda w: f"/consultations/{w.finished_slug}/report"),
    SitePage("report of a finished consultation, signed in", "/consultations/{slug:str}/report", role="citizen",
             path=lambda w: f"/consultations/{w.finished_slug}/report"),
    SitePage("report of an open consultation, no build yet", "/consultations/{slug:str}/report", role="official",
             path=lambda w: f"/consultations/{w.open_slug}/report"),
    SitePage("a consultation with its published outcome", "/consultations/{slug:str}", path=lambda w: f"/consultations/{w.finished_slug}"),
    SitePage("a published outcome, asked of someone who took part", "/consultations/{slug:str}", role="citizen",
             path=lambda w: f"/consultations/{w.finished_slug}"),
    SitePage("one question about taking part", "/consultations/{slug:str}/satisfaction", role="citizen",
             path=lambda w: f"/consultations/{w.open_slug}/satisfaction?question=ease&after=comment"),
    SitePage("the agency dashboard", "/manage/dashboard", role="official"),
    SitePage("the dashboard of every agency", "/manage/dashboard", role="admin"),
    SitePage("the dashboard, months typed wrong", "/manage/dashboard", role="official", path="/manage/dashboard?from=2026-13&to=2026-01", status=400),
    SitePage("participation in figures", "/participation"),
    SitePage("the agency's answer table", "/manage/{consultation_id:int}/outcome", role="other_official", path=lambda w: f"/manage/{w.closed_id}/outcome"),
    SitePage("a published answer table", "/manage/{consultation_id:int}/outcome", role="admin", path=lambda w: f"/manage/{w.finished_id}/outcome"),
    SitePage("manage a closed consultation", "/manage/{consultation_id:int}", role="other_official", path=lambda w: f"/manage/{w.closed_id}"),
    SitePage("open data", "/open-data"),
    SitePage("one comment", "/comments/{comment_id:int}", path=lambda w: f"/comments/{w.comment_id}"),
    SitePage("page not found", None, path="/no-such-page", status=404),
    SitePage("no permission", None, role="citizen", path="/admin", status=403),
]

# GET routes that are not pages: a JSON document, files.
NOT_PAGES = {
    "/healthz", "/static", "/consultations/feed.atom", "/api/consultations", "/api/consultations/{consultation_id:int}",
    "/api/consultations/{consultation_id:int}/comments", "/api/consultations/{consultation_id:int}/tallies", "/api/openapi.json", "/api/transparency",
    "/consultations/{slug:str}/attachments/{attachment_id:int}", "/manage/attachments/{attachment_id:int}", "/account/export",
    "/consultations/{slug:str}/report.pdf", "/consultations/{slug:str}/export/{kind:str}.{fmt:str}", "/open-data/{slug:str}/{name:str}",
    "/manage/dashboard.csv", "/account/identity/{provider}",
    "/api/consultations/{consultation_id:int}/report", "/api/open-data",
}


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
    await seed_draft_parts(settings, world)
    await seed_participation(world, opened)
    await seed_moderation(world)
    await seed_outcomes(world)
    return world


async def seed_outcomes(world: World) -> None:
    finished = await Consultation.get(slug=demo_outcome.SLUG)
    world.finished_id, world.finished_slug = finished.id, finished.slug
    closed = await Consultation.filter(agency_id=world.agencies[1].id, status=ConsultationStatus.CLOSED).order_by("id").first()
    world.closed_id = closed.id
    admin = await queries.load_principal(world.accounts["admin"].id, world.accounts["admin"].session_version)
    await outcomes.prepare_answer(admin, closed.id)
    # The citizen voted in the finished consultation: its page asks them about the agency's answer.
    voted = await Comment.filter(consultation_id=finished.id, status=CommentStatus.PUBLISHED).order_by("id").first()
    await Vote.create(comment=voted, account=world.accounts["citizen"], value="agree")


HELD_TEXT = "Đồ óc chó! Gọi tôi 0912 345 678 mà nghe."
FORM_LETTER = "Tôi đề nghị giữ nguyên quy định về công khai dữ liệu ngân sách vì người dân cần biết tiền thuế được dùng thế nào."


async def seed_moderation(world: World) -> None:
    """What the moderators have in front of them: a held comment with its signals, a campaign, a flag,
    a rejection the citizen may appeal, a finished bulk decision."""
    now = datetime.now(timezone.utc)
    abuse, phone = HELD_TEXT.index("óc chó"), HELD_TEXT.index("0912")
    signals = [
        {"kind": "abuse", "rule": "abuse.vi", "score": 0.9, "spans": [[abuse, abuse + 6]], "field": "body"},
        {"kind": "personal_data", "rule": "pii.phone", "score": 0.95, "spans": [[phone, phone + 12]], "field": "body"},
    ]
    held = await Comment.create(consultation_id=world.open_id, author=world.author, stance=Stance.OPPOSE, body=HELD_TEXT,
                                screened_at=now, signals=signals, top_signal="personal_data", review=ReviewReason.SCREENING, review_since=now)
    world.held_id = held.id
    campaign = await Campaign.create(consultation_id=world.open_id, size=2, first_seen=now, last_seen=now)
    world.campaign_id = campaign.id
    for _copy in range(2):
        await Comment.create(consultation_id=world.open_id, author=world.author, stance=Stance.SUPPORT, body=FORM_LETTER, screened_at=now,
                             campaign=campaign, review=ReviewReason.SCREENING, review_since=now, top_signal="campaign",
                             signals=[{"kind": "campaign", "rule": "campaign.near_duplicate", "score": 1.0, "spans": [[0, len(FORM_LETTER)]],
                                       "field": "body", "campaign": campaign.id, "size": 2}])
    flagged = await published_comment(world, "Ý kiến bị báo cáo là lạc đề.")
    await Flag.create(comment=flagged, account=world.accounts["citizen"], reason=FlagReason.OFF_TOPIC, note="Không liên quan")
    await Comment.filter(id=flagged.id).update(flag_count=1, review=ReviewReason.FLAGS, review_since=now)
    rejected = await Comment.create(consultation_id=world.open_id, author=world.accounts["citizen"], stance=Stance.OPPOSE,
                                    body="Ý kiến bị từ chối.", status=CommentStatus.REJECTED, reason_code="off_topic", screened_at=now,
                                    decided_by=world.accounts["moderator"], decided_at=now, decision_seconds=60, decision_note="Lạc đề")
    world.rejected_id = rejected.id
    bulk = await BulkDecision.create(actor=world.accounts["moderator"], action="approve", comment_ids=[flagged.id], total=1, done=1,
                                     state="done", finished_at=now)
    world.bulk_id = bulk.id


async def seed_participation(world: World, opened: Consultation) -> None:
    """What citizens have done on the open consultation: a question, and comments that show, with votes."""
    world.open_article_id = (await Article.get(consultation=opened, position=1)).id
    question = await Question.create(consultation=opened, position=1, kind=QuestionKind.MULTIPLE, prompt="Bạn cần thông tin gì?",
                                     options=["Ngân sách", "Đất đai", "Môi trường"], required=True)
    world.open_question_id = question.id
    world.author = await Account.create(email="author@example.vn", display_name="Người góp ý", password_hash="not a usable hash",
                                        email_verified_at=datetime.now(timezone.utc))
    world.comment_id = (await published_comment(world, "Nên công khai cả dữ liệu ngân sách.", stance=Stance.CHANGE,
                                                proposed_wording="Cơ quan nhà nước công khai dữ liệu ngân sách hằng quý.")).id
    reply = await published_comment(world, "Đồng ý, và cần đúng hạn.", parent_id=world.comment_id, stance=None)
    await Comment.filter(id=world.comment_id).update(agree_count=3, disagree_count=1)
    await Comment.filter(id=reply.id).update(agree_count=1)


async def published_comment(world: World, body: str, *, author: Account | None = None, stance: Stance | None = Stance.SUPPORT,
                            parent_id: int | None = None, proposed_wording: str | None = None) -> Comment:
    """A published comment on the open consultation's article (by the world's author unless said)."""
    return await Comment.create(
        consultation_id=world.open_id, article_id=world.open_article_id, parent_id=parent_id, author=author or world.author,
        stance=stance, body=body, proposed_wording=proposed_wording, status=CommentStatus.PUBLISHED, published_at=datetime.now(timezone.utc),
    )


async def seed_draft_parts(settings, world: World) -> None:
    """A topic on the draft and the open consultation, a question on the draft, a PDF on each."""
    topic, _ = await Topic.get_or_create(slug="du-lieu-mo", defaults={"name_vi": "Dữ liệu mở", "name_en": "Open data"})
    world.topic_slug = topic.slug
    for consultation_id in (world.draft_id, world.open_id):
        await ConsultationTopic.get_or_create(consultation_id=consultation_id, topic=topic)
    question = await Question.create(consultation_id=world.draft_id, position=1, kind=QuestionKind.SINGLE,
                                     prompt="Bạn có ủng hộ việc công khai dữ liệu không?", options=["Có", "Không"], required=True)
    world.question_id = question.id
    world.attachment_id = await new_attachment(settings, world.draft_id)
    world.open_attachment_id = await new_attachment(settings, world.open_id)


SMALL_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def new_attachment(settings, consultation_id: int, filename: str = "Tờ trình dự thảo.pdf") -> int:
    """A small PDF stored as an upload is: its file under the upload directory, and its row."""
    stored_name = f"{secrets.token_hex(16)}.pdf"
    settings.upload_path.mkdir(parents=True, exist_ok=True)
    (settings.upload_path / stored_name).write_bytes(SMALL_PDF)
    attachment = await Attachment.create(
        consultation_id=consultation_id, title="Tờ trình", filename=filename, stored_name=stored_name,
        size=len(SMALL_PDF), sha256=hashlib.sha256(SMALL_PDF).hexdigest(),
    )
    return attachment.id


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
    """The cookies of a browser signed in as the role (empty for anonymous), signed in over HTTP; a "newcomer" has come
    back from the tests' identity provider (tests.oidc_provider) and is asked to agree to what it vouched for."""
    if role == "anonymous":
        return {}
    if role == "newcomer":
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            leaving = await client.get("/account/identity/test")
            async with httpx.AsyncClient() as browser:
                answer = await browser.get(leaving.headers["location"])
            back = await client.get(answer.headers["location"])
            assert back.headers.get("location") == "/account/identity/confirm", back.text
            return dict(client.cookies)
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
