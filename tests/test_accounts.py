"""Sign up, verify, sign in and out, reset and change the password: as a person does it, over HTTP."""

from datetime import datetime, timedelta, timezone

from consult.models import Account, AccountToken, Consent, TokenPurpose
from tests.helpers import PASSWORD, field_value, post_form, sign_in, sign_up, text_of, title_of


async def test_sign_up_verify_and_sign_in(client, mailbox):
    page = await client.get("/account/signup")
    assert page.status_code == 200
    assert "Đăng ký tài khoản" in title_of(page.text)

    response = await post_form(
        client,
        "/account/signup",
        {"email": " Lan.Nguyen@Example.VN ", "display_name": "Lan", "password": PASSWORD, "consent": "yes"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/check-email"
    check = await client.get("/account/check-email")
    assert "lan.nguyen@example.vn" in text_of(check.text)

    account = await Account.get(email="lan.nguyen@example.vn")
    assert account.email_verified_at is None
    assert account.password_hash.startswith("$argon2")
    consent = await Consent.get(account=account)
    assert consent.purpose == "privacy_notice" and consent.notice_version

    mail = await mailbox.last("lan.nguyen@example.vn")
    assert mail.language == "vi"
    assert "Xác nhận" in mail.subject
    link = mail.link("/account/verify/")

    confirm_page = await client.get(link)
    assert confirm_page.status_code == 200
    assert (await Account.get(id=account.id)).email_verified_at is None  # a GET changes nothing
    response = await post_form(client, link, {})
    assert response.status_code == 303
    assert (await Account.get(id=account.id)).email_verified_at is not None

    reused = await client.get(link)
    assert reused.status_code == 410
    assert "đã được sử dụng" in text_of(reused.text)

    await sign_in(client, "LAN.nguyen@example.vn")
    profile = await client.get("/account")
    assert profile.status_code == 200
    assert "lan.nguyen@example.vn" in text_of(profile.text)


async def test_sign_up_errors_keep_what_was_typed(client):
    response = await post_form(
        client, "/account/signup", {"email": "not-an-email", "display_name": "Bình", "password": "short"}
    )
    assert response.status_code == 400
    assert title_of(response.text).startswith("Lỗi:")
    text = text_of(response.text)
    assert "Có lỗi" in text or "vấn đề" in text
    assert field_value(response.text, "email") == "not-an-email"
    assert field_value(response.text, "display_name") == "Bình"
    assert field_value(response.text, "password") in (None, "")  # passwords are never sent back
    assert 'href="#email"' in response.text and 'href="#password"' in response.text and 'href="#consent"' in response.text
    assert await Account.all().count() == 0


async def test_common_and_short_passwords_are_refused(client):
    for password in ("password123", "qwertyuiop", "matkhau123", "1234567890"):
        response = await post_form(
            client,
            "/account/signup",
            {"email": "a@example.vn", "display_name": "An", "password": password, "consent": "yes"},
        )
        assert response.status_code == 400, password
        assert 'id="password-error"' in response.text
    assert await Account.all().count() == 0


async def test_duplicate_email_creates_nothing_and_tells_the_owner(client, new_client, mailbox):
    await sign_up(client, mailbox, "owner@example.vn")
    other = new_client()
    response = await post_form(
        other, "/account/signup", {"email": "owner@example.vn", "display_name": "Kẻ khác", "password": PASSWORD + "x", "consent": "yes"}
    )
    assert response.status_code == 303  # the form does not reveal that the address has an account
    assert await Account.filter(email="owner@example.vn").count() == 1
    assert (await Account.get(email="owner@example.vn")).display_name == "Người Dân"
    mails = await mailbox.to("owner@example.vn")
    assert len(mails) == 2
    assert "/account/signin" in mails[-1].body and "/account/verify/" not in mails[-1].body


async def test_expired_verification_link(client, mailbox):
    await sign_up(client, mailbox, "late@example.vn", verify=False)
    link = (await mailbox.last("late@example.vn")).link("/account/verify/")
    await AccountToken.filter(purpose=TokenPurpose.VERIFY_EMAIL).update(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1))
    page = await client.get(link)
    assert page.status_code == 410
    assert "hết hạn" in text_of(page.text)
    bad = await client.get("/account/verify/not-a-real-token")
    assert bad.status_code == 404


async def test_wrong_password_and_unknown_email_get_the_same_answer(client, mailbox):
    await sign_up(client, mailbox, "user@example.vn")
    wrong = await post_form(client, "/account/signin", {"email": "user@example.vn", "password": "wrong password here"})
    unknown = await post_form(client, "/account/signin", {"email": "nobody@example.vn", "password": "wrong password here"})
    assert wrong.status_code == unknown.status_code == 400
    assert text_of(wrong.text).replace("user@example.vn", "X") == text_of(unknown.text).replace("nobody@example.vn", "X")
    assert field_value(wrong.text, "email") == "user@example.vn"


async def test_sign_out_ends_the_session_and_copies_of_its_cookie(client, new_client, mailbox):
    await sign_up(client, mailbox, "out@example.vn")
    await sign_in(client, "out@example.vn")
    stolen = new_client()
    stolen.cookies.update(client.cookies)
    assert (await stolen.get("/account")).status_code == 200
    response = await post_form(client, "/account/signout", {}, page="/account")
    assert response.status_code == 303
    after = await client.get("/account")
    assert after.status_code == 303 and after.headers["location"].startswith("/account/signin")
    assert (await stolen.get("/account")).status_code == 303


async def test_password_reset_signs_out_old_sessions(client, new_client, mailbox):
    await sign_up(client, mailbox, "reset@example.vn")
    await sign_in(client, "reset@example.vn")
    stranger = new_client()
    response = await post_form(stranger, "/account/reset", {"email": "reset@example.vn"})
    assert response.status_code == 200
    unknown = await post_form(stranger, "/account/reset", {"email": "nobody@example.vn"})
    assert unknown.status_code == 200  # same answer: no account enumeration
    assert await mailbox.to("nobody@example.vn") == []

    link = (await mailbox.last("reset@example.vn")).link("/account/reset/")
    mismatch = await post_form(stranger, link, {"password": "a brand new secret", "confirm": "another secret"})
    assert mismatch.status_code == 400 and 'id="confirm-error"' in mismatch.text
    done = await post_form(stranger, link, {"password": "a brand new secret", "confirm": "a brand new secret"})
    assert done.status_code == 303

    old_session = await client.get("/account")
    assert old_session.status_code == 303  # signed out by the password change
    reused = await client.get(link)
    assert reused.status_code == 410
    await sign_in(new_client(), "reset@example.vn", "a brand new secret")


async def test_change_password(client, new_client, mailbox):
    await sign_up(client, mailbox, "change@example.vn")
    await sign_in(client, "change@example.vn")
    other_device = new_client()
    await sign_in(other_device, "change@example.vn")

    wrong = await post_form(client, "/account/password", {"current": "not it at all", "password": "new secret words", "confirm": "new secret words"})
    assert wrong.status_code == 400 and 'id="current-error"' in wrong.text
    ok = await post_form(client, "/account/password", {"current": PASSWORD, "password": "new secret words", "confirm": "new secret words"})
    assert ok.status_code == 303
    assert (await client.get("/account")).status_code == 200  # this device stays signed in
    assert (await other_device.get("/account")).status_code == 303  # the other is signed out


async def test_profile_update_and_validation(client, mailbox):
    await sign_up(client, mailbox, "me@example.vn")
    await sign_in(client, "me@example.vn")
    bad = await post_form(client, "/account", {"display_name": "", "language": "vi"})
    assert bad.status_code == 400 and title_of(bad.text).startswith("Lỗi:")
    ok = await post_form(client, "/account", {"display_name": "Mai Anh", "language": "en"})
    assert ok.status_code == 303
    page = await client.get("/account")
    assert "Your account" in text_of(page.text)  # the account's language wins
    assert (await Account.get(email="me@example.vn")).display_name == "Mai Anh"


async def test_resend_verification(client, mailbox):
    await sign_up(client, mailbox, "again@example.vn", verify=False)
    await sign_in(client, "again@example.vn")
    response = await post_form(client, "/account/verify/resend", {}, page="/account")
    assert response.status_code == 303
    assert len(await mailbox.to("again@example.vn")) == 2


async def test_rate_limits_on_sign_up_and_sign_in(client, mailbox, settings):
    await sign_up(client, mailbox, "limited@example.vn")
    limit = int(settings.rate_limit_signin.split("/")[0])
    for _ in range(limit):
        response = await post_form(client, "/account/signin", {"email": "limited@example.vn", "password": "wrong password here"})
        assert response.status_code == 400
    blocked = await post_form(client, "/account/signin", {"email": "limited@example.vn", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "quá nhiều lần" in text_of(blocked.text)
    assert field_value(blocked.text, "email") == "limited@example.vn"

    signup_limit = int(settings.rate_limit_signup.split("/")[0])
    for i in range(signup_limit - 1):  # one sign-up was already made above
        await post_form(client, "/account/signup", {"email": f"n{i}@example.vn", "display_name": "N", "password": PASSWORD, "consent": "yes"})
    blocked = await post_form(client, "/account/signup", {"email": "last@example.vn", "display_name": "Last", "password": PASSWORD, "consent": "yes"})
    assert blocked.status_code == 429
    assert await Account.filter(email="last@example.vn").count() == 0


async def test_expired_reset_link(client, mailbox):
    await sign_up(client, mailbox, "slow@example.vn")
    await post_form(client, "/account/reset", {"email": "slow@example.vn"})
    link = (await mailbox.last("slow@example.vn")).link("/account/reset/")
    await AccountToken.filter(purpose=TokenPurpose.RESET_PASSWORD).update(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    page = await client.get(link)
    assert page.status_code == 410 and "hết hạn" in text_of(page.text)
    refused = await post_form(client, link, {"password": "a brand new secret", "confirm": "a brand new secret"}, page="/account/reset")
    assert refused.status_code == 410
    await sign_in(client, "slow@example.vn")  # the old password still works
