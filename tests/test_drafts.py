"""Officials write drafts and their articles; the text is sanitized when saved and frozen once open."""

from datetime import datetime, timedelta, timezone

import pytest

from consult import services
from consult.models import Account, Agency, Article, AuditEntry, Consultation, ConsultationStatus
from consult.permissions import Principal

FIELDS = {"title": "Dự thảo Luật Đất đai (sửa đổi)", "summary": "Lấy ý kiến về dự thảo.", "kind": "legal_text", "language": "vi", "moderation_mode": "pre"}


@pytest.fixture
async def world(app):
    agencies = [await Agency.create(slug=f"co-quan-{i}", name_vi=f"Cơ quan {i}", name_en=f"Agency {i}") for i in (1, 2)]
    people = {}
    for name, kwargs in {
        "official": {"agency_ids": frozenset({agencies[0].id})},
        "other_official": {"agency_ids": frozenset({agencies[1].id})},
        "admin": {"is_admin": True},
        "citizen": {},
    }.items():
        account = await Account.create(email=f"{name}@example.vn", display_name=name, password_hash="x")
        people[name] = Principal(id=account.id, email=account.email, display_name=name, language="vi", verified=True, session_version=1, **kwargs)
    return agencies, people


async def test_official_creates_a_draft_with_a_unique_address(world):
    agencies, people = world
    first = await services.create_draft(people["official"], agency_id=agencies[0].id, **FIELDS)
    second = await services.create_draft(people["admin"], agency_id=agencies[1].id, **FIELDS)
    assert first.status is ConsultationStatus.DRAFT and first.moderation_mode.value == "pre"
    assert first.slug == "du-thao-luat-dat-dai-sua-doi" and second.slug == "du-thao-luat-dat-dai-sua-doi-2"
    assert await AuditEntry.filter(action="consultation.create").count() == 2


async def test_drafts_are_refused_to_others_and_validated(world):
    agencies, people = world
    with pytest.raises(services.PermissionDenied):
        await services.create_draft(people["citizen"], agency_id=agencies[0].id, **FIELDS)
    with pytest.raises(services.PermissionDenied):
        await services.create_draft(people["other_official"], agency_id=agencies[0].id, **FIELDS)
    with pytest.raises(services.ServiceError) as error:
        await services.create_draft(people["official"], agency_id=None, title="  ", summary="", kind="poem", language="fr", moderation_mode="none")
    assert set(error.value.errors) == {"title", "summary", "kind", "language", "moderation_mode", "agency"}
    assert await Consultation.all().count() == 0


async def test_articles_are_sanitized_ordered_and_frozen_after_opening(world):
    agencies, people = world
    official = people["official"]
    draft = await services.create_draft(official, agency_id=agencies[0].id, **FIELDS)
    one = await services.add_article(official, draft.id, label="Điều 1", title="Phạm vi", body="**Luật này** quy định <script>alert(1)</script>")
    two = await services.add_article(official, draft.id, label="Điều 2", title="", body="[link](javascript:alert(1)) và [cổng](https://chinhphu.vn)")
    assert (one.position, two.position) == (1, 2)
    assert "<strong>Luật này</strong>" in one.body_html and "<script>" not in one.body_html
    assert "javascript:" not in two.body_html.split("[link]")[0] and 'href="https://chinhphu.vn"' in two.body_html
    assert one.body_markdown.startswith("**Luật này**")  # what the official typed is kept for editing

    with pytest.raises(services.ServiceError) as error:
        await services.add_article(official, draft.id, label="", title="", body="   ")
    assert set(error.value.errors) == {"label", "body"}
    with pytest.raises(services.PermissionDenied):
        await services.update_article(people["other_official"], one.id, label="X", title="", body="y")

    await services.move_article(official, two.id, -1)
    assert await Article.filter(consultation=draft).order_by("position").values_list("label", flat=True) == ["Điều 2", "Điều 1"]
    await services.update_article(official, one.id, label="Điều 1", title="Phạm vi điều chỉnh", body="Nội dung mới")
    await services.remove_article(official, two.id)
    assert await Article.filter(consultation=draft).values_list("title", flat=True) == ["Phạm vi điều chỉnh"]

    await services.publish(official, draft.id, opens_at=None, closes_at=datetime.now(timezone.utc) + timedelta(days=30))
    with pytest.raises(services.ServiceError) as error:
        await services.update_article(official, one.id, label="Điều 1", title="Đổi", body="Đổi nội dung")
    assert error.value.status == 409
    with pytest.raises(services.ServiceError):
        await services.update_draft(official, draft.id, **{**FIELDS, "title": "Tên khác"})
    assert (await Article.get(id=one.id)).body_markdown == "Nội dung mới"  # nothing saved was lost
    assert (await Consultation.get(id=draft.id)).title == FIELDS["title"]


def test_slugify_vietnamese():
    assert services.slugify("Quy hoạch Đô thị – Hà Nội 2030!") == "quy-hoach-do-thi-ha-noi-2030"
    assert services.slugify("!!!") == "tham-van"
