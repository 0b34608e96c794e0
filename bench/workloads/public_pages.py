"""Pages a visitor who is not signed in reads, each against its limit (bench.limit)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.transactions import in_transaction

from consult import queries
from consult.models import Agency, Consultation, ConsultationKind, ConsultationStatus

from bench.databases import fresh_database
from bench.pages import compare_page
from bench.registry import Options, workload

# On top of the demo's three open consultations, so that the home page lists its full 20.
EXTRA_OPEN_CONSULTATIONS = 20

# (language, title, summary, kind): varied lengths and both languages, as the home page will really show.
TOPICS = [
    (
        "vi",
        "Dự thảo Nghị định quy định chi tiết Luật Bảo vệ môi trường về quản lý chất thải rắn sinh hoạt",
        "Lấy ý kiến về việc phân loại rác tại nguồn, giá dịch vụ thu gom theo khối lượng và trách nhiệm của chính "
        "quyền cấp xã trong việc tổ chức điểm tập kết.",
        "legal_text",
    ),
    (
        "en",
        "Cycle lanes on the inner ring road",
        "Where protected cycle lanes should run, how junctions will change, and what happens to motorbike parking "
        "on the pavements along the route.",
        "policy",
    ),
    (
        "vi",
        "Cải tiến cổng dịch vụ công cấp tỉnh",
        "Góp ý về cách tìm thủ tục, nộp hồ sơ trực tuyến, thanh toán lệ phí và theo dõi tình trạng giải quyết.",
        "service_design",
    ),
    (
        "vi",
        "Kế hoạch chống ngập úng mùa mưa tại các quận nội thành",
        "Danh mục điểm ngập, công trình cải tạo cống thoát nước và phương án thông tin cho người dân khi có mưa lớn.",
        "policy",
    ),
    (
        "en",
        "Draft decree on public access to court judgments",
        "Which judgments are published online, how personal data is removed before publication, and how long the "
        "courts have to publish.",
        "legal_text",
    ),
]


async def add_open_consultations(count: int) -> None:
    agencies = await Agency.all().order_by("id")
    now = datetime.now(timezone.utc)
    async with in_transaction():
        for number in range(count):
            language, title, summary, kind = TOPICS[number % len(TOPICS)]
            await Consultation.create(
                agency=agencies[number % len(agencies)],
                slug=f"bench-open-{number:03d}",
                title=f"{title} ({number + 1})",
                summary=summary,
                kind=ConsultationKind(kind),
                language=language,
                status=ConsultationStatus.OPEN,
                opens_at=now - timedelta(days=2),
                closes_at=now + timedelta(days=2 + number, hours=number),
            )


async def seed_home() -> dict[str, Any]:
    """Adds the open consultations and returns what consult.web.views.home renders (kept in step with it)."""
    await add_open_consultations(EXTRA_OPEN_CONSULTATIONS)
    return {"consultations": await queries.open_consultations(), "counts": await queries.site_counts(), "closed": await queries.recently_closed()}


@workload("home_page", f"GET / with the demo data and {EXTRA_OPEN_CONSULTATIONS} more open consultations (4 queries)")
def home_page(options: Options) -> dict[str, Any]:
    with fresh_database("home_page") as database:
        database.run_cli("demo")  # migrations, then the demo agencies, accounts and consultations
        context = database.run(seed_home)
        return compare_page(database, options.workers, options.load, "/", "pages/home.html", context)


@workload("signin_page", "GET /account/signin: no query for a visitor, so the app's cost over the limit is its middleware")
def signin_page(options: Options) -> dict[str, Any]:
    with fresh_database("signin_page") as database:
        database.run_cli("migrate")
        # What consult.web.views.signin renders on a GET without ?next=.
        context = {"next": "/account"}
        return compare_page(database, options.workers, options.load, "/account/signin", "accounts/signin.html", context)
