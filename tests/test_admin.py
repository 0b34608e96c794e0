"""Administrators create agencies and grant roles; every action is in the audit log."""

from consult.models import Agency, AuditEntry, Role, RoleGrant
from tests.helpers import make_account, post_form, text_of


async def test_admin_creates_agency_and_grants_official_role(client, new_client, mailbox):
    admin = await make_account(client, mailbox, "admin@example.vn", "Quản trị", role="admin")
    citizen_client = new_client()
    citizen = await make_account(citizen_client, mailbox, "canbo@example.vn", "Cán bộ A")

    bad = await post_form(client, "/admin/agencies", {"slug": "Bộ Tư Pháp!", "name_vi": "", "name_en": "Ministry"}, page="/admin")
    assert bad.status_code == 400
    assert 'id="slug-error"' in bad.text and 'id="name_vi-error"' in bad.text
    assert 'value="Ministry"' in bad.text

    ok = await post_form(client, "/admin/agencies", {"slug": "bo-tu-phap", "name_vi": "Bộ Tư pháp", "name_en": "Ministry of Justice"}, page="/admin")
    assert ok.status_code == 303
    agency = await Agency.get(slug="bo-tu-phap")
    duplicate = await post_form(client, "/admin/agencies", {"slug": "bo-tu-phap", "name_vi": "X", "name_en": "Y"}, page="/admin")
    assert duplicate.status_code == 400

    listing = await client.get("/admin/accounts?q=canbo")
    assert "canbo@example.vn" in text_of(listing.text)
    assert "admin@example.vn" not in text_of(listing.text)

    no_agency = await post_form(client, f"/admin/accounts/{citizen.id}/roles", {"role": "official", "agency": ""}, page=f"/admin/accounts/{citizen.id}")
    assert no_agency.status_code == 400 and 'id="agency-error"' in no_agency.text
    granted = await post_form(
        client, f"/admin/accounts/{citizen.id}/roles", {"role": "official", "agency": str(agency.id)}, page=f"/admin/accounts/{citizen.id}"
    )
    assert granted.status_code == 303
    grant = await RoleGrant.get(account=citizen, role=Role.OFFICIAL)
    assert grant.agency_id == agency.id and grant.granted_by_id == admin.id

    profile = await citizen_client.get("/account")
    assert "Cán bộ" in text_of(profile.text)

    revoked = await post_form(
        client, f"/admin/accounts/{citizen.id}/roles/revoke", {"grant": str(grant.id)}, page=f"/admin/accounts/{citizen.id}"
    )
    assert revoked.status_code == 303
    assert not await RoleGrant.filter(account=citizen).exists()

    actions = await AuditEntry.all().order_by("id").values_list("action", "actor_id")
    assert actions == [("agency.create", admin.id), ("role.grant", admin.id), ("role.revoke", admin.id)]
    log = await client.get("/moderation/audit")
    assert "role.revoke" in log.text


async def test_admin_cannot_remove_own_admin_role(client, mailbox):
    admin = await make_account(client, mailbox, "admin@example.vn", role="admin")
    grant = await RoleGrant.get(account=admin)
    response = await post_form(client, f"/admin/accounts/{admin.id}/roles/revoke", {"grant": str(grant.id)}, page=f"/admin/accounts/{admin.id}")
    assert response.status_code == 303
    assert await RoleGrant.filter(id=grant.id).exists()


async def test_who_may_see_administration_and_the_audit_log(client, new_client, mailbox):
    anonymous = await client.get("/admin")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/account/signin?next=/admin"

    citizen = new_client()
    await make_account(citizen, mailbox, "citizen@example.vn")
    assert (await citizen.get("/admin")).status_code == 403
    assert (await citizen.get("/moderation/audit")).status_code == 403
    refused = await post_form(citizen, "/admin/agencies", {"slug": "x", "name_vi": "x", "name_en": "x"}, page="/account")
    assert refused.status_code == 403
    assert not await Agency.exists()

    moderator = new_client()
    await make_account(moderator, mailbox, "mod@example.vn", role="moderator")
    assert (await moderator.get("/moderation/audit")).status_code == 200
    assert (await moderator.get("/admin")).status_code == 403

    admin = new_client()
    await make_account(admin, mailbox, "boss@example.vn", role="admin")
    assert (await admin.get("/admin")).status_code == 200
    assert (await admin.get("/admin/accounts/999999")).status_code == 404
    assert (await admin.get("/admin/accounts/99999999999")).status_code == 404  # beyond any id: not a 500
    assert (await admin.get("/admin/accounts?after=99999999999")).status_code == 200
    assert (await admin.get("/moderation/audit?after=99999999999999999999")).status_code == 200
