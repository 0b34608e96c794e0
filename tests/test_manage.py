"""Officials' pages, through HTTP: create a draft, add articles, preview, publish, extend, close."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from consult.models import Agency, Article, AuditEntry, Consultation, ConsultationStatus
from tests.helpers import field_value, make_account, post_form, text_of, title_of
from tests.site import new_draft


def local_input(delta: timedelta) -> str:
    return (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + delta).strftime("%Y-%m-%dT%H:%M")


async def test_an_official_writes_previews_and_publishes_a_draft(client, new_client, mailbox):
    agency = await Agency.create(slug="bo-tu-phap", name_vi="Bộ Tư pháp", name_en="Ministry of Justice")
    other = await Agency.create(slug="bo-khac", name_vi="Bộ khác", name_en="Other ministry")
    await make_account(client, mailbox, "canbo@example.vn", "Cán bộ", role="official", agency_id=agency.id)

    listing = await client.get("/manage")
    assert listing.status_code == 200 and 'href="/manage/new"' in listing.text
    new_page = await client.get("/manage/new")
    assert "Bộ khác" not in text_of(new_page.text)  # only the official's own agencies

    bad = await post_form(client, "/manage/new", {"agency": str(agency.id), "title": "", "summary": "Tóm tắt", "kind": "legal_text", "language": "vi", "moderation_mode": "post"})
    assert bad.status_code == 400 and title_of(bad.text).startswith("Lỗi:")
    assert field_value(bad.text, "title") == "" and "Tóm tắt" in bad.text
    foreign = await post_form(client, "/manage/new", {"agency": str(other.id), "title": "X", "summary": "Y", "kind": "policy", "language": "vi", "moderation_mode": "post"})
    assert foreign.status_code == 403

    created = await post_form(client, "/manage/new", {"agency": str(agency.id), "title": "Dự thảo Luật Đất đai", "summary": "Lấy ý kiến.", "kind": "legal_text", "language": "vi", "moderation_mode": "pre"})
    assert created.status_code == 303
    consultation = await Consultation.get(slug="du-thao-luat-dat-dai")
    edit_url = f"/manage/{consultation.id}"
    assert created.headers["location"] == edit_url

    empty_article = await post_form(client, f"{edit_url}/articles", {"label": "", "title": "", "body": ""}, page=edit_url)
    assert empty_article.status_code == 400 and 'id="article_label-error"' in empty_article.text
    for label, body in (("Điều 1", "**Phạm vi** điều chỉnh <script>alert(1)</script>"), ("Điều 2", "Đối tượng áp dụng")):
        added = await post_form(client, f"{edit_url}/articles", {"label": label, "title": "", "body": body}, page=edit_url)
        assert added.status_code == 303
    first, second = await Article.filter(consultation=consultation).order_by("position")
    moved = await post_form(client, f"/manage/articles/{second.id}/move", {"direction": "up"}, page=edit_url)
    assert moved.status_code == 303
    assert await Article.filter(consultation=consultation).order_by("position").values_list("label", flat=True) == ["Điều 2", "Điều 1"]
    saved = await post_form(client, f"/manage/articles/{first.id}", {"label": "Điều 1", "title": "Phạm vi", "body": "Nội dung **mới**"})
    assert saved.status_code == 303

    preview = await client.get(f"{edit_url}/preview")
    assert preview.status_code == 200
    assert "<strong>mới</strong>" in preview.text and "<script>alert" not in preview.text

    wrong_dates = await post_form(client, f"{edit_url}/publish", {"opens_at": local_input(timedelta(days=5)), "closes_at": local_input(timedelta(days=1))}, page=edit_url)
    assert wrong_dates.status_code == 400 and 'id="publish_closes_at-error"' in wrong_dates.text
    not_a_date = await post_form(client, f"{edit_url}/publish", {"opens_at": "ngày mai", "closes_at": ""}, page=edit_url)
    assert not_a_date.status_code == 400 and 'id="publish_opens_at-error"' in not_a_date.text
    published = await post_form(client, f"{edit_url}/publish", {"opens_at": "", "closes_at": local_input(timedelta(days=30))}, page=edit_url)
    assert published.status_code == 303
    assert (await Consultation.get(id=consultation.id)).status is ConsultationStatus.OPEN

    frozen = await post_form(client, f"/manage/articles/{first.id}", {"label": "Điều 1", "title": "Đổi", "body": "Đổi"}, page=edit_url)
    assert frozen.status_code == 409
    extended = await post_form(client, f"{edit_url}/extend", {"closes_at": local_input(timedelta(days=40)), "reason": "Nhiều ý kiến"}, page=edit_url)
    assert extended.status_code == 303
    no_reason = await post_form(client, f"{edit_url}/close", {"reason": ""}, page=edit_url)
    assert no_reason.status_code == 400 and 'id="close_reason-error"' in no_reason.text
    closed = await post_form(client, f"{edit_url}/close", {"reason": "Đủ ý kiến"}, page=edit_url)
    assert closed.status_code == 303
    assert (await Consultation.get(id=consultation.id)).status is ConsultationStatus.CLOSED
    actions = await AuditEntry.filter(target_type="consultation").order_by("id").values_list("action", flat=True)
    assert actions[0] == "consultation.create" and actions[-3:] == ["consultation.open", "consultation.extend", "consultation.close"]

    other_official = new_client()
    await make_account(other_official, mailbox, "khac@example.vn", "Cán bộ khác", role="official", agency_id=other.id)
    assert (await other_official.get(edit_url)).status_code == 403
    assert (await other_official.get(f"/manage/articles/{first.id}")).status_code == 403
    assert "Dự thảo Luật Đất đai" not in text_of((await other_official.get("/manage")).text)


async def test_the_forms_of_a_draft_submit_the_names_their_handlers_read(client, mailbox):
    """Several forms share the draft's page, so their fields have ids of their own ("article_title",
    "publish_closes_at"); what they submit is still the plain name each handler reads."""
    agency = await Agency.create(slug="bo-tu-phap", name_vi="Bộ Tư pháp", name_en="Ministry of Justice")
    await make_account(client, mailbox, "canbo@example.vn", "Cán bộ", role="official", agency_id=agency.id)
    draft_id, _ = await new_draft(agency.id)
    page = (await client.get(f"/manage/{draft_id}")).text
    forms = dict(re.findall(r'<form method="post" action="/manage/\d+(/[a-z]+)?"[^>]*>(.*?)</form>', page, flags=re.S))
    submitted = {action: set(re.findall(r'\bname="([a-z_]+)"', body)) - {"csrf_token"} for action, body in forms.items()}
    assert submitted["/articles"] == {"label", "title", "body"}
    assert submitted["/questions"] == {"kind", "prompt", "options", "required"}
    assert submitted["/attachments"] == {"title", "file"}
    assert submitted["/publish"] == {"opens_at", "closes_at"}
    assert {"title", "summary", "kind", "language", "moderation_mode"} <= submitted[""]
