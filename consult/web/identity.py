"""Signing in with an identity provider (OpenID Connect) through authlib's Starlette client: the authorization code
flow with PKCE (S256); state, nonce and code verifier kept in the signed session cookie; the ID token's signature
checked against the provider's published keys and its claims (issuer, audience, expiry, nonce) validated by
authlib. What the checked claims create or link is consult.identity's; these handlers only carry the person
through the provider and the consent page, and turn every failure into a clear page."""

from __future__ import annotations

import logging
from typing import Any

import httpx2  # what authlib's client speaks HTTP with
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import ExpiredTokenError, JoseError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from consult import i18n, identity, profile
from consult.web.forms import read_form
from consult.i18n import current_language
from consult.i18n import gettext as _
from consult.identity import Provider, Vouched
from consult.models import Account
from consult.services import ServiceError, normalise_email
from consult.web.templating import flash, render
from consult.web.views import account_of, client_key, redirect, remember_language, require_account, safe_next, settings_of, start_session

log = logging.getLogger("consult.identity")

PENDING = "identity_pending"  # the checked claims waiting for the person's consent
SIGNED_IN_WITH = "identity"  # the provider and ID token of this session, for signing out there too
NEXT = "identity_next"


class Identity:
    """The configured providers and their authlib clients (app.state.identity)."""

    def __init__(self, providers: tuple[Provider, ...]) -> None:
        self.providers = {provider.name: provider for provider in providers}
        self.oauth = OAuth()
        for provider in providers:
            self.oauth.register(
                name=provider.name, client_id=provider.client_id, client_secret=provider.client_secret,
                server_metadata_url=provider.metadata_url,
                client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256", "timeout": 10},
            )

    def client(self, name: str) -> Any:
        return self.oauth.create_client(name)

    async def end_session_url(self, signed_in_with: Any, return_to: str) -> str | None:
        """Where to send the browser so that the provider ends its session too, when it supports that."""
        if not isinstance(signed_in_with, dict) or signed_in_with.get("provider") not in self.providers:
            return None
        client = self.client(signed_in_with["provider"])
        try:
            metadata = await client.load_server_metadata()
            if not metadata.get("end_session_endpoint"):
                return None
            made = await client.create_logout_url(post_logout_redirect_uri=return_to, id_token_hint=signed_in_with.get("id_token"))
        except (httpx2.HTTPError, OSError, ValueError, RuntimeError) as error:
            log.warning("could not reach %s to end its session: %s", signed_in_with["provider"], error)
            return None
        return made["url"]


def identity_of(request: Request) -> Identity:
    return request.app.state.identity


def _provider(request: Request) -> Provider:
    provider = identity_of(request).providers.get(request.path_params["provider"])
    if provider is None:
        raise HTTPException(404)
    return provider


def _callback_url(request: Request, provider: Provider) -> str:
    return f"{settings_of(request).base_url.rstrip('/')}/account/identity/{provider.name}/callback"


PROBLEMS = {
    "unreachable": (502, lambda p: _("%(provider)s cannot be reached just now. Try again in a few minutes, or sign in with your e-mail "
                                     "address and password.", provider=p)),
    "cancelled": (400, lambda p: _("You stopped the sign-in at %(provider)s. Nothing was saved.", provider=p)),
    "refused": (400, lambda p: _("%(provider)s did not let the sign-in go ahead. Nothing was saved.", provider=p)),
    "state": (400, lambda p: _("This sign-in did not start here, or it started too long ago. Start again from the sign-in page.")),
    "code": (400, lambda p: _("This sign-in answer from %(provider)s was already used or has expired. Start again from the sign-in "
                              "page.", provider=p)),
    "expired": (400, lambda p: _("The proof of identity from %(provider)s has expired. Start again from the sign-in page.", provider=p)),
    "token": (400, lambda p: _("The proof of identity from %(provider)s could not be trusted: its signature or contents did not check "
                               "out. Nothing was saved. Start again from the sign-in page.", provider=p)),
    "lost": (400, lambda p: _("This sign-in has already been finished or abandoned. Start again from the sign-in page.")),
}


def _problem(request: Request, provider: Provider | None, kind: str) -> Response:
    status, message = PROBLEMS[kind]
    label = provider.label(current_language()) if provider else _("The identity provider")
    return render(request, "accounts/identity_problem.html", {"message": message(label), "provider": provider}, status_code=status)


async def start(request: Request) -> Response:
    """To the provider, with a fresh state, nonce and PKCE challenge (authlib keeps them in the session)."""
    provider = _provider(request)
    request.session[NEXT] = safe_next(request.query_params.get("next"), "/account")
    try:
        leaving = await identity_of(request).client(provider.name).authorize_redirect(
            request, _callback_url(request, provider), ui_locales=current_language())
        return redirect(leaving.headers["location"])
    except (httpx2.HTTPError, OSError, ValueError, KeyError, RuntimeError) as error:
        log.warning("could not start signing in with %s: %s", provider.name, error)
        return _problem(request, provider, "unreachable")


async def callback(request: Request) -> Response:
    """Back from the provider: authlib checks the state, trades the code (with the PKCE verifier) for the
    tokens and checks the ID token; then the person signs in, or is asked to agree to what was vouched."""
    provider = _provider(request)
    error = request.query_params.get("error")
    if error:
        log.info("%s answered %s: %s", provider.name, error, request.query_params.get("error_description", ""))
        return _problem(request, provider, "cancelled" if error == "access_denied" else "refused")
    try:
        token = await identity_of(request).client(provider.name).authorize_access_token(request)
    except MismatchingStateError:
        return _problem(request, provider, "state")
    except OAuthError as refused:
        log.warning("%s refused the code: %s %s", provider.name, refused.error, refused.description)
        return _problem(request, provider, "code" if refused.error == "invalid_grant" else "refused")
    except ExpiredTokenError:
        return _problem(request, provider, "expired")
    except JoseError as bad:
        log.warning("an ID token from %s did not check out: %r", provider.name, bad)
        return _problem(request, provider, "token")
    except (httpx2.HTTPError, OSError) as unreachable:
        log.warning("could not reach %s: %s", provider.name, unreachable)
        return _problem(request, provider, "unreachable")
    if not token.get("userinfo"):  # a token answer without an ID token (or one for another flow): nothing vouched
        return _problem(request, provider, "token")
    try:
        found = identity.vouched(provider.name, token["userinfo"])
    except ServiceError:
        return _problem(request, provider, "token")
    signed_in_with = {"provider": provider.name, "id_token": token.get("id_token")}
    if account_of(request) is None:
        account = await identity.linked_account(provider, found)
        if account is not None:
            return _signed_in(request, account, signed_in_with, request.session.pop(NEXT, "/account"))
    request.session[PENDING] = {**found.as_session(), "id_token": signed_in_with["id_token"]}
    return redirect("/account/identity/confirm")


def _signed_in(request: Request, account: Account, signed_in_with: dict[str, Any], next_url: str) -> Response:
    start_session(request, account.id, account.session_version)
    request.session[SIGNED_IN_WITH] = signed_in_with
    if account.language in i18n.LANGUAGES:
        i18n.set_language(account.language)
    flash(request, _("You are signed in."))
    return remember_language(request, redirect(safe_next(next_url, "/account")), account.language)


def _pending(request: Request) -> tuple[Vouched | None, Provider | None, str | None]:
    value = request.session.get(PENDING)
    found = Vouched.from_session({k: v for k, v in value.items() if k != "id_token"}) if isinstance(value, dict) else None
    provider = identity_of(request).providers.get(found.provider) if found else None
    return found, provider, value.get("id_token") if isinstance(value, dict) else None


def _detail_rows(found: Vouched) -> list[tuple[str, str]]:
    labels = {"name": _("Full name"), "province": _("Province or city"), "birth_year": _("Year of birth")}
    return [(labels[field], profile.province_name(value, current_language()) if field == "province" else value)
            for field, value in found.details()]


async def confirm(request: Request) -> Response:
    """What the provider vouched for, and the person's choice: use it (or not) in the profile; create an account,
    or link an existing one after typing its password; or, signed in already, link this one."""
    found, provider, id_token = _pending(request)
    if found is None or provider is None:
        return _problem(request, provider, "lost")
    account = account_of(request)
    existing = bool(found.email) and account is None and await Account.filter(email=found.email).exists()
    context: dict[str, Any] = {"found": found, "provider": provider, "provider_label": provider.label(current_language()),
                               "details": _detail_rows(found), "existing": existing}
    if request.method == "GET":
        return render(request, "accounts/identity_confirm.html", {
            **context, "values": {"use_details": True, "link_email": found.email if existing else ""}})
    form = await read_form(request)
    action = form.get("action", "")
    values = {"display_name": form.get("display_name", ""), "email": form.get("email", ""), "link_email": form.get("link_email", ""),
              "use_details": form.get("use_details") == "yes", "consent": form.get("consent") == "yes"}
    if action == "cancel":
        request.session.pop(PENDING, None)
        flash(request, _("Nothing was saved."))
        return redirect("/account" if account else "/account/signin")
    settings = settings_of(request)
    try:
        if account is not None:
            await identity.link_account(provider, found, account.id, use_details=values["use_details"])
            request.session.pop(PENDING, None)
            request.session[SIGNED_IN_WITH] = {"provider": provider.name, "id_token": id_token}
            flash(request, _("Your account is now linked to %(provider)s.", provider=context["provider_label"]))
            return redirect("/account")
        if action == "link":
            limiter, email_key = request.app.state.rate_limiter, normalise_email(values["link_email"])
            if not await limiter.test(settings.rate_limit_signin, "signin-ip", client_key(request)) or not await limiter.test(
                    settings.rate_limit_signin, "signin-email", email_key):
                raise ServiceError({"": _("You have tried too many times. Wait a few minutes and try again.")}, 429)
            try:
                linked = await identity.link_with_password(provider, found, email=values["link_email"], password=form.get("password", ""),
                                                           use_details=values["use_details"])
            except ServiceError:
                await limiter.hit(settings.rate_limit_signin, "signin-ip", client_key(request))
                await limiter.hit(settings.rate_limit_signin, "signin-email", email_key)
                raise
        else:
            linked = await identity.create_account(
                settings, provider, found, display_name=values["display_name"], email=values["email"], use_details=values["use_details"],
                consent=values["consent"], language=current_language())
    except ServiceError as error:
        return render(request, "accounts/identity_confirm.html", {**context, "values": values, "errors": error.errors},
                      status_code=error.status)
    request.session.pop(PENDING, None)
    return _signed_in(request, linked, {"provider": provider.name, "id_token": id_token}, request.session.pop(NEXT, "/account"))


async def unlink(request: Request) -> Response:
    account = require_account(request)
    provider = _provider(request)
    await read_form(request)
    await identity.unlink(account.id, provider)
    flash(request, _("Your account is no longer linked to %(provider)s.", provider=provider.label(current_language())))
    return redirect("/account")


routes = [
    Route("/account/identity/confirm", confirm, methods=["GET", "POST"], name="identity_confirm"),
    Route("/account/identity/{provider}", start, name="identity_start"),
    Route("/account/identity/{provider}/callback", callback, name="identity_callback"),
    Route("/account/identity/{provider}/unlink", unlink, methods=["POST"], name="identity_unlink"),
]
