"""Signing in with an identity provider (OpenID Connect): the providers the settings name, what their ID tokens
vouch for, and the accounts a sign-in creates or links.

The protocol (authorization code with PKCE, state, nonce, the ID token's signature and claims) is authlib's, driven
by consult.web.identity; this module only sees the claims once authlib has checked them. Once-only: what the
provider vouches for (name, province, year of birth) fills the profile after the person agrees, is marked as
verified and is not asked again. The verified name is never shown publicly: comments keep the display name the
person chose. Of the date of birth only the year is kept, which is all the reports could use.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any, Mapping
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from consult import profile
from consult.i18n import LANGUAGES, current_language
from consult.i18n import gettext as _
from consult.models import Account, AuditEntry, Consent, IdentityLink
from consult.services import (
    PRIVACY_NOTICE_VERSION, ServiceError, Validator, _check_display_name, _check_email, _queue_verification, _send_after_commit,
    authenticate, normalise_email, now,
)
from consult.settings import Settings, SettingsError

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$")
DETAILS_NOTICE = "identity-2026-11"  # the consent to fill the profile from the provider's claims


@dataclass(frozen=True)
class Provider:
    """One OpenID Connect provider, from CONSULT_OIDC_PROVIDERS."""

    name: str  # in the URLs: /account/identity/<name>
    issuer: str
    client_id: str
    client_secret: str
    label_vi: str
    label_en: str
    scopes: str = "openid profile email address"
    # Whether its accounts are real, identified residents (a national identity such as VNeID: yes; an agency's
    # staff directory or a social login: no). Only these count as verified for verified-only consultations.
    verifies_identity: bool = False

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_vi


_REQUIRED = ("name", "issuer", "client_id", "client_secret", "label_vi", "label_en")


def parse_providers(raw: str) -> tuple[Provider, ...]:
    """The providers of CONSULT_OIDC_PROVIDERS (a JSON list of objects), or a SettingsError saying what is wrong."""
    if not raw.strip():
        return ()
    where = "CONSULT_OIDC_PROVIDERS"
    try:
        items = json.loads(raw)
    except ValueError as error:
        raise SettingsError(f"{where} must be a JSON list of providers: {error}") from None
    if not isinstance(items, list):
        raise SettingsError(f"{where} must be a JSON list of providers, not {type(items).__name__}")
    known = {f.name for f in fields(Provider)}
    providers: list[Provider] = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise SettingsError(f"{where}: provider {number} must be an object")
        unknown = sorted(set(item) - known)
        missing = [key for key in _REQUIRED if not isinstance(item.get(key), str) or not item[key].strip()]
        if unknown or missing:
            raise SettingsError(f"{where}: provider {number}: " + "; ".join(
                ([f"unknown keys {', '.join(unknown)}"] if unknown else []) + ([f"missing {', '.join(missing)}"] if missing else [])))
        if not NAME_RE.match(item["name"]):
            raise SettingsError(f"{where}: provider {number}: name must be lower-case letters, digits and dashes, not {item['name']!r}")
        issuer = urlsplit(item["issuer"])
        local = issuer.hostname in ("127.0.0.1", "localhost", "::1")
        if issuer.scheme != "https" and not (issuer.scheme == "http" and local):
            raise SettingsError(f"{where}: provider {item['name']}: the issuer must be an https:// URL (http only on loopback)")
        if "openid" not in str(item.get("scopes", "openid")).split():
            raise SettingsError(f"{where}: provider {item['name']}: scopes must include openid")
        if not isinstance(item.get("verifies_identity", False), bool):
            raise SettingsError(f"{where}: provider {item['name']}: verifies_identity must be true or false")
        if any(p.name == item["name"] for p in providers):
            raise SettingsError(f"{where}: two providers are named {item['name']!r}")
        providers.append(Provider(**item))
    return tuple(providers)


# --- what a provider vouches for ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Vouched:
    """The claims of a checked ID token that Consult may use, in its own terms; kept in the session between
    the provider's answer and the person's consent."""

    provider: str
    subject: str
    name: str = ""
    email: str = ""  # only when the provider says it verified the address
    province: str = ""  # a code of consult.profile
    birth_year: int | None = None

    def as_session(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_session(cls, value: Any) -> "Vouched | None":
        if not isinstance(value, dict):
            return None
        try:
            return cls(**value)
        except TypeError:
            return None

    def details(self) -> list[tuple[str, str]]:
        """(field, value) of what would fill the profile, in the order the consent page lists them."""
        out = []
        if self.name:
            out.append(("name", self.name))
        if self.province:
            out.append(("province", self.province))
        if self.birth_year:
            out.append(("birth_year", str(self.birth_year)))
        return out


def vouched(provider: str, claims: Mapping[str, Any]) -> Vouched:
    """What Consult takes from the claims: the subject, a name, a verified e-mail, the province (the address's
    region, matched to the list of provinces) and the year of birth. Anything else is dropped."""
    subject = str(claims.get("sub") or "")
    if not subject or len(subject) > 255:
        raise ServiceError({"": _("The identity provider did not say who you are.")}, 502)
    name = _text(claims.get("name")) or " ".join(
        part for part in (_text(claims.get("family_name")), _text(claims.get("middle_name")), _text(claims.get("given_name"))) if part)
    email = ""
    if claims.get("email_verified") is True and isinstance(claims.get("email"), str):
        candidate = normalise_email(claims["email"])
        email = candidate if "@" in candidate and len(candidate) <= 254 else ""
    address = claims.get("address")
    region = _text(address.get("region")) if isinstance(address, dict) else ""
    return Vouched(provider=provider, subject=subject, name=name[:200], email=email, province=profile.province_code(region),
                   birth_year=_birth_year(claims.get("birthdate")))


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _birth_year(value: Any) -> int | None:
    # OpenID Connect's birthdate is YYYY-MM-DD, YYYY alone, or 0000-MM-DD when the year is withheld.
    match = re.match(r"^(\d{4})(?:-\d{2}-\d{2})?$", value) if isinstance(value, str) else None
    year = int(match.group(1)) if match else 0
    return year if 1900 <= year <= date.today().year else None


# --- accounts ------------------------------------------------------------------------------------------------


async def _audit(account_id: int, action: str, provider: str) -> None:
    await AuditEntry.create(actor_id=account_id, action=action, target_type="account", target_id=str(account_id),
                            detail={"provider": provider})


def _details_update(found: Vouched) -> dict[str, Any]:
    """The profile fields the vouched details fill, and the list of them marked as verified."""
    update: dict[str, Any] = {"verified_name": found.name or None, "birth_year": found.birth_year}
    if found.province:
        update["province"] = found.province
    update["verified_fields"] = ",".join(field for field, _value in found.details())
    return update


def _identity_update(provider: Provider, account: Account) -> dict[str, Any]:
    if provider.verifies_identity and account.identity_verified_at is None:
        return {"identity_verified_at": now(), "verified_by": provider.name}
    return {}


async def linked_account(provider: Provider, found: Vouched) -> Account | None:
    """The account this identity signed in to before, its vouched details refreshed when the person agreed to them."""
    link = await IdentityLink.get_or_none(provider=provider.name, subject=found.subject).select_related("account")
    if link is None:
        return None
    account = link.account
    update = {"last_sign_in_at": now(), **_identity_update(provider, account)}
    if account.verified_fields:
        update.update(_details_update(found))
    async with in_transaction():
        await Account.filter(id=account.id).update(**update)
        await IdentityLink.filter(id=link.id).update(last_used_at=now())
    return await Account.get(id=account.id)


async def create_account(
    settings: Settings, provider: Provider, found: Vouched, *, display_name: str, email: str, use_details: bool, consent: bool,
    language: str,
) -> Account:
    """A new account for this identity. The e-mail is the provider's when it vouches for one (then confirmed),
    else the one typed, confirmed by the usual link."""
    v = Validator({})
    display_name = _check_display_name(v, "display_name", display_name)
    address = found.email or _check_email(v, "email", email)
    if not consent:
        v.fail("consent", _("You must agree to the privacy notice to create an account"))
    v.raise_if_any()
    if await Account.filter(email=address).exists():
        raise ServiceError({"email": _("An account with this e-mail address already exists. Sign in with its password below to link "
                                       "the two, or use another address.")})
    language = language if language in LANGUAGES else settings.default_language
    mail_ids = []
    async with in_transaction():
        try:
            account = await Account.create(email=address, display_name=display_name, password_hash="", language=language,
                                           email_verified_at=now() if found.email else None, last_sign_in_at=now())
            await IdentityLink.create(account=account, provider=provider.name, subject=found.subject, last_used_at=now())
        except IntegrityError:  # the same identity or e-mail in a concurrent request
            raise ServiceError({"": _("This identity or e-mail address has just been used for another account. Sign in again.")}) from None
        await Consent.create(account=account, purpose="privacy_notice", notice_version=PRIVACY_NOTICE_VERSION)
        update = _identity_update(provider, account)
        if use_details and found.details():
            await Consent.create(account=account, purpose="identity_details", notice_version=DETAILS_NOTICE)
            update.update(_details_update(found))
        if update:
            await Account.filter(id=account.id).update(**update)
        if not found.email:
            mail_ids.append((await _queue_verification(settings, account, language)).id)
        await _audit(account.id, "account.created_with_identity", provider.name)
    await _send_after_commit(mail_ids)
    return await Account.get(id=account.id)


async def link_account(provider: Provider, found: Vouched, account_id: int, *, use_details: bool) -> Account:
    """Link this identity to an account whose owner has proved it (signed in, or typed its password)."""
    if await IdentityLink.filter(provider=provider.name, subject=found.subject).exclude(account_id=account_id).exists():
        raise ServiceError({"": _("This %(provider)s identity is already linked to another account.",
                                  provider=provider.label(current_language()))})
    if await IdentityLink.filter(provider=provider.name, account_id=account_id).exclude(subject=found.subject).exists():
        raise ServiceError({"": _("Your account is already linked to another identity at this provider.")})
    async with in_transaction():
        account = await Account.get(id=account_id)
        try:
            await IdentityLink.get_or_create(provider=provider.name, subject=found.subject, defaults={"account_id": account_id,
                                                                                                    "last_used_at": now()})
        except IntegrityError:
            raise ServiceError({"": _("This identity has just been linked to another account.")}) from None
        update = _identity_update(provider, account)
        if use_details and found.details():
            await Consent.create(account=account, purpose="identity_details", notice_version=DETAILS_NOTICE)
            update.update(_details_update(found))
        if update:
            await Account.filter(id=account_id).update(**update)
        await _audit(account_id, "account.identity_linked", provider.name)
    return await Account.get(id=account_id)


async def link_with_password(provider: Provider, found: Vouched, *, email: str, password: str, use_details: bool) -> Account:
    """Link to an existing account after its owner proves it with the password (and the identity, already)."""
    try:
        account = await authenticate(email, password)
    except ServiceError as error:
        raise ServiceError({"link_" + key if key else "": message for key, message in error.errors.items()}, error.status) from None
    return await link_account(provider, found, account.id, use_details=use_details)


async def unlink(account_id: int, provider: Provider) -> None:
    """Remove the link; the verified details go with it, the account stays (it can sign in by e-mail link and password reset)."""
    async with in_transaction():
        removed = await IdentityLink.filter(account_id=account_id, provider=provider.name).delete()
        if not removed:
            return
        account = await Account.get(id=account_id)
        update: dict[str, Any] = {}
        if account.verified_by == provider.name:
            update.update(identity_verified_at=None, verified_by=None, verified_name=None, birth_year=None, verified_fields="")
        if update:
            await Account.filter(id=account_id).update(**update)
        await _audit(account_id, "account.identity_unlinked", provider.name)
