"""Officials write the questions of a draft: four kinds, options checked, ordered, frozen once it opens,
and shown in the preview as citizens will see them."""

import re

from consult import queries
from consult.models import Agency, AuditEntry, Consultation, ConsultationStatus, Question
from tests.helpers import field_value, make_account, post_form, text_of, title_of
from tests.site import new_draft

CHOICE = {"kind": "single", "prompt": "Bạn có ủng hộ thu phí vào nội đô không?", "options": "Ủng hộ\nKhông ủng hộ\nChưa có ý kiến", "required": "yes"}


def textarea_value(html: str, element_id: str) -> str:
    match = re.search(r'<textarea[^>]*id="' + re.escape(element_id) + r'"[^>]*>(.*?)</textarea>', html, flags=re.S)
    assert match, f"no textarea {element_id}"
    return match.group(1)


async def official_with_draft(client, mailbox) -> tuple[Agency, int]:
    agency = await Agency.create(slug="so-gtvt", name_vi="Sở GTVT", name_en="Department of Transport")
    await make_account(client, mailbox, "canbo@example.vn", "Cán bộ", role="official", agency_id=agency.id)
    draft_id, _ = await new_draft(agency.id)
    return agency, draft_id


async def test_an_official_adds_questions_of_each_kind(client, mailbox):
    _, draft_id = await official_with_draft(client, mailbox)
    edit_url = f"/manage/{draft_id}"
    page = await client.get(edit_url)
    assert 'action="/manage/%s/questions"' % draft_id in page.text and 'name="options"' in page.text

    for form in (
        CHOICE,
        {"kind": "multiple", "prompt": "Bạn thường đi lại bằng gì?", "options": "Xe máy\r\n\r\n  Xe buýt  \r\nĐi bộ\r\n"},
        {"kind": "scale", "prompt": "Bạn hài lòng với xe buýt đến mức nào?", "options": "bị bỏ qua"},
        {"kind": "text", "prompt": "Bạn còn đề xuất gì khác?", "options": ""},
    ):
        added = await post_form(client, f"{edit_url}/questions", form, page=edit_url)
        assert added.status_code == 303 and added.headers["location"] == f"{edit_url}#questions"

    questions = await queries.consultation_questions(draft_id)
    assert [(q["position"], q["kind"], q["required"]) for q in questions] == [(1, "single", True), (2, "multiple", False), (3, "scale", False), (4, "text", False)]
    assert questions[0]["options"] == ["Ủng hộ", "Không ủng hộ", "Chưa có ý kiến"]
    assert questions[1]["options"] == ["Xe máy", "Xe buýt", "Đi bộ"]  # blank lines and spaces dropped
    assert questions[2]["options"] == [] and questions[3]["options"] == []  # a scale runs 1 to 5; free text has none
    assert set(questions[0]) == {"id", "position", "kind", "prompt", "options", "required"}
    assert await AuditEntry.filter(action="question.add", target_id=str(draft_id)).count() == 4

    listed = text_of((await client.get(edit_url)).text)
    assert "Bạn có ủng hộ thu phí vào nội đô không? (Chọn một: chỉ một phương án, bắt buộc)" in listed

    preview = await client.get(f"{edit_url}/preview")
    text = text_of(preview.text)
    assert "Bạn hài lòng với xe buýt đến mức nào?" in text and "Không ủng hộ" in text
    inputs = re.findall(r"<(?:input|textarea)[^>]*>", preview.text.split('id="questions-heading"')[1])
    assert len(inputs) == 3 + 3 + 5 + 1 and all(" disabled" in tag for tag in inputs)  # seen, not answered


async def test_bad_questions_are_explained_and_the_form_keeps_what_was_typed(client, mailbox):
    _, draft_id = await official_with_draft(client, mailbox)
    edit_url = f"/manage/{draft_id}"

    async def refused(form: dict, field: str, message: str, headers: dict | None = None) -> str:
        response = await post_form(client, f"{edit_url}/questions", form, page=edit_url)
        assert response.status_code == 400, form
        assert title_of(response.text).startswith(("Lỗi:", "Error:"))
        assert f'id="question_{field}-error"' in response.text and f'href="#question_{field}"' in response.text
        assert message in text_of(response.text), text_of(response.text)[:400]
        return response.text

    one_option = await refused({**CHOICE, "options": "Chỉ một phương án"}, "options", "Vui lòng nhập ít nhất 2 phương án, mỗi phương án một dòng")
    assert field_value(one_option, "prompt") == CHOICE["prompt"] and textarea_value(one_option, "question_options") == "Chỉ một phương án"
    assert 'id="question_required" name="required" type="checkbox" value="yes" checked' in one_option
    await refused({**CHOICE, "options": "Có\nKhông\ncó"}, "options", "Các phương án phải khác nhau: “có” bị lặp lại")
    await refused({**CHOICE, "options": "\n".join(f"Phương án {i}" for i in range(21))}, "options", "Chỉ được nhập tối đa 20 phương án")
    await refused({**CHOICE, "options": "Có\n" + "d" * 201}, "options", "Mỗi phương án không được dài quá 200 ký tự")
    await refused({**CHOICE, "prompt": "   "}, "prompt", "Vui lòng nhập câu hỏi")
    await refused({**CHOICE, "prompt": "x" * 501}, "prompt", "Câu hỏi không được dài quá 500 ký tự")
    await refused({**CHOICE, "kind": "essay"}, "kind", "Vui lòng chọn loại câu hỏi")
    assert await Question.all().count() == 0

    await post_form(client, "/language", {"language": "en", "next": edit_url}, page=edit_url)
    english = await post_form(client, f"{edit_url}/questions", {**CHOICE, "options": "Yes"}, page=edit_url)
    assert english.status_code == 400 and "Enter at least 2 options, one per line" in text_of(english.text)


async def test_questions_are_edited_reordered_removed_then_frozen(client, new_client, mailbox):
    agency, draft_id = await official_with_draft(client, mailbox)
    edit_url = f"/manage/{draft_id}"
    for prompt in ("Câu một?", "Câu hai?"):
        await post_form(client, f"{edit_url}/questions", {**CHOICE, "prompt": prompt}, page=edit_url)
    first, second = await Question.filter(consultation_id=draft_id).order_by("position")

    page = await client.get(f"/manage/questions/{first.id}")
    assert page.status_code == 200 and field_value(page.text, "prompt") == "Câu một?"
    assert textarea_value(page.text, "options") == "Ủng hộ\nKhông ủng hộ\nChưa có ý kiến"
    bad = await post_form(client, f"/manage/questions/{first.id}", {"kind": "multiple", "prompt": "Câu một, sửa?", "options": "A"})
    assert bad.status_code == 400 and field_value(bad.text, "prompt") == "Câu một, sửa?" and '<option value="multiple" selected>' in bad.text
    assert (await Question.get(id=first.id)).prompt == "Câu một?"  # nothing saved was lost
    saved = await post_form(client, f"/manage/questions/{first.id}", {"kind": "scale", "prompt": "Câu một, sửa?", "options": ""})
    assert saved.status_code == 303
    edited = await Question.get(id=first.id)
    assert (edited.kind.value, edited.prompt, edited.options, edited.required) == ("scale", "Câu một, sửa?", [], False)

    moved = await post_form(client, f"/manage/questions/{second.id}/move", {"direction": "up"}, page=edit_url)
    assert moved.status_code == 303
    assert [q["prompt"] for q in await queries.consultation_questions(draft_id)] == ["Câu hai?", "Câu một, sửa?"]
    removed = await post_form(client, f"/manage/questions/{second.id}/remove", {}, page=f"/manage/questions/{second.id}")
    assert removed.status_code == 303
    assert [q["prompt"] for q in await queries.consultation_questions(draft_id)] == ["Câu một, sửa?"]
    actions = await AuditEntry.filter(target_id=str(draft_id), action__startswith="question.").order_by("id").values_list("action", flat=True)
    assert actions == ["question.add", "question.add", "question.update", "question.move", "question.remove"]

    other = new_client()
    other_agency = await Agency.create(slug="so-khac", name_vi="Sở khác", name_en="Other department")
    await make_account(other, mailbox, "khac@example.vn", "Cán bộ khác", role="official", agency_id=other_agency.id)
    assert (await other.get(f"/manage/questions/{first.id}")).status_code == 403
    assert (await post_form(other, f"{edit_url}/questions", CHOICE, page="/manage")).status_code == 403
    assert (await post_form(other, f"/manage/questions/{first.id}/remove", {}, page="/manage")).status_code == 403

    await Consultation.filter(id=draft_id).update(status=ConsultationStatus.OPEN)
    opened = await client.get(edit_url)
    assert 'action="/manage/%s/questions"' % draft_id not in opened.text and "Câu một, sửa?" in text_of(opened.text)
    frozen_message = "Không thể sửa nội dung sau khi đã bắt đầu lấy ý kiến"
    for url, form in ((f"{edit_url}/questions", CHOICE), (f"/manage/questions/{first.id}", CHOICE)):
        frozen = await post_form(client, url, form, page=edit_url)
        assert frozen.status_code == 409 and frozen_message in text_of(frozen.text), url
    # The buttons of the list say why on the page they lead back to, as for articles.
    for action in ("remove", "move"):
        refused = await post_form(client, f"/manage/questions/{first.id}/{action}", {"direction": "up"}, page=edit_url)
        assert refused.status_code == 303 and frozen_message in text_of((await client.get(refused.headers["location"])).text)
    assert await Question.filter(consultation_id=draft_id).count() == 1
    assert (await Question.get(id=first.id)).prompt == "Câu một, sửa?"
