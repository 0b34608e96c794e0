"""Reports through HTTP with the build job in whichever job mode the suite runs: the figures match
direct counts, quotes link to their comments, the report stays with the agency until its answer is
published; the answer table, the outcome page, the followers' e-mails, exports and the open data
package; and every kind of thin or odd consultation gives a report that says what it can."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest

from consult.models import (
    Account, Answer, AuditEntry, Comment, CommentStatus, Consultation, ConsultationStatus, Follow, OpenDataRelease, OutcomeItem,
    Question, QuestionKind, QuestionResponse, Report, Role, RoleGrant, Vote,
)
from tests.helpers import csrf_from, post_form, sign_in, text_of
from tests.test_participation import PASSWORD_HASH, consultation, first_article

NOW = datetime.now(timezone.utc)


async def account(email: str, name: str, **fields) -> Account:
    return await Account.create(email=email, display_name=name, password_hash=PASSWORD_HASH, email_verified_at=NOW, **fields)


def english(client):
    """The tests read the English text of the pages (Vietnamese is the default)."""
    client.cookies.set("lang", "en", domain="testserver.local")
    return client


async def official_of(c: Consultation, new_client, email: str = "canbo@example.vn"):
    person = await account(email, "Cán bộ")
    await RoleGrant.create(account=person, role=Role.OFFICIAL, agency_id=c.agency_id)
    client = english(new_client())
    await sign_in(client, email)
    return person, client


async def comment(c, author, body, *, stance="support", article=None, status=CommentStatus.PUBLISHED, wording=None) -> Comment:
    return await Comment.create(
        consultation=c, author=author, body=body, stance=stance, article=article, status=status, proposed_wording=wording,
        screened_at=NOW, published_at=NOW if status is CommentStatus.PUBLISHED else None,
    )


async def seeded():
    """A consultation with people from two provinces, comments of every status, votes and answers."""
    c = await consultation()
    article = await first_article(c)
    people = [await account(f"p{i}@example.vn", f"Người {i}", province="ha-noi" if i % 2 else "hue",
                            respondent_kind="individual" if i < 6 else None) for i in range(10)]
    published = []
    for i, person in enumerate(people[:8]):
        stance = ("support", "oppose", "change")[i % 3]
        published.append(await comment(c, person, f"Ý kiến số {i} về thủ tục hành chính và thời hạn giải quyết hồ sơ.", stance=stance,
                                       article=article if i % 2 else None, wording="Sửa thành 10 ngày." if stance == "change" else None))
    await comment(c, people[8], "Bị từ chối", status=CommentStatus.REJECTED)
    await comment(c, people[9], "Đang chờ", status=CommentStatus.PENDING)
    for voter in people:
        for target in published[:5]:
            if target.author_id != voter.id:
                await Vote.create(comment=target, account=voter, value="agree" if voter.id % 2 else "disagree")
    question = await Question.create(consultation=c, position=1, kind=QuestionKind.SINGLE, prompt="Chọn một", options=["Có", "Không"])
    for person in people[:3]:
        response = await QuestionResponse.create(consultation=c, account=person)
        await Answer.create(response=response, question=question, option=0)
    return c, article, people, published


async def build_now(client, c, run_jobs):
    page = await client.get(f"/consultations/{c.slug}/report")
    response = await client.post(f"/consultations/{c.slug}/report/rebuild", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 303
    await run_jobs()
    report = await Report.get(consultation_id=c.id)
    assert report.data is not None and report.started_at is None, report.failed_at
    return report


async def test_report_figures_match_direct_counts_and_quotes_link_to_comments(new_client, run_jobs):
    c, article, people, published = await seeded()
    _official, staff = await official_of(c, new_client)
    await build_now(staff, c, run_jobs)
    page = await staff.get(f"/consultations/{c.slug}/report")
    assert page.status_code == 200
    text = text_of(page.text)

    votes = await Vote.filter(comment__consultation_id=c.id).count()
    voters = len(set(await Vote.filter(comment__consultation_id=c.id).values_list("account_id", flat=True)))
    people_count = len({p.id for p in people})  # every one commented
    assert f"People who took part {people_count}" in text
    assert f"People who voted {voters}" in text
    assert f"Comments received {await Comment.filter(consultation_id=c.id).count()}" in text
    assert f"People who answered the questions {await QuestionResponse.filter(consultation_id=c.id).count()}" in text

    api = (await staff.get(f"/api/consultations/{c.id}/report")).json()
    data = api["report"]
    assert data["participation"]["votes_total"] == votes
    assert data["participation"]["comments"]["published"] == await Comment.filter(consultation_id=c.id, status="published").count()
    assert data["participation"]["comments"]["rejected"] == 1 and data["participation"]["comments"]["pending"] == 1
    assert dict(data["participation"]["by_province"]) == {"ha-noi": 5, "hue": 5}
    assert dict(data["participation"]["by_kind"]) == {"individual": 6} and data["participation"]["kind_undeclared"] == 4
    by_article = {a["id"]: a for a in data["articles"]}
    for article_id in (None, article.id):
        expected = {s: await Comment.filter(consultation_id=c.id, article_id=article_id, status="published", stance=s).count()
                    for s in ("support", "oppose", "change")}
        assert by_article[article_id]["stance"] == expected
    changes = await Comment.filter(consultation_id=c.id, status="published", stance="change").count()
    assert sum(g["count"] for a in data["articles"] for g in a["wordings"]["groups"]) == changes
    assert data["questions"][0]["options"][0]["count"] == 3 and data["questions"][0]["options"][0]["share"] == 1.0
    assert sum(data["participation"]["per_day"][i][2] for i in range(len(data["participation"]["per_day"]))) == votes
    assert data["sentiment"]["total"] == len(published)

    # Every quote on the page links to a comment whose page shows that text.
    links = sorted(set(re.findall(r'href="/comments/(\d+)"', page.text)))
    assert links
    for comment_id in links:
        shown = await staff.get(f"/comments/{comment_id}")
        assert shown.status_code == 200
        stored = await Comment.get(id=int(comment_id))
        assert stored.body in text_of(shown.text)
    # Charts have their numbers beside them.
    assert "<svg" in page.text and 'role="img"' in page.text and "<table" in page.text


async def test_report_stays_with_the_agency_until_the_answer_is_published(client, new_client, run_jobs):
    c, *_ = await seeded()
    _official, staff = await official_of(c, new_client)
    await build_now(staff, c, run_jobs)
    anonymous = await client.get(f"/consultations/{c.slug}/report")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/account/signin")
    citizen = new_client()
    await account("dan@example.vn", "Dân")
    await sign_in(citizen, "dan@example.vn")
    assert (await citizen.get(f"/consultations/{c.slug}/report")).status_code == 403
    assert (await citizen.get(f"/api/consultations/{c.id}/report")).status_code == 404
    assert (await citizen.get(f"/consultations/{c.slug}/export/comments.csv")).status_code == 403
    assert (await citizen.get(f"/consultations/{c.slug}/export/comments.csv?fields=personal")).status_code == 403


async def close(staff, c) -> None:
    page = await staff.get(f"/manage/{c.id}")
    response = await staff.post(f"/manage/{c.id}/close", data={"csrf_token": csrf_from(page.text), "reason": "Đủ ý kiến"})
    assert response.status_code == 303, response.text


async def test_answer_table_published_outcome_mails_exports_and_open_data(client, new_client, run_jobs, mailbox, settings):
    english(client)
    c, article, people, published = await seeded()
    await Follow.create(consultation=c, account=people[0])
    _official, staff = await official_of(c, new_client)

    # Not before closing.
    early = await staff.get(f"/manage/{c.id}/outcome")
    assert "The answer is written after the consultation closes" in text_of(early.text)

    await close(staff, c)
    await run_jobs()
    report = await Report.get(consultation_id=c.id)
    assert report.final, "closing builds the final report"

    form_page = await staff.get(f"/manage/{c.id}/outcome")
    assert form_page.status_code == 200
    items = await OutcomeItem.filter(consultation_id=c.id).order_by("position")
    assert {item.kind for item in items} >= {"general", "article"}
    general = next(item for item in items if item.kind == "general")
    assert general.summary.startswith("Ý kiến: ")  # pre-filled from the report in the consultation's language
    token = csrf_from(form_page.text)

    # Publishing an incomplete table: a clear error per row, and what was typed stays.
    data = {"csrf_token": token, "action": "publish", "intro": "Cảm ơn mọi người đã góp ý."}
    data[f"item-{items[0].id}-summary"] = "Tóm tắt đã sửa"
    data[f"item-{items[0].id}-decision"] = "partly"
    refused = await staff.post(f"/manage/{c.id}/outcome", data=data)
    assert refused.status_code == 400
    assert "Give the reason for" in text_of(refused.text) and "Tóm tắt đã sửa" in refused.text
    assert (await Consultation.get(id=c.id)).status is ConsultationStatus.CLOSED

    for item in items:
        data[f"item-{item.id}-summary"] = data.get(f"item-{item.id}-summary") or item.summary or "Tóm tắt"
        data[f"item-{item.id}-decision"] = data.get(f"item-{item.id}-decision") or "accepted"
        data[f"item-{item.id}-reason"] = "Giữ nguyên một phần vì lý do ngân sách."
    published_response = await staff.post(f"/manage/{c.id}/outcome", data=data)
    assert published_response.status_code == 303, text_of(published_response.text)[:500]
    await run_jobs()

    stored = await Consultation.get(id=c.id)
    assert stored.status is ConsultationStatus.OUTCOME_PUBLISHED and stored.outcome_published_at is not None
    page = text_of((await client.get(f"/consultations/{c.slug}")).text)
    assert "What you said, what we did" in page and "Tóm tắt đã sửa" in page and "Partly accepted" in page
    mail = await mailbox.last(people[0].email)
    assert c.title in mail.subject and f"/consultations/{c.slug}" in mail.body

    # The report is public now, on the page and in the API.
    assert (await client.get(f"/consultations/{c.slug}/report")).status_code == 200
    assert (await client.get(f"/api/consultations/{c.id}/report")).json()["final"] is True

    # Exports: the public one names no one; the official's has the e-mails, and the download is logged.
    public_csv = (await client.get(f"/consultations/{c.slug}/export/comments.csv")).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(public_csv)))
    assert len(rows) == len(published)
    assert "@example.vn" not in public_csv and "Người 1" not in public_csv
    personal_csv = (await staff.get(f"/consultations/{c.slug}/export/comments.csv?fields=personal")).content.decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(personal_csv)))) == await Comment.filter(consultation_id=c.id).count()
    assert "p1@example.vn" in personal_csv
    assert await AuditEntry.filter(action="export.personal", target_id=str(c.id)).exists()
    assert (await client.get(f"/consultations/{c.slug}/export/comments.csv?fields=personal")).status_code == 303
    workbook = openpyxl.load_workbook(io.BytesIO((await client.get(f"/consultations/{c.slug}/export/votes.xlsx")).content), read_only=True)
    assert sum(1 for _ in workbook.active.iter_rows()) == await Vote.filter(comment__consultation_id=c.id).count() + 1
    answers = (await client.get(f"/consultations/{c.slug}/export/answers.csv")).content.decode("utf-8-sig")
    assert "Tóm tắt đã sửa" in answers
    # Two downloads at once each get the whole file.
    both = await asyncio.gather(*(client.get(f"/consultations/{c.slug}/export/comments.csv") for _ in range(2)))
    assert [r.status_code for r in both] == [200, 200] and both[0].content == both[1].content

    # Open data: listed, with a data dictionary whose files are what it says.
    release = await OpenDataRelease.get(consultation_id=c.id)
    assert release.released_at is not None and release.licence == settings.open_data_licence
    listing = text_of((await client.get("/open-data")).text)
    assert c.title in listing and "datapackage.json" in listing
    package = (await client.get(f"/open-data/{c.slug}/datapackage.json")).json()
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    resources = {r["path"]: r for r in package["resources"]}
    comments_file = (await client.get(f"/open-data/{c.slug}/comments.csv")).content
    assert resources["comments.csv"]["bytes"] == len(comments_file)
    assert len(list(csv.DictReader(io.StringIO(comments_file.decode("utf-8-sig"))))) == len(published)
    assert b"@example.vn" not in comments_file
    api = (await client.get("/api/open-data")).json()
    assert api["items"][0]["consultation"] == c.slug and any(f["name"] == "comments.csv" for f in api["items"][0]["files"])


async def test_an_outcome_cannot_be_published_while_open_or_by_another_agency(new_client):
    c, *_ = await seeded()
    _official, staff = await official_of(c, new_client)
    page = await staff.get(f"/manage/{c.id}/outcome")
    response = await staff.post(f"/manage/{c.id}/outcome", data={"csrf_token": csrf_from(page.text), "action": "publish", "intro": "x"})
    assert response.status_code == 400
    assert "after the consultation closes" in text_of(response.text)
    assert (await Consultation.get(id=c.id)).status is ConsultationStatus.OPEN


@pytest.mark.parametrize("shape", ["empty", "one_comment", "one_voter", "same_text", "emoji_only", "huge", "mixed_languages"])
async def test_thin_or_odd_consultations_get_a_report_that_says_what_it_can(new_client, run_jobs, shape):
    c = await consultation(slug=f"thin-{shape.replace('_', '-')}")
    article = await first_article(c)
    people = [await account(f"{shape}{i}@example.vn", f"Người {i}") for i in range(6)]
    texts = {
        "empty": [],
        "one_comment": ["Một ý kiến duy nhất về dự thảo."],
        "one_voter": ["Ý kiến thứ nhất về phí.", "Ý kiến thứ hai về thời hạn.", "Ý kiến thứ ba về hồ sơ."],
        "same_text": ["Đề nghị giữ nguyên quy định này."] * 6,
        "emoji_only": ["👍👍👍", "🙂", "🚲🚲"],
        "huge": ["Thủ tục hành chính cần đơn giản hơn. " * 3000],
        "mixed_languages": ["Tôi ủng hộ dự thảo này.", "I support this draft strongly.", "Phí quá cao, tôi phản đối.", "The fee is too high."],
    }[shape]
    made = [await comment(c, people[i % len(people)], text, article=article if i % 2 else None) for i, text in enumerate(texts)]
    if shape == "one_voter":
        for target in made:
            await Vote.create(comment=target, account=people[5], value="agree")
    _official, staff = await official_of(c, new_client, f"canbo-{shape}@example.vn")
    report = await build_now(staff, c, run_jobs)
    page = await staff.get(f"/consultations/{c.slug}/report")
    assert page.status_code == 200
    text = text_of(page.text)
    assert f"Comments received {len(texts)}" in text
    if shape in ("empty", "emoji_only"):
        assert "There are not enough published comments with words to find themes." in text
    if shape != "one_voter":
        assert "Opinion groups need votes from several people on several comments" in text
    if shape == "same_text":
        assert sum(t["size"] for t in report.data["themes"]["items"]) <= len(texts)
    if shape == "mixed_languages":
        assert set(report.data["sentiment"]["by_language"]) >= {"vi", "en"}
    pdf = await staff.get(f"/consultations/{c.slug}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"


async def test_a_rebuild_already_running_is_not_started_twice(new_client, run_jobs):
    c, *_ = await seeded()
    _official, staff = await official_of(c, new_client)
    await Report.create(consultation_id=c.id, started_at=datetime.now(timezone.utc))
    page = await staff.get(f"/consultations/{c.slug}/report")
    assert "A new build of this report is running" in text_of(page.text)
    response = await staff.post(f"/consultations/{c.slug}/report/rebuild", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 303
    again = await staff.get(f"/consultations/{c.slug}/report")
    assert "A rebuild of this report is already running." in text_of(again.text)


async def test_open_consultations_are_rebuilt_only_after_new_activity(run_jobs, settings):
    from consult import outcomes
    from consult.reports import build

    c, article, people, _published = await seeded()
    assert c.id in await outcomes.due_reports(settings.report_refresh_seconds)  # never built
    await build.build(c.id, settings.timezone)
    assert c.id not in await outcomes.due_reports(0)
    await comment(c, people[0], "Một ý kiến mới sau khi báo cáo được lập.")
    assert c.id in await outcomes.due_reports(0)
    assert c.id not in await outcomes.due_reports(3600)  # not more often than the setting says


async def test_province_and_kind_of_respondent_are_optional_profile_fields(new_client):
    person = await account("tinh@example.vn", "Người ở Huế")
    client = english(new_client())
    await sign_in(client, person.email)
    page = await client.get("/account")
    assert "Province or city where you live (optional)" in text_of(page.text)
    base = {"csrf_token": csrf_from(page.text), "display_name": "Người ở Huế", "language": "en"}
    refused = await client.post("/account", data={**base, "province": "atlantis", "respondent_kind": "business"})
    assert refused.status_code == 400 and "Choose a province from the list, or leave it empty" in text_of(refused.text)
    assert 'value="business" selected' in refused.text  # what was chosen stays chosen
    assert (await Account.get(id=person.id)).province is None
    saved = await client.post("/account", data={**base, "province": "hue", "respondent_kind": "business"})
    assert saved.status_code == 303
    stored = await Account.get(id=person.id)
    assert (stored.province, stored.respondent_kind) == ("hue", "business")
    exported = (await client.get("/account/export")).json()
    assert exported["account"]["province"] == "hue" and exported["account"]["respondent_kind"] == "business"
    cleared = await client.post("/account", data={**base, "province": "", "respondent_kind": ""})
    assert cleared.status_code == 303 and (await Account.get(id=person.id)).province is None


async def test_themes_learnt_from_a_sample_still_place_every_comment(monkeypatch, settings):
    """Above SAMPLE_SIZE the themes are learnt from a hashed sample chosen in SQL; every comment is still assigned."""
    from consult.reports import build

    c, _article, _people, published = await seeded()
    monkeypatch.setattr(build, "SAMPLE_SIZE", 3)
    sampled = [row async for batch in build._sample(c.id, len(published)) for row in batch]
    keep = int(2**32 * 3 / len(published))
    assert [row[0] for row in sampled] == sorted(p.id for p in published if (p.id * 2654435761) % 2**32 < keep)
    await build.build(c.id, settings.timezone)
    data = (await Report.get(consultation_id=c.id)).data
    themes = data["themes"]
    assert themes["assigned"] + themes["unassigned"] == len(published)
    assert sum(t["size"] for t in themes["items"]) == themes["assigned"]


async def test_the_opinion_step_reads_every_vote_as_stored():
    """The votes as the opinion groups get them (binary COPY on PostgreSQL, keyset batches on SQLite): every vote of
    this consultation and no other's, its value as a number, and the comments taken down since."""
    from consult.reports import build

    c, _article, people, published = await seeded()
    other = await consultation(slug="luat-khac")
    elsewhere = await comment(other, people[0], "Ở tham vấn khác.")
    await Vote.create(comment=elsewhere, account=people[1], value="agree")
    await Vote.create(comment=published[6], account=people[0], value="pass")
    await Comment.filter(id=published[4].id).update(status=CommentStatus.HIDDEN)
    participants, comments, values, taken_down = await build._votes(c.id)
    expected = sorted((v.account_id, v.comment_id, {"agree": 1, "disagree": -1, "pass": 0}[v.value])
                      for v in await Vote.filter(comment__consultation_id=c.id))
    assert len(expected) > 30
    assert sorted(zip(participants.tolist(), comments.tolist(), values.tolist())) == expected
    assert taken_down.tolist() == [published[4].id]


async def test_tone_counted_in_a_worker_process_is_the_tone_counted_here(monkeypatch, settings):
    """From TONE_WORKER_FROM published comments on, the tone is counted in a second process, batch by batch with a
    bounded backlog; the figures are the same as counted in the job's own process."""
    from consult.reports import build

    c, _article, people, _published = await seeded()
    await comment(c, people[0], "Tôi rất ủng hộ quy định này, rất tốt và hợp lý.", stance="support")
    await comment(c, people[1], "This rule is terrible and unfair to small shops.", stance="oppose")
    await comment(c, people[2], "Quy định này không tốt, gây khó khăn cho người dân.", stance="oppose")
    await build.build(c.id, settings.timezone)
    here = (await Report.get(consultation_id=c.id)).data["sentiment"]
    assert here["positive"] >= 1 and here["negative"] >= 2 and here["stance_matched"] >= 3
    assert set(here["by_language"]) >= {"vi", "en"} and here["total"] == len(_published) + 3
    monkeypatch.setattr(build, "TONE_WORKER_FROM", 1)
    monkeypatch.setattr(build, "BATCH", 2)  # six batches: more than the backlog
    await build.build(c.id, settings.timezone)
    assert (await Report.get(consultation_id=c.id)).data["sentiment"] == here


async def test_a_campaign_is_shown_by_its_first_published_copy_never_a_rejected_one(new_client, run_jobs):
    from consult.models import Campaign

    c, _article, people, _published = await seeded()
    campaign = await Campaign.create(consultation=c, size=3, first_seen=NOW, last_seen=NOW)
    rejected = await comment(c, people[0], "Bản đầu tiên bị từ chối vì có số điện thoại 0912 345 678", status=CommentStatus.REJECTED)
    shown = await comment(c, people[1], "Bản thư mẫu đã được đăng về thời hạn giải quyết hồ sơ")
    await comment(c, people[2], "Bản thư mẫu đã được đăng về thời hạn giải quyết hồ sơ")
    await Comment.filter(id__in=[rejected.id, shown.id]).update(campaign=campaign)
    _official, staff = await official_of(c, new_client)
    report = await build_now(staff, c, run_jobs)
    item = report.data["campaigns"]["items"][0]
    assert item["example"]["comment_id"] == shown.id and "0912" not in json.dumps(report.data, ensure_ascii=False)
    await Comment.filter(id=shown.id).update(status=CommentStatus.HIDDEN)
    report = await build_now(staff, c, run_jobs)
    assert report.data["campaigns"]["items"][0]["example"] == {"comment_id": None, "text": ""}
    assert "No copy was published." in text_of((await staff.get(f"/consultations/{c.slug}/report")).text)
