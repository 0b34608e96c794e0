"""Topic tags: administrators create them, officials tag their drafts with them while the text can change,
and citizens filter the public list by them."""

from datetime import datetime, timedelta, timezone

from consult import queries
from consult.models import Agency, AuditEntry, Consultation, ConsultationKind, ConsultationStatus, ConsultationTopic, Topic
from tests.helpers import make_account, post_form, text_of, title_of
from tests.site import new_draft

DRAFT_FORM = {"title": "Dự thảo Luật Giao thông", "summary": "Lấy ý kiến.", "kind": "legal_text", "language": "vi", "moderation_mode": "post"}


async def make_topics() -> tuple[Topic, Topic]:
    return (
        await Topic.create(slug="giao-thong", name_vi="Giao thông", name_en="Transport"),
        await Topic.create(slug="moi-truong", name_vi="Môi trường", name_en="Environment"),
    )


async def public_consultation(agency: Agency, slug: str, title: str) -> Consultation:
    return await Consultation.create(
        agency=agency, slug=slug, title=title, summary="Tóm tắt.", kind=ConsultationKind.POLICY, language="vi",
        status=ConsultationStatus.OPEN, opens_at=datetime.now(timezone.utc), closes_at=datetime.now(timezone.utc) + timedelta(days=10),
    )


async def test_an_administrator_creates_topics(client, new_client, mailbox):
    await make_account(client, mailbox, "admin@example.vn", "Quản trị", role="admin")

    empty = await post_form(client, "/admin/topics", {"name_vi": "", "name_en": "Transport"}, page="/admin")
    assert empty.status_code == 400 and title_of(empty.text).startswith("Lỗi:")
    assert 'id="topic_name_vi-error"' in empty.text and "Vui lòng nhập tên bằng tiếng Việt" in text_of(empty.text)
    assert 'id="topic_name_en" name="name_en" type="text" value="Transport"' in empty.text  # what was typed is kept
    assert await Topic.all().count() == 0

    created = await post_form(client, "/admin/topics", {"name_vi": " Giao thông  đô thị ", "name_en": "Urban transport"}, page="/admin")
    assert created.status_code == 303
    topic = await Topic.get(slug="giao-thong-do-thi")
    assert (topic.name_vi, topic.name_en) == ("Giao thông đô thị", "Urban transport")
    assert await AuditEntry.filter(action="topic.create", target_id=str(topic.id)).exists()
    admin_page = text_of((await client.get("/admin")).text)
    assert "Giao thông đô thị" in admin_page and "giao-thong-do-thi" in admin_page

    again = await post_form(client, "/admin/topics", {"name_vi": "giao thông đô thị", "name_en": "Transport in towns"}, page="/admin")
    assert again.status_code == 400 and "Đã có chủ đề với tên này" in text_of(again.text)
    assert await Topic.all().count() == 1

    official = new_client()
    agency = await Agency.create(slug="bo-gtvt", name_vi="Bộ GTVT", name_en="Ministry of Transport")
    await make_account(official, mailbox, "canbo@example.vn", "Cán bộ", role="official", agency_id=agency.id)
    refused = await post_form(official, "/admin/topics", {"name_vi": "Y tế", "name_en": "Health"}, page="/manage")
    assert refused.status_code == 403
    assert await Topic.all().count() == 1


async def test_an_official_tags_a_draft_while_it_can_change(client, mailbox):
    agency = await Agency.create(slug="bo-gtvt", name_vi="Bộ GTVT", name_en="Ministry of Transport")
    await make_account(client, mailbox, "canbo@example.vn", "Cán bộ", role="official", agency_id=agency.id)
    transport, environment = await make_topics()

    new_page = await client.get("/manage/new")
    assert 'name="topics"' in new_page.text and "Môi trường" in text_of(new_page.text)
    created = await post_form(client, "/manage/new", {"agency": str(agency.id), **DRAFT_FORM, "topics": [str(transport.id)]})
    assert created.status_code == 303
    draft = await Consultation.get(slug="du-thao-luat-giao-thong")
    assert [t["slug"] for t in await queries.consultation_topics(draft.id)] == ["giao-thong"]

    edit_url = f"/manage/{draft.id}"
    bad = await post_form(client, edit_url, {**DRAFT_FORM, "title": "", "topics": [str(environment.id), "999999"]})
    assert bad.status_code == 400 and "Vui lòng chọn chủ đề trong danh sách" in text_of(bad.text)
    assert f'value="{environment.id}" checked' in bad.text and f'value="{transport.id}" checked' not in bad.text  # as ticked
    assert [t["slug"] for t in await queries.consultation_topics(draft.id)] == ["giao-thong"]  # nothing saved

    saved = await post_form(client, edit_url, {**DRAFT_FORM, "topics": [str(environment.id), str(transport.id)]})
    assert saved.status_code == 303
    topics = await queries.consultation_topics(draft.id)
    assert topics == [
        {"id": transport.id, "slug": "giao-thong", "name_vi": "Giao thông", "name_en": "Transport"},
        {"id": environment.id, "slug": "moi-truong", "name_vi": "Môi trường", "name_en": "Environment"},
    ]
    edit_page = await client.get(edit_url)
    assert f'value="{transport.id}" checked' in edit_page.text and f'value="{environment.id}" checked' in edit_page.text
    assert "Giao thông, Môi trường" in text_of((await client.get(f"{edit_url}/preview")).text)

    untagged = await post_form(client, edit_url, DRAFT_FORM)  # no box ticked: no topic
    assert untagged.status_code == 303 and await queries.consultation_topics(draft.id) == []

    await post_form(client, edit_url, {**DRAFT_FORM, "topics": [str(transport.id)]})
    await Consultation.filter(id=draft.id).update(status=ConsultationStatus.OPEN)
    frozen = await post_form(client, edit_url, {**DRAFT_FORM, "topics": [str(environment.id)]}, page="/manage")
    assert frozen.status_code == 409
    assert [t["slug"] for t in await queries.consultation_topics(draft.id)] == ["giao-thong"]


async def test_citizens_filter_consultations_by_topic(client):
    agency = await Agency.create(slug="bo-gtvt", name_vi="Bộ GTVT", name_en="Ministry of Transport")
    transport, environment = await make_topics()
    tagged = await public_consultation(agency, "lam-duong-vanh-dai", "Làm đường vành đai")
    await public_consultation(agency, "cai-tao-cong-vien", "Cải tạo công viên")
    draft_id, _ = await new_draft(agency.id, "Dự thảo chưa công bố")
    for consultation_id in (tagged.id, draft_id):
        await ConsultationTopic.create(consultation_id=consultation_id, topic=transport)

    everything = await client.get("/consultations")
    listed = text_of(everything.text)
    assert "Làm đường vành đai" in listed and "Cải tạo công viên" in listed
    assert 'href="/consultations?topic=giao-thong">Giao thông</a>' in everything.text  # the card names its topics

    filtered = await client.get("/consultations?topic=giao-thong")
    shown = text_of(filtered.text)
    assert "Làm đường vành đai" in shown and "Cải tạo công viên" not in shown and "Dự thảo chưa công bố" not in shown
    assert '<option value="giao-thong" selected>' in filtered.text

    nothing = text_of((await client.get("/consultations?topic=moi-truong")).text)
    assert "Làm đường vành đai" not in nothing and "Không có đợt lấy ý kiến nào phù hợp." in nothing
    assert "Làm đường vành đai" not in text_of((await client.get("/consultations?topic=no-such-topic")).text)

    english = await client.get("/consultations?topic=giao-thong", headers={"Accept-Language": "en"})
    assert ">Transport</a>" in english.text and "Environment" in text_of(english.text)
