"""A finished consultation for the demonstration: closed, with comments in Vietnamese and English,
votes that fall into two opinion camps, answers to its questions, a near-identical letter campaign,
its report, the agency's published answer and the open data package.

The comments are written from a few dozen sentences, mixed; every figure the report shows is still
counted from these rows like any other consultation's. Made once: found by its slug afterwards.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone


from tortoise.transactions import in_transaction

from consult import outcomes, profile, queries
from consult.models import (
    Account, Agency, Answer, Article, Campaign, Comment, CommentStatus, Consultation, ConsultationKind, ConsultationStatus,
    Follow, Question, QuestionKind, QuestionResponse, Vote,
)
from consult.reports import build
from consult.settings import Settings

SLUG = "du-thao-nghi-dinh-quan-ly-chat-thai-nhua"
AGENCY = ("bo-nong-nghiep-va-moi-truong", "Bộ Nông nghiệp và Môi trường", "Ministry of Agriculture and Environment")

ARTICLES = [
    ("Điều 3", "Lộ trình hạn chế túi ni lông khó phân hủy", "Từ ngày 01/01/2028, các siêu thị và trung tâm thương mại không được cung cấp miễn phí túi ni lông khó phân hủy."),
    ("Điều 5", "Trách nhiệm tái chế của nhà sản xuất", "Nhà sản xuất, nhập khẩu bao bì nhựa có trách nhiệm tái chế theo tỷ lệ bắt buộc hoặc đóng góp tài chính vào Quỹ Bảo vệ môi trường."),
    ("Điều 8", "Phân loại rác tại nguồn", "Hộ gia đình phân loại chất thải rắn sinh hoạt thành ba nhóm; chất thải không phân loại bị từ chối thu gom."),
    ("Điều 12", "Xử phạt vi phạm", "Phạt tiền từ 500.000 đồng đến 1.000.000 đồng đối với hành vi không phân loại chất thải theo quy định."),
]

# (article index or None, stance, language, text, proposed wording)
SENTENCES: list[tuple[int | None, str, str, str, str | None]] = [
    (0, "support", "vi", "Tôi hoàn toàn ủng hộ lộ trình hạn chế túi ni lông, rác nhựa đang làm ô nhiễm kênh rạch và bãi biển.", None),
    (0, "support", "vi", "Nên cấm túi ni lông sớm hơn, người dân đã quen mang túi vải khi đi chợ.", None),
    (0, "oppose", "vi", "Lộ trình quá gấp, tiểu thương ở chợ truyền thống chưa có túi thay thế với giá hợp lý.", None),
    (0, "change", "vi", "Đề nghị áp dụng cả với chợ truyền thống và cửa hàng tiện lợi, không chỉ siêu thị.", "Từ ngày 01/01/2028, siêu thị, trung tâm thương mại, cửa hàng tiện lợi và chợ không được cung cấp miễn phí túi ni lông khó phân hủy."),
    (0, "support", "en", "Banning free plastic bags works: other countries cut bag use by more than 80 percent within a year.", None),
    (0, "oppose", "en", "Small shops cannot afford paper bags yet; the deadline should give them more time.", None),
    (1, "support", "vi", "Trách nhiệm tái chế của nhà sản xuất là đúng, doanh nghiệp gây ra rác thải thì phải chịu chi phí xử lý.", None),
    (1, "oppose", "vi", "Mức đóng góp tài chính quá cao sẽ làm tăng giá sản phẩm, người tiêu dùng chịu thiệt.", None),
    (1, "change", "vi", "Cần công khai danh sách doanh nghiệp đã thực hiện tái chế và số tiền đã đóng góp vào Quỹ.", "Danh sách nhà sản xuất, nhập khẩu và số tiền đóng góp được công khai hằng năm trên cổng thông tin của Bộ."),
    (1, "support", "en", "Extended producer responsibility is the fairest way to pay for recycling; please keep it strong.", None),
    (1, "change", "en", "Publish each producer's recycling rate every year so citizens can check compliance.", "Producers' recycling rates and contributions are published every year."),
    (2, "support", "vi", "Phân loại rác tại nguồn là cần thiết, khu phố tôi làm thử rất hiệu quả.", None),
    (2, "oppose", "vi", "Từ chối thu gom rác không phân loại sẽ khiến rác bị vứt bừa bãi ra đường, gây mất vệ sinh.", None),
    (2, "change", "vi", "Cần hướng dẫn cụ thể và phát túi phân loại miễn phí trước khi áp dụng biện pháp từ chối thu gom.", "Trước khi từ chối thu gom, chính quyền địa phương hướng dẫn và cấp miễn phí túi phân loại cho hộ gia đình trong sáu tháng."),
    (2, "oppose", "en", "Refusing to collect unsorted waste will push people to dump rubbish in rivers.", None),
    (3, "support", "vi", "Mức phạt như dự thảo là hợp lý, đủ răn đe mà không quá nặng.", None),
    (3, "oppose", "vi", "Mức phạt quá cao so với thu nhập của người lao động, nên nhắc nhở trước khi phạt.", None),
    (3, "change", "vi", "Đề nghị nhắc nhở lần đầu, chỉ phạt tiền khi tái phạm.", "Vi phạm lần đầu bị nhắc nhở bằng văn bản; tái phạm bị phạt tiền từ 500.000 đồng đến 1.000.000 đồng."),
    (None, "support", "vi", "Dự thảo thể hiện quyết tâm giảm rác nhựa, tôi đồng ý với hướng đi chung.", None),
    (None, "oppose", "vi", "Dự thảo chưa đánh giá tác động đến doanh nghiệp nhỏ và hộ kinh doanh.", None),
    (None, "support", "en", "A clear and welcome draft; the timeline for plastic reduction is ambitious but achievable.", None),
]
OPENERS_VI = ["", "Theo tôi, ", "Ý kiến của tôi: ", "Là người dân Hà Nội, ", "Tôi xin góp ý: "]
OPENERS_EN = ["", "In my view, ", "As a resident, ", "My comment: "]
CLOSERS_VI = ["", " Mong Ban soạn thảo xem xét.", " Xin cảm ơn.", " Rất mong được tiếp thu."]
CLOSERS_EN = ["", " Thank you.", " Please consider this.", ""]
LETTER = ("Chúng tôi, các hộ kinh doanh chợ Đồng Xuân, đề nghị lùi thời hạn cấm túi ni lông đến năm 2030 để tiểu thương "
          "có thời gian chuyển đổi sang bao bì thân thiện với môi trường mà không bị thiệt hại về kinh doanh.")

DECISIONS = {
    "general": ("accepted", ""),
    "article": ("partly", "Tiếp thu ý kiến mở rộng phạm vi; giữ nguyên mốc thời gian để bảo đảm mục tiêu giảm chất thải nhựa, đồng thời bổ sung hỗ trợ cho tiểu thương."),
    "theme": ("accepted", ""),
}


async def load(settings: Settings, admin_id: int) -> bool:
    """Creates the finished consultation if it is not there yet; True when it was made now."""
    if await Consultation.filter(slug=SLUG).exists():
        return False
    rng = random.Random(2026)
    now = datetime.now(timezone.utc)
    opened = now - timedelta(days=45)
    closed = now - timedelta(days=10)
    async with in_transaction():
        agency, _ = await Agency.get_or_create(slug=AGENCY[0], defaults={"name_vi": AGENCY[1], "name_en": AGENCY[2]})
        consultation = await Consultation.create(
            agency=agency, slug=SLUG, title="Dự thảo Nghị định quy định về quản lý chất thải nhựa",
            summary="Lấy ý kiến về lộ trình hạn chế túi ni lông, trách nhiệm tái chế của nhà sản xuất, phân loại rác tại nguồn và mức xử phạt.",
            kind=ConsultationKind.LEGAL_TEXT, language="vi", status=ConsultationStatus.CLOSED,
            opens_at=opened, opened_at=opened, closes_at=closed, closed_at=closed,
        )
        articles = []
        for position, (label, title, body) in enumerate(ARTICLES, start=1):
            articles.append(await Article.create(consultation=consultation, position=position, label=label, title=title,
                                                 body_markdown=body, body_html=f"<p>{body}</p>"))
        questions = [
            await Question.create(consultation=consultation, position=1, kind=QuestionKind.SINGLE,
                                  prompt="Thời điểm nào phù hợp để cấm túi ni lông miễn phí?", options=["2026", "2028", "2030"]),
            await Question.create(consultation=consultation, position=2, kind=QuestionKind.SCALE, prompt="Dự thảo có dễ hiểu không? (1: rất khó, 5: rất dễ)"),
            await Question.create(consultation=consultation, position=3, kind=QuestionKind.TEXT, prompt="Bạn có đề xuất nào khác?"),
        ]
        people = []
        kinds = list(profile.RESPONDENT_KINDS)
        provinces = [code for code, _vi, _en in profile.PROVINCES[:12]]
        for index in range(80):
            people.append(await Account.create(
                email=f"participant{index:02d}@demo.consult.invalid", display_name=f"Người tham gia {index + 1}",
                password_hash="!", email_verified_at=opened, language="en" if index % 5 == 0 else "vi",
                province=rng.choice(provinces) if index % 4 else None, respondent_kind=rng.choice(kinds) if index % 3 else None,
            ))
        comments: list[tuple[Comment, str]] = []
        for index in range(160):
            article_index, stance, language, text, wording = rng.choice(SENTENCES)
            opener = rng.choice(OPENERS_VI if language == "vi" else OPENERS_EN)
            closer = rng.choice(CLOSERS_VI if language == "vi" else CLOSERS_EN)
            body = opener + (text[0].lower() + text[1:] if opener else text) + closer
            when = opened + timedelta(hours=rng.randrange(0, 35 * 24))
            comment = await Comment.create(
                consultation=consultation, article=articles[article_index] if article_index is not None else None,
                author=people[index % len(people)], stance=stance, body=body, proposed_wording=wording,
                status=CommentStatus.PUBLISHED, screened_at=when, published_at=when,
            )
            await Comment.filter(id=comment.id).update(created_at=when)
            comments.append((comment, stance))
        first = opened + timedelta(days=20)
        campaign = await Campaign.create(consultation=consultation, size=12, first_seen=first, last_seen=first + timedelta(hours=30))
        for index in range(12):
            when = first + timedelta(hours=index * 2.5)
            letter = await Comment.create(
                consultation=consultation, article=articles[0], author=people[(index * 7) % len(people)], stance="oppose",
                body=LETTER, status=CommentStatus.PUBLISHED, screened_at=when, published_at=when, campaign=campaign,
            )
            await Comment.filter(id=letter.id).update(created_at=when)
        # Two camps: one for firm rules, one for more time; both agree on the whole-draft support comments.
        votes: list[Vote] = []
        for voter_index, voter in enumerate(people):
            camp = voter_index % 2
            for comment, stance in rng.sample(comments, 30):
                if comment.author_id == voter.id:
                    continue
                if comment.article_id is None and stance == "support":
                    value = "agree" if rng.random() < 0.9 else "pass"
                elif stance == "support":
                    value = "agree" if camp == 0 else "disagree"
                elif stance == "oppose":
                    value = "disagree" if camp == 0 else "agree"
                else:
                    value = rng.choice(["agree", "agree", "pass"])
                if rng.random() < 0.1:
                    value = "pass"
                votes.append(Vote(comment_id=comment.id, account_id=voter.id, value=value))
        await Vote.bulk_create(votes)
        # Each person voted and answered on a day of their own, so the report's days are real-looking.
        voted_at = {voter.id: opened + timedelta(hours=rng.randrange(24, 34 * 24)) for voter in people}
        for voter in people:
            await Vote.filter(account_id=voter.id).update(created_at=voted_at[voter.id], updated_at=voted_at[voter.id])
        await _recount([comment.id for comment, _ in comments])
        for voter_index, voter in enumerate(people[:50]):
            response = await QuestionResponse.create(consultation=consultation, account=voter)
            await QuestionResponse.filter(id=response.id).update(created_at=voted_at[voter.id], updated_at=voted_at[voter.id])
            await Answer.create(response=response, question=questions[0], option=rng.choice([0, 1, 1, 2, 2]))
            await Answer.create(response=response, question=questions[1], option=rng.choice([2, 3, 4, 4, 5]))
            if voter_index % 3 == 0:
                await Answer.create(response=response, question=questions[2], text=rng.choice([
                    "Cần tuyên truyền nhiều hơn trên truyền hình và mạng xã hội.",
                    "Nên hỗ trợ tiểu thương chuyển sang túi giấy.",
                    "Đặt thêm thùng rác phân loại ở nơi công cộng.",
                    "Please add more public recycling bins.",
                ]))
        for voter in people[:20]:
            await Follow.create(consultation=consultation, account=voter)
    await build.build(consultation.id, settings.timezone)
    actor = await queries.load_principal(admin_id, (await Account.get(id=admin_id)).session_version)
    items = await outcomes.prepare_answer(actor, consultation.id)
    form: dict[str, list[str]] = {}
    for item in items:
        decision, reason = DECISIONS[item.kind]
        form[f"item-{item.id}-summary"] = [item.summary or item.title]
        form[f"item-{item.id}-decision"] = [decision]
        form[f"item-{item.id}-reason"] = [reason]
    intro = ("Bộ đã nhận được ý kiến của người dân, doanh nghiệp và tổ chức về dự thảo. Bảng dưới đây tổng hợp ý kiến theo từng điều "
             "và từng chủ đề, cùng với việc tiếp thu, giải trình của Ban soạn thảo.")
    await outcomes.publish_outcome(actor, settings, consultation.id, form, intro=intro)
    return True


async def _recount(comment_ids: list[int]) -> None:
    from consult.participation import _recount as recount

    await recount(set(comment_ids))
