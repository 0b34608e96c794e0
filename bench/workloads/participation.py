"""A consultation as citizens use it: reading its page with 200 published comments, and posting comments.

consultation_page compares GET /consultations/{slug} (a visitor, the first 50 of 200 comments) with its limit,
the same template rendered from memory. post_comment sends signed-in POSTs of the comment form (session
cookie, CSRF token, screening job enqueued) from many accounts at once, then counts the stored comments and
queued screening jobs against the successful responses: a comment the server confirmed and did not store
would be a lost comment.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

from tortoise.transactions import in_transaction

from consult import security
from consult.models import Account, Agency, Article, Comment, CommentStatus, Consultation, ConsultationKind, ConsultationStatus, Stance
from consult.text.sanitize import markdown_to_html

from bench.databases import BenchDatabase, fresh_database
from bench.pages import compare_page
from bench.registry import Options, workload
from bench.servers import BenchError, generate_load, serve

SLUG = "du-thao-luat-thu-do-sua-doi"
ARTICLES = 12
COMMENTS = 200
AUTHORS = 40
POSTING_ACCOUNTS = 64
PASSWORD = "bench comment password 2026"

# Comments of the lengths people write (~400 characters on average), in Vietnamese and English.
BODIES = [
    "Tôi đề nghị làm rõ thẩm quyền của Ủy ban nhân dân cấp xã trong việc xác nhận nguồn gốc đất, vì thực tế nhiều "
    "hộ gia đình phải đi lại nhiều lần mà vẫn không biết cơ quan nào chịu trách nhiệm cuối cùng. Nên quy định thời "
    "hạn trả lời bằng văn bản và công khai danh mục giấy tờ cần nộp ngay tại trụ sở và trên cổng dịch vụ công.",
    "The draft should say who pays for relocating households when a project is delayed for more than two years. "
    "Families in my ward have waited since 2019 with no compensation and no permission to repair their houses.",
    "Đồng ý với việc tăng mức xử phạt, nhưng cần phân biệt rõ vi phạm lần đầu của hộ kinh doanh nhỏ với doanh nghiệp "
    "cố tình vi phạm nhiều lần. Mức phạt như dự thảo có thể khiến người bán hàng rong mất toàn bộ thu nhập một tháng.",
    "Điều khoản chuyển tiếp chưa nói gì về các hồ sơ đã nộp trước ngày Luật có hiệu lực. Đề nghị bổ sung: hồ sơ đã "
    "nộp hợp lệ được tiếp tục giải quyết theo quy định tại thời điểm nộp, trừ khi quy định mới có lợi hơn cho người dân.",
]
WORDING = "Cơ quan tiếp nhận hồ sơ có trách nhiệm trả lời bằng văn bản trong thời hạn 15 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ."


async def seed_consultation(comments: int = COMMENTS) -> dict[str, Any]:
    """An open consultation of 12 articles and `comments` published comments spread over them."""
    agency = await Agency.create(slug="ubnd-ha-noi", name_vi="Ủy ban nhân dân thành phố Hà Nội", name_en="Hanoi People's Committee")
    now = datetime.now(timezone.utc)
    consultation = await Consultation.create(
        agency=agency, slug=SLUG, title="Dự thảo Luật Thủ đô (sửa đổi)",
        summary="Lấy ý kiến nhân dân về dự thảo Luật Thủ đô sửa đổi: phân cấp, quy hoạch, giao thông và bảo tồn di sản.",
        kind=ConsultationKind.LEGAL_TEXT, language="vi", status=ConsultationStatus.OPEN,
        opens_at=now - timedelta(days=3), opened_at=now - timedelta(days=3), closes_at=now + timedelta(days=27),
    )  # fmt: skip
    password_hash = security.hash_password(PASSWORD)
    async with in_transaction():
        articles = []
        for number in range(1, ARTICLES + 1):
            body = f"{number}. Thành phố Hà Nội được **phân cấp** quyết định các nội dung sau đây:\n\n- quy hoạch chi tiết;\n- đầu tư công nhóm B;\n- phí và lệ phí."
            articles.append(await Article.create(consultation=consultation, position=number, label=f"Điều {number}",
                                                 title="Phân cấp, phân quyền", body_markdown=body, body_html=markdown_to_html(body)))
        authors = [
            await Account.create(email=f"author{n}@bench.invalid", display_name=f"Người góp ý {n}", password_hash=password_hash, email_verified_at=now)
            for n in range(AUTHORS)
        ]
        stances = list(Stance)
        for number in range(comments):
            stance = stances[number % 3]
            await Comment.create(
                consultation=consultation, article=articles[number % (ARTICLES + 1)] if number % (ARTICLES + 1) < ARTICLES else None,
                author=authors[number % AUTHORS], stance=stance, body=BODIES[number % len(BODIES)],
                proposed_wording=WORDING if stance is Stance.CHANGE else None, status=CommentStatus.PUBLISHED,
                published_at=now - timedelta(minutes=comments - number), screened_at=now,
                agree_count=(number * 7) % 23, disagree_count=(number * 3) % 5, pass_count=number % 2,
            )  # fmt: skip
    return {"consultation_id": consultation.id}


async def page_context() -> dict[str, Any]:
    """What consult.web.participate.consultation_page renders for a visitor (its own context function)."""
    from consult import queries
    from consult.web.participate import consultation_context

    return await consultation_context(await queries.public_consultation(SLUG), None)


def measure_page(name: str, options: Options, app_settings: dict[str, str]) -> dict[str, Any]:
    with fresh_database(name) as database:
        database.run_cli("migrate")
        database.run(seed_consultation)
        context = database.run(page_context)
        path = f"/consultations/{SLUG}"
        return compare_page(database, options.workers, options.load, path, "consultations/page.html", context, app_settings)


@workload("consultation_page", f"GET /consultations/{{slug}} as a visitor: {ARTICLES} articles, {COMMENTS} comments, 50 shown; default page cache")
def consultation_page(options: Options) -> dict[str, Any]:
    return measure_page("consultation_page", options, {})


@workload("consultation_page_uncached", "the same page rendered for every request (CONSULT_PAGE_CACHE_SECONDS=0): 9 queries and the render")
def consultation_page_uncached(options: Options) -> dict[str, Any]:
    return measure_page("consultation_page_uncached", options, {"CONSULT_PAGE_CACHE_SECONDS": "0"})


# --- posting -------------------------------------------------------------------------------------------


class Browser:
    """Just enough of a browser for the harness: keeps cookies, reads the CSRF token of a page."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.read().decode("utf-8")
        finally:
            connection.close()

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def csrf(self, path: str) -> str:
        status, html = self.request("GET", path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
        if status != 200 or not match:
            raise BenchError(f"GET {path} gave {status} and no CSRF token")
        return match.group(1)


def signed_in_requests(base_url: str, article_ids: list[int]) -> list[dict[str, Any]]:
    """One comment POST per account, each with the account's session cookie and CSRF token."""
    requests = []
    for number in range(POSTING_ACCOUNTS):
        browser = Browser(base_url)
        token = browser.csrf("/account/signin")
        status, _ = browser.request("POST", "/account/signin", {"email": f"poster{number}@bench.invalid", "password": PASSWORD, "csrf_token": token})
        if status != 303:
            raise BenchError(f"poster{number} could not sign in ({status})")
        token = browser.csrf(f"/consultations/{SLUG}/comment")
        form = {
            "csrf_token": token, "article": str(article_ids[number % len(article_ids)]), "stance": "change",
            "body": BODIES[number % len(BODIES)], "proposed_wording": WORDING,
        }  # fmt: skip
        requests.append({
            "method": "POST", "path": f"/consultations/{SLUG}/comment",
            "headers": {"Cookie": browser.cookie_header(), "Content-Type": "application/x-www-form-urlencoded"},
            "body": urlencode(form),
        })  # fmt: skip
    return requests


async def seed_posters() -> list[int]:
    await seed_consultation(comments=0)
    now = datetime.now(timezone.utc)
    password_hash = security.hash_password(PASSWORD)
    async with in_transaction():
        for number in range(POSTING_ACCOUNTS):
            await Account.create(email=f"poster{number}@bench.invalid", display_name=f"Người dân {number}", password_hash=password_hash, email_verified_at=now)
    return await Article.all().order_by("position").values_list("id", flat=True)


async def stored_comments() -> dict[str, int]:
    return {
        "stored": await Comment.all().count(),
        "pending": await Comment.filter(status=CommentStatus.PENDING).count(),
    }


async def clear_queue(redis_url: str) -> None:
    """Drop the jobs of earlier runs from the bench's own Redis: their ids (screen_comment:1, ...) would make
    this run's enqueues look like duplicates, which arq skips."""
    from arq.connections import RedisSettings, create_pool

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        keys = [key async for key in pool.scan_iter(match="arq:*")]
        if keys:
            await pool.delete(*keys)
    finally:
        await pool.aclose()


async def queued_screening_jobs(redis_url: str) -> int:
    from arq.connections import RedisSettings, create_pool

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        return await pool.zcard(pool.default_queue_name)
    finally:
        await pool.aclose()


@workload("post_comment", f"POST a comment on an article: {POSTING_ACCOUNTS} signed-in accounts, CSRF, screening enqueued; 0 lost")
def post_comment(options: Options) -> dict[str, Any]:
    with fresh_database("post_comment") as database:
        database.run_cli("migrate")
        article_ids = database.run(seed_posters)
        # The per-account rate limit (10 a minute by default) would turn almost every request into a 429: the
        # benchmark measures the path of an accepted comment, so the limit is lifted for this server only.
        env = {**database.env, "CONSULT_RATE_LIMIT_COMMENT": "100000000/minute"}
        if database.backends.redis:
            asyncio.run(clear_queue(database.backends.redis_url))
        with serve("main:create_app", env, options.workers) as server:
            requests = signed_in_requests(server.base_url, article_ids)
            requests_file = database.data_dir / "post-comment-requests.json"
            requests_file.write_text(json.dumps(requests), encoding="utf-8")
            figures = generate_load(server, f"/consultations/{SLUG}/comment", options.load, database.process_title, requests_file=requests_file)
        return with_loss_check(database, figures)


def with_loss_check(database: BenchDatabase, figures: dict[str, Any]) -> dict[str, Any]:
    """Every 303 the server sent is a comment it confirmed: each must be stored (and queued for screening)."""
    confirmed = figures["all_statuses"].get("303", 0)
    counts = database.run(stored_comments)
    queued = None
    if database.backends.redis:
        queued = asyncio.run(queued_screening_jobs(database.backends.redis_url))
    # Requests still unanswered when the load stopped may have been stored too; none may be missing.
    lost = max(0, confirmed - counts["stored"])
    return {
        **{key: figures[key] for key in ("requests", "rps", "p50_ms", "p99_ms", "max_ms", "errors", "server_cpu", "database_cpu", "loader_cpu", "other_cpu")},
        "confirmed": confirmed,
        "stored": counts["stored"],
        "unanswered_at_end": figures["unanswered"],
        "screening_jobs_queued": queued,
        "lost": lost,
        "errors": figures["errors"] + lost,
    }
