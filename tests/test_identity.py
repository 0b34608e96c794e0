"""Signing in with an identity provider, through HTTP end to end: the app (in-process) and the test provider
(tests.oidc_provider, a real server on loopback) talk as in production; the test carries the browser between
them. The whole flow, the consent to the vouched details, linking an existing account, signing out at the
provider, and each forged or replayed answer refused with a clear page and nothing saved."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from consult.identity import parse_providers
from consult.models import Account, AuditEntry, Consent, IdentityLink, ParticipationRule
from consult.settings import SettingsError
from tests.helpers import csrf_from, field_value, sign_in, text_of
from tests.test_reports import account, english


async def to_provider(client: httpx.AsyncClient, provider, start: str = "/account/identity/test") -> str:
    """The app sends the browser to the provider, which answers at once (the person is signed in there): the
    callback address with its code and state."""
    leaving = await client.get(start)
    assert leaving.status_code == 303, text_of(leaving.text)
    authorize = leaving.headers["location"]
    assert authorize.startswith(f"{provider.issuer}/authorize?")
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"][0] and asked["nonce"][0] and asked["state"][0]
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(authorize)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def through_provider(client: httpx.AsyncClient, provider, start: str = "/account/identity/test") -> httpx.Response:
    return await client.get(await to_provider(client, provider, start))


async def confirm(client: httpx.AsyncClient, **data) -> httpx.Response:
    page = await client.get("/account/identity/confirm")
    return await client.post("/account/identity/confirm", data={**data, "csrf_token": csrf_from(page.text)})


async def test_a_resident_signs_in_agrees_to_the_vouched_details_and_signs_out_at_the_provider(new_client, oidc_provider):
    client = english(new_client())
    signin = text_of((await client.get("/account/signin")).text)
    assert "Sign in with Test identity" in signin

    back = await through_provider(client, oidc_provider)
    assert back.status_code == 303 and back.headers["location"] == "/account/identity/confirm"
    page = await client.get("/account/identity/confirm")
    text = text_of(page.text)
    assert "What Test identity vouches for" in text and "Nguyễn Thị Lan" in text and "Hue City" in text and "1988" in text
    assert "lan.nguyen@example.vn" in text and not await Account.exists()  # nothing kept before the person chooses

    missing = await confirm(client, action="create", display_name="", use_details="yes")
    assert missing.status_code == 400 and "You must agree to the privacy notice" in text_of(missing.text)
    assert 'name="use_details"' in missing.text and " checked" in missing.text  # what was ticked stays ticked
    created = await confirm(client, action="create", display_name="Lan ở Huế", use_details="yes", consent="yes")
    assert created.status_code == 303 and created.headers["location"] == "/account"
    person = await Account.get(email="lan.nguyen@example.vn")
    assert person.display_name == "Lan ở Huế" and person.verified_name == "Nguyễn Thị Lan" and person.province == "hue"
    assert person.birth_year == 1988 and person.email_verified_at is not None and person.identity_verified_at is not None
    assert person.verified_fields == "name,province,birth_year" and person.verified_by == "test" and person.password_hash == ""
    assert await IdentityLink.filter(account=person, provider="test", subject="079123456789").exists()
    assert {c.purpose for c in await Consent.filter(account=person)} == {"privacy_notice", "identity_details"}
    profile = text_of((await client.get("/account")).text)
    assert "Lan ở Huế" in profile and "Verified by Test identity" in profile

    out = await client.post("/account/signout", data={"csrf_token": csrf_from((await client.get("/account")).text)})
    assert out.status_code == 303 and out.headers["location"].startswith(f"{oidc_provider.issuer}/logout?")
    async with httpx.AsyncClient() as browser:
        ended = await browser.get(out.headers["location"])
    assert oidc_provider.ended[-1]["id_token_hint"] and oidc_provider.ended[-1]["post_logout_redirect_uri"] == "http://testserver/"
    assert ended.status_code == 302 and ended.headers["location"].startswith("http://testserver/")
    assert (await client.get("/account")).status_code == 303  # signed out here too

    again = await through_provider(client, oidc_provider, "/account/identity/test?next=/consultations")
    assert again.status_code == 303 and again.headers["location"] == "/consultations"  # known: no questions the second time
    assert "Lan ở Huế" in text_of((await client.get("/account")).text)
    assert await Account.filter(email="lan.nguyen@example.vn").count() == 1


async def test_the_details_stay_out_of_the_profile_without_agreement(new_client, oidc_provider):
    oidc_provider.person = {**oidc_provider.person, "sub": "079000000002", "email_verified": False}
    client = english(new_client())
    await through_provider(client, oidc_provider)
    page = text_of((await client.get("/account/identity/confirm")).text)
    assert "E-mail address confirmed by" not in page  # not vouched for: asked, then confirmed by the usual link
    created = await confirm(client, action="create", display_name="Người Huế", email="nguoi.hue@example.vn", consent="yes")
    assert created.status_code == 303
    person = await Account.get(email="nguoi.hue@example.vn")
    assert person.verified_name is None and person.province is None and person.birth_year is None and person.verified_fields == ""
    assert person.identity_verified_at is not None and person.email_verified_at is None  # identified, e-mail still to confirm


async def test_an_existing_account_is_linked_only_with_its_password(new_client, oidc_provider):
    await account("lan.nguyen@example.vn", "Lan")
    client = english(new_client())
    await through_provider(client, oidc_provider)
    page = await client.get("/account/identity/confirm")
    assert "An account with this e-mail address already exists" in text_of(page.text)
    assert field_value(page.text, "link_email") == "lan.nguyen@example.vn" and 'value="create"' not in page.text
    wrong = await confirm(client, action="link", link_email="lan.nguyen@example.vn", password="not the password")
    assert wrong.status_code == 400 and "The e-mail address or password is not right" in text_of(wrong.text)
    assert field_value(wrong.text, "link_email") == "lan.nguyen@example.vn" and not await IdentityLink.exists()
    from tests.helpers import PASSWORD

    linked = await confirm(client, action="link", link_email="lan.nguyen@example.vn", password=PASSWORD)
    assert linked.status_code == 303
    person = await Account.get(email="lan.nguyen@example.vn")
    assert await IdentityLink.filter(account=person).exists() and person.identity_verified_at is not None
    assert person.verified_fields == ""  # the box was not ticked
    assert await AuditEntry.filter(action="account.identity_linked").exists()

    # Another identity cannot take the same account; the same identity cannot join a second account.
    other = english(new_client())
    await account("khac@example.vn", "Khác")
    await sign_in(other, "khac@example.vn")
    await through_provider(other, oidc_provider)
    refused = await confirm(other, action="link", use_details="yes")
    assert refused.status_code == 400 and "already linked to another account" in text_of(refused.text)


async def test_a_signed_in_person_links_the_provider_and_can_unlink_it(new_client, oidc_provider):
    await account("dan@example.vn", "Dân")
    client = english(new_client())
    await sign_in(client, "dan@example.vn")
    await through_provider(client, oidc_provider)
    linked = await confirm(client, action="link", use_details="yes")
    assert linked.status_code == 303 and linked.headers["location"] == "/account"
    person = await Account.get(email="dan@example.vn")
    assert person.identity_verified_at is not None and person.verified_name == "Nguyễn Thị Lan" and person.display_name == "Dân"
    profile = await client.get("/account")
    unlinked = await client.post("/account/identity/test/unlink", data={"csrf_token": csrf_from(profile.text)})
    assert unlinked.status_code == 303
    person = await Account.get(email="dan@example.vn")
    assert not await IdentityLink.exists() and person.identity_verified_at is None and person.verified_name is None


@pytest.mark.parametrize("spoil, message", [
    ("signature", "could not be trusted"),
    ("nonce", "could not be trusted"),
    ("audience", "could not be trusted"),
    ("expired", "has expired"),
])
async def test_a_forged_or_expired_id_token_is_refused(new_client, oidc_provider, spoil, message):
    oidc_provider.spoil = spoil
    client = english(new_client())
    refused = await through_provider(client, oidc_provider)
    assert refused.status_code == 400 and message in text_of(refused.text)
    assert not await Account.exists() and not await IdentityLink.exists()
    assert (await client.get("/account/identity/confirm")).status_code == 400  # nothing waiting for consent either


async def test_a_replayed_code_and_a_foreign_answer_are_refused(new_client, oidc_provider):
    client = english(new_client())
    first = await to_provider(client, oidc_provider)
    assert (await client.get(first)).status_code == 303
    code = parse_qs(urlsplit(first).query)["code"][0]

    replay = english(new_client())  # the stolen code, with a state of the thief's own
    second = await to_provider(replay, oidc_provider)
    state = parse_qs(urlsplit(second).query)["state"][0]
    refused = await replay.get(f"/account/identity/test/callback?code={code}&state={state}")
    assert refused.status_code == 400 and "was already used or has expired" in text_of(refused.text)

    again = await client.get(first)  # the same answer twice: its state is spent
    assert again.status_code == 400 and "did not start here" in text_of(again.text)
    stranger = english(new_client())  # an answer this browser never asked for
    foreign = await stranger.get(second)
    assert foreign.status_code == 400 and "did not start here" in text_of(foreign.text)

    cancelled = await english(new_client()).get("/account/identity/test/callback?error=access_denied&state=x")
    assert cancelled.status_code == 400 and "You stopped the sign-in at Test identity" in text_of(cancelled.text)
    assert (await client.get("/account/identity/nobody")).status_code == 404
    assert not await Account.exists()


async def test_a_provider_that_cannot_be_reached_gets_a_clear_page(new_client):
    client = english(new_client())
    down = await client.get("/account/identity/offline")
    assert down.status_code == 502 and "Offline identity cannot be reached just now" in text_of(down.text)
    assert "Sign in with your e-mail address and password" in text_of(down.text)


def test_the_provider_setting_says_what_is_wrong():
    good = '[{"name": "vneid", "issuer": "https://sso.example.gov.vn", "client_id": "a", "client_secret": "b", "label_vi": "VNeID", "label_en": "VNeID"}]'
    assert parse_providers(good)[0].metadata_url == "https://sso.example.gov.vn/.well-known/openid-configuration"
    assert parse_providers("") == ()
    for raw, says in [
        ("{", "JSON list"),
        ('{"name": "x"}', "JSON list"),
        ('[{"name": "vneid"}]', "missing issuer"),
        (good.replace("https://sso", "http://sso"), "https://"),
        (good.replace('"vneid"', '"VNe ID"'), "lower-case"),
        (good.replace('"a",', '"a", "colour": "red",'), "unknown keys colour"),
        (good[:-1] + ", " + good[1:], "two providers"),
    ]:
        with pytest.raises(SettingsError, match=says):
            parse_providers(raw)


async def test_a_verified_only_consultation_takes_part_only_from_verified_identities(new_client, oidc_provider, run_jobs, settings):
    from consult.models import Comment, ConsultationStatus, ParticipationRule, Vote
    from consult.reports import aggregate
    from tests.test_participation import consultation

    c = await consultation(status=ConsultationStatus.OPEN)
    await c.filter(id=c.id).update(participation=ParticipationRule.VERIFIED)
    visitor = text_of((await english(new_client()).get(f"/consultations/{c.slug}")).text)
    assert "Only people whose identity is verified may take part in this consultation" in visitor and "Sign in with Test identity" in visitor

    await account("dan@example.vn", "Dân")
    plain = english(new_client())
    await sign_in(plain, "dan@example.vn")
    page = await plain.get(f"/consultations/{c.slug}")
    assert "Link Test identity to your account" in text_of(page.text) and 'name="body"' not in page.text
    refused = await plain.post(f"/consultations/{c.slug}/comment", data={"body": "Tôi đồng ý.", "stance": "support", "csrf_token": csrf_from(page.text)})
    assert refused.status_code == 403 and "Only people whose identity is verified" in text_of(refused.text)

    resident = english(new_client())
    await through_provider(resident, oidc_provider, f"/account/identity/test?next=/consultations/{c.slug}")
    created = await confirm(resident, action="create", display_name="Lan ở Huế", use_details="yes", consent="yes")
    assert created.headers["location"] == f"/consultations/{c.slug}"
    page = await resident.get(f"/consultations/{c.slug}")
    posted = await resident.post(f"/consultations/{c.slug}/comment", data={"body": "Cần làm rõ Điều 1.", "stance": "support",
                                                                            "csrf_token": csrf_from(page.text)})
    assert posted.status_code == 303, text_of(posted.text)[:3000]
    await run_jobs()
    comment = await Comment.get(body="Cần làm rõ Điều 1.")
    assert comment.status.value == "published"
    shown = (await english(new_client()).get(f"/consultations/{c.slug}")).text
    assert "Lan ở Huế" in shown and "Nguyễn Thị Lan" not in shown  # pseudonymous: the verified name is never shown

    page = await plain.get(f"/consultations/{c.slug}")
    vote = await plain.post(f"/comments/{comment.id}/vote", data={"value": "agree", "csrf_token": csrf_from(page.text)})
    assert vote.status_code == 303 and not await Vote.exists()  # the unverified vote is refused, and told why
    assert "Only people whose identity is verified" in text_of((await plain.get(vote.headers["location"])).text)

    counted = await aggregate.participation(c.id, settings.timezone)
    assert counted["people_verified"] == 1 and counted["published_by_verified"] == 1 and counted["people"] == 1


async def test_officials_choose_who_may_take_part_on_the_draft_form(new_client):
    from consult.models import Agency, Consultation, Role, RoleGrant
    from tests.helpers import post_form

    agency = await Agency.create(slug="bo-tu-phap", name_vi="Bộ Tư pháp", name_en="Ministry of Justice")
    official = await account("canbo@example.vn", "Cán bộ")
    await RoleGrant.create(account=official, role=Role.OFFICIAL, agency=agency)
    client = english(new_client())
    await sign_in(client, "canbo@example.vn")
    form = {"agency": str(agency.id), "title": "Dự thảo Luật Căn cước", "summary": "Lấy ý kiến người dân.", "kind": "legal_text",
            "language": "vi", "moderation_mode": "post"}
    assert "Who may comment, vote and answer" in text_of((await client.get("/manage/new")).text)
    wrong = await post_form(client, "/manage/new", {**form, "participation": "everyone-twice"})
    assert wrong.status_code == 400 and "Choose who may take part" in text_of(wrong.text)
    assert field_value(wrong.text, "title") == "Dự thảo Luật Căn cước"
    created = await post_form(client, "/manage/new", {**form, "participation": "verified"})
    assert created.status_code == 303
    draft = await Consultation.get(title="Dự thảo Luật Căn cước")
    assert draft.participation is ParticipationRule.VERIFIED
    edit = await client.get(f"/manage/{draft.id}")
    assert '<option value="verified" selected' in edit.text
