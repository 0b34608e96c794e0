"""Thin HTTP handlers of the consult package: parse, check, call a service or a query, then
redirect (303) or re-render the form with its errors (400)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from limits import parse as parse_limit
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from consult import db, i18n, queries, services
from consult.i18n import gettext as _
from consult.models import TokenPurpose
from consult.permissions import Principal, can_administer
from consult.queue import current_queue
from consult.security import ip_hash
from consult.web import pagecache
from consult.web.forms import read_form
from consult.web.middleware import LANG_COOKIE
from consult.web.templating import flash, render


def settings_of(request: Request):
    return request.app.state.settings


def account_of(request: Request) -> Principal | None:
    return request.state.account


def client_key(request: Request) -> str:
    return ip_hash(settings_of(request).secret_key, request.client.host if request.client else "")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None, default: str = "/") -> str:
    """Only paths on this site, never another host (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def require_account(request: Request) -> Principal:
    account = account_of(request)
    if account is None:
        raise SignInRequired()
    return account


def require_admin(request: Request) -> Principal:
    account = require_account(request)
    if not can_administer(account):
        raise HTTPException(403)
    return account


class SignInRequired(Exception):
    pass


def form_page(request: Request, template: str, values: dict[str, Any], error: services.ServiceError, **extra: Any) -> Response:
    return render(request, template, {"values": values, "errors": error.errors, **extra}, status_code=error.status)


async def rate_limited(request: Request, rule: str, scope: str, *keys: str) -> bool:
    limiter = request.app.state.rate_limiter
    for key in keys:
        if not await limiter.hit(rule, scope, key):
            return True
    return False


def too_many(request: Request, template: str, values: dict[str, Any], rule: str, **extra: Any) -> Response:
    retry_after = parse_limit(rule).get_expiry()
    message = _("You have tried too many times. Wait a few minutes and try again.")
    response = render(request, template, {"values": values, "errors": {"": message}, **extra}, status_code=429)
    response.headers["Retry-After"] = str(retry_after)
    return response


# --- pages ------------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    return await pagecache.for_visitors(request, lambda: build_home(request))


async def build_home(request: Request) -> Response:
    consultations = await queries.open_consultations()
    counts = await queries.site_counts()
    closed = await queries.recently_closed()
    return render(request, "pages/home.html", {"consultations": consultations, "counts": counts, "closed": closed})


async def accessibility(request: Request) -> Response:
    return render(request, "pages/accessibility.html")


async def privacy(request: Request) -> Response:
    return render(request, "pages/privacy.html", {"notice_version": services.PRIVACY_NOTICE_VERSION})


async def change_language(request: Request) -> Response:
    form = await read_form(request)
    language = form.get("language", "")
    if language not in i18n.LANGUAGES:
        raise HTTPException(400)
    account = account_of(request)
    if account is not None:
        await services.set_language(account.id, language)
    return remember_language(request, redirect(safe_next(form.get("next"))), language)


def remember_language(request: Request, response: Response, language: str | None) -> Response:
    """The language cookie follows the account's choice, so the site keeps it after signing out."""
    if language in i18n.LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, language, max_age=365 * 86400, httponly=True, samesite="lax", secure=settings_of(request).https_only
        )
    return response


async def healthz(request: Request) -> Response:
    database_ok = await db.ping()
    queue_state = await current_queue().state()
    body = {"status": "ok" if database_ok else "unavailable", "database": "ok" if database_ok else "unreachable", "queue": queue_state}
    return JSONResponse(body, status_code=200 if database_ok else 503, headers={"Cache-Control": "no-store"})


# --- accounts ---------------------------------------------------------------------------------

SIGNUP_FIELDS = ("email", "display_name")


async def signup(request: Request) -> Response:
    if account_of(request) is not None:
        return redirect("/account")
    if request.method == "GET":
        return render(request, "accounts/signup.html")
    form = await read_form(request)
    values = {name: form.get(name, "") for name in SIGNUP_FIELDS}
    values["consent"] = form.get("consent") == "yes"
    if await rate_limited(request, settings_of(request).rate_limit_signup, "signup", client_key(request)):
        return too_many(request, "accounts/signup.html", values, settings_of(request).rate_limit_signup)
    try:
        email = await services.sign_up(
            settings_of(request),
            email=form.get("email", ""),
            display_name=form.get("display_name", ""),
            password=form.get("password", ""),
            consent=values["consent"],
            language=i18n.current_language(),
        )
    except services.ServiceError as error:
        return form_page(request, "accounts/signup.html", values, error)
    request.session["pending_email"] = email
    return redirect("/account/check-email")


async def check_email(request: Request) -> Response:
    return render(request, "accounts/check_email.html", {"email": request.session.get("pending_email", "")})


async def verify(request: Request) -> Response:
    token = request.path_params["token"]
    if request.method == "GET":
        # A page with a button rather than verifying on GET: mail scanners follow links too.
        try:
            await services.check_token(token, TokenPurpose.VERIFY_EMAIL)
        except services.ServiceError as error:
            return render(request, "accounts/link_problem.html", {"errors": error.errors}, status_code=error.status)
        return render(request, "accounts/verify.html", {"token": token})
    await read_form(request)
    try:
        await services.verify_email(token)
    except services.ServiceError as error:
        return render(request, "accounts/link_problem.html", {"errors": error.errors}, status_code=error.status)
    flash(request, _("Your e-mail address is confirmed."))
    return redirect("/account" if account_of(request) else "/account/signin")


async def resend_verification(request: Request) -> Response:
    account = require_account(request)
    await read_form(request)
    if await rate_limited(request, settings_of(request).rate_limit_reset, "resend", str(account.id)):
        flash(request, _("You have tried too many times. Wait a few minutes and try again."))
        return redirect("/account")
    await services.resend_verification(settings_of(request), account.id)
    flash(request, _("We have sent you a new link. Check your e-mail."))
    return redirect("/account")


async def signin(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"), "/account")
    if request.method == "GET":
        if account_of(request) is not None:
            return redirect(next_url)
        return render(request, "accounts/signin.html", {"next": next_url})
    form = await read_form(request)
    values = {"email": form.get("email", "")}
    next_url = safe_next(form.get("next"), "/account")
    settings = settings_of(request)
    email_key = services.normalise_email(values["email"])
    limiter = request.app.state.rate_limiter
    # Only failures count, per address and per e-mail, so a person who signs in is never locked out by others' success.
    if not await limiter.test(settings.rate_limit_signin, "signin-ip", client_key(request)) or not await limiter.test(
        settings.rate_limit_signin, "signin-email", email_key
    ):
        return too_many(request, "accounts/signin.html", values, settings.rate_limit_signin, next=next_url)
    try:
        account = await services.authenticate(values["email"], form.get("password", ""))
    except services.ServiceError as error:
        await limiter.hit(settings.rate_limit_signin, "signin-ip", client_key(request))
        await limiter.hit(settings.rate_limit_signin, "signin-email", email_key)
        return form_page(request, "accounts/signin.html", values, error, next=next_url)
    start_session(request, account.id, account.session_version)
    if account.language in i18n.LANGUAGES:
        i18n.set_language(account.language)
    flash(request, _("You are signed in."))
    return remember_language(request, redirect(next_url), account.language)


def start_session(request: Request, account_id: int, session_version: int) -> None:
    request.session.clear()  # a new session (and CSRF token) on sign-in: nothing carried over from before
    request.session["account_id"] = account_id
    request.session["session_version"] = session_version


async def signout(request: Request) -> Response:
    await read_form(request)
    account = account_of(request)
    if account is not None:
        await services.sign_out(account.id)
    signed_in_with = request.session.get("identity")  # consult.web.identity: the provider this session came through
    request.session.clear()
    flash(request, _("You are signed out."))
    # Signed in through an identity provider: end its session too (a shared computer), when it supports that.
    ended_there = await request.app.state.identity.end_session_url(signed_in_with, settings_of(request).base_url.rstrip("/") + "/")
    return redirect(ended_there or "/")


async def reset_request(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "accounts/reset_request.html")
    form = await read_form(request)
    values = {"email": form.get("email", "")}
    settings = settings_of(request)
    if await rate_limited(
        request, settings.rate_limit_reset, "reset", client_key(request), services.normalise_email(values["email"])
    ):
        return too_many(request, "accounts/reset_request.html", values, settings.rate_limit_reset)
    try:
        email = await services.request_password_reset(settings, values["email"], i18n.current_language())
    except services.ServiceError as error:
        return form_page(request, "accounts/reset_request.html", values, error)
    return render(request, "accounts/reset_sent.html", {"email": email})


async def reset_password(request: Request) -> Response:
    token = request.path_params["token"]
    if request.method == "GET":
        try:
            await services.check_token(token, TokenPurpose.RESET_PASSWORD)
        except services.ServiceError as error:
            return render(request, "accounts/link_problem.html", {"errors": error.errors}, status_code=error.status)
        return render(request, "accounts/reset_password.html", {"token": token})
    form = await read_form(request)
    try:
        account = await services.reset_password(settings_of(request), token, form.get("password", ""), form.get("confirm", ""))
    except services.ServiceError as error:
        if "" in error.errors:
            return render(request, "accounts/link_problem.html", {"errors": error.errors}, status_code=error.status)
        return form_page(request, "accounts/reset_password.html", {}, error, token=token)
    start_session(request, account.id, account.session_version)
    flash(request, _("Your password has been changed and you are signed in."))
    return redirect("/account")


async def profile(request: Request) -> Response:
    account = require_account(request)
    profile_row = await queries.account_profile(account.id)
    if request.method == "GET":
        return render(request, "accounts/profile.html", {"profile": profile_row, "values": profile_row})
    form = await read_form(request)
    values = {name: form.get(name, "") for name in ("display_name", "language", "province", "respondent_kind")}
    try:
        await services.update_profile(account.id, **values)
    except services.ServiceError as error:
        return form_page(request, "accounts/profile.html", values, error, profile=profile_row)
    i18n.set_language(values["language"])
    flash(request, _("Your profile has been saved."))
    return remember_language(request, redirect("/account"), values["language"])


async def change_password(request: Request) -> Response:
    account = require_account(request)
    if request.method == "GET":
        return render(request, "accounts/password.html")
    form = await read_form(request)
    try:
        updated = await services.change_password(
            settings_of(request), account.id, form.get("current", ""), form.get("password", ""), form.get("confirm", "")
        )
    except services.ServiceError as error:
        return form_page(request, "accounts/password.html", {}, error)
    start_session(request, updated.id, updated.session_version)
    flash(request, _("Your password has been changed. Other devices have been signed out."))
    return redirect("/account")


# --- administration ---------------------------------------------------------------------------


async def admin_lists() -> dict[str, Any]:
    return {"agencies": await queries.agencies(), "topics": await queries.topics()}


async def admin_home(request: Request) -> Response:
    require_admin(request)
    return render(request, "admin/home.html", await admin_lists())


async def admin_create_agency(request: Request) -> Response:
    actor = require_admin(request)
    form = await read_form(request)
    values = {name: form.get(name, "") for name in ("slug", "name_vi", "name_en")}
    try:
        agency = await services.create_agency(actor, **values)
    except services.ServiceError as error:
        return form_page(request, "admin/home.html", values, error, **await admin_lists())
    flash(request, _("Agency %(name)s created.", name=agency.name(i18n.current_language())))
    return redirect("/admin")


async def admin_create_topic(request: Request) -> Response:
    actor = require_admin(request)
    form = await read_form(request)
    # The topic form shares the page with the agency form: its fields are named apart.
    values = {f"topic_{name}": form.get(name, "") for name in ("name_vi", "name_en")}
    try:
        topic = await services.create_topic(actor, name_vi=form.get("name_vi", ""), name_en=form.get("name_en", ""))
    except services.ServiceError as error:
        errors = {("topic_" + k if k else k): v for k, v in error.errors.items()}
        return render(request, "admin/home.html", {"values": values, "errors": errors, **await admin_lists()}, status_code=error.status)
    flash(request, _("Topic %(name)s created.", name=topic.name_en if i18n.current_language() == "en" else topic.name_vi))
    return redirect("/admin#topics")


async def admin_accounts(request: Request) -> Response:
    require_admin(request)
    search = request.query_params.get("q", "")[:100]
    page = await queries.accounts_page(search, request.query_params.get("after"))
    return render(request, "admin/accounts.html", {"page": page, "q": search, "q_quoted": quote(search)})


async def admin_account(request: Request) -> Response:
    require_admin(request)
    account_id = request.path_params["account_id"]
    target = await queries.account_with_grants(account_id)
    if target is None:
        raise HTTPException(404)
    return render(request, "admin/account.html", {"target": target, "agencies": await queries.agencies()})


async def admin_grant_role(request: Request) -> Response:
    actor = require_admin(request)
    account_id = request.path_params["account_id"]
    form = await read_form(request)
    values = {"role": form.get("role", ""), "agency": form.get("agency", "")}
    agency_id = int(values["agency"]) if values["agency"].isdigit() else None
    try:
        await services.grant_role(actor, account_id=account_id, role=values["role"], agency_id=agency_id)
    except services.ServiceError as error:
        target = await queries.account_with_grants(account_id)
        if target is None:
            raise HTTPException(404)
        return form_page(request, "admin/account.html", values, error, target=target, agencies=await queries.agencies())
    flash(request, _("Role granted."))
    return redirect(f"/admin/accounts/{account_id}")


async def admin_revoke_role(request: Request) -> Response:
    actor = require_admin(request)
    account_id = request.path_params["account_id"]
    form = await read_form(request)
    grant_id = form.get("grant", "")
    try:
        await services.revoke_role(actor, account_id=account_id, grant_id=int(grant_id) if grant_id.isdigit() else 0)
    except services.ServiceError as error:
        flash(request, next(iter(error.errors.values())))
        return redirect(f"/admin/accounts/{account_id}")
    flash(request, _("Role removed."))
    return redirect(f"/admin/accounts/{account_id}")
