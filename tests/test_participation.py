"""Citizens in a consultation, through HTTP: comment on an article with proposed wording, reply, vote,
flag, answer the questions, follow, withdraw; screening by the job in whichever job mode the suite
runs; bad input refused with a message and the typed text kept."""

from __future__ import annotations

import json
import re
from html import escape, unescape
from datetime import datetime, timedelta, timezone

import pytest

from consult import security
from consult.models import (
    Account, Agency, Answer, Article, AuditEntry, Comment, CommentStatus, Consultation, ConsultationKind, ConsultationStatus, Flag,
    Follow, ModerationMode, Question, QuestionKind, QuestionResponse, Stance, Vote,
)
from consult.queue import enqueue
from consult.text.sanitize import markdown_to_html
from tests.helpers import PASSWORD, csrf_from, post_form, sign_in, text_of

PASSWORD_HASH = security.hash_password(PASSWORD)


async def citizen(client, email: str, name: str = "Người Dân", verified: bool = True) -> Account:
    account = await Account.create(
        email=email, display_name=name, password_hash=PASSWORD_HASH, email_verified_at=datetime.now(timezone.utc) if verified else None,
    )
    await sign_in(client, email)
    return account


async def consultation(mode: ModerationMode = ModerationMode.POST, status: ConsultationStatus = ConsultationStatus.OPEN, slug: str = "luat-dat-dai") -> Consultation:
    agency = await Agency.get_or_none(slug="bo-tnmt") or await Agency.create(slug="bo-tnmt", name_vi="Bộ Tài nguyên", name_en="Ministry of Resources")
    now = datetime.now(timezone.utc)
    c = await Consultation.create(
        agency=agency, slug=slug, title="Dự thảo Luật Đất đai", summary="Lấy ý kiến về dự thảo.", kind=ConsultationKind.LEGAL_TEXT,
        language="vi", status=status, moderation_mode=mode, opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10),
        opened_at=now - timedelta(days=1) if status is ConsultationStatus.OPEN else None,
    )
    for position, label in enumerate(("Điều 1", "Điều 2"), start=1):
        body = f"Nội dung **{label}**."
        await Article.create(consultation=c, position=position, label=label, title="Phạm vi", body_markdown=body, body_html=markdown_to_html(body))
    return c


async def first_article(c: Consultation) -> Article:
    return await Article.filter(consultation_id=c.id).order_by("position").first()


async def send_comment(client, c: Consultation, **data) -> object:
    return await post_form(client, f"/consultations/{c.slug}/comment", data)


async def test_comment_on_an_article_with_proposed_wording_is_screened_then_shown(client, run_jobs):
    c = await consultation()
    article = await first_article(c)
    await citizen(client, "dan@example.vn", "Nguyễn Văn Dân")
    response = await send_comment(client, c, article=str(article.id), stance="change", body="Nên rõ hơn.", proposed_wording="Luật này quy định rõ về đất.")
    assert response.status_code == 303 and response.headers["location"] == f"/consultations/{c.slug}/articles/{article.id}#comments"
    stored = await Comment.get(body="Nên rõ hơn.")
    assert stored.status is CommentStatus.PENDING and stored.stance is Stance.CHANGE and stored.article_id == article.id
    await run_jobs()
    stored = await Comment.get(id=stored.id)
    assert stored.status is CommentStatus.PUBLISHED and stored.screened_at is not None
    page = text_of((await client.get(f"/consultations/{c.slug}/articles/{article.id}")).text)
    assert "Nên rõ hơn." in page and "Luật này quy định rõ về đất." in page and "Nguyễn Văn Dân" in page
    html = (await client.get(f"/consultations/{c.slug}")).text
    assert f'data-article="{article.id}" data-total="1" data-support="0" data-oppose="0" data-change="1"' in html
    assert "1 ý kiến" in text_of(html)


async def test_pre_moderation_keeps_the_comment_pending_and_says_so(client, run_jobs):
    c = await consultation(ModerationMode.PRE)
    await citizen(client, "dan@example.vn")
    response = await send_comment(client, c, stance="support", body="Tôi đồng ý.")
    assert response.status_code == 303
    await run_jobs()
    stored = await Comment.get(body="Tôi đồng ý.")
    assert stored.status is CommentStatus.PENDING and stored.screened_at is not None
    assert "Tôi đồng ý." not in text_of((await client.get(f"/consultations/{c.slug}")).text)
    mine = text_of((await client.get("/account/participation")).text)
    assert "Tôi đồng ý." in mine and "Đang chờ kiểm tra" in mine


async def test_the_sweep_screens_comments_no_job_reached(app, run_jobs):
    c = await consultation()
    author = await Account.create(email="a@example.vn", display_name="A", password_hash="x")
    lost = await Comment.create(consultation=c, author=author, stance=Stance.SUPPORT, body="Mất hàng đợi")
    await Comment.filter(id=lost.id).update(created_at=datetime.now(timezone.utc) - timedelta(minutes=5))
    fresh = await Comment.create(consultation=c, author=author, stance=Stance.SUPPORT, body="Mới")
    await enqueue("sweep_unscreened", _job_id="sweep-test")
    await run_jobs()
    assert (await Comment.get(id=lost.id)).status is CommentStatus.PUBLISHED
    assert (await Comment.get(id=fresh.id)).status is CommentStatus.PENDING  # its own job is still on its way


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"stance": "support", "body": ""}, "body", "Hãy viết ý kiến của bạn"),
        ({"stance": "support", "body": "   \n  "}, "body", "Hãy viết ý kiến của bạn"),
        ({"stance": "support", "body": "<b></b><i> </i>"}, "body", "Hãy viết ý kiến của bạn"),
        ({"stance": "", "body": "Ý kiến"}, "stance", "Hãy chọn"),
        ({"stance": "change", "body": "Ý kiến", "proposed_wording": ""}, "proposed_wording", "Hãy viết nội dung bạn đề xuất"),
        ({"stance": "support", "body": "x" * 5001}, "body", "5.000"),
        ({"stance": "support", "body": "Ý kiến", "article": "abc"}, "article", "không thuộc"),
    ],
)
async def test_bad_comments_are_refused_with_a_message_and_the_text_kept(client, data, field, message):
    c = await consultation()
    await citizen(client, "dan@example.vn")
    response = await send_comment(client, c, **{"article": "", "proposed_wording": "Giữ lại đề xuất", **data})
    assert response.status_code == 400
    assert message in text_of(response.text)
    assert f'href="#{field}"' in response.text
    if data["body"].strip() and len(data["body"]) < 100:
        assert escape(data["body"], quote=False) in response.text  # what was typed is still in the form
    assert await Comment.all().count() == 0


async def test_comments_on_another_consultations_article_or_a_closed_one_are_refused(client):
    c = await consultation()
    other = await consultation(slug="khac")
    foreign = await first_article(other)
    await citizen(client, "dan@example.vn")
    response = await send_comment(client, c, article=str(foreign.id), stance="support", body="Ý kiến")
    assert response.status_code == 400 and "không thuộc dự thảo" in text_of(response.text)
    await Consultation.filter(id=c.id).update(status=ConsultationStatus.CLOSED)
    form = await client.get(f"/consultations/{other.slug}/comment")
    response = await client.post(f"/consultations/{c.slug}/comment", data={"stance": "support", "body": "Muộn", "csrf_token": csrf_from(form.text)})
    assert response.status_code == 409 and "đã kết thúc" in text_of(response.text)
    assert await Comment.all().count() == 0


async def test_replies_go_under_their_comment_and_only_two_levels_deep(client, new_client, run_jobs):
    c = await consultation()
    await citizen(client, "dan@example.vn", "Người hỏi")
    await send_comment(client, c, stance="oppose", body="Không hợp lý.")
    await run_jobs()
    parent = await Comment.get(body="Không hợp lý.")
    other = new_client()
    await citizen(other, "ban@example.vn", "Người trả lời")
    response = await post_form(other, f"/comments/{parent.id}/reply", {"body": "Tôi nghĩ khác."})
    assert response.status_code == 303
    await run_jobs()
    reply = await Comment.get(body="Tôi nghĩ khác.")
    assert reply.parent_id == parent.id and reply.stance is None and reply.status is CommentStatus.PUBLISHED
    html = (await client.get(f"/consultations/{c.slug}")).text
    start = html.index(f'id="comment-{parent.id}"')
    assert html.index(f'id="comment-{reply.id}"') > start
    deeper = await client.get(f"/comments/{reply.id}/reply")
    response = await client.post(f"/comments/{reply.id}/reply", data={"body": "Sâu hơn", "csrf_token": csrf_from(deeper.text)})
    assert response.status_code == 400 and "không thể được trả lời tiếp" in text_of(response.text)
    empty = await client.post(f"/comments/{parent.id}/reply", data={"body": "  ", "csrf_token": csrf_from(deeper.text)})
    assert empty.status_code == 400 and "Hãy viết câu trả lời" in text_of(empty.text)


async def published(c: Consultation, author: Account, body: str = "Ý kiến đã đăng", article: Article | None = None) -> Comment:
    return await Comment.create(consultation=c, author=author, article=article, stance=Stance.SUPPORT, body=body,
                                status=CommentStatus.PUBLISHED, published_at=datetime.now(timezone.utc))


async def test_one_vote_per_person_changeable_not_on_own_comments(client, new_client):
    c = await consultation()
    author = await Account.create(email="tac-gia@example.vn", display_name="Tác giả", password_hash="x")
    comment = await published(c, author)
    voter = await citizen(client, "dan@example.vn")
    page = await client.get(f"/consultations/{c.slug}")
    token = csrf_from(page.text)
    assert (await client.post(f"/comments/{comment.id}/vote", data={"value": "agree", "csrf_token": token})).status_code == 303
    assert (await client.post(f"/comments/{comment.id}/vote", data={"value": "agree", "csrf_token": token})).status_code == 303
    stored = await Comment.get(id=comment.id)
    assert (stored.agree_count, stored.disagree_count) == (1, 0)
    await client.post(f"/comments/{comment.id}/vote", data={"value": "disagree", "csrf_token": token})
    stored = await Comment.get(id=comment.id)
    assert (stored.agree_count, stored.disagree_count, stored.pass_count) == (0, 1, 0)
    assert await Vote.filter(comment_id=comment.id, account_id=voter.id).count() == 1
    html = (await client.get(f"/consultations/{c.slug}")).text
    assert 'value="disagree" class="link-button" aria-pressed="true"' in html
    bad = await client.post(f"/comments/{comment.id}/vote", data={"value": "love", "csrf_token": token}, follow_redirects=True)
    assert "Hãy chọn đồng ý, không đồng ý hoặc bỏ qua" in text_of(bad.text)
    own = await published(c, voter, "Của tôi")
    refused = await client.post(f"/comments/{own.id}/vote", data={"value": "agree", "csrf_token": token}, follow_redirects=True)
    assert "Bạn không thể bỏ phiếu cho ý kiến của chính mình" in text_of(refused.text)
    assert (await Comment.get(id=own.id)).agree_count == 0
    anonymous = new_client()
    response = await anonymous.post(f"/comments/{comment.id}/vote", data={"value": "agree"})
    assert response.status_code in (303, 403)
    assert await Vote.all().count() == 1


async def test_flags_once_per_person_and_enough_of_them_hide_the_comment(client, new_client, settings):
    c = await consultation()
    author = await Account.create(email="tac-gia@example.vn", display_name="Tác giả", password_hash="x")
    comment = await published(c, author, "Quảng cáo mua đất giá rẻ")
    clients = [client] + [new_client() for _ in range(settings.flag_hide_threshold - 1)]
    for number, browser in enumerate(clients):
        await citizen(browser, f"dan{number}@example.vn")
        missing_reason = await post_form(browser, f"/comments/{comment.id}/flag", {"reason": "", "note": "ghi chú"})
        assert missing_reason.status_code == 400 and "Hãy chọn một lý do" in text_of(missing_reason.text) and "ghi chú" in missing_reason.text
        response = await post_form(browser, f"/comments/{comment.id}/flag", {"reason": "spam", "note": "Rao vặt"})
        assert response.status_code == 303
    stored = await Comment.get(id=comment.id)
    assert stored.status is CommentStatus.HIDDEN and stored.reason_code == "flagged" and stored.flag_count == settings.flag_hide_threshold
    assert await AuditEntry.filter(action="comment.hide", target_id=str(comment.id)).exists()
    assert "Quảng cáo mua đất" not in text_of((await client.get(f"/consultations/{c.slug}")).text)
    second = await consultation(slug="hai")
    other = await published(second, author, "Ý kiến khác")
    await post_form(client, f"/comments/{other.id}/flag", {"reason": "off_topic", "note": ""})
    again = await post_form(client, f"/comments/{other.id}/flag", {"reason": "spam", "note": ""})
    assert again.status_code == 409 and "đã báo cáo" in text_of(again.text)
    assert await Flag.filter(comment_id=other.id).count() == 1


async def add_questions(c: Consultation) -> list[Question]:
    return [
        await Question.create(consultation=c, position=1, kind=QuestionKind.SINGLE, prompt="Bạn ở đâu?", options=["Thành thị", "Nông thôn"], required=True),
        await Question.create(consultation=c, position=2, kind=QuestionKind.MULTIPLE, prompt="Bạn dùng đất để làm gì?", options=["Ở", "Canh tác", "Kinh doanh"]),
        await Question.create(consultation=c, position=3, kind=QuestionKind.SCALE, prompt="Dự thảo rõ ràng đến mức nào?"),
        await Question.create(consultation=c, position=4, kind=QuestionKind.TEXT, prompt="Góp ý thêm"),
    ]


async def test_answers_one_response_editable_until_close_then_results(client):
    c = await consultation()
    q1, q2, q3, q4 = await add_questions(c)
    await citizen(client, "dan@example.vn")
    page = await client.get(f"/consultations/{c.slug}")
    assert "Bạn ở đâu?" in text_of(page.text)
    token = csrf_from(page.text)
    missing = await client.post(f"/consultations/{c.slug}/respond", data={f"q{q2.id}": ["0", "2"], f"q{q4.id}": "Ý của tôi", "csrf_token": token})
    assert missing.status_code == 400 and "Hãy chọn một câu trả lời cho câu hỏi này" in text_of(missing.text)
    assert "Ý của tôi" in missing.text and f'id="q{q2.id}-2" name="q{q2.id}" type="checkbox" value="2" checked' in missing.text
    forged = await client.post(f"/consultations/{c.slug}/respond", data={f"q{q1.id}": "7", "csrf_token": token})
    assert forged.status_code == 400 and "Hãy chọn một trong các phương án" in text_of(forged.text)
    ok = await client.post(f"/consultations/{c.slug}/respond", data={f"q{q1.id}": "1", f"q{q2.id}": ["0", "2"], f"q{q3.id}": "4", "csrf_token": token})
    assert ok.status_code == 303
    changed = await client.post(f"/consultations/{c.slug}/respond", data={f"q{q1.id}": "0", f"q{q3.id}": "5", "csrf_token": token})
    assert changed.status_code == 303
    assert await QuestionResponse.all().count() == 1
    assert sorted(await Answer.all().values_list("question_id", "option")) == sorted([(q1.id, 0), (q3.id, 5)])
    again = await client.get(f"/consultations/{c.slug}/respond")
    assert f'id="q{q1.id}-0" name="q{q1.id}" type="radio" value="0" checked' in again.text
    await Consultation.filter(id=c.id).update(status=ConsultationStatus.CLOSED)
    late = await client.post(f"/consultations/{c.slug}/respond", data={f"q{q1.id}": "1", "csrf_token": token})
    assert late.status_code == 409
    results = (await client.get(f"/consultations/{c.slug}")).text
    assert "1 lượt trả lời đã trả lời câu hỏi này." in text_of(results) or "1 lượt" in text_of(results)
    assert 'data-count="1"' in results


async def test_followers_hear_of_an_extension_and_an_early_close(client, mailbox, run_jobs, settings):
    from consult import services
    from consult.permissions import Principal

    c = await consultation()
    follower = await citizen(client, "theo-doi@example.vn", "Người theo dõi")
    response = await post_form(client, f"/consultations/{c.slug}/follow", {"follow": "1"}, page=f"/consultations/{c.slug}")
    assert response.status_code == 303 and await Follow.filter(account_id=follower.id).count() == 1
    assert "Bỏ theo dõi" in text_of((await client.get(f"/consultations/{c.slug}")).text)
    official = await Account.create(email="can-bo@example.vn", display_name="Cán bộ", password_hash="x")
    actor = Principal(id=official.id, email=official.email, display_name="Cán bộ", language="vi", verified=True, session_version=1,
                      agency_ids=frozenset({c.agency_id}))
    await services.extend_deadline(actor, settings, c.id, closes_at=c.closes_at + timedelta(days=7), reason="Nhiều người đề nghị")
    await services.close_early(actor, settings, c.id, reason="Đủ ý kiến")
    mails = await mailbox.to("theo-doi@example.vn")
    assert len(mails) == 2
    assert "Nhiều người đề nghị" in mails[0].body and f"/consultations/{c.slug}" in mails[0].body
    assert "Đủ ý kiến" in mails[1].body


async def test_withdraw_own_comment_only(client, new_client):
    c = await consultation()
    me = await citizen(client, "dan@example.vn")
    mine = await published(c, me, "Tôi rút lại")
    someone = await Account.create(email="khac@example.vn", display_name="Khác", password_hash="x")
    theirs = await published(c, someone, "Không phải của tôi")
    page = await client.get("/account/participation")
    assert "Tôi rút lại" in text_of(page.text)
    response = await client.post(f"/comments/{mine.id}/withdraw", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 303
    assert (await Comment.get(id=mine.id)).status is CommentStatus.WITHDRAWN
    refused = await client.post(f"/comments/{theirs.id}/withdraw", data={"csrf_token": csrf_from(page.text)}, follow_redirects=True)
    assert "Bạn chỉ có thể rút ý kiến của chính mình" in text_of(refused.text)
    assert (await Comment.get(id=theirs.id)).status is CommentStatus.PUBLISHED
    assert "Tôi rút lại" not in text_of((await client.get(f"/consultations/{c.slug}")).text)


async def test_comments_are_rate_limited(client, settings):
    c = await consultation()
    await citizen(client, "dan@example.vn")
    allowed = int(settings.rate_limit_comment.split("/")[0])
    page = await client.get(f"/consultations/{c.slug}/comment")
    token = csrf_from(page.text)
    for number in range(allowed):
        response = await client.post(f"/consultations/{c.slug}/comment", data={"stance": "support", "body": f"Ý kiến {number}", "csrf_token": token})
        assert response.status_code == 303
    refused = await client.post(f"/consultations/{c.slug}/comment", data={"stance": "support", "body": "Một lần nữa", "csrf_token": token})
    assert refused.status_code == 429 and "Một lần nữa" in refused.text
    assert await Comment.all().count() == allowed


async def test_unverified_and_anonymous_people_cannot_comment(client, new_client):
    c = await consultation()
    await citizen(client, "moi@example.vn", verified=False)
    response = await send_comment(client, c, stance="support", body="Chưa xác nhận")
    assert response.status_code == 403 and "Hãy xác nhận địa chỉ e-mail" in text_of(response.text)
    anonymous = new_client()
    page = await anonymous.get(f"/consultations/{c.slug}")
    assert "Đăng nhập để tham gia" in text_of(page.text)
    response = await anonymous.get(f"/consultations/{c.slug}/comment")
    assert response.status_code == 303 and "/account/signin" in response.headers["location"]
    assert await Comment.all().count() == 0


async def test_comments_page_in_both_orders_walks_every_comment_once(client):
    c = await consultation()
    author = await Account.create(email="a@example.vn", display_name="A", password_hash="x")
    made = [await published(c, author, f"Ý kiến số {n}") for n in range(60)]
    for n, comment in enumerate(made):
        await Comment.filter(id=comment.id).update(agree_count=n % 4)
    for order in ("newest", "agreed"):
        seen: list[str] = []
        url = f"/consultations/{c.slug}?order={order}"
        for _page in range(5):
            if not url:
                break
            html = (await client.get(url)).text
            seen += [m for m in (f"Ý kiến số {n}" for n in range(60)) if f">{m}<" in html]
            next_link = re.search(r'<a href="([^"]+)" rel="next">', html)
            url = unescape(next_link.group(1)) if next_link else None
        assert url is None
        assert sorted(seen) == sorted(f"Ý kiến số {n}" for n in range(60)) and len(seen) == 60


async def test_my_data_export_and_account_deletion(client, new_client, settings):
    c = await consultation()
    me = await citizen(client, "dan@example.vn", "Người Xoá")
    stays = await published(c, me, "Ý kiến còn lại")
    pending = await Comment.create(consultation=c, author=me, stance=Stance.OPPOSE, body="Đang chờ")
    someone = await Account.create(email="khac@example.vn", display_name="Khác", password_hash="x")
    theirs = await published(c, someone, "Ý kiến người khác")
    page = await client.get(f"/consultations/{c.slug}")
    await client.post(f"/comments/{theirs.id}/vote", data={"value": "agree", "csrf_token": csrf_from(page.text)})
    assert (await Comment.get(id=theirs.id)).agree_count == 1
    export = await client.get("/account/export")
    data = json.loads(export.text)
    assert data["account"]["email"] == "dan@example.vn"
    assert {row["body"] for row in data["comments"]} == {"Ý kiến còn lại", "Đang chờ"}
    assert data["votes"][0]["value"] == "agree"
    form = await client.get("/account/delete")
    assert "tài khoản đã xoá" in text_of(form.text).lower()
    wrong = await client.post("/account/delete", data={"confirm_email": "sai@example.vn", "csrf_token": csrf_from(form.text)})
    assert wrong.status_code == 400 and await Account.filter(id=me.id).exists()
    done = await client.post("/account/delete", data={"confirm_email": "dan@example.vn", "csrf_token": csrf_from(form.text)})
    assert done.status_code == 303
    assert not await Account.filter(id=me.id).exists()
    kept = await Comment.get(id=stays.id)
    assert kept.author_id is None and kept.status is CommentStatus.PUBLISHED
    assert not await Comment.filter(id=pending.id).exists()
    assert (await Comment.get(id=theirs.id)).agree_count == 0
    visitor = new_client()
    text = text_of((await visitor.get(f"/consultations/{c.slug}")).text)
    assert "Ý kiến còn lại" in text and "Tài khoản đã xoá" in text and "Người Xoá" not in text
    assert (await client.get("/account/participation")).status_code == 303


async def test_markup_in_comments_is_removed_and_what_remains_is_shown_as_text(client, run_jobs):
    c = await consultation()
    await citizen(client, "dan@example.vn")
    response = await send_comment(client, c, stance="change", body='Ý kiến <img src=x onerror="alert(1)"><script>alert(2)</script> a < b & c',
                                  proposed_wording='<a href="javascript:alert(3)">Điều 1</a> "sửa" <b>đây</b>')
    assert response.status_code == 303
    stored = await Comment.get(stance=Stance.CHANGE)
    assert "<img" not in stored.body and "<script" not in stored.body and "a < b & c" in stored.body
    assert stored.proposed_wording == 'Điều 1 "sửa" đây'
    await run_jobs()
    html = (await client.get(f"/consultations/{c.slug}")).text
    assert "onerror" not in html and "javascript:alert" not in html and "<script>alert" not in html
    assert "a &lt; b &amp; c" in html
