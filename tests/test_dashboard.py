"""The agency dashboard, its CSV and the public participation page through HTTP: every figure against a direct
count of a seeded data set (two agencies, an open, an answered and an overdue consultation, every comment status,
a deleted account, satisfaction answers), who may see which agency, bad months, and an empty period."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from statistics import median

from consult import dashboard
from consult.models import (
    Account, Agency, Comment, ConsultationStatus, OutcomeItem, QuestionResponse, Role, RoleGrant, SatisfactionAnswer,
    SatisfactionQuestion, Vote,
)
from tests.helpers import sign_in, text_of
from tests.test_participation import consultation, first_article
from tests.test_reports import account, english

async def seeded():
    """Agency A: an open consultation with every kind of activity, one answered 5 days after closing and one
    unanswered 40 days after; agency B: one open consultation with activity that A's figures must not count."""
    now = datetime.now(timezone.utc)  # not the module's: tests run long after it is imported
    people = [await account(f"p{i}@example.vn", f"Người {i}", province="ha-noi" if i % 3 else "hue") for i in range(8)]
    open_one = await consultation(slug="mo")
    article = await first_article(open_one)
    rows = []
    for i, (status, reason) in enumerate([("published", None), ("published", None), ("published", None), ("rejected", "spam"),
                                          ("hidden", "abuse"), ("pending", None)]):
        created = now - timedelta(hours=10 - i)
        rows.append(await Comment.create(
            consultation=open_one, author=people[i], body=f"Ý kiến {i}", stance="support", status=status, reason_code=reason,
            article=article if i % 2 else None,
            published_at=created + timedelta(seconds=30 * (i + 1)) if status == "published" else None,
            decided_at=created + timedelta(minutes=20) if status in ("rejected", "hidden") else None,
        ))
        await Comment.filter(id=rows[-1].id).update(created_at=created)
    gone = await Comment.create(consultation=open_one, author=None, body="Của tài khoản đã xoá", stance="oppose", status="published",
                                published_at=now)
    for voter in people[4:8]:
        await Vote.create(comment=rows[0], account=voter, value="agree")
    await QuestionResponse.create(consultation=open_one, account=people[7])
    for value, note in ((4, "Nút gửi hơi khó tìm trên điện thoại."), (2, ""), (5, "")):
        await SatisfactionAnswer.create(consultation=open_one, question=SatisfactionQuestion.EASE, value=value, asked_after="comment",
                                        answered_on=date.today(), note=note)
    answered = await consultation(slug="da-tra-loi", status=ConsultationStatus.OUTCOME_PUBLISHED)
    await answered.filter(id=answered.id).update(opened_at=now - timedelta(days=20), closed_at=now - timedelta(days=10),
                                                 outcome_published_at=now - timedelta(days=5))
    first, second = await answered.articles.all().order_by("position")
    for article_of, n in ((first, 3), (second, 1)):
        for k in range(n):
            await Comment.create(consultation=answered, author=people[k], body=f"Về {article_of.label} {k}", stance="change",
                                 status="published", article=article_of, published_at=now + timedelta(seconds=5))
    await OutcomeItem.create(consultation=answered, position=1, kind="article", article=first, title="Điều 1", decision="partly", reason="x")
    await OutcomeItem.create(consultation=answered, position=2, kind="article", article=second, title="Điều 2", decision="not_accepted",
                             reason="y")
    await SatisfactionAnswer.create(consultation=answered, question=SatisfactionQuestion.OUTCOME, value=2, asked_after="outcome",
                                    answered_on=date.today())
    await SatisfactionAnswer.create(consultation=answered, question=SatisfactionQuestion.OUTCOME, value=0, asked_after="outcome",
                                    answered_on=date.today())
    late = await consultation(slug="qua-han", status=ConsultationStatus.CLOSED)
    await late.filter(id=late.id).update(opened_at=now - timedelta(days=60), closed_at=now - timedelta(days=40))

    other = await Agency.create(slug="bo-khac", name_vi="Bộ Khác", name_en="Other Ministry")
    elsewhere = await consultation(slug="bo-khac-mo")
    await elsewhere.filter(id=elsewhere.id).update(agency_id=other.id)
    await Comment.create(consultation=elsewhere, author=people[0], body="Ở bộ khác", stance="support", status="published", published_at=now)
    # Stored now, as the in-process cron may store them at any time during a test: the pages read the same numbers either way.
    await dashboard.build_snapshots("Asia/Ho_Chi_Minh", 30)
    return open_one.agency_id, other, people, rows, gone


async def direct_counts(agency_id: int, start: datetime) -> dict:
    """The same figures counted another way: rows through the ORM, sets and sums in Python."""
    comments = await Comment.filter(consultation__agency_id=agency_id, created_at__gte=start).values(
        "author_id", "status", "reason_code", "created_at", "published_at", "decided_at")
    votes = await Vote.filter(comment__consultation__agency_id=agency_id, created_at__gte=start).values_list("account_id", flat=True)
    responses = await QuestionResponse.filter(consultation__agency_id=agency_id, created_at__gte=start).values_list("account_id", flat=True)
    people = {c["author_id"] for c in comments if c["author_id"]} | set(votes) | set(responses)
    decided = [((c["decided_at"] or c["published_at"]) - c["created_at"]).total_seconds() for c in comments
               if c["status"] in ("published", "rejected", "hidden") and (c["decided_at"] or c["published_at"])]
    return {"participants": len(people), "comments": len(comments), "votes": len(votes), "responses": len(responses),
            "published": sum(c["status"] == "published" for c in comments), "spam": sum(c["reason_code"] == "spam" for c in comments),
            "median_decision_seconds": round(median(decided)), "people": people}


async def test_every_figure_matches_a_direct_count(settings):
    agency_id, _other, people, _rows, _gone = await seeded()
    period = dashboard.last_months(12, settings.timezone)
    data = await dashboard.figures(agency_id, period, deadline_days=30)
    direct = await direct_counts(agency_id, period.start)
    act = data["activity"]
    assert (act["participants"], act["comments"], act["votes"], act["responses"]) == (
        direct["participants"], direct["comments"], direct["votes"], direct["responses"])
    assert act["participants"] == 8 and act["comments"] == 11  # 7 on the open one (1 by a deleted account), 4 on the answered one
    assert act["comments_per_1000_participants"] == round(11 * 1000 / 8, 1)
    assert (act["consultations_opened"], act["consultations_closed"]) == (3, 2)
    mod = data["moderation"]
    assert mod["by_status"]["published"] == direct["published"] and mod["published_share"] == round(direct["published"] / 11, 4)
    assert ["spam", direct["spam"], round(1 / 11, 4)] in mod["taken_down_by_reason"] and ["abuse", 1, round(1 / 11, 4)] in mod["taken_down_by_reason"]
    assert mod["median_decision_seconds"] == direct["median_decision_seconds"]
    ans = data["answers"]
    assert (ans["closed"], ans["answered"], ans["overdue"], ans["median_days_to_answer"]) == (2, 1, 1, 5.0)
    assert (ans["comments_on_accepted_articles"], ans["comments_on_decided_articles"], ans["accepted_share"]) == (3, 4, 0.75)
    sat = data["satisfaction"]
    assert (sat["ease_answers"], sat["ease_mean"], sat["ease"]) == (3, round(11 / 3, 2), [[1, 0], [2, 1], [3, 0], [4, 1], [5, 1]])
    assert sat["explained"] == {"yes": 1, "partly": 0, "no": 1} and sat["explained_yes_share"] == 0.5
    provinces = dict(data["provinces"]["by_province"])
    accounts = await Account.filter(id__in=direct["people"]).values_list("province", flat=True)
    assert provinces == {p: accounts.count(p) for p in set(accounts)}
    this_month = data["months"][-1]
    assert len(data["months"]) == 12 and this_month["comments"] == sum(1 for _ in await Comment.filter(
        consultation__agency_id=agency_id, created_at__gte=dashboard.Period(period.last, period.last, settings.timezone).start))
    rows = {row["slug"]: row for row in data["consultations"]}
    assert set(rows) == {"mo", "da-tra-loi", "qua-han"}
    assert rows["mo"]["participants"] == 8 and rows["mo"]["comments"] == 7 and rows["mo"]["votes"] == 4
    assert rows["qua-han"]["overdue"] and rows["da-tra-loi"]["days_to_answer"] == 5.0 and rows["mo"]["ease_mean"] == round(11 / 3, 2)
    everyone = await dashboard.figures(None, period, deadline_days=30)
    assert everyone["activity"]["comments"] == 12 and everyone["activity"]["participants"] == 8


async def test_an_empty_period_says_so_and_divides_by_nothing(settings):
    await seeded()
    data = await dashboard.figures(None, dashboard.Period(date(2020, 1, 1), date(2020, 2, 1), settings.timezone), deadline_days=30)
    assert data["activity"]["participants"] == 0 and data["activity"]["comments_per_1000_participants"] is None
    assert data["moderation"]["published_share"] is None and data["moderation"]["median_decision_seconds"] is None
    assert data["answers"]["median_days_to_answer"] is None and data["answers"]["accepted_share"] is None
    assert data["satisfaction"]["ease_mean"] is None and data["consultations"] == []


async def test_officials_see_their_agency_administrators_any_and_the_csv_holds_every_figure(new_client):
    agency_id, other, people, _rows, _gone = await seeded()
    official = await account("canbo@example.vn", "Cán bộ")
    await RoleGrant.create(account=official, role=Role.OFFICIAL, agency_id=agency_id)
    client = english(new_client())
    await sign_in(client, "canbo@example.vn")
    page = await client.get("/manage/dashboard")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "People who took part 8" in text and "Comments received 11" in text and "Answers overdue (more than 30 days after closing) 1" in text
    assert "Median days from closing to the answer 5" in text and "75.0%" in text and "Ease of taking part per month" in text
    assert "Spam" in text and "Dự thảo Luật Đất đai" in text and "Overdue" in text
    assert "Nút gửi hơi khó tìm trên điện thoại." in text and "Easy" in text  # the line, with the answer it came with
    assert (await client.get(f"/manage/dashboard?agency={other.id}")).status_code == 403

    exported = await client.get("/manage/dashboard.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0] == ["scope", "subject", "figure", "value"]
    values = {(scope, subject, figure): value for scope, subject, figure, value in table[1:]}
    period = next(subject for scope, subject, _f in values if scope == "period")
    assert values[("period", period, "participants")] == "8" and values[("period", period, "answers_overdue")] == "1"
    assert values[("period", period, "taken_down_spam")] == "1" and values[("consultation", "qua-han", "overdue")] == "True"
    assert values[("province", "hue", "participants")] == str(sum(1 for p in people if p.province == "hue"))

    bad = await client.get("/manage/dashboard?from=2026-13&to=tháng")
    assert bad.status_code == 400 and "Enter a month as year and month, like 2026-03" in text_of(bad.text) and 'value="tháng"' in bad.text
    backwards = await client.get("/manage/dashboard?from=2026-05&to=2026-01")
    assert backwards.status_code == 400 and "The last month must not be before the first" in text_of(backwards.text)
    assert (await client.get("/manage/dashboard.csv?from=x")).status_code == 400

    citizen = english(new_client())
    await account("dan@example.vn", "Dân")
    await sign_in(citizen, "dan@example.vn")
    assert (await citizen.get("/manage/dashboard")).status_code == 403
    visitor = await new_client().get("/manage/dashboard")
    assert visitor.status_code == 303 and "/account/signin" in visitor.headers["location"]


async def test_the_public_page_shows_every_agency_without_personal_data(new_client):
    await seeded()
    visitor = english(new_client())
    page = await visitor.get("/participation")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Participation in figures" in text and "People who took part 8" in text and "Comments received 12" in text
    assert "Other Ministry" in text and "Ministry of Resources" in text
    assert "p1@example.vn" not in page.text and "Người 1" not in text and "Nút gửi hơi khó tìm" not in text
    vietnamese = text_of((await new_client().get("/participation")).text)
    assert "Bộ Khác" in vietnamese and "Số liệu về sự tham gia" in vietnamese


async def test_the_default_period_is_read_from_the_stored_figures_while_they_are_fresh(new_client, settings):
    """The refresh_dashboards job stores the last twelve months of every agency and of all; the pages read them
    (saying when they were counted) until they are 30 minutes old; any other period is counted when asked."""
    from consult import jobs
    from consult.models import DashboardSnapshot

    agency_id, _other, people, rows, _gone = await seeded()
    built = await jobs.refresh_dashboards({"settings": settings})
    assert built == ["all", *[f"agency:{i}" for i in sorted(await Agency.all().values_list("id", flat=True))]]
    stored = await DashboardSnapshot.get(scope=f"agency:{agency_id}")
    assert stored.data["activity"]["comments"] == 11 and stored.build_seconds >= 0
    await Comment.create(consultation_id=rows[0].consultation_id, author=people[0], body="Sau khi đếm", stance="support", status="published")

    official = await account("canbo@example.vn", "Cán bộ")
    await RoleGrant.create(account=official, role=Role.OFFICIAL, agency_id=agency_id)
    client = english(new_client())
    await sign_in(client, "canbo@example.vn")
    text = text_of((await client.get("/manage/dashboard")).text)
    assert "Comments received 11" in text and "Counted from the data at" in text
    same = text_of((await client.get(f"/manage/dashboard?from={stored.first_month}&to={stored.last_month}")).text)
    assert "Comments received 11" in same and "and again every ten minutes" in same  # the stored period, asked for by its months
    months = f"from={dashboard.month_key(dashboard.last_months(6, settings.timezone).first)}&to={stored.last_month}"
    live = text_of((await client.get(f"/manage/dashboard?{months}")).text)
    assert "Comments received 12" in live and "Counted from the data when the page is shown." in live
    await Comment.create(consultation_id=rows[0].consultation_id, author=people[1], body="Sau lần đếm thứ hai", stance="support", status="published")
    again = text_of((await client.get(f"/manage/dashboard?{months}")).text)
    assert "Comments received 12" in again and "when someone first asked for these months" in again  # kept half an hour
    public = text_of((await english(new_client()).get("/participation")).text)
    assert "Comments received 12" in public and "Other Ministry" in public and "Counted from the data at" in public
    assert await DashboardSnapshot.filter(scope=f"agency:{agency_id}@{months[5:12]}..{stored.last_month}").exists()
    await DashboardSnapshot.filter(scope__contains="@").update(built_at=datetime.now(timezone.utc) - timedelta(minutes=31))
    assert "Comments received 13" in text_of((await client.get(f"/manage/dashboard?{months}")).text)
    await DashboardSnapshot.filter(scope__contains="@").update(built_at=datetime.now(timezone.utc) - timedelta(minutes=31))
    await jobs.refresh_dashboards({"settings": settings})
    assert not await DashboardSnapshot.filter(scope__contains="@").exists()  # the job forgets the periods nobody looks at

    await DashboardSnapshot.all().update(built_at=datetime.now(timezone.utc) - timedelta(minutes=31))
    stale = text_of((await client.get("/manage/dashboard")).text)
    assert "Comments received 13" in stale and "Counted from the data when the page is shown." in stale


async def test_the_public_may_have_only_so_many_periods_counted(new_client, settings):
    """Counting a period the job has not stored costs seconds at a large agency: a visitor gets a budget of
    them; past it the page says so, keeps the months typed and shows the stored period's figures."""
    await seeded()
    visitor = english(new_client())
    allowed = int(settings.rate_limit_figures.split("/")[0])
    for back in range(allowed):
        month = dashboard.month_key(date(2000 + back // 12, back % 12 + 1, 1))
        assert (await visitor.get(f"/participation?from={month}&to={month}")).status_code == 200
    again = await visitor.get("/participation?from=2000-01&to=2000-01")  # already counted: free
    assert again.status_code == 200 and "when someone first asked for these months" in text_of(again.text)
    refused = await visitor.get("/participation?from=2019-01&to=2019-03")
    text = text_of(refused.text)
    assert refused.status_code == 429 and "You have asked for many periods in a short time." in text
    assert 'value="2019-01"' in refused.text and "Comments received 12" in text  # the stored twelve months


async def test_reasons_are_shown_in_the_readers_language(new_client):
    """The taken-down reasons (shared with the moderation pages) are translated, not shown in English on a Vietnamese page."""
    agency_id, _other, _people, _rows, _gone = await seeded()
    await account("canbo@example.vn", "Cán bộ")
    official = await Account.get(email="canbo@example.vn")
    await RoleGrant.create(account=official, role=Role.OFFICIAL, agency_id=agency_id)
    client = new_client()
    await sign_in(client, "canbo@example.vn")
    text = text_of((await client.get("/manage/dashboard")).text)
    assert "Ngôn từ lăng mạ hoặc xúc phạm" in text and "Abusive or offensive language" not in text
