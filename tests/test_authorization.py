"""Who may do what: every route of the app, for every role, from one table.

MATRIX has a line for each (method, route) of the app and says, for each role of tests.site.ROLES, what
that person gets: "ok" (the page, 200, or the action done, 303), "signin" (303 to the sign-in page with
the way back) or "forbidden" (the 403 page). Every line is driven over HTTP for every role, with the
role's own session and a valid CSRF token, and a refused request must leave the database as it was.
A test fails when a route of the app has no line in the table.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable
from urllib.parse import quote

import httpx
from starlette.routing import Mount
from tortoise import connections

from consult import security
from consult.models import Account, AccountToken, Agency, AuditEntry, Consultation, ConsultationStatus, Role, RoleGrant, TokenPurpose
from consult.models import Attachment, Comment, CommentStatus, Flag, Follow, Question, QuestionKind, QuestionResponse, Topic, Vote
from consult.models import AppealState, BulkDecision, ReviewReason
from consult.queue import current_queue
from tests.helpers import PASSWORD, csrf_from, model_tables, title_of
from tests.site import ROLES, SMALL_PDF, World, new_attachment, new_draft, published_comment, seed_world, session_cookie

OK, SIGNIN, FORBIDDEN = "ok", "signin", "forbidden"
REFUSED = "refused"  # 400: the request cannot be carried out by anyone (a sign-in answer that was never asked for)

EVERYONE = dict.fromkeys(ROLES, OK)
SIGNED_IN = {**EVERYONE, "anonymous": SIGNIN}
ADMINS = {"anonymous": SIGNIN, "citizen": FORBIDDEN, "official": FORBIDDEN, "other_official": FORBIDDEN, "moderator": FORBIDDEN, "admin": OK}
AUDITORS = {**ADMINS, "moderator": OK}
MODERATORS = {**ADMINS, "moderator": OK, "admin": FORBIDDEN}  # administrators moderate only with the role
STAFF = {**ADMINS, "official": OK, "other_official": OK}  # officials of any agency, administrators
AGENCY_STAFF = {**STAFF, "other_official": FORBIDDEN}  # for one agency's consultation: its officials
REPORT_READERS = {**AGENCY_STAFF, "moderator": OK}  # an unpublished report: the agency's officials and its moderators
SECOND_AGENCY_STAFF = {**STAFF, "official": FORBIDDEN}  # a consultation of the second agency

NEW_PASSWORD = "seven quiet harbour lanterns"
# Each role browses from its own address, so per-address rate limits of one role do not touch another.
ADDRESSES = {role: f"10.9.0.{i + 1}" for i, role in enumerate((*ROLES, "newcomer"))}


# --- the seeded world, and how each request is built from it ----------------------------------------


@dataclass
class Scene:
    """The seeded world plus an account that the administrators' actions are aimed at."""

    app: object
    world: World
    target: Account
    agencies: list[Agency] = field(default_factory=list)

    @classmethod
    async def build(cls, app, settings) -> "Scene":
        world = await seed_world(settings)
        target = await Account.create(
            email="target@example.vn", display_name="Người được cấp quyền", password_hash="not a usable hash",
            email_verified_at=datetime.now(timezone.utc),
        )
        return cls(app=app, world=world, target=target, agencies=world.agencies)

    def account_id(self, role: str) -> int:
        return self.world.accounts[role].id

    async def fresh_token(self, purpose: TokenPurpose) -> str:
        """A live single-use token of the world's unverified account, as the e-mail would carry it."""
        token, digest = security.new_token()
        unverified = await Account.get(email="new@example.vn")
        await AccountToken.create(account=unverified, purpose=purpose, token_hash=digest, expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
        return token

    async def revocable_grant(self, role: str) -> tuple[int, int]:
        """(account id, grant id) a role tries to remove: the administrator's own role for everyone but
        the administrator, who removes a grant of the target account."""
        if role == "admin":
            grant, _ = await RoleGrant.get_or_create(account=self.target, role=Role.OFFICIAL, agency=self.agencies[1])
            return self.target.id, grant.id
        admin = self.world.accounts["admin"]
        grant = await RoleGrant.get(account=admin, role=Role.ADMIN)
        return admin.id, grant.id


Request = Callable[[Scene, str], Awaitable[tuple[str, dict[str, str]]]]
# (scene, role, response, the cookies the browser had before the request)
Check = Callable[[Scene, str, httpx.Response, dict[str, str]], Awaitable[None]]


@dataclass(frozen=True)
class Access:
    who: dict[str, str]  # role -> expected outcome
    request: Request | None = None  # (path, form) for a role; default: the route's path, an empty form
    done: Check | None = None  # what an allowed request must have changed
    order: float = 0  # requests that replace or end the session run last, in this order
    keeps_session: bool = False  # the browser carries on with the session this request gave it
    files: dict[str, tuple[str, bytes, str]] | None = None  # sent as multipart/form-data with the form


def fixed(path: str, form: dict[str, str] | None = None) -> Request:
    async def build(scene: Scene, role: str) -> tuple[str, dict[str, str]]:
        return path, dict(form or {})

    return build


def own_email(role: str) -> str:
    return "citizen@example.vn" if role == "anonymous" else f"{role}@example.vn"


async def signin_request(scene: Scene, role: str):
    return "/account/signin", {"email": own_email(role), "password": PASSWORD, "next": "/account"}


async def verify_request(scene: Scene, role: str):
    return f"/account/verify/{await scene.fresh_token(TokenPurpose.VERIFY_EMAIL)}", {}


async def reset_request_request(scene: Scene, role: str):
    return "/account/reset", {"email": own_email(role)}


async def reset_page_request(scene: Scene, role: str):
    return f"/account/reset/{await scene.fresh_token(TokenPurpose.RESET_PASSWORD)}", {}


async def reset_request(scene: Scene, role: str):
    return f"/account/reset/{await scene.fresh_token(TokenPurpose.RESET_PASSWORD)}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}


async def admin_account_request(scene: Scene, role: str):
    # Not one of the roles' accounts: each of those is deleted at the end of its own pass.
    return f"/admin/accounts/{scene.target.id}", {}


async def grant_request(scene: Scene, role: str):
    # Everyone but the administrator tries to make themselves an administrator.
    if role in ("anonymous", "admin"):
        return f"/admin/accounts/{scene.target.id}/roles", {"role": "moderator", "agency": ""}
    return f"/admin/accounts/{scene.account_id(role)}/roles", {"role": "admin", "agency": ""}


async def revoke_request(scene: Scene, role: str):
    account_id, grant_id = await scene.revocable_grant(role)
    return f"/admin/accounts/{account_id}/roles/revoke", {"grant": str(grant_id)}


async def agency_created(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    agency = await Agency.get(slug="co-quan-kiem-tra")
    assert await AuditEntry.filter(action="agency.create", target_id=str(agency.id), actor_id=scene.account_id(role)).exists()


async def role_granted(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert await RoleGrant.filter(account=scene.target, role=Role.MODERATOR, granted_by_id=scene.account_id(role)).exists()


async def role_revoked(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert not await RoleGrant.filter(account=scene.target, role=Role.OFFICIAL).exists()


async def signed_up(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    if role == "anonymous":
        assert await Account.filter(email="matrix-signup@example.vn").exists()
    else:
        assert response.headers["location"] == "/account", "a signed-in person is sent to their account"


async def old_session_is_over(scene: Scene, role: str, cookies_before: dict[str, str]) -> None:
    async with browser(scene.app, role, cookies_before) as client:
        after = await client.get("/account")
    assert after.status_code == 303, f"the session from before the request still works for {role}"


async def password_changed(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    await old_session_is_over(scene, role, cookies_before)


async def signed_out(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    if role != "anonymous":
        await old_session_is_over(scene, role, cookies_before)


async def profile_request(scene: Scene, role: str):
    return "/account", {"display_name": f"Người {role}", "language": "en"}


def draft_request(suffix: str, form: dict[str, str] | None = None) -> Request:
    async def build(scene: Scene, role: str):
        return f"/manage/{scene.world.draft_id}{suffix}", dict(form or {})

    return build


async def open_page_request(scene: Scene, role: str):
    return f"/consultations/{scene.world.open_slug}", {}


def open_api_request(suffix: str) -> Request:
    async def build(scene: Scene, role: str):
        return f"/api/consultations/{scene.world.open_id}{suffix}", {}

    return build


DRAFT_FORM = {"title": "Dự thảo đã sửa", "summary": "Tóm tắt mới.", "kind": "policy", "language": "vi", "moderation_mode": "post"}


async def new_draft_request(scene: Scene, role: str):
    return "/manage/new", {"agency": str(scene.agencies[0].id), **DRAFT_FORM}


async def publish_request(scene: Scene, role: str):
    draft_id, _ = await new_draft(scene.agencies[0].id)  # each role publishes a draft of its own
    return f"/manage/{draft_id}/publish", {"opens_at": "", "closes_at": "2099-12-31T17:00"}


async def open_consultation(scene: Scene) -> int:
    draft_id, _ = await new_draft(scene.agencies[0].id)
    await Consultation.filter(id=draft_id).update(status=ConsultationStatus.OPEN, closes_at=datetime(2099, 1, 1, tzinfo=timezone.utc))
    return draft_id


async def extend_request(scene: Scene, role: str):
    return f"/manage/{await open_consultation(scene)}/extend", {"closes_at": "2099-12-31T17:00", "reason": "Thêm thời gian"}


async def close_request(scene: Scene, role: str):
    return f"/manage/{await open_consultation(scene)}/close", {"reason": "Đủ ý kiến"}


def article_request(suffix: str, form: dict[str, str] | None = None, fresh: bool = False) -> Request:
    async def build(scene: Scene, role: str):
        article_id = (await new_draft(scene.agencies[0].id))[1] if fresh else scene.world.article_id
        return f"/manage/articles/{article_id}{suffix}", dict(form or {})

    return build


def status_changed(expected: ConsultationStatus) -> Check:
    async def check(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
        assert response.status_code == 303, response.text[:300]
        consultation_id = int(response.headers["location"].split("/")[2])
        assert (await Consultation.get(id=consultation_id)).status is expected

    return check


def question_request(suffix: str, form: dict[str, str] | None = None, fresh: bool = False) -> Request:
    async def build(scene: Scene, role: str):
        question_id = scene.world.question_id
        if fresh:
            question_id = (await Question.create(consultation_id=scene.world.draft_id, position=9, kind=QuestionKind.TEXT, prompt="Ý kiến khác?")).id
        return f"/manage/questions/{question_id}{suffix}", dict(form or {})

    return build


QUESTION_FORM = {"kind": "multiple", "prompt": "Bạn quan tâm dữ liệu nào?", "options": "Giao thông\nY tế\nGiáo dục", "required": "yes"}


async def topic_created(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    topic = await Topic.get(slug="giao-thong")
    assert await AuditEntry.filter(action="topic.create", target_id=str(topic.id), actor_id=scene.account_id(role)).exists()


async def public_attachment_request(scene: Scene, role: str):
    return f"/consultations/{scene.world.open_slug}/attachments/{scene.world.open_attachment_id}", {}


def attachment_request(suffix: str = "", fresh: bool = False) -> Request:
    async def build(scene: Scene, role: str):
        attachment_id = await new_attachment(scene.app.state.settings, scene.world.draft_id) if fresh else scene.world.attachment_id
        return f"/manage/attachments/{attachment_id}{suffix}", {}

    return build


async def csv_sent(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert response.headers["content-type"].startswith("text/csv") and response.content.startswith("\ufeffscope,subject,figure,value".encode())


async def pdf_sent(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert response.headers["content-type"] == "application/pdf" and response.content == SMALL_PDF


async def attachment_added(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert await Attachment.filter(consultation_id=scene.world.draft_id, filename="phu-luc.pdf", uploaded_by_id=scene.account_id(role)).exists()


def open_request(suffix: str, form: dict[str, str] | None = None) -> Request:
    async def build(scene: Scene, role: str):
        return f"/consultations/{scene.world.open_slug}{suffix}", dict(form or {})

    return build


async def comment_form_request(scene: Scene, role: str):
    return f"/consultations/{scene.world.open_slug}/comment", {
        "article": str(scene.world.open_article_id), "stance": "change", "body": f"Ý kiến của {role}", "proposed_wording": "Đề xuất",
    }


async def answers_request(scene: Scene, role: str):
    return f"/consultations/{scene.world.open_slug}/respond", {f"q{scene.world.open_question_id}": "1"}


def comment_request(suffix: str, form: dict[str, str] | None = None, fresh: bool = False, own: bool = False) -> Request:
    """The world's published comment, or a fresh one (by the role itself when own), for actions that use it up."""

    async def build(scene: Scene, role: str):
        comment_id = scene.world.comment_id
        if fresh or own:
            author = await Account.get(id=scene.account_id(role)) if own and role != "anonymous" else None
            comment_id = (await published_comment(scene.world, f"Ý kiến mới cho {role}", author=author)).id
        return f"/comments/{comment_id}{suffix}", dict(form or {})

    return build


async def back_to_consultation(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert response.status_code == 303 and response.headers["location"] == f"/consultations/{scene.world.open_slug}", response.text[:300]


def made_by_role(model, **match) -> Check:
    async def check(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
        assert response.status_code == 303, response.text[:300]
        owner = "author_id" if model is Comment else "account_id"
        assert await model.filter(**{owner: scene.account_id(role)}, **match).exists()

    return check


async def own_comment_withdrawn(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert await Comment.filter(author_id=scene.account_id(role), status=CommentStatus.WITHDRAWN).exists()


def appeal_request(form: dict[str, str] | None = None) -> Request:
    """A comment of the role's own, rejected by a moderator, so the role may appeal it."""

    async def build(scene: Scene, role: str):
        author_id = scene.account_id(role) if role != "anonymous" else scene.account_id("citizen")
        comment = await Comment.create(
            consultation_id=scene.world.open_id, author_id=author_id, body=f"Bị từ chối: {role}", status=CommentStatus.REJECTED,
            reason_code="spam", decided_by_id=scene.account_id("admin"), decided_at=datetime.now(timezone.utc),
        )
        return f"/comments/{comment.id}/appeal", dict(form or {})

    return build


async def appealed(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert await Comment.filter(author_id=scene.account_id(role), appeal_state=AppealState.PENDING).exists()


def held_request(suffix: str, form: dict[str, str] | None = None, *, field: str = "") -> Request:
    """A fresh comment waiting for a moderator (by the world's author), for decisions that use it up."""

    async def build(scene: Scene, role: str):
        comment = await Comment.create(
            consultation_id=scene.world.open_id, author=scene.world.author, body=f"Chờ duyệt: {role}",
            review=ReviewReason.PREMODERATION, review_since=datetime.now(timezone.utc), screened_at=datetime.now(timezone.utc),
        )
        values = dict(form or {})
        if field:
            values[field] = str(comment.id)
            return suffix, values
        return f"/moderation/comments/{comment.id}{suffix}", values

    return build


async def decided_by_role(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert response.status_code == 303, response.text[:300]
    assert await Comment.filter(decided_by_id=scene.account_id(role), status=CommentStatus.PUBLISHED).exists()


async def bulk_started(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert await BulkDecision.filter(actor_id=scene.account_id(role)).exists()


async def answer_saved(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert response.status_code == 303, response.text[:300]
    assert (await Consultation.get(id=scene.world.closed_id)).outcome_summary == f"Giải trình ({role})"


async def delete_request(scene: Scene, role: str):
    return "/account/delete", {"confirm_email": own_email(role)}


async def account_deleted(scene: Scene, role: str, response: httpx.Response, cookies_before: dict[str, str]) -> None:
    assert not await Account.filter(id=scene.account_id(role)).exists()


# (method, route path template) -> who gets what. One line per route and method of the app.
MATRIX: dict[tuple[str, str], Access] = {
    ("GET", "/"): Access(EVERYONE),
    ("GET", "/accessibility"): Access(EVERYONE),
    ("GET", "/privacy"): Access(EVERYONE),
    ("POST", "/language"): Access(EVERYONE, fixed("/language", {"language": "en", "next": "/privacy"})),
    ("GET", "/healthz"): Access(EVERYONE),
    ("GET", "/account/signup"): Access(EVERYONE),
    ("POST", "/account/signup"): Access(
        EVERYONE,
        fixed("/account/signup", {"email": "matrix-signup@example.vn", "display_name": "Người mới đăng ký", "password": NEW_PASSWORD, "consent": "yes"}),
        done=signed_up,
    ),
    ("GET", "/account/check-email"): Access(EVERYONE),
    ("POST", "/account/verify/resend"): Access(SIGNED_IN),
    ("GET", "/account/verify/{token}"): Access(EVERYONE, verify_request),
    ("POST", "/account/verify/{token}"): Access(EVERYONE, verify_request),
    ("GET", "/account/signin"): Access(EVERYONE),
    ("POST", "/account/signin"): Access(EVERYONE, signin_request),
    ("POST", "/account/signout"): Access(EVERYONE, done=signed_out, order=2),
    # Signing in with an identity provider: to the provider for everyone; an answer that was never asked for, and a
    # consent page with nothing waiting, are refused alike (tests/test_identity.py drives the whole flow).
    ("GET", "/account/identity/{provider}"): Access(EVERYONE, fixed("/account/identity/test")),
    ("GET", "/account/identity/{provider}/callback"): Access(dict.fromkeys(ROLES, REFUSED), fixed("/account/identity/test/callback?code=x&state=y")),
    ("GET", "/account/identity/confirm"): Access(dict.fromkeys(ROLES, REFUSED)),
    ("POST", "/account/identity/confirm"): Access(dict.fromkeys(ROLES, REFUSED), fixed("/account/identity/confirm", {"action": "create"})),
    ("POST", "/account/identity/{provider}/unlink"): Access(SIGNED_IN, fixed("/account/identity/test/unlink")),
    ("GET", "/account/reset"): Access(EVERYONE),
    ("POST", "/account/reset"): Access(EVERYONE, reset_request_request),
    ("GET", "/account/reset/{token}"): Access(EVERYONE, reset_page_request),
    ("POST", "/account/reset/{token}"): Access(EVERYONE, reset_request),
    ("GET", "/account"): Access(SIGNED_IN),
    ("POST", "/account"): Access(SIGNED_IN, profile_request),
    ("GET", "/account/password"): Access(SIGNED_IN),
    ("POST", "/account/password"): Access(
        SIGNED_IN,
        fixed("/account/password", {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        done=password_changed,
        order=1,
        keeps_session=True,  # the password change gives this browser a new session; sign-out uses it
    ),
    ("GET", "/admin"): Access(ADMINS),
    ("POST", "/admin/agencies"): Access(
        ADMINS, fixed("/admin/agencies", {"slug": "co-quan-kiem-tra", "name_vi": "Cơ quan kiểm tra", "name_en": "Testing Office"}), done=agency_created
    ),
    ("GET", "/admin/accounts"): Access(ADMINS),
    ("GET", "/admin/accounts/{account_id:int}"): Access(ADMINS, admin_account_request),
    ("POST", "/admin/accounts/{account_id:int}/roles"): Access(ADMINS, grant_request, done=role_granted),
    ("POST", "/admin/accounts/{account_id:int}/roles/revoke"): Access(ADMINS, revoke_request, done=role_revoked),
    ("GET", "/moderation/audit"): Access(AUDITORS),
    ("GET", "/moderation/"): Access(MODERATORS),
    ("GET", "/moderation/comments/{comment_id:int}"): Access(MODERATORS, lambda scene, role: fixed(f"/moderation/comments/{scene.world.held_id}")(scene, role)),
    ("POST", "/moderation/comments/{comment_id:int}/decide"): Access(
        MODERATORS, held_request("/decide", {"version": "0", "action": "approve"}), done=decided_by_role
    ),
    ("POST", "/moderation/bulk"): Access(MODERATORS, held_request("/moderation/bulk", {"action": "approve"}, field="selected"), done=bulk_started),
    ("GET", "/moderation/bulk/{bulk_id:int}"): Access(MODERATORS, lambda scene, role: fixed(f"/moderation/bulk/{scene.world.bulk_id}")(scene, role)),
    ("GET", "/transparency"): Access(EVERYONE),
    ("GET", "/consultations/{slug:str}/transparency"): Access(EVERYONE, open_request("/transparency")),
    ("GET", "/api/transparency"): Access(EVERYONE),
    ("GET", "/consultations/{slug:str}/report"): Access(REPORT_READERS, open_request("/report")),
    ("POST", "/consultations/{slug:str}/report/rebuild"): Access(REPORT_READERS, open_request("/report/rebuild")),
    ("GET", "/consultations/{slug:str}/report.pdf"): Access(EVERYONE, lambda scene, role: fixed(f"/consultations/{scene.world.finished_slug}/report.pdf")(scene, role)),
    ("GET", "/consultations/{slug:str}/export/{kind:str}.{fmt:str}"): Access(REPORT_READERS, open_request("/export/comments.csv")),
    ("GET", "/manage/{consultation_id:int}/outcome"): Access(SECOND_AGENCY_STAFF, lambda scene, role: fixed(f"/manage/{scene.world.closed_id}/outcome")(scene, role)),
    ("POST", "/manage/{consultation_id:int}/outcome"): Access(
        SECOND_AGENCY_STAFF, lambda scene, role: fixed(f"/manage/{scene.world.closed_id}/outcome", {"intro": f"Giải trình ({role})", "action": "save"})(scene, role),
        done=answer_saved,
    ),
    ("GET", "/open-data"): Access(EVERYONE),
    ("GET", "/open-data/{slug:str}/{name:str}"): Access(EVERYONE, lambda scene, role: fixed(f"/open-data/{scene.world.finished_slug}/datapackage.json")(scene, role)),
    ("GET", "/comments/{comment_id:int}"): Access(EVERYONE, lambda scene, role: fixed(f"/comments/{scene.world.comment_id}")(scene, role)),
    ("GET", "/api/consultations/{consultation_id:int}/report"): Access(EVERYONE, lambda scene, role: fixed(f"/api/consultations/{scene.world.finished_id}/report")(scene, role)),
    ("GET", "/api/open-data"): Access(EVERYONE),
    ("GET", "/comments/{comment_id:int}/appeal"): Access(SIGNED_IN, appeal_request()),
    ("POST", "/comments/{comment_id:int}/appeal"): Access(SIGNED_IN, appeal_request({"note": "Xin xem lại"}), done=appealed),
    ("GET", "/consultations"): Access(EVERYONE),
    ("GET", "/consultations/{slug:str}"): Access(EVERYONE, open_page_request),
    ("GET", "/consultations/feed.atom"): Access(EVERYONE),
    ("GET", "/api/consultations"): Access(EVERYONE),
    ("GET", "/api/consultations/{consultation_id:int}"): Access(EVERYONE, open_api_request("")),
    ("GET", "/api/consultations/{consultation_id:int}/comments"): Access(EVERYONE, open_api_request("/comments")),
    ("GET", "/api/consultations/{consultation_id:int}/tallies"): Access(EVERYONE, open_api_request("/tallies")),
    ("GET", "/api/openapi.json"): Access(EVERYONE),
    ("GET", "/manage"): Access(STAFF),
    ("GET", "/manage/dashboard"): Access(STAFF),  # officials: their own agency; administrators: any, or all
    ("GET", "/manage/dashboard.csv"): Access(STAFF, done=csv_sent),
    ("GET", "/participation"): Access(EVERYONE),
    ("GET", "/manage/new"): Access(STAFF),
    # An official of the other agency may create drafts, but not for this agency.
    ("POST", "/manage/new"): Access(AGENCY_STAFF, new_draft_request),
    ("GET", "/manage/{consultation_id:int}"): Access(AGENCY_STAFF, draft_request("")),
    ("POST", "/manage/{consultation_id:int}"): Access(AGENCY_STAFF, draft_request("", DRAFT_FORM)),
    ("GET", "/manage/{consultation_id:int}/preview"): Access(AGENCY_STAFF, draft_request("/preview")),
    ("POST", "/manage/{consultation_id:int}/articles"): Access(
        AGENCY_STAFF, draft_request("/articles", {"label": "Điều 9", "title": "", "body": "Nội dung"})
    ),
    ("POST", "/manage/{consultation_id:int}/publish"): Access(AGENCY_STAFF, publish_request, done=status_changed(ConsultationStatus.OPEN)),
    ("POST", "/manage/{consultation_id:int}/extend"): Access(AGENCY_STAFF, extend_request),
    ("POST", "/manage/{consultation_id:int}/close"): Access(AGENCY_STAFF, close_request, done=status_changed(ConsultationStatus.CLOSED)),
    ("GET", "/manage/articles/{article_id:int}"): Access(AGENCY_STAFF, article_request("")),
    ("POST", "/manage/articles/{article_id:int}"): Access(
        AGENCY_STAFF, article_request("", {"label": "Điều 1", "title": "Phạm vi", "body": "Nội dung đã sửa"})
    ),
    ("POST", "/manage/articles/{article_id:int}/remove"): Access(AGENCY_STAFF, article_request("/remove", fresh=True)),
    ("POST", "/manage/articles/{article_id:int}/move"): Access(AGENCY_STAFF, article_request("/move", {"direction": "up"})),
    ("POST", "/admin/topics"): Access(ADMINS, fixed("/admin/topics", {"name_vi": "Giao thông", "name_en": "Transport"}), done=topic_created),
    ("POST", "/manage/{consultation_id:int}/questions"): Access(AGENCY_STAFF, draft_request("/questions", QUESTION_FORM)),
    ("GET", "/manage/questions/{question_id:int}"): Access(AGENCY_STAFF, question_request("")),
    ("POST", "/manage/questions/{question_id:int}"): Access(AGENCY_STAFF, question_request("", QUESTION_FORM)),
    ("POST", "/manage/questions/{question_id:int}/remove"): Access(AGENCY_STAFF, question_request("/remove", fresh=True)),
    ("POST", "/manage/questions/{question_id:int}/move"): Access(AGENCY_STAFF, question_request("/move", {"direction": "down"})),
    ("POST", "/manage/{consultation_id:int}/attachments"): Access(
        AGENCY_STAFF, draft_request("/attachments", {"title": "Phụ lục"}), done=attachment_added,
        files={"file": ("phu-luc.pdf", SMALL_PDF, "application/pdf")},
    ),
    ("GET", "/manage/attachments/{attachment_id:int}"): Access(AGENCY_STAFF, attachment_request(), done=pdf_sent),
    ("POST", "/manage/attachments/{attachment_id:int}/remove"): Access(AGENCY_STAFF, attachment_request("/remove", fresh=True)),
    ("GET", "/consultations/{slug:str}/attachments/{attachment_id:int}"): Access(EVERYONE, public_attachment_request, done=pdf_sent),
    ("GET", "/consultations/{slug:str}/articles/{article_id:int}"): Access(
        EVERYONE, lambda scene, role: fixed(f"/consultations/{scene.world.open_slug}/articles/{scene.world.open_article_id}")(scene, role)
    ),
    ("GET", "/consultations/{slug:str}/comment"): Access(SIGNED_IN, open_request("/comment")),
    ("POST", "/consultations/{slug:str}/comment"): Access(SIGNED_IN, comment_form_request, done=made_by_role(Comment, status=CommentStatus.PENDING)),
    ("GET", "/consultations/{slug:str}/respond"): Access(SIGNED_IN, open_request("/respond")),
    ("POST", "/consultations/{slug:str}/respond"): Access(SIGNED_IN, answers_request, done=made_by_role(QuestionResponse)),
    ("POST", "/consultations/{slug:str}/follow"): Access(SIGNED_IN, open_request("/follow", {"follow": "1"}), done=made_by_role(Follow)),
    ("GET", "/consultations/{slug:str}/satisfaction"): Access(SIGNED_IN, open_request("/satisfaction?question=ease&after=comment")),
    # Stored only for the people who took part (tests/test_satisfaction.py); everyone signed in is sent back.
    ("POST", "/consultations/{slug:str}/satisfaction"): Access(
        SIGNED_IN, open_request("/satisfaction", {"question": "ease", "satisfaction": "4", "after": "comment"}), done=back_to_consultation,
    ),
    ("GET", "/comments/{comment_id:int}/reply"): Access(SIGNED_IN, comment_request("/reply")),
    ("POST", "/comments/{comment_id:int}/reply"): Access(
        SIGNED_IN, comment_request("/reply", {"body": "Tôi cũng nghĩ vậy."}), done=made_by_role(Comment, parent_id__isnull=False)
    ),
    ("POST", "/comments/{comment_id:int}/vote"): Access(SIGNED_IN, comment_request("/vote", {"value": "agree"}), done=made_by_role(Vote)),
    ("GET", "/comments/{comment_id:int}/flag"): Access(SIGNED_IN, comment_request("/flag")),
    # A fresh comment each time: enough flags would hide the world's comment for the roles after.
    ("POST", "/comments/{comment_id:int}/flag"): Access(
        SIGNED_IN, comment_request("/flag", {"reason": "spam", "note": ""}, fresh=True), done=made_by_role(Flag)
    ),
    ("POST", "/comments/{comment_id:int}/withdraw"): Access(SIGNED_IN, comment_request("/withdraw", own=True), done=own_comment_withdrawn),
    ("GET", "/account/participation"): Access(SIGNED_IN),
    ("GET", "/account/export"): Access(SIGNED_IN),
    ("GET", "/account/delete"): Access(SIGNED_IN),
    # After the password change, before sign-out: it ends the role's account, so nothing of the role may follow.
    ("POST", "/account/delete"): Access(SIGNED_IN, delete_request, done=account_deleted, order=1.5),
}


# --- driving it -----------------------------------------------------------------------------------


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path template) of every route of the app, HEAD left out, the static files mount excluded."""
    pairs = set()
    for route in app.routes:
        if isinstance(route, Mount):
            assert route.path == "/static", f"a mount other than /static hides routes from the matrix: {route.path}"
            continue
        pairs |= {(method, route.path) for method in route.methods if method != "HEAD"}
    return pairs


async def database_snapshot() -> dict[str, list[str]]:
    """Every row of every table, to show that a refused request changed nothing."""
    conn = connections.get("default")
    snapshot = {}
    for table in model_tables():
        if table in ("report", "dashboard_snapshot"):
            continue  # derived figures that cron jobs rebuild at any moment and that pages keep when they count them
        rows = await conn.execute_query_dict(f'SELECT * FROM "{table}"')
        snapshot[table] = sorted(repr(sorted(row.items())) for row in rows)
    return snapshot


def changed_tables(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return sorted(table for table in before.keys() | after.keys() if before.get(table) != after.get(table))


async def settle_jobs(run_jobs) -> None:
    """Lets queued jobs (mail delivery) finish, so that they do not change rows during a comparison."""
    if (await current_queue().state()).get("queued"):
        await run_jobs()


@contextlib.asynccontextmanager
async def browser(app, role: str, cookies: dict[str, str], base_url: str = "http://testserver"):
    transport = httpx.ASGITransport(app=app, client=(ADDRESSES[role], 40000))
    async with httpx.AsyncClient(transport=transport, base_url=base_url, headers={"Accept-Language": "en"}) as client:
        for name, value in cookies.items():
            # Where the server's own Set-Cookie lands (a host without a dot is "<host>.local" in a cookie
            # jar), so that a new session replaces this one rather than sitting beside it.
            client.cookies.set(name, value, domain=httpx.URL(base_url).host + ".local")
        yield client


def outcome_of(response: httpx.Response) -> str:
    location = response.headers.get("location", "")
    if response.status_code == 303 and location.startswith("/account/signin?next="):
        return SIGNIN
    if response.status_code == 403:
        return FORBIDDEN
    if response.status_code == 400:
        return REFUSED
    if response.status_code in (200, 303):
        return OK
    return f"HTTP {response.status_code}"


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The browser's CSRF token, from the home page (every page carries it in its language form)."""
    return csrf_from((await client.get("/")).text)


def check_outcome(expected: str, response: httpx.Response, path: str) -> list[str]:
    problems = []
    got = outcome_of(response)
    if got != expected:
        return [f"expected {expected}, got {got} ({response.headers.get('location', '')})"]
    if expected == SIGNIN and response.headers["location"] != f"/account/signin?next={quote(path, safe='/')}":
        problems.append(f"sign-in redirect does not lead back: {response.headers['location']}")
    if expected == FORBIDDEN and title_of(response.text) != "You do not have permission to see this page – Consult":
        problems.append(f"not the 403 page: {title_of(response.text)!r}")
    if expected == FORBIDDEN and "@example.vn" in response.text:
        problems.append("the 403 page shows an e-mail address")
    return problems


async def drive_matrix(app, settings, run_jobs) -> list[tuple[str, str, str]]:
    """Sends every line of MATRIX as every role; returns (method route, role, problem) for each mismatch."""
    scene = await Scene.build(app, settings)
    lines = sorted(MATRIX.items(), key=lambda item: item[1].order)
    failures: list[tuple[str, str, str]] = []
    checked = 0
    for role in ROLES:
        cookies = await session_cookie(app, role)
        for (method, route), access in lines:
            expected = access.who[role]
            path, form = await (access.request or fixed(route))(scene, role)
            async with browser(app, role, cookies) as client:
                token = await csrf_token(client) if method == "POST" else ""
                watch = method == "GET" or expected != OK
                if watch:
                    await settle_jobs(run_jobs)
                    before = await database_snapshot()
                if method == "GET":
                    response = await client.get(path)
                else:
                    response = await client.request(method, path, data={**form, "csrf_token": token}, files=access.files)
                problems = check_outcome(expected, response, path)
                if watch and not problems:
                    changed = changed_tables(before, await database_snapshot())
                    if changed:
                        problems.append(f"{'a GET' if expected == OK else 'a refused request'} changed {changed}")
                if expected == OK and access.done and not problems:
                    try:
                        await access.done(scene, role, response, cookies)
                    except AssertionError as error:
                        problems.append(f"the action was not done: {error}")
                if access.keeps_session and role != "anonymous":
                    cookies = dict(client.cookies)
            failures += [(f"{method} {route}", role, problem) for problem in problems]
            checked += 1
    assert checked == len(MATRIX) * len(ROLES)
    return failures


def test_every_route_of_the_app_is_in_the_matrix(app):
    routes = app_routes(app)
    assert sorted(routes - MATRIX.keys()) == [], "add a line to MATRIX in tests/test_authorization.py for each new route"
    assert sorted(MATRIX.keys() - routes) == [], "MATRIX names a route that no longer exists"
    for key, access in MATRIX.items():
        assert set(access.who) == set(ROLES), f"{key} must say what each of {ROLES} gets"
        assert set(access.who.values()) <= {OK, SIGNIN, FORBIDDEN, REFUSED}, key


async def test_every_route_for_every_role(app, settings, run_jobs):
    failures = await drive_matrix(app, settings, run_jobs)
    covered = len(MATRIX) * len(ROLES)
    print(f"authorization matrix: {len(MATRIX)} routes x {len(ROLES)} roles = {covered} (route, role) pairs checked")
    assert covered == len(app_routes(app)) * len(ROLES)
    assert not failures, "\n".join(f"{route} as {role}: {problem}" for route, role, problem in failures)

