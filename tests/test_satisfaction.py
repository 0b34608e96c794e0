"""The optional satisfaction questions through HTTP: asked once after a comment or answers, under a published
outcome only to the people who took part; stored without the account; skipped, refused or repeated with a
clear outcome; kept, linked to no one, when the account is deleted."""

from __future__ import annotations

from datetime import datetime, timezone

from consult.models import (
    Comment, CommentStatus, ConsultationStatus, OutcomeItem, Question, QuestionKind, SatisfactionAnswer, SatisfactionGiven,
    SatisfactionQuestion,
)
from tests.helpers import post_form, text_of
from tests.test_participation import citizen, consultation, send_comment
from tests.test_reports import english

EASE = "How easy was it to take part?"
OUTCOME = "Did the agency's answer explain what happened to your input?"


async def answer(client, slug: str, question: str, **data):
    return await post_form(client, f"/consultations/{slug}/satisfaction", {"question": question, **data},
                           page=f"/consultations/{slug}/satisfaction?question={question}")


async def test_after_a_comment_the_ease_question_is_asked_once_and_stored_without_the_account(client):
    c = await consultation()
    person = await citizen(english(client), "dan@example.vn")
    sent = await send_comment(client, c, stance="support", body="Tôi đồng ý với dự thảo.")
    assert sent.status_code == 303
    page = text_of((await client.get(sent.headers["location"])).text)
    assert EASE in page and "Very easy" in page and "No thanks" in page and "anonymous" in page
    assert EASE not in text_of((await client.get(f"/consultations/{c.slug}")).text)  # once: not on every page after

    response = await answer(client, c.slug, "ease", satisfaction="4", satisfaction_note="Mẫu góp ý dễ hiểu.", after="comment")
    assert response.status_code == 303 and response.headers["location"] == f"/consultations/{c.slug}"
    assert "Thank you for your answer." in text_of((await client.get(response.headers["location"])).text)
    stored = await SatisfactionAnswer.all().values()
    assert [(row["consultation_id"], row["question"], row["value"], row["note"], row["asked_after"]) for row in stored] == [
        (c.id, SatisfactionQuestion.EASE, 4, "Mẫu góp ý dễ hiểu.", "comment")]
    assert abs((stored[0]["answered_on"] - datetime.now(timezone.utc).date()).days) <= 1  # the day in the site's time zone
    assert not {"account_id", "created_at"} & set(stored[0])  # nothing that names or times the person
    assert await SatisfactionGiven.filter(account_id=person.id, consultation_id=c.id, question=SatisfactionQuestion.EASE).count() == 1

    again = await send_comment(client, c, stance="oppose", body="Thêm một ý kiến nữa.")
    assert again.status_code == 303, text_of(again.text)
    assert EASE not in text_of((await client.get(again.headers["location"])).text)
    repeated = await answer(client, c.slug, "ease", satisfaction="1", after="comment")
    assert repeated.status_code == 303
    assert "You have already answered this question." in text_of((await client.get(repeated.headers["location"])).text)
    assert await SatisfactionAnswer.all().count() == 1


async def test_no_thanks_stores_nothing_and_bad_input_keeps_what_was_typed(client):
    c = await consultation()
    await Question.create(consultation=c, position=1, kind=QuestionKind.SINGLE, prompt="Bạn có đồng ý?", options=["Có", "Không"])
    question = await Question.get(consultation_id=c.id)
    await citizen(english(client), "dan@example.vn")
    saved = await post_form(client, f"/consultations/{c.slug}/respond", {f"q{question.id}": "0"})
    assert saved.status_code == 303
    html = (await client.get(saved.headers["location"])).text
    assert EASE in text_of(html) and 'name="after" value="response"' in html

    skipped = await answer(client, c.slug, "ease", skip="1", satisfaction="5", after="response")
    assert skipped.status_code == 303 and await SatisfactionAnswer.all().count() == 0

    wrong = await answer(client, c.slug, "ease", satisfaction="9", satisfaction_note="Hơi khó tìm nút gửi.", after="response")
    assert wrong.status_code == 400
    assert "Choose one of the answers" in text_of(wrong.text) and 'value="Hơi khó tìm nút gửi."' in wrong.text
    long = await answer(client, c.slug, "ease", satisfaction="3", satisfaction_note="x" * 501, after="response")
    assert long.status_code == 400 and "Write 500 characters or fewer (you wrote 501)" in text_of(long.text)
    assert 'id="satisfaction-3" name="satisfaction" type="radio" value="3" checked' in long.text
    assert await SatisfactionAnswer.all().count() == 0 and await SatisfactionGiven.all().count() == 0

    client.cookies.set("lang", "vi", domain="testserver.local")
    vietnamese = await answer(client, c.slug, "ease", after="response")
    assert vietnamese.status_code == 400 and "Hãy chọn một câu trả lời" in text_of(vietnamese.text)

    unknown = await client.get(f"/consultations/{c.slug}/satisfaction?question=mood")
    assert unknown.status_code == 404


async def test_the_outcome_question_is_for_the_people_who_took_part_once_the_answer_is_published(client, new_client):
    c = await consultation()
    person = await citizen(english(client), "dan@example.vn")
    await Comment.create(consultation=c, author=person, body="Ý kiến của tôi.", status=CommentStatus.PUBLISHED, stance="support")
    early = await answer(client, c.slug, "outcome", satisfaction="2")
    assert early.status_code == 303
    assert "The agency has not published its answer yet." in text_of((await client.get(early.headers["location"])).text)

    await c.filter(id=c.id).update(status=ConsultationStatus.OUTCOME_PUBLISHED, outcome_published_at=datetime.now(timezone.utc),
                                   outcome_summary="Cảm ơn các ý kiến.")
    await OutcomeItem.create(consultation=c, position=1, kind="general", title="Chung", summary="Nhiều ý kiến ủng hộ.",
                             decision="accepted")
    page = text_of((await client.get(f"/consultations/{c.slug}")).text)
    assert "What you said, what we did" in page and OUTCOME in page and "Partly" in page

    visitor = english(new_client())
    assert OUTCOME not in text_of((await visitor.get(f"/consultations/{c.slug}")).text)
    bystander = english(new_client())
    await citizen(bystander, "khach@example.vn")
    assert OUTCOME not in text_of((await bystander.get(f"/consultations/{c.slug}")).text)
    refused = await answer(bystander, c.slug, "outcome", satisfaction="0")
    assert "Only people who took part" in text_of((await bystander.get(refused.headers["location"])).text)

    response = await answer(client, c.slug, "outcome", satisfaction="1", satisfaction_note="Chưa rõ điều 2.")
    assert response.status_code == 303 and response.headers["location"] == f"/consultations/{c.slug}#outcome"
    assert OUTCOME not in text_of((await client.get(f"/consultations/{c.slug}")).text)
    assert await SatisfactionAnswer.filter(question=SatisfactionQuestion.OUTCOME).values_list("value", "asked_after", "note") == [
        (1, "outcome", "Chưa rõ điều 2.")]


async def test_deleting_the_account_keeps_the_answer_linked_to_no_one(client):
    c = await consultation()
    person = await citizen(english(client), "dan@example.vn")
    await send_comment(client, c, stance="oppose", body="Tôi không đồng ý.")
    await answer(client, c.slug, "ease", satisfaction="2", after="comment")
    exported = (await client.get("/account/export")).json()
    assert exported["satisfaction_questions_answered"] == [{"consultation_slug": c.slug, "question": "ease"}]
    deleted = await post_form(client, "/account/delete", {"confirm_email": "dan@example.vn"})
    assert deleted.status_code == 303
    assert await SatisfactionGiven.filter(account_id=person.id).count() == 0
    assert await SatisfactionAnswer.filter(consultation_id=c.id).values_list("value", flat=True) == [2]
