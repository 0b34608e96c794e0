"""Moderation through HTTP, with the screening job in whichever job mode the suite runs: abuse, personal
data and a form-letter campaign are held and shown with their spans; moderators approve, reject, redact,
hide, one at a time or in bulk; authors read the reason, by e-mail too, and appeal once to a different
moderator; the audit log and the transparency figures show it all. Bad input gets a clear refusal."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from consult import reviewing
from consult.models import (
    Account, AppealState, AuditEntry, BulkDecision, Campaign, Comment, CommentStatus, ModerationMode, RedactedOriginal,
    ReviewReason, Role, RoleGrant,
)
from tests.helpers import csrf_from, post_form, sign_in, text_of
from tests.test_participation import PASSWORD_HASH, consultation, send_comment

ABUSIVE = "Bọn soạn thảo luật này đúng là lũ óc chó, ngu như bò."
PHONE = "Tôi đồng ý với Điều 1. Cần hỏi thêm xin gọi tôi: 0912 345 678."
FORM_LETTER = (
    "I strongly oppose the proposed rollback of the nuisance provision. This provision allows residents to take "
    "local pollution problems into their own hands and protect their communities by taking polluters to court. "
    "Without it, it will be much harder for families to address local pollution. Please keep the provision in place "
    "and protect the health of our neighbourhoods for the years to come. Sincerely, a concerned resident of {town}."
)
TOWNS = ["Hanoi", "Hue", "Da Nang", "Can Tho", "Hai Phong", "Vinh", "Nha Trang", "Quy Nhon", "Da Lat", "Pleiku"]


async def person(new_client, email: str, name: str, *, role: Role | None = None, agency_id: int | None = None):
    """A verified account, signed in on its own client, with a role when asked."""
    account = await Account.create(email=email, display_name=name, password_hash=PASSWORD_HASH, email_verified_at=datetime.now(timezone.utc))
    if role is not None:
        await RoleGrant.create(account=account, role=role, agency_id=agency_id)
    client = new_client()
    await sign_in(client, email)
    return account, client


async def held(comment_id: int) -> Comment:
    comment = await Comment.get(id=comment_id)
    assert comment.status is CommentStatus.PENDING and comment.review is not None, (comment.status, comment.review, comment.signals)
    return comment


async def decide(client, comment_id: int, **data):
    page = await client.get(f"/moderation/comments/{comment_id}")
    assert page.status_code == 200, page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    return await client.post(f"/moderation/comments/{comment_id}/decide", data={"version": version, "csrf_token": csrf_from(page.text), **data})


async def test_abuse_is_held_with_its_spans_rejected_then_appealed_to_another_moderator(client, new_client, run_jobs, mailbox):
    c = await consultation()
    author, author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    _first, first_mod = await person(new_client, "mod1@example.vn", "Kiểm duyệt Một", role=Role.MODERATOR)
    _second, second_mod = await person(new_client, "mod2@example.vn", "Kiểm duyệt Hai", role=Role.MODERATOR)
    response = await send_comment(author_client, c, stance="oppose", body=ABUSIVE)
    assert response.status_code == 303
    await run_jobs()
    comment = await Comment.filter(author_id=author.id).get()
    comment = await held(comment.id)
    assert comment.review is ReviewReason.SCREENING and comment.top_signal == "abuse"

    queue = await first_mod.get("/moderation/")
    assert queue.status_code == 200
    # The matched words are marked in the text, not just listed.
    marks = re.findall(r'<mark class="signal-abuse"[^>]*>(.*?)<span', queue.text)
    assert any("óc chó" in m for m in marks), marks
    assert "Bọn soạn thảo luật này" in text_of(queue.text)

    # The public never sees it.
    public = await client.get(f"/consultations/{c.slug}")
    assert "óc chó" not in public.text

    rejected = await decide(first_mod, comment.id, action="reject", reason="abuse", note="Xin góp ý lịch sự.")
    assert rejected.status_code == 303
    comment = await Comment.get(id=comment.id)
    assert comment.status is CommentStatus.REJECTED and comment.reason_code == "abuse" and comment.review is None

    mine = await author_client.get("/account/participation")
    assert "Ngôn từ lăng mạ hoặc xúc phạm" in text_of(mine.text)  # the reason in the reader's language (Vietnamese by default)
    assert "Xin góp ý lịch sự." in text_of(mine.text)
    mail = await mailbox.last("dan@example.vn")
    assert "Xin góp ý lịch sự." in mail.body

    # An appeal: the note is required, then it goes to the queue, where the first moderator may not decide.
    empty = await post_form(author_client, f"/comments/{comment.id}/appeal", {"note": ""})
    assert empty.status_code == 400
    appealed = await post_form(author_client, f"/comments/{comment.id}/appeal", {"note": "Tôi chỉ bức xúc, xin xem lại."})
    assert appealed.status_code == 303
    again = await post_form(author_client, f"/comments/{comment.id}/appeal", {"note": "Lần nữa"})
    assert again.status_code == 409
    comment = await Comment.get(id=comment.id)
    assert comment.review is ReviewReason.APPEAL and comment.appeal_state is AppealState.PENDING

    refused = await decide(first_mod, comment.id, action="approve")
    assert refused.status_code == 403
    assert "different moderator" in text_of(refused.text) or "người kiểm duyệt khác" in text_of(refused.text)
    upheld = await decide(second_mod, comment.id, action="reject", reason="abuse")
    assert upheld.status_code == 303
    comment = await Comment.get(id=comment.id)
    assert comment.appeal_state is AppealState.UPHELD and comment.status is CommentStatus.REJECTED and comment.review is None
    final = await post_form(author_client, f"/comments/{comment.id}/appeal", {"note": "Xin lần ba"})
    assert final.status_code == 409

    log = await first_mod.get(f"/moderation/audit?target={comment.id}")
    actions = re.findall(r"<code>(comment\.[a-z]+)</code>", log.text)
    assert actions == ["comment.reject", "comment.appeal", "comment.reject"]

    figures = (await client.get("/api/transparency")).json()
    assert figures["rejected"] == 1 and figures["rejected_by_reason"]["abuse"] == 1
    assert figures["appealed"] == 1 and figures["upheld"] == 1 and figures["overturned"] == 0
    assert figures["median_decision_seconds"] is not None
    page = await client.get("/transparency")
    assert page.status_code == 200 and "1" in text_of(page.text)


async def test_a_phone_number_is_held_with_a_suggested_redaction_and_published_redacted(client, new_client, run_jobs, settings):
    c = await consultation()
    author, author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    _mod, mod = await person(new_client, "mod@example.vn", "Kiểm duyệt", role=Role.MODERATOR)
    await send_comment(author_client, c, stance="support", body=PHONE)
    await run_jobs()
    comment = await held((await Comment.get(author_id=author.id)).id)
    assert comment.top_signal == "personal_data"

    item = await mod.get(f"/moderation/comments/{comment.id}")
    start = PHONE.index("0912")
    assert f'value="body:{start}-{start + len("0912 345 678")}"' in item.text
    assert "“0912 345 678”" in text_of(item.text)

    # Redacting with nothing chosen is refused, the form keeps the choice.
    nothing = await mod.post(f"/moderation/comments/{comment.id}/decide", data={
        "version": str(comment.moderation_version), "action": "redact", "csrf_token": csrf_from(item.text)})
    assert nothing.status_code == 400 and 'aria-invalid' not in nothing.text or "Choose the parts" in text_of(nothing.text) or "Chọn" in text_of(nothing.text)

    done = await decide(mod, comment.id, action="redact", spans=f"body:{start}-{start + 12}")
    assert done.status_code == 303
    comment = await Comment.get(id=comment.id)
    assert comment.status is CommentStatus.PUBLISHED and comment.redacted_at is not None
    assert comment.body == PHONE.replace("0912 345 678", reviewing.REDACTION_MARKER)
    public = await client.get(f"/consultations/{c.slug}")
    assert "0912" not in public.text and reviewing.REDACTION_MARKER in text_of(public.text)
    assert "removed personal data" in text_of(public.text) or "đã che dữ liệu cá nhân" in text_of(public.text)

    # The log keeps the original for the retention period, then it is erased.
    log = await mod.get("/moderation/audit?action=comment.redact")
    assert "0912 345 678" in text_of(log.text)
    assert await RedactedOriginal.all().count() == 1
    await reviewing.erase_expired_originals(datetime.now(timezone.utc) + timedelta(days=settings.redaction_retention_days + 1))
    log = await mod.get("/moderation/audit?action=comment.redact")
    assert "0912 345 678" not in text_of(log.text)
    assert reviewing.REDACTION_MARKER in text_of(log.text)


async def test_fifty_copies_of_a_form_letter_form_one_campaign_decided_in_one_bulk_decision(client, new_client, run_jobs, settings, mailbox):
    c = await consultation()
    _mod, mod = await person(new_client, "mod@example.vn", "Kiểm duyệt", role=Role.MODERATOR)
    for n in range(50):
        _account, author = await person(new_client, f"nguoi{n}@example.vn", f"Người {n}")
        response = await send_comment(author, c, stance="oppose", body=FORM_LETTER.format(town=TOWNS[n % len(TOWNS)]))
        assert response.status_code == 303
        await run_jobs()
    campaigns = await Campaign.filter(consultation_id=c.id).values("id", "size")
    assert len(campaigns) == 1 and campaigns[0]["size"] == 50
    statuses = await Comment.filter(consultation_id=c.id).order_by("id").values_list("status", flat=True)
    # Below the hold size they were published as they came; from it on they wait to be decided together.
    first_held = settings.campaign_hold_size - 1
    assert all(s is CommentStatus.PUBLISHED for s in statuses[:first_held])
    assert all(s is CommentStatus.PENDING for s in statuses[first_held:])

    campaign_id = campaigns[0]["id"]
    queue = await mod.get(f"/moderation/?campaign={campaign_id}")
    waiting = 50 - first_held
    box = re.search(r'<section class="campaign-box".*?</section>', queue.text, flags=re.S)
    assert box and re.search(r"\b50\b", text_of(box.group(0))), "the campaign's size is shown"
    assert text_of(queue.text).count("Select comment") + text_of(queue.text).count("Chọn ý kiến") == min(waiting, 50)

    started = await mod.post("/moderation/bulk", data={
        "campaign": str(campaign_id), "action": "reject", "reason": "duplicate", "note": "", "csrf_token": csrf_from(queue.text)})
    assert started.status_code == 303
    await run_jobs()
    progress = await mod.get(started.headers["location"])
    assert progress.status_code == 200
    bulk = await BulkDecision.get(id=int(started.headers["location"].rsplit("/", 1)[1]))
    assert bulk.state == "done" and bulk.done == waiting and bulk.skipped == 0 and bulk.total == waiting
    assert await Comment.filter(consultation_id=c.id, status=CommentStatus.REJECTED, reason_code="duplicate").count() == waiting
    assert await Comment.filter(consultation_id=c.id, review__not_isnull=True).count() == 0
    assert await AuditEntry.filter(action="comment.reject").count() == waiting
    mails = await mailbox.to("nguoi49@example.vn")
    assert mails and ("duplicate" in mails[-1].body.lower() or "trùng" in mails[-1].body.lower())


async def test_two_moderators_deciding_at_once_one_wins_and_the_other_is_told(new_client, run_jobs):
    c = await consultation(ModerationMode.PRE)
    author, author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    _a, mod_a = await person(new_client, "a@example.vn", "Mod A", role=Role.MODERATOR)
    _b, mod_b = await person(new_client, "b@example.vn", "Mod B", role=Role.MODERATOR)
    await send_comment(author_client, c, stance="support", body="Tôi ủng hộ dự thảo này vì nó rõ ràng.")
    await run_jobs()
    comment = await held((await Comment.get(author_id=author.id)).id)
    assert comment.review is ReviewReason.PREMODERATION
    page_a = await mod_a.get(f"/moderation/comments/{comment.id}")
    page_b = await mod_b.get(f"/moderation/comments/{comment.id}")
    first = await mod_a.post(f"/moderation/comments/{comment.id}/decide", data={
        "version": "0", "action": "approve", "csrf_token": csrf_from(page_a.text)})
    second = await mod_b.post(f"/moderation/comments/{comment.id}/decide", data={
        "version": "0", "action": "reject", "reason": "spam", "csrf_token": csrf_from(page_b.text)})
    assert first.status_code == 303
    assert second.status_code == 409
    assert "Another moderator decided" in text_of(second.text) or "người kiểm duyệt khác" in text_of(second.text)
    assert (await Comment.get(id=comment.id)).status is CommentStatus.PUBLISHED


@pytest.mark.parametrize("data, field_message", [
    ({"action": "reject", "reason": "rude"}, "Choose a reason from the list"),
    ({"action": "reject", "reason": "other", "note": ""}, "Say what the other reason is"),
    ({"action": "explode"}, "Choose a decision"),
])
async def test_bad_decisions_are_refused_with_a_message_and_nothing_changes(new_client, run_jobs, data, field_message):
    c = await consultation(ModerationMode.PRE)
    author, author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    _m, mod = await person(new_client, "mod@example.vn", "Mod", role=Role.MODERATOR)
    await mod.post("/language", data={"language": "en", "csrf_token": csrf_from((await mod.get("/")).text)})
    await send_comment(author_client, c, stance="support", body="Tôi ủng hộ.")
    await run_jobs()
    comment = await held((await Comment.get(author_id=author.id)).id)
    response = await decide(mod, comment.id, **data)
    assert response.status_code == 400
    assert field_message in text_of(response.text)
    if data.get("note") is not None:
        assert 'name="note"' in response.text
    assert (await Comment.get(id=comment.id)).status is CommentStatus.PENDING


async def test_moderators_decide_only_within_their_agencies_and_never_on_their_own_comment(new_client, run_jobs):
    c = await consultation(ModerationMode.PRE)
    other = await consultation(ModerationMode.PRE, slug="luat-khac")
    from consult.models import Agency

    elsewhere = await Agency.create(slug="bo-khac", name_vi="Bộ Khác", name_en="Other Ministry")
    other.agency_id = elsewhere.id
    await other.save()
    mod_account, mod = await person(new_client, "mod@example.vn", "Mod", role=Role.MODERATOR, agency_id=c.agency_id)
    _official, official = await person(new_client, "official@example.vn", "Cán bộ", role=Role.OFFICIAL, agency_id=c.agency_id)
    author, author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    await send_comment(author_client, c, stance="support", body="Ý kiến về luật đất đai.")
    await send_comment(author_client, other, stance="support", body="Ý kiến về luật khác.")
    await send_comment(mod, c, stance="support", body="Ý kiến của chính người kiểm duyệt.")
    await run_jobs()
    mine = await Comment.get(author_id=mod_account.id)
    theirs = await Comment.get(consultation_id=other.id)
    queue = await mod.get("/moderation/")
    assert "Ý kiến về luật đất đai." in text_of(queue.text)
    assert "Ý kiến về luật khác." not in text_of(queue.text)
    assert (await mod.get(f"/moderation/comments/{theirs.id}")).status_code == 404
    page = await mod.get(f"/moderation/comments/{mine.id}")
    assert "This is your own comment" in text_of(page.text) or "ý kiến của chính bạn" in text_of(page.text)
    own = await mod.post(f"/moderation/comments/{mine.id}/decide", data={"version": "0", "action": "approve", "csrf_token": csrf_from(page.text)})
    assert own.status_code == 403
    assert (await Comment.get(id=mine.id)).status is CommentStatus.PENDING
    # Officials do not moderate unless they are moderators too.
    assert (await official.get("/moderation/")).status_code == 403


async def test_a_flagged_comment_enters_the_queue_and_a_published_comment_cannot_be_appealed(new_client, run_jobs, settings):
    c = await consultation()
    author, author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    _m, mod = await person(new_client, "mod@example.vn", "Mod", role=Role.MODERATOR)
    await send_comment(author_client, c, stance="support", body="Một ý kiến bình thường về dự thảo.")
    await run_jobs()
    comment = await Comment.get(author_id=author.id)
    assert comment.status is CommentStatus.PUBLISHED
    not_rejected = await post_form(author_client, f"/comments/{comment.id}/appeal", {"note": "?"})
    assert not_rejected.status_code == 409
    _r, reporter = await person(new_client, "r@example.vn", "Người báo")
    await post_form(reporter, f"/comments/{comment.id}/flag", {"reason": "off_topic", "note": "Lạc đề"})
    comment = await Comment.get(id=comment.id)
    assert comment.review is ReviewReason.FLAGS and comment.status is CommentStatus.PUBLISHED
    queue = await mod.get("/moderation/?reason=flags&order=flagged")
    assert "Lạc đề" in text_of(queue.text)
    kept = await decide(mod, comment.id, action="approve")
    assert kept.status_code == 303
    comment = await Comment.get(id=comment.id)
    assert comment.review is None and comment.status is CommentStatus.PUBLISHED
    hidden = await decide(mod, comment.id, action="hide", reason="off_topic")
    assert hidden.status_code == 303
    assert (await Comment.get(id=comment.id)).status is CommentStatus.HIDDEN


async def test_the_queue_pages_by_keyset_and_the_bulk_job_handles_thousands_in_batches(new_client, run_jobs):
    c = await consultation(ModerationMode.PRE)
    author, _author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    _m, mod = await person(new_client, "mod@example.vn", "Mod", role=Role.MODERATOR)
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    await Comment.bulk_create([
        Comment(consultation_id=c.id, author_id=author.id, body=f"Ý kiến số {n}", review=ReviewReason.PREMODERATION,
                review_since=start + timedelta(seconds=n), screened_at=start)
        for n in range(1, 1201)
    ], batch_size=500)
    seen: list[str] = []
    url = "/moderation/"
    while url and len(seen) < 200:
        page = await mod.get(url)
        seen += re.findall(r"Ý kiến số (\d+)", text_of(page.text))
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen[:200] == [str(n) for n in range(1, 201)]
    # The whole lot as one campaign, decided in one request: the job works through it in batches.
    campaign = await Campaign.create(consultation_id=c.id, size=1200, first_seen=start, last_seen=start)
    await Comment.filter(consultation_id=c.id).update(campaign_id=campaign.id)
    page = await mod.get(f"/moderation/?campaign={campaign.id}")
    started = await mod.post("/moderation/bulk", data={"campaign": str(campaign.id), "action": "approve", "csrf_token": csrf_from(page.text)})
    assert started.status_code == 303
    await run_jobs()
    job = await BulkDecision.get(id=int(started.headers["location"].rsplit("/", 1)[1]))
    job = await BulkDecision.get(id=job.id)
    assert (job.state, job.done, job.skipped) == ("done", 1200, 0)
    assert await Comment.filter(consultation_id=c.id, status=CommentStatus.PUBLISHED).count() == 1200
    progress = await mod.get(f"/moderation/bulk/{job.id}")
    assert "1,200" in text_of(progress.text) or "1.200" in text_of(progress.text)


async def test_text_with_zero_width_and_right_to_left_characters_is_screened_and_shown(new_client, run_jobs):
    c = await consultation()
    author, author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    _m, mod = await person(new_client, "mod@example.vn", "Mod", role=Role.MODERATOR)
    body = "Liên hệ 0912\u200b345\u200b678 \u202eتجربة\u202c 中文 😀"
    await send_comment(author_client, c, stance="support", body=body)
    await run_jobs()
    comment = await held((await Comment.get(author_id=author.id)).id)
    assert comment.top_signal == "personal_data"
    page = await mod.get(f"/moderation/comments/{comment.id}")
    assert page.status_code == 200 and "中文" in page.text


async def test_an_ordinary_comment_in_capitals_with_a_government_link_is_published_at_once(client, new_client, run_jobs):
    c = await consultation()
    author, author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    body = "TÔI PHẢN ĐỐI ĐIỀU 1 VÌ NÓ GÂY KHÓ KHĂN CHO NGƯỜI DÂN. XEM THÊM TẠI https://chinhphu.vn/van-ban"
    await send_comment(author_client, c, stance="oppose", body=body)
    await run_jobs()
    comment = await Comment.get(author_id=author.id)
    assert comment.status is CommentStatus.PUBLISHED and comment.review is None
    # What the screening noticed stays with the comment, for the record.
    assert {s["rule"] for s in comment.signals} >= {"spam.shouting"}
    assert "TÔI PHẢN ĐỐI ĐIỀU 1" in text_of((await client.get(f"/consultations/{c.slug}")).text)


def test_every_naughty_string_and_xss_payload_is_screened_with_spans_inside_the_text():
    """Other scripts, zero-width and right-to-left characters, injection strings: the rules never fail, every
    span lies in the text, and the moderator's highlighted view puts the text back together unchanged."""
    from moderation.highlight import highlighted
    from moderation.screening import screen_text
    from tests.test_xss import big_lists

    xss_lines, blns_lines = big_lists()
    for text in dict.fromkeys(blns_lines + xss_lines[:2000]):
        signals = [{**s.as_json(), "field": "body"} for s in screen_text(text)]
        for signal in signals:
            assert all(0 <= a < b <= len(text) for a, b in signal["spans"]), (text, signal)
        assert "".join(part.text for part in highlighted(text, signals, "body")) == text


async def test_naughty_strings_wait_in_the_queue_and_show_as_text(new_client, run_jobs):
    from tests.test_xss import big_lists

    c = await consultation(ModerationMode.PRE)
    author, author_client = await person(new_client, "dan@example.vn", "Nguyễn Dân")
    _m, mod = await person(new_client, "mod@example.vn", "Mod", role=Role.MODERATOR)
    _xss, blns_lines = big_lists()
    picked = [line for line in blns_lines if any(ch in line for ch in "\u200b\u202e\u0645") and any(ch.isalnum() for ch in line)][:8]
    assert picked
    for text in picked:
        response = await send_comment(author_client, c, stance="support", body=text)
        assert response.status_code == 303, text
    await run_jobs()
    assert await Comment.filter(author_id=author.id, review=ReviewReason.PREMODERATION).count() == len(picked)
    queue = await mod.get("/moderation/")
    assert queue.status_code == 200
    assert "<script" not in queue.text.split("<main", 1)[1]
