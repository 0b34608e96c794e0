"""Sessions, link tokens and rate limits, seen from an attacker's side.

What tests/test_accounts.py and tests/test_pages.py already show is not repeated here (a stolen copy of
the cookie after sign-out, the other device after a password change, a reused link opened with GET,
an expired reset link, the sign-in and sign-up limits in Vietnamese, HttpOnly and SameSite on the home
page, Secure with https_only).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from base64 import b64decode, b64encode
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import httpx
import itsdangerous
import pytest
from limits import parse
from tortoise import connections

import main
from consult import security
from consult.models import Account, AccountToken, Role, RoleGrant, TokenPurpose
from tests.helpers import PASSWORD, csrf_from, field_value, post_form, sign_in, sign_up, text_of, title_of

NEW_PASSWORD = "seven quiet harbour lanterns"
OTHER_PASSWORD = "eight loud river bridges"
SESSION = main.SESSION_COOKIE


@lru_cache(maxsize=1)
def password_hash() -> str:
    return security.hash_password(PASSWORD)


async def make_account(email: str, verified: bool = True, role: Role | None = None) -> Account:
    """An account straight in the database (signing up over HTTP is tested elsewhere)."""
    account = await Account.create(
        email=email, display_name="Người thử", password_hash=password_hash(), email_verified_at=datetime.now(timezone.utc) if verified else None
    )
    if role:
        await RoleGrant.create(account=account, role=role)
    return account


def cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    """The attributes of the Set-Cookie header for one cookie, names lower-cased."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        if first.split("=", 1)[0] == name:
            result = {"value": first.split("=", 1)[1]}
            for attribute in attributes:
                key, _, value = attribute.partition("=")
                result[key.lower()] = value.lower()
            return result
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def session_data(cookie: str) -> dict:
    """What a session cookie holds (it is signed, not encrypted: anyone can read it, nobody can change it)."""
    return json.loads(b64decode(cookie.rsplit(".", 2)[0]))


async def is_signed_in(client: httpx.AsyncClient) -> bool:
    response = await client.get("/account")
    assert response.status_code in (200, 303)
    return response.status_code == 200


# --- session fixation, sign-out, password change ----------------------------------------------------


async def test_a_cookie_from_before_sign_in_stays_anonymous_after_the_victim_signs_in(new_client):
    victim_account = await make_account("victim@example.vn")
    victim = new_client()
    form = await victim.get("/account/signin")
    cookie_before = victim.cookies[SESSION]
    token_before = csrf_from(form.text)
    # The attacker knows (or planted) the cookie the victim's browser had before signing in.
    attacker = new_client()
    attacker.cookies.set(SESSION, cookie_before)

    signed_in = await victim.post("/account/signin", data={"email": "victim@example.vn", "password": PASSWORD, "csrf_token": token_before})
    assert signed_in.status_code == 303
    assert cookie_attributes(signed_in, SESSION)["value"] != cookie_before  # a new session at sign-in
    page = await victim.get("/account")
    assert page.status_code == 200 and "victim@example.vn" in text_of(page.text)
    assert csrf_from(page.text) != token_before  # and a new CSRF token

    assert not await is_signed_in(attacker)
    home = await attacker.get("/")
    assert 'action="/account/signout"' not in home.text and 'href="/account/signin"' in home.text
    # The token known from before the sign-in does not work in the signed-in session either.
    forged = await victim.post("/account", data={"display_name": "Kẻ tấn công", "language": "vi", "csrf_token": token_before})
    assert forged.status_code == 403
    assert (await Account.get(id=victim_account.id)).display_name == "Người thử"


async def test_sign_out_ends_every_session_and_the_old_cookie_cannot_act(new_client):
    await make_account("out@example.vn")
    laptop, phone = new_client(), new_client()
    await sign_in(laptop, "out@example.vn")
    await sign_in(phone, "out@example.vn")
    page = await laptop.get("/account")
    old_token = csrf_from(page.text)
    copy = new_client()
    copy.cookies.set(SESSION, laptop.cookies[SESSION])

    response = await laptop.post("/account/signout", data={"csrf_token": old_token})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "account_id" not in session_data(cookie_attributes(response, SESSION)["value"])
    assert not await is_signed_in(laptop)
    assert not await is_signed_in(phone)  # every session of the account ends, not only this browser's
    # The copy, with the token that was valid in it, can no longer change the account.
    replay = await copy.post("/account", data={"display_name": "Kẻ trộm cookie", "language": "vi", "csrf_token": old_token})
    assert replay.status_code == 303 and replay.headers["location"].startswith("/account/signin")
    assert await Account.filter(email="out@example.vn", display_name="Người thử").exists()


async def test_password_change_ends_copies_of_the_old_session_but_a_wrong_attempt_ends_nothing(new_client):
    await make_account("pw@example.vn")
    device, other_device = new_client(), new_client()
    await sign_in(device, "pw@example.vn")
    await sign_in(other_device, "pw@example.vn")
    copy = new_client()
    copy.cookies.set(SESSION, device.cookies[SESSION])

    wrong = await post_form(device, "/account/password", {"current": "not my password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 400
    assert await is_signed_in(other_device) and await is_signed_in(copy)

    form = await device.get("/account/password")
    old_token = csrf_from(form.text)
    changed = await device.post("/account/password", data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": old_token})
    assert changed.status_code == 303
    assert await is_signed_in(device)
    assert not await is_signed_in(copy)  # the cookie this device had a moment ago is dead
    assert not await is_signed_in(other_device)
    page = await device.get("/account")
    assert csrf_from(page.text) != old_token
    refused = await device.post("/account", data={"display_name": "Tên khác", "language": "vi", "csrf_token": old_token})
    assert refused.status_code == 403


# --- the session cookie -----------------------------------------------------------------------------


@pytest.mark.parametrize("https", [False, True], ids=["http", "https_only"])
async def test_session_and_language_cookie_flags(app, settings, https):
    await make_account("flags@example.vn")
    target = main.create_app(settings.with_changes(https_only=True)) if https else app
    base_url = "https://testserver" if https else "http://testserver"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url=base_url) as client:
            signed_in = await sign_in(client, "flags@example.vn")
            language = await post_form(client, "/language", {"language": "en", "next": "/"}, page="/")
    finally:
        if https:
            await target.state.rate_limiter.close()
    session = cookie_attributes(signed_in, SESSION)
    assert "httponly" in session
    assert session["samesite"] == "lax"
    assert session["max-age"] == str(settings.session_days * 86400)
    assert session["path"] == "/"
    assert ("secure" in session) == https
    lang = cookie_attributes(language, "lang")
    assert lang["value"] == "en"
    assert "httponly" in lang and lang["samesite"] == "lax"
    assert ("secure" in lang) == https


def signed_cookie(data: dict, secret_key: str, age_seconds: int = 0) -> str:
    """A session cookie as the server writes it (itsdangerous over base64 JSON), signed age_seconds ago."""

    class Signer(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    return Signer(secret_key).sign(b64encode(json.dumps(data).encode())).decode()


async def test_the_server_refuses_expired_forged_and_tampered_session_cookies(app, settings, new_client):
    admin = await make_account("boss@example.vn", role=Role.ADMIN)
    citizen = await make_account("dan@example.vn")
    as_admin = {"account_id": admin.id, "session_version": admin.session_version}

    async def admin_page_with(cookie: str) -> int:
        client = new_client()
        client.cookies.set(SESSION, cookie)
        return (await client.get("/admin")).status_code

    # The cookie as the server writes it works: the checks below refuse it for what was changed, not its form.
    assert await admin_page_with(signed_cookie(as_admin, settings.secret_key)) == 200
    max_age = settings.session_days * 86400
    assert await admin_page_with(signed_cookie(as_admin, settings.secret_key, age_seconds=max_age - 60)) == 200
    # Older than the session lifetime: refused by the server, whatever the browser kept.
    assert await admin_page_with(signed_cookie(as_admin, settings.secret_key, age_seconds=max_age + 60)) == 303
    # Signed with another key.
    assert await admin_page_with(signed_cookie(as_admin, "not-the-secret-key")) == 303
    # A citizen's genuine cookie with its content swapped for the administrator's.
    genuine = signed_cookie({"account_id": citizen.id, "session_version": citizen.session_version}, settings.secret_key)
    payload, stamp, signature = genuine.rsplit(".", 2)
    tampered = ".".join([b64encode(json.dumps(as_admin).encode()).decode(), stamp, signature])
    assert await admin_page_with(tampered) == 303


# --- link tokens ------------------------------------------------------------------------------------


async def test_verification_link_is_refused_on_its_second_use_and_once_expired(client, mailbox):
    await sign_up(client, mailbox, "verify@example.vn", verify=False)
    expired_link = (await mailbox.last("verify@example.vn")).link("/account/verify/")
    await AccountToken.filter(purpose=TokenPurpose.VERIFY_EMAIL).update(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    expired = await post_form(client, expired_link, {}, page="/")
    assert expired.status_code == 410 and "hết hạn" in text_of(expired.text)
    assert (await Account.get(email="verify@example.vn")).email_verified_at is None

    await sign_in(client, "verify@example.vn")
    resent = await post_form(client, "/account/verify/resend", {}, page="/account")
    assert resent.status_code == 303
    link = (await mailbox.last("verify@example.vn")).link("/account/verify/")
    assert link != expired_link
    first = await post_form(client, link, {})
    assert first.status_code == 303
    verified_at = (await Account.get(email="verify@example.vn")).email_verified_at
    assert verified_at is not None
    second = await post_form(client, link, {}, page="/")
    assert second.status_code == 410 and "đã được sử dụng" in text_of(second.text)
    assert (await Account.get(email="verify@example.vn")).email_verified_at == verified_at


async def test_reset_link_works_once_even_when_submitted_twice_at_the_same_moment(new_client, mailbox):
    await make_account("twice@example.vn")
    requester = new_client()
    sent = await post_form(requester, "/account/reset", {"email": "twice@example.vn"})
    assert sent.status_code == 200
    link = (await mailbox.last("twice@example.vn")).link("/account/reset/")
    first_browser, second_browser = new_client(), new_client()
    first_token = csrf_from((await first_browser.get(link)).text)
    second_token = csrf_from((await second_browser.get(link)).text)

    first, second = await asyncio.gather(
        first_browser.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": first_token}),
        second_browser.post(link, data={"password": OTHER_PASSWORD, "confirm": OTHER_PASSWORD, "csrf_token": second_token}),
    )
    assert sorted([first.status_code, second.status_code]) == [303, 410]
    winner, loser = (first_browser, second_browser) if first.status_code == 303 else (second_browser, first_browser)
    winning_password = NEW_PASSWORD if winner is first_browser else OTHER_PASSWORD
    assert await is_signed_in(winner) and not await is_signed_in(loser)
    account = await Account.get(email="twice@example.vn")
    assert security.verify_password(account.password_hash, winning_password)

    again = await post_form(new_client(), link, {"password": "nine small paper boats", "confirm": "nine small paper boats"}, page="/")
    assert again.status_code == 410 and "đã được sử dụng" in text_of(again.text)
    assert (await Account.get(id=account.id)).password_hash == account.password_hash


async def test_link_tokens_are_stored_only_as_hashes_and_only_for_their_purpose(client, mailbox):
    await sign_up(client, mailbox, "hashed@example.vn", verify=False)
    await post_form(client, "/account/reset", {"email": "hashed@example.vn"})
    verify_mail, reset_mail = await mailbox.to("hashed@example.vn")
    raw = {
        "verify": verify_mail.link("/account/verify/").rsplit("/", 1)[1],
        "reset": reset_mail.link("/account/reset/").rsplit("/", 1)[1],
    }
    rows = await connections.get("default").execute_query_dict('SELECT * FROM "account_token"')
    assert len(rows) == 2
    stored = repr(rows)
    for purpose, token in raw.items():
        assert len(token) >= 40, purpose
        assert token not in stored, f"the raw {purpose} token is in the account_token table"
        assert hashlib.sha256(token.encode()).hexdigest() in {row["token_hash"] for row in rows}, purpose

    # A link works only for what it was sent for.
    assert (await client.get(f"/account/reset/{raw['verify']}")).status_code == 404
    assert (await client.get(f"/account/verify/{raw['reset']}")).status_code == 404
    crossed = await post_form(client, f"/account/verify/{raw['reset']}", {}, page="/")
    assert crossed.status_code == 404
    assert (await Account.get(email="hashed@example.vn")).email_verified_at is None


# --- rate limits --------------------------------------------------------------------------------------

LIMITS = {"rate_limit_signup": "3/hour", "rate_limit_signin": "3/5minutes", "rate_limit_reset": "3/hour"}
TOO_MANY = {"vi": "Bạn đã thử quá nhiều lần", "en": "You have tried too many times"}


@pytest.fixture
async def limited(app, settings):
    """The app with small limits set in its settings, and browsers at given addresses."""
    limited_app = main.create_app(settings.with_changes(**LIMITS))
    clients = []

    def browser(address: str, language: str = "vi") -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=limited_app, client=(address, 50000)),
            base_url="http://testserver",
            headers={"Accept-Language": language},
        )
        clients.append(client)
        return client

    yield browser
    for client in clients:
        await client.aclose()
    await limited_app.state.rate_limiter.close()


def limit_of(setting: str) -> int:
    return parse(LIMITS[setting]).amount


def assert_too_many(response: httpx.Response, language: str, setting: str) -> None:
    assert response.status_code == 429, text_of(response.text)[:300]
    assert TOO_MANY[language] in text_of(response.text)
    assert title_of(response.text).startswith("Lỗi:" if language == "vi" else "Error:")
    assert 'class="error-summary"' in response.text
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= parse(LIMITS[setting]).get_expiry()


async def test_sign_up_limit_per_address(limited):
    here = limited("10.1.0.1")
    for i in range(limit_of("rate_limit_signup")):  # every attempt counts, even one with mistakes
        attempt = await post_form(here, "/account/signup", {"email": f"n{i}@example.vn", "display_name": "N", "password": NEW_PASSWORD})
        assert attempt.status_code == 400
    valid = {"email": "last@example.vn", "display_name": "Người cuối", "password": NEW_PASSWORD, "consent": "yes"}
    blocked = await post_form(here, "/account/signup", valid)
    assert_too_many(blocked, "vi", "rate_limit_signup")
    assert field_value(blocked.text, "email") == "last@example.vn"
    assert_too_many(await post_form(limited("10.1.0.1", "en"), "/account/signup", valid), "en", "rate_limit_signup")
    assert not await Account.filter(email="last@example.vn").exists()
    elsewhere = await post_form(limited("10.1.0.2"), "/account/signup", {"email": "x@example.vn", "display_name": "X", "password": ""})
    assert elsewhere.status_code == 400  # another address is not limited


async def test_sign_in_limit_per_address_and_per_email(limited):
    await make_account("target@example.vn")
    await make_account("second@example.vn")
    await make_account("third@example.vn")
    guesser = limited("10.2.0.1")
    for _ in range(limit_of("rate_limit_signin")):
        failed = await post_form(guesser, "/account/signin", {"email": "target@example.vn", "password": "a wrong guess"})
        assert failed.status_code == 400
    right = {"email": "target@example.vn", "password": PASSWORD}
    assert_too_many(await post_form(guesser, "/account/signin", right), "vi", "rate_limit_signin")
    assert not await is_signed_in(guesser)
    # The e-mail is limited from every address, so guesses spread over many addresses do not add up.
    assert_too_many(await post_form(limited("10.2.0.2", "en"), "/account/signin", right), "en", "rate_limit_signin")
    # The address is limited for every e-mail.
    assert_too_many(await post_form(guesser, "/account/signin", {"email": "second@example.vn", "password": PASSWORD}), "vi", "rate_limit_signin")
    assert (await Account.get(email="target@example.vn")).last_sign_in_at is None
    # Other people, elsewhere, are not locked out.
    other = limited("10.2.0.3")
    assert (await post_form(other, "/account/signin", {"email": "third@example.vn", "password": PASSWORD})).status_code == 303


async def test_password_reset_limit_per_address_and_per_email(limited, mailbox):
    await make_account("reset@example.vn")
    asker = limited("10.3.0.1")
    for _ in range(limit_of("rate_limit_reset")):
        assert (await post_form(asker, "/account/reset", {"email": "reset@example.vn"})).status_code == 200
    assert_too_many(await post_form(asker, "/account/reset", {"email": "reset@example.vn"}), "vi", "rate_limit_reset")
    assert_too_many(await post_form(limited("10.3.0.1", "en"), "/account/reset", {"email": "someone@example.vn"}), "en", "rate_limit_reset")
    assert_too_many(await post_form(limited("10.3.0.2", "en"), "/account/reset", {"email": "reset@example.vn"}), "en", "rate_limit_reset")
    assert await AccountToken.filter(purpose=TokenPurpose.RESET_PASSWORD).count() == limit_of("rate_limit_reset")
    assert len(await mailbox.to("reset@example.vn")) == limit_of("rate_limit_reset")
    assert (await post_form(limited("10.3.0.3"), "/account/reset", {"email": "other@example.vn"})).status_code == 200
