"""Both languages: complete catalogs, the language chosen by account, cookie, then browser, and times
shown in the site's time zone."""

import re
from datetime import datetime, timezone

from consult import catalog, i18n
from consult.models import Account, AuditEntry
from tests.helpers import make_account, post_form, text_of

PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_every_message_is_translated_in_both_catalogs():
    template = catalog.extract()
    assert len(list(template)) > 100
    problems = catalog.problems("vi", template) + catalog.problems("en", template)
    assert problems == []


def test_catalog_placeholders_match():
    for language in i18n.LANGUAGES:
        for message in catalog.load(language):
            if not message.id or isinstance(message.id, tuple):
                continue
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), (language, message.id)


def test_accept_language_negotiation():
    assert i18n.negotiate("en-US,en;q=0.9", "vi") == "en"
    assert i18n.negotiate("fr-FR,fr;q=0.9", "vi") == "vi"
    assert i18n.negotiate("fr;q=1, en;q=0.5", "vi") == "en"
    assert i18n.negotiate("vi-VN", "en") == "vi"
    assert i18n.negotiate("", "vi") == "vi"
    assert i18n.negotiate("en;q=bad", "vi") in ("vi", "en")


async def test_account_language_beats_cookie_and_browser(client, mailbox):
    await make_account(client, mailbox, "lang@example.vn")
    await Account.filter(email="lang@example.vn").update(language="vi")
    client.cookies.set("lang", "en")
    page = await client.get("/account", headers={"Accept-Language": "en"})
    assert '<html lang="vi">' in page.text
    # The switcher, signed in, changes the account's language too.
    await post_form(client, "/language", {"language": "en", "next": "/account"}, page="/account")
    assert (await Account.get(email="lang@example.vn")).language == "en"
    assert "Your account" in text_of((await client.get("/account")).text)


async def test_times_are_shown_in_the_site_time_zone(client, mailbox):
    await make_account(client, mailbox, "tz@example.vn", role="admin")
    # 20:30 UTC is 03:30 the next day in Hanoi.
    await AuditEntry.create(action="test.tz", target_type="x", target_id="1", detail={})
    await AuditEntry.filter(action="test.tz").update(created_at=datetime(2026, 3, 1, 20, 30, tzinfo=timezone.utc))
    page = await client.get("/moderation/audit")
    assert "03:30 2/3/26" in text_of(page.text)
    await post_form(client, "/language", {"language": "en", "next": "/"}, page="/")
    page = await client.get("/moderation/audit")
    assert "3/2/26, 3:30 AM" in text_of(page.text)


async def test_the_language_chosen_in_the_profile_stays_after_signing_out(client, mailbox):
    await make_account(client, mailbox, "stay@example.vn")
    await post_form(client, "/language", {"language": "en", "next": "/account"}, page="/account")
    await post_form(client, "/account", {"display_name": "Stay", "language": "vi"})
    signed_out = await post_form(client, "/account/signout", {}, page="/account")
    assert signed_out.status_code == 303
    home = await client.get("/")
    assert '<html lang="vi">' in home.text
    assert "Bạn đã đăng xuất." in text_of(home.text)
