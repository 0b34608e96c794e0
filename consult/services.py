"""Write use cases. Each validates, checks permission, runs in one transaction, enqueues follow-up
jobs after the commit, and returns the result or raises a domain error with messages in the current
language."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, Sequence

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from consult import i18n, mail, profile, security
from consult.i18n import LANGUAGES, file_size, gettext as _
from consult.models import (
    Account,
    AccountToken,
    Agency,
    Article,
    Attachment,
    AuditEntry,
    Consent,
    Consultation,
    ConsultationKind,
    ConsultationStatus,
    ConsultationTopic,
    Follow,
    ModerationMode,
    OutboxMail,
    ParticipationRule,
    Question,
    QuestionKind,
    Role,
    RoleGrant,
    TokenPurpose,
    Topic,
)
from consult.permissions import Principal, can_act_for_agency, can_administer
from consult.queue import enqueue
from consult.settings import Settings
from consult.text.sanitize import markdown_to_html, plain_text

PRIVACY_NOTICE_VERSION = "2026-11"
EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ServiceError(Exception):
    """A use case refused: ``errors`` maps form field names to messages (``""`` for the whole form)."""

    def __init__(self, errors: dict[str, str], status: int = 400):
        super().__init__(errors)
        self.errors = errors
        self.status = status


class PermissionDenied(Exception):
    pass


@dataclass
class Validator:
    errors: dict[str, str]

    def require(self, name: str, value: str, message: str) -> str:
        value = (value or "").strip()
        if not value:
            self.errors.setdefault(name, message)
        return value

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ServiceError(self.errors)


def now() -> datetime:
    return datetime.now(timezone.utc)


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()


def _check_email(v: Validator, name: str, email: str) -> str:
    email = normalise_email(email)
    if not email:
        v.fail(name, _("Enter your e-mail address"))
    elif len(email) > 254 or not EMAIL_RE.match(email):
        v.fail(name, _("Enter an e-mail address in the correct format, like name@example.com"))
    return email


def _check_display_name(v: Validator, name: str, value: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        v.fail(name, _("Enter a public display name"))
    elif len(value) < 2 or len(value) > 60:
        v.fail(name, _("Your display name must be between 2 and 60 characters"))
    elif CONTROL_RE.search(value) or "@" in value:
        v.fail(name, _("Your display name must not contain an e-mail address or control characters"))
    return value


def _check_new_password(v: Validator, name: str, password: str, settings: Settings, email: str = "") -> str:
    password = password or ""
    if not password:
        v.fail(name, _("Enter a password"))
    elif len(password) < settings.password_min_length:
        v.fail(name, _("Your password must be at least %(min)s characters", min=settings.password_min_length))
    elif len(password) > 256:
        v.fail(name, _("Your password must be 256 characters or fewer"))
    elif security.is_common_password(password) or (email and email.split("@")[0] in password.lower()):
        v.fail(name, _("This password is too common or too easy to guess; choose another"))
    return password


async def _audit(actor: Principal | None, action: str, target_type: str, target_id: Any, **detail: Any) -> None:
    await AuditEntry.create(
        actor_id=actor.id if actor else None, action=action, target_type=target_type, target_id=str(target_id), detail=detail
    )


async def _issue_token(account: Account, purpose: TokenPurpose, hours: int) -> str:
    token, digest = security.new_token()
    await AccountToken.create(account=account, purpose=purpose, token_hash=digest, expires_at=now() + timedelta(hours=hours))
    return token


async def _queue_verification(settings: Settings, account: Account, language: str) -> OutboxMail:
    token = await _issue_token(account, TokenPurpose.VERIFY_EMAIL, settings.verify_link_hours)
    return await mail.queue_mail(
        account.email,
        "verify_email",
        language,
        {
            "site": settings.site_name,
            "name": account.display_name,
            "link": f"{settings.base_url}/account/verify/{token}",
            "hours": settings.verify_link_hours,
        },
    )


async def _send_after_commit(mail_ids: list[int]) -> None:
    for mail_id in mail_ids:
        await enqueue("send_mail", mail_id, _job_id=mail.send_mail_job_id(mail_id))


# --- accounts ---------------------------------------------------------------------------------


async def sign_up(
    settings: Settings, *, email: str, display_name: str, password: str, consent: bool, language: str
) -> str:
    """Create an unverified account and send the verification link. Returns the normalised e-mail.

    When the e-mail already has an account, nothing is created and its owner is told by e-mail, so that
    the form does not reveal who has an account.
    """
    v = Validator({})
    email = _check_email(v, "email", email)
    display_name = _check_display_name(v, "display_name", display_name)
    _check_new_password(v, "password", password, settings, email)
    if not consent:
        v.fail("consent", _("You must agree to the privacy notice to create an account"))
    v.raise_if_any()
    language = language if language in LANGUAGES else settings.default_language
    async with in_transaction():
        existing = await Account.get_or_none(email=email)
        if existing is not None:
            outbox = await mail.queue_mail(
                email,
                "account_exists",
                existing.language or language,
                {"site": settings.site_name, "base_url": settings.base_url},
            )
        else:
            try:
                account = await Account.create(
                    email=email, display_name=display_name, password_hash=security.hash_password(password), language=language
                )
            except IntegrityError:  # a concurrent sign-up with the same e-mail won
                return email
            await Consent.create(account=account, purpose="privacy_notice", notice_version=PRIVACY_NOTICE_VERSION)
            outbox = await _queue_verification(settings, account, language)
    await _send_after_commit([outbox.id])
    return email


async def check_token(token: str, purpose: TokenPurpose) -> AccountToken:
    """The token's record if the link can still be used; a clear error if not."""
    record = await AccountToken.get_or_none(token_hash=security.token_hash(token or ""), purpose=purpose)
    if record is None:
        raise ServiceError({"": _("This link is not valid. Check that you copied the whole link from the e-mail.")}, 404)
    if record.used_at is not None:
        raise ServiceError({"": _("This link has already been used.")}, 410)
    if record.expires_at < now():
        raise ServiceError({"": _("This link has expired.")}, 410)
    return record


async def _consume_token(token: str, purpose: TokenPurpose) -> AccountToken:
    record = await check_token(token, purpose)
    # Only one request can take the token: the update succeeds once.
    taken = await AccountToken.filter(id=record.id, used_at__isnull=True).update(used_at=now())
    if not taken:
        raise ServiceError({"": _("This link has already been used.")}, 410)
    return record


async def verify_email(token: str) -> Account:
    async with in_transaction():
        record = await _consume_token(token, TokenPurpose.VERIFY_EMAIL)
        account = await Account.get(id=record.account_id)
        if account.email_verified_at is None:
            account.email_verified_at = now()
            await account.save(update_fields=["email_verified_at"])
    return account


async def resend_verification(settings: Settings, account_id: int) -> None:
    async with in_transaction():
        account = await Account.get(id=account_id)
        if account.is_verified:
            return
        outbox = await _queue_verification(settings, account, account.language or settings.default_language)
    await _send_after_commit([outbox.id])


async def authenticate(email: str, password: str) -> Account:
    v = Validator({})
    email = normalise_email(email)
    if not email:
        v.fail("email", _("Enter your e-mail address"))
    if not password:
        v.fail("password", _("Enter your password"))
    v.raise_if_any()
    account = await Account.get_or_none(email=email)
    if not security.verify_password(account.password_hash if account else None, password) or account is None:
        raise ServiceError({"email": _("The e-mail address or password is not right")})
    updates = {"last_sign_in_at": now()}
    if security.needs_rehash(account.password_hash):
        updates["password_hash"] = security.hash_password(password)
    await Account.filter(id=account.id).update(**updates)
    return account


async def request_password_reset(settings: Settings, email: str, language: str) -> str:
    v = Validator({})
    email = _check_email(v, "email", email)
    v.raise_if_any()
    outbox = None
    async with in_transaction():
        account = await Account.get_or_none(email=email)
        if account is not None:
            token = await _issue_token(account, TokenPurpose.RESET_PASSWORD, settings.reset_link_hours)
            outbox = await mail.queue_mail(
                email,
                "reset_password",
                account.language or language,
                {"site": settings.site_name, "name": account.display_name, "link": f"{settings.base_url}/account/reset/{token}", "hours": settings.reset_link_hours},
            )
    if outbox is not None:
        await _send_after_commit([outbox.id])
    return email


async def reset_password(settings: Settings, token: str, password: str, confirm: str) -> Account:
    record = await check_token(token, TokenPurpose.RESET_PASSWORD)
    account = await Account.get(id=record.account_id)
    v = Validator({})
    _check_new_password(v, "password", password, settings, account.email)
    if password and confirm != password:
        v.fail("confirm", _("The passwords do not match"))
    v.raise_if_any()
    async with in_transaction():
        await _consume_token(token, TokenPurpose.RESET_PASSWORD)
        account.password_hash = security.hash_password(password)
        account.session_version += 1
        # Following the link proved the e-mail address.
        account.email_verified_at = account.email_verified_at or now()
        await account.save(update_fields=["password_hash", "session_version", "email_verified_at"])
    return account


async def change_password(settings: Settings, account_id: int, current: str, password: str, confirm: str) -> Account:
    account = await Account.get(id=account_id)
    v = Validator({})
    if not security.verify_password(account.password_hash, current or ""):
        v.fail("current", _("Your current password is not right"))
    _check_new_password(v, "password", password, settings, account.email)
    if password and confirm != password:
        v.fail("confirm", _("The passwords do not match"))
    v.raise_if_any()
    account.password_hash = security.hash_password(password)
    account.session_version += 1  # signs out every other session
    await account.save(update_fields=["password_hash", "session_version"])
    return account


async def sign_out(account_id: int) -> None:
    """Ends every session of the account: a copy of the cookie kept elsewhere stops working too."""
    account = await Account.get(id=account_id)
    await Account.filter(id=account_id, session_version=account.session_version).update(session_version=account.session_version + 1)


async def update_profile(account_id: int, *, display_name: str, language: str, province: str = "", respondent_kind: str = "") -> Account:
    v = Validator({})
    display_name = _check_display_name(v, "display_name", display_name)
    if language not in LANGUAGES:
        v.fail("language", _("Choose a language"))
    # Both optional ("" = prefer not to say); only known codes are stored.
    if province and province not in profile.PROVINCE_CODES:
        v.fail("province", _("Choose a province from the list, or leave it empty"))
    if respondent_kind and respondent_kind not in profile.RESPONDENT_KINDS:
        v.fail("respondent_kind", _("Choose a kind of respondent from the list, or leave it empty"))
    v.raise_if_any()
    changes = {"display_name": display_name, "language": language, "province": province or None, "respondent_kind": respondent_kind or None}
    account = await Account.get(id=account_id)
    if "province" in account.verified_fields.split(","):
        del changes["province"]  # vouched for by an identity provider (consult.identity): not typed over
    await Account.filter(id=account_id).update(**changes)
    return await Account.get(id=account_id)


async def set_language(account_id: int, language: str) -> None:
    if language in LANGUAGES:
        await Account.filter(id=account_id).update(language=language)


# --- administration ---------------------------------------------------------------------------


def _require_admin(actor: Principal | None) -> None:
    if not can_administer(actor):
        raise PermissionDenied()


async def create_agency(actor: Principal | None, *, slug: str, name_vi: str, name_en: str) -> Agency:
    _require_admin(actor)
    v = Validator({})
    slug = v.require("slug", (slug or "").lower(), _("Enter a short name for the address"))
    if slug and (not SLUG_RE.match(slug) or len(slug) > 80):
        v.fail("slug", _("Use only lower-case letters, digits and hyphens, at most 80 characters"))
    name_vi = v.require("name_vi", name_vi, _("Enter the name in Vietnamese"))
    name_en = v.require("name_en", name_en, _("Enter the name in English"))
    for field_name, value in (("name_vi", name_vi), ("name_en", name_en)):
        if len(value) > 200:
            v.fail(field_name, _("The name must be 200 characters or fewer"))
    v.raise_if_any()
    async with in_transaction():
        if await Agency.filter(slug=slug).exists():
            raise ServiceError({"slug": _("An agency with this short name already exists")})
        agency = await Agency.create(slug=slug, name_vi=name_vi, name_en=name_en)
        await _audit(actor, "agency.create", "agency", agency.id, slug=slug)
    return agency


MAX_TOPIC_NAME = 80


async def create_topic(actor: Principal | None, *, name_vi: str, name_en: str) -> Topic:
    """A topic tag; its address part is made from the Vietnamese name."""
    _require_admin(actor)
    v = Validator({})
    name_vi = " ".join(plain_text(name_vi).split())
    name_en = " ".join(plain_text(name_en).split())
    for field_name, value, missing in (
        ("name_vi", name_vi, _("Enter the name in Vietnamese")),
        ("name_en", name_en, _("Enter the name in English")),
    ):
        if not value:
            v.fail(field_name, missing)
        elif len(value) > MAX_TOPIC_NAME:
            v.fail(field_name, _("The name must be %(max)s characters or fewer", max=MAX_TOPIC_NAME))
    v.raise_if_any()
    async with in_transaction():
        if await Topic.filter(name_vi__iexact=name_vi).exists():
            raise ServiceError({"name_vi": _("A topic with this name already exists")})
        if await Topic.filter(name_en__iexact=name_en).exists():
            raise ServiceError({"name_en": _("A topic with this name already exists")})
        base = slugify(name_vi)[:70].strip("-")
        slug = _first_free(base, set(await Topic.filter(slug__startswith=base).values_list("slug", flat=True)))
        topic = await Topic.create(slug=slug, name_vi=name_vi, name_en=name_en)
        await _audit(actor, "topic.create", "topic", topic.id, slug=slug)
    return topic


async def grant_role(actor: Principal | None, *, account_id: int, role: str, agency_id: int | None) -> RoleGrant:
    _require_admin(actor)
    v = Validator({})
    try:
        role_value = Role(role)
    except ValueError:
        v.fail("role", _("Choose a role"))
        v.raise_if_any()
    if role_value is Role.OFFICIAL and not agency_id:
        v.fail("agency", _("Choose the agency the official works for"))
    v.raise_if_any()
    agency = None
    # Officials act for one agency; a moderator may be limited to one (site-wide without it).
    if role_value is Role.OFFICIAL or (role_value is Role.MODERATOR and agency_id):
        agency = await Agency.get_or_none(id=agency_id)
        if agency is None:
            raise ServiceError({"agency": _("Choose the agency the official works for")})
    async with in_transaction():
        account = await Account.get_or_none(id=account_id)
        if account is None:
            raise ServiceError({"": _("This account does not exist")}, 404)
        grant, created = await RoleGrant.get_or_create(
            account=account, role=role_value, agency=agency, defaults={"granted_by_id": actor.id}
        )
        if created:
            await _audit(actor, "role.grant", "account", account.id, role=role_value.value, agency=agency.id if agency else None)
    return grant


async def revoke_role(actor: Principal | None, *, account_id: int, grant_id: int) -> None:
    _require_admin(actor)
    async with in_transaction():
        grant = await RoleGrant.get_or_none(id=grant_id, account_id=account_id)
        if grant is None:
            raise ServiceError({"": _("This role has already been removed")}, 404)
        if grant.role is Role.ADMIN and grant.account_id == actor.id:
            raise ServiceError({"": _("You cannot remove your own administrator role")})
        await grant.delete()
        await _audit(actor, "role.revoke", "account", grant.account_id, role=grant.role.value, agency=grant.agency_id)


async def create_admin(settings: Settings, *, email: str, display_name: str, password: str) -> Account:
    """For the command line: an administrator with a verified e-mail (or the role added to an account)."""
    v = Validator({})
    email = _check_email(v, "email", email)
    existing = await Account.get_or_none(email=email) if email else None
    if existing is None:
        display_name = _check_display_name(v, "display_name", display_name)
        _check_new_password(v, "password", password, settings, email)
    v.raise_if_any()
    async with in_transaction():
        account = existing or await Account.create(
            email=email,
            display_name=display_name,
            password_hash=security.hash_password(password),
            email_verified_at=now(),
            language=settings.default_language,
        )
        _, created = await RoleGrant.get_or_create(account=account, role=Role.ADMIN, agency=None)
        if created:
            await _audit(None, "role.grant", "account", account.id, role=Role.ADMIN.value, via="command line")
    return account


# --- consultation lifecycle: draft -> scheduled -> open -> closed -----------------------------


def _require_agency_staff(actor: Principal | None, consultation: Consultation) -> None:
    if not can_act_for_agency(actor, consultation.agency_id):
        raise PermissionDenied()


async def _consultation_for(actor: Principal | None, consultation_id: int) -> Consultation:
    consultation = await Consultation.get_or_none(id=consultation_id)
    if consultation is None:
        raise ServiceError({"": _("This consultation does not exist")}, 404)
    _require_agency_staff(actor, consultation)
    return consultation


async def publish(actor: Principal | None, consultation_id: int, *, opens_at: datetime | None, closes_at: datetime | None) -> Consultation:
    """Publish a draft now (opens_at empty or past) or schedule it; the cron job opens it on time."""
    consultation = await _consultation_for(actor, consultation_id)
    v = Validator({})
    moment = now()
    if consultation.status is not ConsultationStatus.DRAFT:
        v.fail("", _("Only a draft can be published"))
    if closes_at is None:
        v.fail("closes_at", _("Enter the closing date and time"))
    else:
        starts = opens_at if opens_at and opens_at > moment else moment
        if closes_at <= starts:
            v.fail("closes_at", _("The closing time must be after the opening time"))
    v.raise_if_any()
    opens_now = opens_at is None or opens_at <= moment
    async with in_transaction():
        changed = await Consultation.filter(id=consultation.id, status=ConsultationStatus.DRAFT).update(
            status=ConsultationStatus.OPEN if opens_now else ConsultationStatus.SCHEDULED,
            opens_at=moment if opens_now else opens_at,
            opened_at=moment if opens_now else None,
            closes_at=closes_at,
        )
        if not changed:
            raise ServiceError({"": _("Only a draft can be published")})
        await _audit(actor, "consultation.open" if opens_now else "consultation.schedule", "consultation", consultation.id,
                     opens_at=(moment if opens_now else opens_at).isoformat(), closes_at=closes_at.isoformat())
    return await Consultation.get(id=consultation.id)


async def extend_deadline(actor: Principal | None, settings: Settings, consultation_id: int, *, closes_at: datetime | None, reason: str) -> Consultation:
    consultation = await _consultation_for(actor, consultation_id)
    v = Validator({})
    reason = v.require("reason", plain_text(reason), _("Say why the deadline is extended; followers are told"))
    if consultation.status not in (ConsultationStatus.SCHEDULED, ConsultationStatus.OPEN):
        v.fail("", _("Only a scheduled or open consultation can be extended"))
    elif closes_at is None or consultation.closes_at is None or closes_at <= consultation.closes_at:
        v.fail("closes_at", _("The new closing time must be later than the current one"))
    v.raise_if_any()
    async with in_transaction():
        changed = await Consultation.filter(id=consultation.id, status=consultation.status, closes_at=consultation.closes_at).update(closes_at=closes_at)
        if not changed:
            raise ServiceError({"": _("The consultation changed meanwhile; reload the page and try again")}, 409)
        await _audit(actor, "consultation.extend", "consultation", consultation.id,
                     old_closes_at=consultation.closes_at.isoformat(), closes_at=closes_at.isoformat(), reason=reason)
        mails = await notify_followers(settings, consultation.id, "extended", reason)
    await send_queued(mails)
    return await Consultation.get(id=consultation.id)


async def close_early(actor: Principal | None, settings: Settings, consultation_id: int, *, reason: str) -> Consultation:
    consultation = await _consultation_for(actor, consultation_id)
    v = Validator({})
    reason = v.require("reason", plain_text(reason), _("Say why the consultation closes early; followers are told"))
    if consultation.status is not ConsultationStatus.OPEN:
        v.fail("", _("Only an open consultation can be closed"))
    v.raise_if_any()
    moment = now()
    async with in_transaction():
        changed = await Consultation.filter(id=consultation.id, status=ConsultationStatus.OPEN).update(
            status=ConsultationStatus.CLOSED, closed_at=moment, closes_at=moment
        )
        if not changed:
            raise ServiceError({"": _("Only an open consultation can be closed")})
        await _audit(actor, "consultation.close", "consultation", consultation.id, reason=reason, early=True)
        mails = await notify_followers(settings, consultation.id, "closed", reason)
    await send_queued(mails)
    await _build_final_report(consultation.id)
    return await Consultation.get(id=consultation.id)


async def advance_lifecycle(settings: Settings, when: datetime | None = None) -> dict[str, list[int]]:
    """Open what is due to open and close what is due to close, by the stored times.

    Each change is a conditional update, so two runs at once (two workers, or a retry) change each
    consultation once, and only the run that made the change writes the audit entry."""
    moment = when or now()
    result: dict[str, list[int]] = {"opened": [], "closed": []}
    steps = (
        ("opened", ConsultationStatus.SCHEDULED, ConsultationStatus.OPEN, "opens_at", "opened_at", "consultation.open"),
        ("closed", ConsultationStatus.OPEN, ConsultationStatus.CLOSED, "closes_at", "closed_at", "consultation.close"),
    )
    for key, before, after, due_field, stamp_field, action in steps:
        due = await Consultation.filter(status=before, **{f"{due_field}__lte": moment}).order_by("id").values_list("id", flat=True)
        for consultation_id in due:
            async with in_transaction():
                changed = await Consultation.filter(id=consultation_id, status=before).update(status=after, **{stamp_field: moment})
                mails = []
                if changed:
                    await _audit(None, action, "consultation", consultation_id, at=moment.isoformat(), by="schedule")
                    result[key].append(consultation_id)
                    if key == "closed":
                        mails = await notify_followers(settings, consultation_id, "closed")
            await send_queued(mails)
            if changed and key == "closed":
                await _build_final_report(consultation_id)
    return result


async def _build_final_report(consultation_id: int) -> None:
    """The report built after closing is final. If the prompt is lost, the refresh cron finds a closed
    consultation without a final report and builds it."""
    await enqueue("build_report", consultation_id, _job_id=f"build_report:{consultation_id}:closing")


# Followers hear of these changes; the values name the mail templates.
FOLLOWER_EVENTS = ("extended", "closed", "outcome")


async def notify_followers(settings: Settings, consultation_id: int, event: str, reason: str = "") -> list[int]:
    """One e-mail per follower, in the follower's language, stored in the outbox inside the caller's
    transaction; returns the outbox ids for the caller to enqueue after the commit."""
    assert event in FOLLOWER_EVENTS
    consultation = await Consultation.get(id=consultation_id)
    followers = await Follow.filter(consultation_id=consultation_id).values("account__email", "account__language", "account__display_name")
    fmt = i18n.Formatter(settings.timezone)
    context = {
        "site": settings.site_name,
        "title": consultation.title,
        "link": f"{settings.base_url.rstrip('/')}/consultations/{consultation.slug}",
        # Called while the mail renders, so the date is written in the follower's language.
        "closes": lambda: fmt.datetime(consultation.closes_at, "long") if consultation.closes_at else "",
        "reason": reason,
    }
    ids = []
    for follower in followers:
        outbox = await mail.queue_mail(
            follower["account__email"], f"consultation_{event}", follower["account__language"] or settings.default_language,
            {**context, "name": follower["account__display_name"]},
        )
        ids.append(outbox.id)
    return ids


async def send_queued(mail_ids: list[int]) -> None:
    for mail_id in mail_ids:
        await enqueue("send_mail", mail_id, _job_id=mail.send_mail_job_id(mail_id))


# --- drafts: officials write a consultation and its articles before it opens -------------------

EDITABLE = (ConsultationStatus.DRAFT, ConsultationStatus.SCHEDULED)
MAX_TITLE = 300
MAX_SUMMARY = 3000
MAX_ARTICLE = 100_000


def slugify(text: str) -> str:
    """An address part from a title, Vietnamese letters without their marks: "Luật Đất đai" -> "luat-dat-dai"."""
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:100].strip("-") or "tham-van"


def _first_free(base: str, taken: set[str]) -> str:
    """The address part itself, or with the first number that makes it new: "luat-dat-dai-2"."""
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


async def _unique_slug(title: str) -> str:
    base = slugify(title)
    return _first_free(base, set(await Consultation.filter(slug__startswith=base).values_list("slug", flat=True)))


def _check_draft_fields(
    v: Validator, *, title: str, summary: str, kind: str, language: str, moderation_mode: str, participation: str = ParticipationRule.ACCOUNTS.value,
) -> dict[str, Any]:
    title = plain_text(title)
    summary = plain_text(summary)
    if not title:
        v.fail("title", _("Enter a title"))
    elif len(title) > MAX_TITLE:
        v.fail("title", _("The title must be %(max)s characters or fewer", max=MAX_TITLE))
    if not summary:
        v.fail("summary", _("Enter a summary"))
    elif len(summary) > MAX_SUMMARY:
        v.fail("summary", _("The summary must be %(max)s characters or fewer", max=MAX_SUMMARY))
    if kind not in {k.value for k in ConsultationKind}:
        v.fail("kind", _("Choose the kind of consultation"))
    if language not in LANGUAGES:
        v.fail("language", _("Choose a language"))
    if moderation_mode not in {m.value for m in ModerationMode}:
        v.fail("moderation_mode", _("Choose how comments are moderated"))
    if participation not in {rule.value for rule in ParticipationRule}:
        v.fail("participation", _("Choose who may take part"))
    return {"title": title, "summary": summary, "kind": kind, "language": language, "moderation_mode": moderation_mode,
            "participation": participation}


MAX_TOPICS = 10


async def _check_topics(v: Validator, topic_ids: Sequence[int] | None) -> list[int] | None:
    if topic_ids is None:
        return None
    chosen = sorted(set(topic_ids))
    if len(chosen) > MAX_TOPICS:
        v.fail("topics", _("Choose at most %(max)s topics", max=MAX_TOPICS))
    elif chosen and await Topic.filter(id__in=chosen).count() != len(chosen):
        v.fail("topics", _("Choose topics from the list"))
    return chosen


async def _set_topics(consultation_id: int, topic_ids: list[int]) -> None:
    await ConsultationTopic.filter(consultation_id=consultation_id).exclude(topic_id__in=topic_ids).delete()
    present = set(await ConsultationTopic.filter(consultation_id=consultation_id).values_list("topic_id", flat=True))
    added = [ConsultationTopic(consultation_id=consultation_id, topic_id=topic_id) for topic_id in topic_ids if topic_id not in present]
    if added:
        await ConsultationTopic.bulk_create(added)


async def create_draft(
    actor: Principal | None, *, agency_id: int | None, title: str, summary: str, kind: str, language: str, moderation_mode: str,
    participation: str = ParticipationRule.ACCOUNTS.value, topic_ids: Sequence[int] = (),
) -> Consultation:
    if actor is None or not (actor.is_admin or actor.agency_ids):
        raise PermissionDenied()
    v = Validator({})
    values = _check_draft_fields(v, title=title, summary=summary, kind=kind, language=language, moderation_mode=moderation_mode,
                                  participation=participation)
    topics = await _check_topics(v, topic_ids) or []
    agency = await Agency.get_or_none(id=agency_id) if agency_id else None
    if agency is None:
        v.fail("agency", _("Choose the agency that runs the consultation"))
    elif not can_act_for_agency(actor, agency.id):
        raise PermissionDenied()
    v.raise_if_any()
    async with in_transaction():
        consultation = await Consultation.create(
            agency=agency, slug=await _unique_slug(values["title"]), created_by_id=actor.id, **values
        )
        await _set_topics(consultation.id, topics)
        await _audit(actor, "consultation.create", "consultation", consultation.id, title=values["title"], topics=topics)
    return consultation


async def _editable(actor: Principal | None, consultation_id: int) -> Consultation:
    consultation = await _consultation_for(actor, consultation_id)
    if consultation.status not in EDITABLE:
        # Once people have read and commented, the text they answered must stay as it was.
        raise ServiceError({"": _("The text cannot be changed after the consultation has opened")}, 409)
    return consultation


async def update_draft(
    actor: Principal | None, consultation_id: int, *, title: str, summary: str, kind: str, language: str, moderation_mode: str,
    participation: str = ParticipationRule.ACCOUNTS.value, topic_ids: Sequence[int] | None = None,
) -> Consultation:
    """Save the draft's details; its topic tags become ``topic_ids`` unless that is None (left as they are)."""
    consultation = await _editable(actor, consultation_id)
    v = Validator({})
    values = _check_draft_fields(v, title=title, summary=summary, kind=kind, language=language, moderation_mode=moderation_mode,
                                  participation=participation)
    topics = await _check_topics(v, topic_ids)
    v.raise_if_any()
    async with in_transaction():
        changed = await Consultation.filter(id=consultation.id, status__in=EDITABLE).update(**values)
        if not changed:
            raise ServiceError({"": _("The text cannot be changed after the consultation has opened")}, 409)
        if topics is not None:
            await _set_topics(consultation.id, topics)
        await _audit(actor, "consultation.update", "consultation", consultation.id, **({"topics": topics} if topics is not None else {}))
    return await Consultation.get(id=consultation.id)


def _check_article(v: Validator, *, label: str, title: str, body: str) -> dict[str, str]:
    label, title, body = plain_text(label), plain_text(title), plain_text(body)
    if not label:
        v.fail("label", _("Enter the article's number or label, for example Điều 1"))
    elif len(label) > 40:
        v.fail("label", _("The label must be 40 characters or fewer"))
    if len(title) > MAX_TITLE:
        v.fail("title", _("The title must be %(max)s characters or fewer", max=MAX_TITLE))
    if not body:
        v.fail("body", _("Enter the text of the article"))
    elif len(body) > MAX_ARTICLE:
        v.fail("body", _("The text must be %(max)s characters or fewer", max=MAX_ARTICLE))
    return {"label": label, "title": title, "body_markdown": body, "body_html": markdown_to_html(body) if body else ""}


async def add_article(actor: Principal | None, consultation_id: int, *, label: str, title: str, body: str) -> Article:
    consultation = await _editable(actor, consultation_id)
    v = Validator({})
    values = _check_article(v, label=label, title=title, body=body)
    v.raise_if_any()
    async with in_transaction():
        last = await Article.filter(consultation_id=consultation.id).order_by("-position").limit(1).values_list("position", flat=True)
        article = await Article.create(consultation_id=consultation.id, position=(last[0] if last else 0) + 1, **values)
        await _audit(actor, "article.add", "consultation", consultation.id, article=article.id, label=values["label"])
    return article


async def _article_for(actor: Principal | None, article_id: int) -> Article:
    article = await Article.get_or_none(id=article_id)
    if article is None:
        raise ServiceError({"": _("This article does not exist")}, 404)
    await _editable(actor, article.consultation_id)
    return article


async def update_article(actor: Principal | None, article_id: int, *, label: str, title: str, body: str) -> Article:
    article = await _article_for(actor, article_id)
    v = Validator({})
    values = _check_article(v, label=label, title=title, body=body)
    v.raise_if_any()
    async with in_transaction():
        await Article.filter(id=article.id).update(**values)
        await _audit(actor, "article.update", "consultation", article.consultation_id, article=article.id)
    return await Article.get(id=article.id)


async def remove_article(actor: Principal | None, article_id: int) -> None:
    article = await _article_for(actor, article_id)
    async with in_transaction():
        await article.delete()
        await _audit(actor, "article.remove", "consultation", article.consultation_id, article=article.id, label=article.label)


async def move_article(actor: Principal | None, article_id: int, step: int) -> None:
    """Swap an article with its neighbour above (step -1) or below (step +1)."""
    await _swap_with_neighbour(actor, await _article_for(actor, article_id), step, "article")


async def _swap_with_neighbour(actor: Principal | None, item: Article | Question, step: int, kind: str) -> None:
    """Swap the positions of an article or question and its neighbour in the draft, audited as <kind>.move."""
    model = type(item)
    siblings = model.filter(consultation_id=item.consultation_id)
    neighbour = await (
        siblings.filter(position__lt=item.position).order_by("-position") if step < 0 else siblings.filter(position__gt=item.position).order_by("position")
    ).first()
    if neighbour is None:
        return
    async with in_transaction():
        await model.filter(id=item.id).update(position=neighbour.position)
        await model.filter(id=neighbour.id).update(position=item.position)
        await _audit(actor, f"{kind}.move", "consultation", item.consultation_id, **{kind: item.id}, step=step)


# --- questions: what participants are asked, in order, written while the draft is editable -----

MAX_PROMPT = 500
MAX_OPTION = 200
MIN_OPTIONS, MAX_OPTIONS = 2, 20
CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)


def _one_line(value: str) -> str:
    return " ".join(plain_text(value).split())


def _first_repeated(options: list[str]) -> str | None:
    seen: set[str] = set()
    for option in options:
        if option.casefold() in seen:
            return option
        seen.add(option.casefold())
    return None


def _check_question(v: Validator, *, kind: str, prompt: str, options: Sequence[str], required: bool) -> dict[str, Any]:
    prompt = _one_line(prompt)
    try:
        kind_value: QuestionKind | None = QuestionKind(kind)
    except ValueError:
        kind_value = None
        v.fail("kind", _("Choose the kind of question"))
    if not prompt:
        v.fail("prompt", _("Enter the question"))
    elif len(prompt) > MAX_PROMPT:
        v.fail("prompt", _("The question must be %(max)s characters or fewer", max=MAX_PROMPT))
    cleaned = [option for option in (_one_line(line) for line in options) if option]
    if kind_value in CHOICE_KINDS:
        twice = _first_repeated(cleaned)
        if len(cleaned) < MIN_OPTIONS:
            v.fail("options", _("Enter at least %(min)s options, one per line", min=MIN_OPTIONS))
        elif len(cleaned) > MAX_OPTIONS:
            v.fail("options", _("Enter at most %(max)s options", max=MAX_OPTIONS))
        elif any(len(option) > MAX_OPTION for option in cleaned):
            v.fail("options", _("Each option must be %(max)s characters or fewer", max=MAX_OPTION))
        elif twice is not None:
            v.fail("options", _("Each option must be different: “%(option)s” is there twice", option=twice))
    else:
        cleaned = []  # a scale runs 1 to 5 and free text has no options
    return {"kind": kind_value, "prompt": prompt, "options": cleaned, "required": bool(required)}


async def add_question(
    actor: Principal | None, consultation_id: int, *, kind: str, prompt: str, options: Sequence[str], required: bool
) -> Question:
    consultation = await _editable(actor, consultation_id)
    v = Validator({})
    values = _check_question(v, kind=kind, prompt=prompt, options=options, required=required)
    v.raise_if_any()
    async with in_transaction():
        last = await Question.filter(consultation_id=consultation.id).order_by("-position").limit(1).values_list("position", flat=True)
        question = await Question.create(consultation_id=consultation.id, position=(last[0] if last else 0) + 1, **values)
        await _audit(actor, "question.add", "consultation", consultation.id, question=question.id, kind=values["kind"].value)
    return question


async def _question_for(actor: Principal | None, question_id: int) -> Question:
    question = await Question.get_or_none(id=question_id)
    if question is None:
        raise ServiceError({"": _("This question does not exist")}, 404)
    await _editable(actor, question.consultation_id)
    return question


async def update_question(
    actor: Principal | None, question_id: int, *, kind: str, prompt: str, options: Sequence[str], required: bool
) -> Question:
    question = await _question_for(actor, question_id)
    v = Validator({})
    values = _check_question(v, kind=kind, prompt=prompt, options=options, required=required)
    v.raise_if_any()
    async with in_transaction():
        await Question.filter(id=question.id).update(**values)
        await _audit(actor, "question.update", "consultation", question.consultation_id, question=question.id)
    return await Question.get(id=question.id)


async def remove_question(actor: Principal | None, question_id: int) -> None:
    question = await _question_for(actor, question_id)
    async with in_transaction():
        await question.delete()
        await _audit(actor, "question.remove", "consultation", question.consultation_id, question=question.id, prompt=question.prompt)


async def move_question(actor: Principal | None, question_id: int, step: int) -> None:
    """Swap a question with its neighbour above (step -1) or below (step +1)."""
    await _swap_with_neighbour(actor, await _question_for(actor, question_id), step, "question")


# --- attachments: PDF files of the draft, stored under the upload directory by a random name ---

PDF_SIGNATURE = b"%PDF-"
MAX_ATTACHMENT_TITLE = 200
MAX_ATTACHMENTS = 20
_CHUNK = 1 << 16
_UNSAFE_IN_NAMES = re.compile(r'[<>:"/\\|?*]')


class _UploadRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def attachment_path(settings: Settings, stored_name: str) -> Path:
    return settings.upload_path / stored_name


def clean_filename(name: str) -> str:
    """The uploaded file's name as the download offers it: no folders, no characters file systems refuse,
    at most 200 characters, ending in .pdf."""
    name = _one_line((name or "").replace("\\", "/").rsplit("/", 1)[-1])
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    stem = _UNSAFE_IN_NAMES.sub("", stem).strip(". ")[:190].strip(". ")
    return f"{stem or 'tai-lieu'}.pdf"


def _store_pdf(source: BinaryIO, folder: Path, max_bytes: int) -> tuple[str, int, str]:
    """Copy the upload to a new file, checking it as it goes: (stored name, size, SHA-256).

    Written under a temporary name and renamed when complete, so a half-written file never has a name
    that a row points to. The first bytes decide whether it is a PDF, whatever its name or declared type."""
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = f"{secrets.token_hex(16)}.pdf"
    partial = folder / f".{stored_name}.part"
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with partial.open("xb") as out:
            while chunk := source.read(_CHUNK):
                if len(head) < len(PDF_SIGNATURE):
                    head += chunk[: len(PDF_SIGNATURE) - len(head)]
                    if len(head) == len(PDF_SIGNATURE) and head != PDF_SIGNATURE:
                        raise _UploadRefused("not_pdf")
                size += len(chunk)
                if size > max_bytes:
                    raise _UploadRefused("too_large")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise _UploadRefused("empty")
        if head != PDF_SIGNATURE:
            raise _UploadRefused("not_pdf")
        os.replace(partial, folder / stored_name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return stored_name, size, digest.hexdigest()


def attachment_too_large_message(settings: Settings) -> str:
    return _("The file must be %(size)s or smaller", size=file_size(settings.attachment_max_bytes))


def _refusal_message(settings: Settings, reason: str) -> str:
    if reason == "too_large":
        return attachment_too_large_message(settings)
    if reason == "empty":
        return _("The selected file is empty")
    return _("The selected file must be a PDF")


async def add_attachment(
    settings: Settings, actor: Principal | None, consultation_id: int, *, title: str, filename: str, source: BinaryIO | None
) -> Attachment:
    """Store an uploaded PDF for a draft; the title defaults to the file's name."""
    consultation = await _editable(actor, consultation_id)
    v = Validator({})
    title = _one_line(title)
    if len(title) > MAX_ATTACHMENT_TITLE:
        v.fail("title", _("The title must be %(max)s characters or fewer", max=MAX_ATTACHMENT_TITLE))
    if source is None or not filename:
        v.fail("file", _("Choose a PDF file to upload"))
    if await Attachment.filter(consultation_id=consultation.id).count() >= MAX_ATTACHMENTS:
        v.fail("", _("A consultation can have at most %(max)s attachments", max=MAX_ATTACHMENTS))
    v.raise_if_any()
    try:
        stored_name, size, sha256 = await asyncio.to_thread(_store_pdf, source, settings.upload_path, settings.attachment_max_bytes)
    except _UploadRefused as refused:
        raise ServiceError({"file": _refusal_message(settings, refused.reason)}) from None
    name = clean_filename(filename)
    try:
        async with in_transaction():
            attachment = await Attachment.create(
                consultation_id=consultation.id, title=title or name[:-4][:MAX_ATTACHMENT_TITLE], filename=name,
                stored_name=stored_name, size=size, sha256=sha256, uploaded_by_id=actor.id,
            )
            await _audit(actor, "attachment.add", "consultation", consultation.id, attachment=attachment.id, filename=name, sha256=sha256)
    except BaseException:
        attachment_path(settings, stored_name).unlink(missing_ok=True)
        raise
    return attachment


async def remove_attachment(settings: Settings, actor: Principal | None, attachment_id: int) -> None:
    attachment = await Attachment.get_or_none(id=attachment_id)
    if attachment is None:
        raise ServiceError({"": _("This attachment does not exist")}, 404)
    await _editable(actor, attachment.consultation_id)
    async with in_transaction():
        await attachment.delete()
        await _audit(actor, "attachment.remove", "consultation", attachment.consultation_id, attachment=attachment.id, filename=attachment.filename)
    # Only once the row is gone: a failed delete must not leave a row without its file.
    attachment_path(settings, attachment.stored_name).unlink(missing_ok=True)
