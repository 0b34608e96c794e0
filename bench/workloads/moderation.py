"""Moderation at the size of a national consultation: the moderators' queue, the screening of new comments, and
the grouping of form letters into campaigns.

moderation_queue (PostgreSQL only) seeds 1,000,000 comments of which 100,000 wait for a decision, in plain SQL,
then times GET /moderation/ for a signed-in moderator: the first page, a page about 1,000 pages deep (its
keyset cursor computed in SQL, the URL built as the page's rel="next" link is), a busy consultation's first
page and the most-reported order; one connection at a time (what a moderator waits) and under load. It also
times the two queries of the page in-process (``queue_page``, ``queue_counts``), so the database's share can be
told from the rest, and shows the plan of the slowest statement.

screening times ``moderation.screening.screen`` in one process over 5,000 new comments of realistic text
(clean comments in Vietnamese and English, some abusive, some with phone numbers or e-mail addresses, a fifth
copies of a few form letters), with the share of each part (text rules, author history, campaign look-up, the
update) and the rules alone without the database.

campaigns runs ``consult.reviewing.join_campaign`` over 100,000 comments of one consultation (50 form letters
copied with small edits and unique comments: ``bench.evaluate_campaigns.synthetic``), in id order, and compares
the campaigns found with the generator's truth.

Every loop stops at a count and at a time budget, whichever comes first; the figures say how far it went.
"""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
import os
import random
import re
import resource
import sys
import time
import tracemalloc
from collections import Counter
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit


from bench.cpu import CpuShares
from bench.databases import BenchDatabase, fresh_database, log, pg_connect, require_postgres
from bench.load import percentile
from bench.registry import Options, workload
from bench.servers import BenchError, generate_load, serve
from bench.workloads.participation import Browser

PASSWORD = "bench moderator password 2026"
MODERATOR_EMAIL = "moderator@bench.invalid"

# --- moderation_queue ------------------------------------------------------------------------------------

QUEUE_COMMENTS = 1_000_000
QUEUE_WAITING_EVERY = 10  # one comment in 10 waits for a decision: 100,000
QUEUE_CONSULTATIONS = 500
QUEUE_AGENCIES = 8
QUEUE_AUTHORS = 100_000
QUEUE_CAMPAIGNS = 200
BUSY_CONSULTATION = 1  # 10% of all comments, so about 10,000 waiting
DEEP_OFFSET = 50_000  # about 1,000 pages of 50 deep
SEQUENTIAL_REQUESTS = 400  # per page and server, also bounded by --duration
SEQUENTIAL_WARMUP = 5
BARE_RUNS = 200  # in-process runs of each query function, also bounded by BARE_SECONDS
BARE_SECONDS = 15.0
TARGET_P99_MS = 50.0

# Sentences the seeded bodies are made of (three of them and a reference: 300-420 characters).
QUEUE_SENTENCES = [
    "Tôi đề nghị làm rõ thẩm quyền của Ủy ban nhân dân cấp xã trong việc xác nhận nguồn gốc đất cho hộ gia đình.",
    "Nên quy định thời hạn trả lời bằng văn bản và công khai danh mục giấy tờ cần nộp trên cổng dịch vụ công.",
    "The draft should say who pays for relocating households when a project is delayed for more than two years.",
    "Families in my ward have waited since 2019 with no compensation and no permission to repair their houses.",
    "Đồng ý với việc tăng mức xử phạt, nhưng cần phân biệt vi phạm lần đầu của hộ kinh doanh nhỏ với doanh nghiệp.",
    "Điều khoản chuyển tiếp chưa nói gì về các hồ sơ đã nộp trước ngày Luật có hiệu lực, đề nghị bổ sung ngay.",
    "Please publish the traffic study behind the new bus lanes, with the counts at each junction along the route.",
    "Cần bổ sung quy định về trách nhiệm của chủ đầu tư khi công trình gây lún nứt nhà dân ở khu vực lân cận.",
]

SEED_SQL = [
    ("agencies", """
INSERT INTO agency (id, slug, name_vi, name_en, created_at)
SELECT g, 'bench-agency-' || g, 'Cơ quan thử nghiệm ' || g, 'Bench agency ' || g, now()
FROM generate_series(1, {agencies}) g"""),
    ("consultations", """
INSERT INTO consultation (id, agency_id, slug, title, summary, kind, language, status, moderation_mode,
                          opens_at, closes_at, opened_at, created_at, updated_at)
SELECT g, 1 + g % {agencies}, 'bench-consultation-' || g,
       'Dự thảo Nghị định số ' || g || ' về quản lý đô thị và dịch vụ công',
       'Lấy ý kiến nhân dân về dự thảo số ' || g || '.', 'policy', 'vi', 'open', 'post',
       now() - interval '40 days', now() + interval '20 days', now() - interval '40 days', now(), now()
FROM generate_series(1, {consultations}) g"""),
    ("authors", """
INSERT INTO account (id, email, display_name, password_hash, email_verified_at, session_version, created_at)
SELECT g, 'author' || g || '@bench.invalid', 'Người góp ý ' || g, 'not-a-password-hash', now(), 1, now()
FROM generate_series(1, {authors}) g"""),
    ("campaigns", """
INSERT INTO campaign (id, consultation_id, size, first_seen, last_seen)
SELECT g, 1 + g % {consultations}, 1, now() - interval '20 days', now() - interval '1 day'
FROM generate_series(1, {campaigns}) g"""),
    # h1, h2, h3: three cheap deterministic hashes of the row number (multiplicative, high bits kept).
    ("comments", """
INSERT INTO comment (id, consultation_id, author_id, stance, body, status, reason_code, screened_at, published_at,
                     agree_count, disagree_count, pass_count, flag_count, created_at, updated_at,
                     review, review_since, signals, top_signal, campaign_id, moderation_version,
                     decided_at, appeal_state, appeal_note, appealed_at)
SELECT g, consultation_id, author_id, (ARRAY['support', 'oppose', 'change'])[1 + h3 % 3], body,
       CASE WHEN reason IN ('screening', 'premoderation') THEN 'pending'
            WHEN reason = 'appeal' THEN 'rejected'
            WHEN reason IS NULL AND h2 % 40 = 0 THEN 'rejected'
            ELSE 'published' END,
       CASE WHEN reason = 'appeal' OR (reason IS NULL AND h2 % 40 = 0) THEN 'abuse' END,
       created_at + interval '20 seconds',
       CASE WHEN reason IS NULL AND h2 % 40 <> 0 OR reason = 'flags' THEN created_at + interval '20 seconds' END,
       h1 % 30, h2 % 7, h3 % 3,
       CASE WHEN reason = 'flags' THEN 3 + h3 % 18 WHEN reason IS NULL AND h3 % 50 = 0 THEN 1 + h1 % 2 ELSE 0 END,
       created_at, created_at,
       reason,
       CASE WHEN reason IS NOT NULL THEN created_at + interval '5 minutes' END,
       CASE WHEN reason = 'screening' THEN (
            CASE WHEN top = 'campaign' THEN jsonb_build_array(jsonb_build_object(
                    'kind', 'campaign', 'rule', 'campaign.near_duplicate', 'score', 1.0,
                    'spans', jsonb_build_array(jsonb_build_array(0, length(body))), 'field', 'body',
                    'campaign', campaign_id, 'size', 40))
                 WHEN h2 % 3 = 0 THEN jsonb_build_array(
                    jsonb_build_object('kind', top, 'rule', top || '.bench', 'score', 0.9,
                        'spans', jsonb_build_array(jsonb_build_array(12, 24)), 'field', 'body'),
                    jsonb_build_object('kind', 'personal_data', 'rule', 'pii.phone', 'score', 0.7,
                        'spans', jsonb_build_array(jsonb_build_array(110, 122)), 'field', 'body'))
                 ELSE jsonb_build_array(jsonb_build_object('kind', top, 'rule', top || '.bench', 'score', 0.8,
                        'spans', jsonb_build_array(jsonb_build_array(40, 52)), 'field', 'body')) END
            )::{signals_type} END,
       CASE WHEN reason = 'screening' THEN top END,
       campaign_id, 0,
       CASE WHEN reason = 'appeal' OR (reason IS NULL AND h2 % 40 = 0) THEN created_at + interval '2 minutes' END,
       CASE WHEN reason = 'appeal' THEN 'pending' END,
       CASE WHEN reason = 'appeal' THEN 'Tôi không đồng ý với quyết định từ chối: góp ý này không xúc phạm ai.' END,
       CASE WHEN reason = 'appeal' THEN created_at + interval '5 minutes' END
FROM (
    SELECT g, h1, h2, h3, reason, top,
           CASE WHEN h1 % 100 < 10 THEN {busy} ELSE 2 + (h1 / 100) % ({consultations} - 1) END AS consultation_id,
           1 + h2 % {authors} AS author_id,
           CASE WHEN top = 'campaign' OR (reason IS NULL AND h3 % 100 = 0) THEN 1 + h1 % {campaigns} END AS campaign_id,
           CASE WHEN reason IS NOT NULL THEN now() - interval '10 minutes' - (h3 % 1209600) * interval '1 second'
                ELSE now() - (h3 % 3456000) * interval '1 second' END AS created_at,
           (ARRAY{sentences})[1 + h1 % {sentence_count}] || ' ' || (ARRAY{sentences})[1 + h2 % {sentence_count}]
               || ' (mã góp ý ' || md5(g::text) || ') ' || (ARRAY{sentences})[1 + h3 % {sentence_count}] AS body
    FROM (
        SELECT g, h1, h2, h3,
               CASE WHEN g % {every} <> 0 THEN NULL
                    WHEN (g / {every}) % 20 < 10 THEN 'screening'
                    WHEN (g / {every}) % 20 < 15 THEN 'flags'
                    WHEN (g / {every}) % 20 < 19 THEN 'premoderation'
                    ELSE 'appeal' END AS reason,
               CASE WHEN g % {every} = 0 AND (g / {every}) % 20 < 10
                    THEN (ARRAY['abuse', 'spam', 'personal_data', 'campaign'])[1 + (g / {every}) % 4] END AS top
        FROM (
            SELECT g,
                   ((g::bigint * 2654435761) % 4294967296) / 4096 AS h1,
                   ((g::bigint * 2246822519) % 4294967296) / 4096 AS h2,
                   ((g::bigint * 3266489917) % 4294967296) / 4096 AS h3
            FROM generate_series(1, {comments}) g
        ) hashed
    ) reasons
) rows"""),
    ("flags", """
INSERT INTO flag (comment_id, account_id, reason, note, created_at)
SELECT c.id, 1 + (c.author_id + k * 7919) % {authors},
       (ARRAY['spam', 'offensive', 'off_topic', 'personal_data', 'misinformation', 'other'])[1 + (c.id + k) % 6],
       '', c.review_since - k * interval '1 minute'
FROM comment c CROSS JOIN LATERAL generate_series(1, c.flag_count) k
WHERE c.review = 'flags'"""),
    ("campaign sizes", """
UPDATE campaign SET size = n FROM (SELECT campaign_id, COUNT(*) AS n FROM comment WHERE campaign_id IS NOT NULL
GROUP BY campaign_id) sizes WHERE campaign.id = sizes.campaign_id"""),
]
SEQUENCES = ("agency", "consultation", "account", "campaign", "comment")


async def seed_queue(database: BenchDatabase) -> dict[str, Any]:
    """The 1M comments and what they refer to, in SQL; then VACUUM ANALYZE. Returns the seeding times."""
    connection = await pg_connect(database)
    timings: dict[str, Any] = {}
    try:
        signals_type = await connection.fetchval(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'comment'::regclass AND attname = 'signals'"
        )
        sentences = "[" + ", ".join("'" + s.replace("'", "''") + "'" for s in QUEUE_SENTENCES) + "]"
        values = {
            "agencies": QUEUE_AGENCIES, "consultations": QUEUE_CONSULTATIONS, "authors": QUEUE_AUTHORS,
            "campaigns": QUEUE_CAMPAIGNS, "comments": QUEUE_COMMENTS, "every": QUEUE_WAITING_EVERY, "busy": BUSY_CONSULTATION,
            "sentences": sentences, "sentence_count": len(QUEUE_SENTENCES), "signals_type": signals_type,
        }  # fmt: skip
        started = time.perf_counter()
        for name, sql in SEED_SQL:
            step = time.perf_counter()
            status = await connection.execute(sql.format(**values))
            log(f"seeded {name}: {status} in {time.perf_counter() - step:.1f} s")
        for table in SEQUENCES:
            await connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        timings["seed_insert_s"] = round(time.perf_counter() - started, 1)
        step = time.perf_counter()
        # What autovacuum would have done to a table this old: visibility map, hint bits, statistics.
        await connection.execute("VACUUM ANALYZE")
        timings["seed_vacuum_analyze_s"] = round(time.perf_counter() - step, 1)
        log(f"VACUUM ANALYZE in {timings['seed_vacuum_analyze_s']} s")
        timings["comment_table_mib"] = round(await connection.fetchval("SELECT pg_total_relation_size('comment')") / 2**20)
        timings["waiting"] = await connection.fetchval("SELECT COUNT(*) FROM comment WHERE review IS NOT NULL")
        timings["busy_consultation_waiting"] = await connection.fetchval(
            "SELECT COUNT(*) FROM comment WHERE review IS NOT NULL AND consultation_id = $1", BUSY_CONSULTATION
        )
        row = await connection.fetchrow(
            f"SELECT id, review_since FROM comment WHERE review IS NOT NULL ORDER BY review_since, id OFFSET {DEEP_OFFSET - 1} LIMIT 1"
        )
        timings["deep_after"] = {"id": row["id"], "review_since": row["review_since"]}
    finally:
        await connection.close()
    return timings


async def add_moderator() -> int:
    from consult import security
    from consult.models import Account, Role, RoleGrant

    moderator = await Account.create(
        email=MODERATOR_EMAIL, display_name="Kiểm duyệt viên", password_hash=security.hash_password(PASSWORD),
        email_verified_at=datetime.now(timezone.utc),
    )
    await RoleGrant.create(account=moderator, role=Role.MODERATOR, agency=None)
    return moderator.id


def sign_in(base_url: str) -> str:
    """The moderator's session cookie, signed in through the form as a person would."""
    browser = Browser(base_url)
    token = browser.csrf("/account/signin")
    status, _ = browser.request("POST", "/account/signin", {"email": MODERATOR_EMAIL, "password": PASSWORD, "csrf_token": token})
    if status != 303:
        raise BenchError(f"the moderator could not sign in ({status})")
    return browser.cookie_header()


def queue_paths(deep_cursor: str) -> dict[str, tuple[Any, str | None, str]]:
    """name -> (QueueFilter, cursor, path): each URL built by the page's own function, as its links are."""
    from consult.review_queries import QueueFilter
    from moderation.web import _queue_url

    first = QueueFilter()
    busy = QueueFilter(consultation=BUSY_CONSULTATION)
    flagged = QueueFilter(order="flagged")
    return {
        "first": (first, None, _queue_url(first)),
        "deep": (first, deep_cursor, _queue_url(first, after=deep_cursor)),
        "consultation": (busy, None, _queue_url(busy)),
        "flagged": (flagged, None, _queue_url(flagged)),
    }


NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next"')


def check_page(base_url: str, path: str, cookie: str) -> tuple[int, str | None]:
    """The page's size and its rel="next" link; BenchError unless it is a 200 listing queue items."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        html = response.read().decode("utf-8")
    finally:
        connection.close()
    if response.status != 200 or 'class="queue-item"' not in html:
        raise BenchError(f"GET {path} as the moderator gave {response.status} and no queue item: {html[:300]!r}")
    found = NEXT_LINK.search(html)
    return len(html.encode("utf-8")), unescape(found.group(1)) if found else None


def sequential(server: Any, database: BenchDatabase, path: str, cookie: str, count: int, seconds: float) -> dict[str, Any]:
    """One keep-alive connection, one request after the other: what one moderator clicking through waits."""
    base_url = server.base_url
    shares = CpuShares(server.process_group, os.getpid(), database.process_title)
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Cookie": cookie, "Accept": "text/html"}
    latencies: list[float] = []
    errors = 0
    try:
        for _ in range(SEQUENTIAL_WARMUP):
            connection.request("GET", path, headers=headers)
            connection.getresponse().read()
        deadline = time.monotonic() + seconds
        shares.start()
        while len(latencies) < count and time.monotonic() < deadline:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            errors += response.status != 200
        cpu = shares.stop()
    finally:
        connection.close()
    latencies.sort()
    return {
        "seq_requests": len(latencies),
        "seq_p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "seq_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "seq_max_ms": round(latencies[-1] * 1000, 2) if latencies else 0.0,
        "seq_errors": errors,
        "seq_server_cpu": cpu["server_cpu"], "seq_database_cpu": cpu["database_cpu"], "seq_other_cpu": cpu["other_cpu"],
    }


LOAD_FIGURES = ("rps", "p50_ms", "p99_ms", "max_ms", "errors", "server_cpu", "database_cpu", "other_cpu")


async def _wait_until_idle(database: BenchDatabase, limit: float = 90.0) -> None:
    """Until the database runs no statement of this workload's: requests a load run left queued in the server
    are done, so that they do not slow the next measurement down."""
    connection = await pg_connect(database)
    try:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            busy = await connection.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
            )
            if not busy:
                break
            await asyncio.sleep(0.2)
    finally:
        await connection.close()
    time.sleep(0.5)


def measure_server(
    database: BenchDatabase, options: Options, paths: dict[str, tuple[Any, str | None, str]], env: dict[str, str], prefix: str,
    *, one_connection: bool = True, load: bool = True,
) -> dict[str, Any]:
    """Each page with one connection (one request after the other), then each under load, on one server."""
    figures: dict[str, Any] = {}
    with serve("main:create_app", env, options.workers) as server:
        cookie = sign_in(server.base_url)
        for name, (_f, _cursor, path) in paths.items():
            size, next_link = check_page(server.base_url, path, cookie)
            if name == "first":
                # The deep URL is built as this link is; the figures show both.
                if not next_link or "after=" not in next_link:
                    raise BenchError(f"the first page has no rel=next link with after= ({next_link!r})")
                figures[f"{prefix}first_next_link"] = next_link
            figures[f"{prefix}{name}_page_bytes"] = size
        if one_connection:
            for name, (_f, _cursor, path) in paths.items():
                seq = sequential(server, database, path, cookie, SEQUENTIAL_REQUESTS, options.load.duration)
                figures.update({f"{prefix}{name}_{key}": value for key, value in seq.items()})
                log(f"{prefix}{name}: one connection p50 {seq['seq_p50_ms']} ms, p99 {seq['seq_p99_ms']} ms ({seq['seq_requests']} requests)")
        if load:
            for name, (_f, _cursor, path) in paths.items():
                asyncio.run(_wait_until_idle(database))
                requests_file = database.data_dir / f"queue-{prefix}{name}.json"
                requests_file.write_text(json.dumps([{"method": "GET", "path": path, "headers": {"Cookie": cookie}}]), encoding="utf-8")
                result = generate_load(server, path, options.load, database.process_title, requests_file=requests_file)
                figures.update({f"{prefix}{name}_load_{key}": result[key] for key in LOAD_FIGURES})
                log(f"{prefix}{name}: {options.load.connections} connections {result['rps']} req/s, p50 {result['p50_ms']} ms, "
                     f"p99 {result['p99_ms']} ms, {result['errors']} errors")
            asyncio.run(_wait_until_idle(database))
    return figures


async def _timed(call: Callable[[], Awaitable[Any]], runs: int, seconds: float) -> list[float]:
    await call()  # the first run warms the connection pool and the plan cache
    times: list[float] = []
    deadline = time.monotonic() + seconds
    while len(times) < runs and time.monotonic() < deadline:
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return sorted(times)


async def bare_queries(moderator_id: int, paths: dict[str, tuple[Any, str | None, str]]) -> dict[str, Any]:
    """queue_page and queue_counts called directly (Tortoise and asyncpg, no HTTP, no template), and the plan of
    the slowest statement they send."""
    from consult import db, review_queries
    from consult.queries import load_principal

    principal = await load_principal(moderator_id, 1)
    if principal is None or not principal.moderates_everywhere:
        raise BenchError("the bench moderator did not load as a site-wide moderator")
    figures: dict[str, Any] = {}
    for name, (f, cursor, _path) in paths.items():
        page = await review_queries.queue_page(principal, f, cursor)
        if len(page.rows) != 50:
            raise BenchError(f"queue_page for {name} gave {len(page.rows)} rows, not 50")
        for label, call in (
            ("queue_page", lambda: review_queries.queue_page(principal, f, cursor)),
            ("queue_counts_uncached", lambda: review_queries.queue_counts(principal, f, 0)),
            ("queue_counts_cached", lambda: review_queries.queue_counts(principal, f, 3600)),
        ):
            times = await _timed(call, BARE_RUNS, BARE_SECONDS)
            figures[f"bare_{name}_{label}_p50_ms"] = round(percentile(times, 0.5) * 1000, 3)
            figures[f"bare_{name}_{label}_p99_ms"] = round(percentile(times, 0.99) * 1000, 3)
        log(f"in-process {name}: queue_page p50 {figures[f'bare_{name}_queue_page_p50_ms']} ms, "
             f"queue_counts p50 {figures[f'bare_{name}_queue_counts_uncached_p50_ms']} ms")

    # Every hand-written statement of the page, with its parameters, then EXPLAIN ANALYZE of each.
    statements: list[tuple[str, str, tuple]] = []
    original = db.fetch

    async def recording(sql: str, *params: Any) -> list[dict[str, Any]]:
        statements.append((current, sql, params))
        return await original(sql, *params)

    db.fetch = recording
    try:
        for current, (f, cursor, _path) in paths.items():
            review_queries._counts_cache.clear()
            await review_queries.queue_page(principal, f, cursor)
            await review_queries.queue_counts(principal, f, 0)
    finally:
        db.fetch = original
    from tortoise import connections

    connection = connections.get("default")
    plans = []
    for name, sql, params in statements:
        rows = await connection.execute_query_dict("EXPLAIN (ANALYZE, BUFFERS) " + sql, list(params))
        plan = [row["QUERY PLAN"] for row in rows]
        took = next((float(line.split(":")[1].split()[0]) for line in plan if line.startswith("Execution Time")), 0.0)
        plans.append((took, name, sql, params, plan))
    plans.sort(key=lambda item: -item[0])
    for took, name, sql, _params, _plan in plans:
        log(f"  {took:8.3f} ms  {name}: {' '.join(sql.split())[:110]}")
    # The full plan of the slowest statement of each kind.
    shown = set()
    for took, name, sql, params, plan in plans:
        kind = _statement_kind(sql)
        if kind in shown:
            continue
        shown.add(kind)
        figures[f"slowest_{kind}_ms"] = took
        figures[f"slowest_{kind}_variant"] = name
        print(f"\nslowest {kind} statement ({name}, {took} ms): {' '.join(sql.split())}\nparameters: {params}\n" + "\n".join(plan) + "\n",
              file=sys.stderr, flush=True)
    return figures


def _statement_kind(sql: str) -> str:
    if "GROUP BY cm.review" in sql:
        return "counts_by_reason"
    if "GROUP BY c.id" in sql:
        return "counts_by_consultation"
    if "cm.body" in sql:
        return "page_rows"
    if "GROUP BY author_id" in sql:
        return "author_history"
    return "campaign_waiting"


@workload("moderation_queue", "GET /moderation/ over 1M comments, 100k waiting (PostgreSQL only): first, deep, per consultation, most reported")
def moderation_queue(options: Options) -> dict[str, Any]:
    with fresh_database("moderation_queue") as database:
        require_postgres(database, "moderation_queue", "1,000,000 comments seeded in SQL")
        database.run_cli("migrate")
        started = time.perf_counter()
        seeded = asyncio.run(seed_queue(database))
        moderator_id = database.run(add_moderator)
        seed_seconds = round(time.perf_counter() - started, 1)
        after = seeded.pop("deep_after")
        deep_cursor = f"{after['review_since'].astimezone(timezone.utc).isoformat()}~{after['id']}"
        paths = queue_paths(deep_cursor)
        figures: dict[str, Any] = {
            "comments": QUEUE_COMMENTS, "waiting": seeded.pop("waiting"), "consultations": QUEUE_CONSULTATIONS,
            "authors": QUEUE_AUTHORS, "busy_consultation_waiting": seeded.pop("busy_consultation_waiting"),
            "seed_s": seed_seconds, **seeded, "deep_offset": DEEP_OFFSET,
            **{f"{name}_path": path for name, (_f, _c, path) in paths.items()},
        }  # fmt: skip
        figures.update(database.run(lambda: bare_queries(moderator_id, paths)))
        # The counts kept CONSULT_QUEUE_COUNTS_SECONDS (10 s by default) per process; then counted for every
        # request (one connection only: under load every request would time out); then kept for the whole run,
        # which tells the cost of the page itself under load from that of counting the queue.
        figures.update(measure_server(database, options, paths, database.env, ""))
        figures.update(measure_server(database, options, paths, {**database.env, "CONSULT_QUEUE_COUNTS_SECONDS": "0"}, "nocache_", load=False))
        figures.update(measure_server(database, options, paths, {**database.env, "CONSULT_QUEUE_COUNTS_SECONDS": "3600"}, "keptcounts_", one_connection=False))
        first_link = figures.get("first_next_link", "")
        figures["next_link_shape_matches"] = bool(re.fullmatch(r"/moderation/\?after=[^&]+", first_link)) and paths["deep"][2].startswith("/moderation/?after=")
        figures["errors"] = sum(value for key, value in figures.items() if key.endswith("_errors"))
        figures["target_p99_ms"] = TARGET_P99_MS
        figures["target_met_first_deep"] = all(figures[f"{name}_seq_p99_ms"] < TARGET_P99_MS for name in ("first", "deep"))
        return figures


# --- screening -------------------------------------------------------------------------------------------

SCREEN_COMMENTS = 5_000
SCREEN_AUTHORS = 1_000
SCREEN_SECONDS = 600.0
SCREEN_SEED = 20261122

# Clean comments are sentences of four parts drawn apart (opening, request, subject, reason): 12**4 sentences per
# language, so that two comments rarely share more than a few 3-word shingles and are not taken for a campaign.
VI_PARTS = [
    ["Tôi đề nghị", "Theo tôi cần", "Chúng tôi kiến nghị Ban soạn thảo", "Người dân khu phố tôi mong muốn",
     "Đề nghị cơ quan chủ trì", "Tôi thấy cần phải", "Xin đề xuất", "Kính đề nghị Sở Xây dựng",
     "Là người kinh doanh nhỏ, tôi đề nghị", "Gia đình tôi đề nghị", "Tổ dân phố chúng tôi đề xuất", "Cần sớm"],
    ["làm rõ thẩm quyền của Ủy ban nhân dân cấp xã", "quy định thời hạn trả lời bằng văn bản",
     "công khai danh mục giấy tờ cần nộp", "bổ sung cơ chế hỗ trợ hộ kinh doanh nhỏ", "giảm mức phí trông giữ xe",
     "tổ chức đối thoại trực tiếp với người dân", "cho phép nộp hồ sơ trực tuyến toàn trình",
     "phân biệt vi phạm lần đầu với vi phạm nhiều lần", "ưu tiên cải tạo cống thoát nước",
     "công bố dữ liệu quan trắc không khí theo giờ", "bố trí chỗ gửi xe máy gần bến xe buýt",
     "giữ nguyên diện tích cây xanh và sân chơi"],
    ["trong việc xác nhận nguồn gốc đất ở", "đối với hồ sơ đã nộp trước ngày Luật có hiệu lực",
     "khi công trình gây lún nứt nhà dân lân cận", "tại các phường thường xuyên ngập khi mưa lớn",
     "cho các tuyến phố có chợ dân sinh", "ở khu tái định cư phía tây thành phố", "đối với hộ nghèo và hộ cận nghèo",
     "trên cổng dịch vụ công của tỉnh", "ở các trường tiểu học đông học sinh", "trong quy hoạch chi tiết tỷ lệ một phần năm trăm",
     "cho người cao tuổi sống một mình", "tại các khu công nghiệp ven đô"],
    ["vì thực tế người dân phải đi lại nhiều lần", "để tránh tình trạng đùn đẩy trách nhiệm giữa các cơ quan",
     "nhằm giảm chi phí và thời gian cho người dân", "vì quy định hiện hành còn chồng chéo",
     "để người dân biết rõ quyền và nghĩa vụ của mình", "vì nhiều gia đình đã chờ đợi từ năm 2019",
     "bởi thu nhập của người lao động còn thấp", "để việc thực hiện được minh bạch và thống nhất",
     "vì mùa mưa năm ngoái nhiều nhà bị ngập sâu", "nhằm bảo đảm an toàn cho học sinh khi tan trường",
     "để doanh nghiệp có đủ thời gian chuẩn bị", "vì dự thảo chưa tính đến điều kiện thực tế của địa phương"],
]
EN_PARTS = [
    ["I suggest that the draft", "In my view the authority should", "Our residents' association asks the council to",
     "As a small trader I would ask the ministry to", "Please make sure the final text will", "The committee should",
     "We strongly recommend that the city", "Parents at our school ask the department to", "It would help if the rules",
     "I support the plan, but it must", "My family would like the province to", "Before adopting it, please"],
    ["say who pays for relocating households", "publish the traffic study behind the new bus lanes",
     "set a deadline for written replies to applications", "give small traders a grace period before fines apply",
     "remove personal data from published judgments", "show the status of each online application",
     "keep protected cycle lanes separate from parking", "publish the flood maps and the list of drainage works",
     "charge waste collection by weight only where collection is reliable", "extend the consultation by a month",
     "hold public meetings in each district", "keep the afternoon school sessions for sport and the arts"],
    ["when a project is delayed for more than two years", "along the inner ring road and its junctions",
     "for applications filed before the law takes effect", "in the wards that flood every rainy season",
     "for households on the poverty list", "in the resettlement areas west of the river",
     "near the wholesale market and the bus terminal", "for elderly people who live alone",
     "in the industrial parks outside the city", "on the provincial public service portal",
     "for schools with more than two thousand pupils", "in the detailed zoning plan for the old quarter"],
    ["because families have waited since 2019 without an answer", "so that offices stop passing the problem to each other",
     "to cut the cost and time for ordinary people", "because the current rules overlap and contradict each other",
     "so that people know their rights and duties", "because incomes in the area are still low",
     "to keep the process transparent and consistent", "since many houses were flooded last year",
     "to keep children safe when school ends", "so that businesses have time to prepare",
     "because the draft ignores local conditions", "as several neighbours have already written"],
]
WORDINGS = [
    "Cơ quan tiếp nhận hồ sơ có trách nhiệm trả lời bằng văn bản trong thời hạn 15 ngày làm việc.",
    "The authority shall reply in writing within 15 working days of receiving a complete application.",
    "Hộ kinh doanh vi phạm lần đầu được nhắc nhở bằng văn bản trước khi bị xử phạt.",
]
ABUSE_VI = ["Bọn làm dự thảo này đúng là đồ ngu.", "Óc chó mới nghĩ ra quy định này.", "Địt mẹ cái thủ tục này, đi lại mười lần.",
            "Thằng cán bộ phường làm ăn như cứt."]
ABUSE_EN = ["Whoever wrote this is a fucking idiot.", "This is bullshit and you know it.", "What a load of crap from these morons."]
PII = [
    "Liên hệ với tôi qua số 0912 345 678 để biết thêm chi tiết.",
    "Số điện thoại nhà tôi là 024 3825 7461, xin gọi sau 6 giờ tối.",
    "Please contact me at nguyen.van.an@gmail.com or on +84 903 123 456.",
    "Email của tôi: tran.thi.binh1985@yahoo.com.vn, số CCCD 001085012345.",
]
FORM_LETTERS = [
    "Kính gửi Ban soạn thảo. Chúng tôi, cư dân khu đô thị Văn Quán, kiến nghị giữ nguyên diện tích cây xanh và sân chơi "
    "trong quy hoạch chi tiết. Việc chuyển đổi khu đất công viên thành nhà cao tầng sẽ làm quá tải trường học, đường giao "
    "thông và hệ thống thoát nước vốn đã ngập mỗi mùa mưa. Đề nghị tổ chức đối thoại công khai với người dân trước khi "
    "phê duyệt. Trân trọng cảm ơn.",
    "Tôi phản đối việc tăng phí trông giữ xe máy lên gấp ba lần trong dự thảo. Phần lớn người lao động đi làm bằng xe máy "
    "và không có phương tiện công cộng thay thế. Đề nghị giữ mức phí hiện hành cho đến khi hệ thống xe buýt và đường sắt "
    "đô thị được hoàn thiện, đồng thời công khai cách tính mức phí mới.",
    "To the drafting committee: we, the parents of pupils at the district schools, ask that the new timetable rules keep "
    "the afternoon sessions free for sport and the arts. The draft cuts them to make room for extra tuition, which many "
    "families cannot afford. Please publish the evidence behind the change and hold a meeting with parents before deciding.",
    "Đề nghị bỏ quy định bắt buộc người dân nộp bản sao có chứng thực khi cơ quan nhà nước đã có dữ liệu trong cơ sở dữ "
    "liệu quốc gia về dân cư. Quy định này gây tốn kém thời gian và chi phí, trái với chủ trương cải cách thủ tục hành "
    "chính và chuyển đổi số. Xin cảm ơn Ban soạn thảo.",
]
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Minh Châu", "Phạm Quốc Dũng", "Hoàng Thu Hà", "Đặng Đức Huy", "Bùi Ngọc Lan"]


def screening_texts(n: int, seed: int) -> list[tuple[str, str | None, str]]:
    """(body, proposed wording or None, kind) for n comments: 20% form letters with small edits, 6% abusive, 6%
    with personal data, the rest clean; about two thirds in Vietnamese."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        roll = rng.random()
        vietnamese = rng.random() < 0.65
        parts = VI_PARTS if vietnamese else EN_PARTS

        def sentence() -> str:
            return " ".join(rng.choice(options) for options in parts) + "."

        if roll < 0.20:
            kind = "form_letter"
            words = rng.choice(FORM_LETTERS).split()
            for _ in range(rng.randint(0, 2)):  # a word or two changed
                words[rng.randrange(len(words))] = rng.choice(rng.choice(parts[1]).split())
            body = " ".join(words)
            if rng.random() < 0.3:
                body = f"Tôi là {rng.choice(NAMES)}. " + body
        else:
            sentences = [sentence() for _ in range(rng.randint(2, 3))]
            if roll < 0.26:
                kind = "abuse"
                sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(ABUSE_VI if vietnamese else ABUSE_EN))
            elif roll < 0.32:
                kind = "personal_data"
                sentences.append(rng.choice(PII))
            else:
                kind = "clean"
            body = " ".join(sentences)
        wording = rng.choice(WORDINGS) if rng.random() < 0.3 else None
        out.append((body, wording, kind))
    return out


async def seed_screening(texts: list[tuple[str, str | None, str]]) -> tuple[list[int], int]:
    from consult.models import Account, Agency, Comment, CommentStatus, Consultation, ConsultationKind, ConsultationStatus, Stance

    now = datetime.now(timezone.utc)
    agency = await Agency.create(slug="bench-screening", name_vi="Sở Xây dựng", name_en="Department of Construction")
    consultation = await Consultation.create(
        agency=agency, slug="bench-screening", title="Dự thảo quy chế quản lý đô thị", summary="Lấy ý kiến.",
        kind=ConsultationKind.POLICY, language="vi", status=ConsultationStatus.OPEN,
        opens_at=now - timedelta(days=3), opened_at=now - timedelta(days=3), closes_at=now + timedelta(days=27),
    )  # fmt: skip
    await Account.bulk_create(
        [Account(email=f"screen{n}@bench.invalid", display_name=f"Người góp ý {n}", password_hash="not-a-hash", email_verified_at=now)
         for n in range(SCREEN_AUTHORS)],
        batch_size=1000,
    )
    authors = await Account.filter(email__startswith="screen").order_by("id").values_list("id", flat=True)
    start = now - timedelta(days=2)
    step = timedelta(days=2) / len(texts)
    stances = list(Stance)
    await Comment.bulk_create(
        [Comment(consultation_id=consultation.id, author_id=authors[i % len(authors)], stance=stances[i % 3], body=body,
                 proposed_wording=wording, status=CommentStatus.PENDING, created_at=start + step * i, updated_at=start + step * i)
         for i, (body, wording, _kind) in enumerate(texts)],
        batch_size=1000,
    )  # fmt: skip
    ids = await Comment.filter(consultation_id=consultation.id).order_by("id").values_list("id", flat=True)
    return list(ids), consultation.id


class PartTimer:
    """Wraps an async function of a module to add up the time spent in it."""

    def __init__(self, module: Any, name: str):
        self.module, self.name, self.seconds = module, name, 0.0
        self.original = getattr(module, name)

    def __enter__(self) -> "PartTimer":
        original = self.original

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(self.module, self.name, timed)
        return self

    def __exit__(self, *exc: Any) -> None:
        setattr(self.module, self.name, self.original)


async def run_screening(settings: Any, ids: list[int], texts: list[tuple[str, str | None, str]]) -> dict[str, Any]:
    from consult import db, review_queries, reviewing
    from consult.models import Campaign
    from moderation import screening

    outcomes: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    latencies: list[float] = []
    deadline = time.monotonic() + SCREEN_SECONDS
    with PartTimer(review_queries, "screening_subject") as subject, PartTimer(review_queries, "author_recent") as history, \
            PartTimer(reviewing, "join_campaign") as campaign, PartTimer(reviewing, "record_screening") as record:
        started, cpu_started = time.perf_counter(), time.process_time()
        for comment_id, (_body, _wording, kind) in zip(ids, texts):
            if time.monotonic() > deadline:
                break
            began = time.perf_counter()
            outcome = await screening.screen(settings, comment_id)
            latencies.append(time.perf_counter() - began)
            outcomes[outcome] += 1
            by_kind.setdefault(kind, Counter())[outcome] += 1
        total = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    done = len(latencies)
    rules_db = total - subject.seconds - history.seconds - campaign.seconds - record.seconds

    # The text rules alone, on the same texts, without the database.
    rule_times = []
    for body, wording, _kind in texts[:done]:
        began = time.perf_counter()
        screening.screen_text(body)
        if wording:
            screening.screen_text(wording)
        rule_times.append(time.perf_counter() - began)
    rules_total = sum(rule_times)
    latencies.sort()
    rule_times.sort()
    top = {row["top_signal"]: row["n"] for row in await db.fetch(
        "SELECT top_signal, COUNT(*) AS n FROM comment WHERE review = 'screening' GROUP BY top_signal")}
    campaigns = await Campaign.all().values_list("size", flat=True)
    figures = {
        "comments": len(ids), "screened": done, "stopped_by_time_budget": done < len(ids),
        "seconds": round(total, 2), "comments_per_s": round(done / total, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2), "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "python_cpu_ms_per_comment": round(cpu / done * 1000, 2), "python_cpu_share_pct": round(100 * cpu / total, 1),
        **{f"outcome_{name}": n for name, n in sorted(outcomes.items())},
        **{f"held_top_signal_{name}": n for name, n in sorted(top.items(), key=lambda item: str(item[0]))},
        **{f"{kind}_{outcome}": n for kind, counter in sorted(by_kind.items()) for outcome, n in sorted(counter.items())},
        "share_read_subject_pct": round(100 * subject.seconds / total, 1),
        "share_author_history_pct": round(100 * history.seconds / total, 1),
        "share_join_campaign_pct": round(100 * campaign.seconds / total, 1),
        "share_record_pct": round(100 * record.seconds / total, 1),
        "share_rules_and_rest_pct": round(100 * rules_db / total, 1),
        "rules_only_mean_ms": round(rules_total / done * 1000, 3),
        "rules_only_p50_ms": round(percentile(rule_times, 0.5) * 1000, 3),
        "rules_only_p99_ms": round(percentile(rule_times, 0.99) * 1000, 3),
        "rules_only_comments_per_s": round(done / rules_total, 1),
        "campaigns_found": len(campaigns), "campaigns_of_5_or_more": sum(1 for size in campaigns if size >= 5),
        "largest_campaign": max(campaigns, default=0),
    }  # fmt: skip
    return figures


@workload("screening", f"moderation.screening.screen in one process over {SCREEN_COMMENTS:,} new comments: rules, history, campaigns")
def screening_workload(options: Options) -> dict[str, Any]:
    with fresh_database("screening") as database:
        database.run_cli("migrate")
        texts = screening_texts(SCREEN_COMMENTS, SCREEN_SEED)
        started = time.perf_counter()
        ids, _consultation = database.run(lambda: seed_screening(texts))
        log(f"seeded {len(ids)} pending comments in {time.perf_counter() - started:.1f} s")
        settings = database.settings
        figures = database.run(lambda: run_screening(settings, ids, texts))
        figures["mean_body_chars"] = round(sum(len(body) for body, _w, _k in texts) / len(texts))
        figures["time_budget_s"] = SCREEN_SECONDS
        return figures


# --- campaigns -------------------------------------------------------------------------------------------

CAMPAIGN_COMMENTS = 100_000
CAMPAIGN_SEED = 7
CAMPAIGN_SECONDS = 1500.0  # the grouping loop stops here even if not every comment was grouped
TRACED_WINDOW = 1_000  # the last joins, run under tracemalloc for the Python side's peak (and timed apart)
RATE_WINDOW = 10_000


def _rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


async def seed_campaign_comments(texts: list[str]) -> tuple[list[int], list[datetime], int]:
    from consult.models import Account, Agency, Comment, CommentStatus, Consultation, ConsultationKind, ConsultationStatus

    now = datetime.now(timezone.utc)
    agency = await Agency.create(slug="bench-campaigns", name_vi="Bộ Tư pháp", name_en="Ministry of Justice")
    consultation = await Consultation.create(
        agency=agency, slug="bench-campaigns", title="Dự thảo Luật sửa đổi", summary="Lấy ý kiến.",
        kind=ConsultationKind.LEGAL_TEXT, language="vi", status=ConsultationStatus.OPEN,
        opens_at=now - timedelta(days=30), opened_at=now - timedelta(days=30), closes_at=now + timedelta(days=30),
    )  # fmt: skip
    author = await Account.create(email="campaigns@bench.invalid", display_name="Người góp ý", password_hash="not-a-hash")
    start = now - timedelta(days=30)
    step = timedelta(days=30) / len(texts)
    batch = 2000
    for offset in range(0, len(texts), batch):
        await Comment.bulk_create(
            [Comment(consultation_id=consultation.id, author_id=author.id, body=text, status=CommentStatus.PUBLISHED,
                     created_at=start + step * i, updated_at=start + step * i, screened_at=start + step * i)
             for i, text in enumerate(texts[offset:offset + batch], start=offset)],
        )  # fmt: skip
    rows = await Comment.filter(consultation_id=consultation.id).order_by("id").values_list("id", "created_at")
    return [row[0] for row in rows], [row[1] for row in rows], consultation.id


async def run_campaigns(texts: list[str], ids: list[int], created: list[datetime], consultation_id: int, budget: float) -> dict[str, Any]:
    from consult import reviewing
    from consult.models import Campaign, Comment

    n = len(ids)
    timed_part = max(0, n - TRACED_WINDOW)
    times: list[float] = []
    deadline = time.monotonic() + budget
    rss_before = _rss_mib()
    stopped = False
    cpu_started = time.process_time()
    for i in range(timed_part):
        if time.monotonic() > deadline:
            stopped = True
            break
        began = time.perf_counter()
        await reviewing.join_campaign(ids[i], consultation_id, texts[i], created[i])
        times.append(time.perf_counter() - began)
        if (i + 1) % 10_000 == 0:
            log(f"grouped {i + 1:,} comments, {(i + 1) / sum(times):,.0f}/s so far, last 10k at {10_000 / sum(times[-10_000:]):,.0f}/s")
    cpu = time.process_time() - cpu_started
    traced_seconds, traced_peak, traced = 0.0, 0, 0
    if not stopped:
        gc.collect()
        tracemalloc.start()
        began = time.perf_counter()
        for i in range(timed_part, n):
            if time.monotonic() > deadline:
                stopped = True
                break
            await reviewing.join_campaign(ids[i], consultation_id, texts[i], created[i])
            traced += 1
        traced_seconds = time.perf_counter() - began
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    grouped = len(times) + traced
    total = sum(times)
    rows = await Comment.filter(id__in=ids[:grouped]).order_by("id").values_list("id", "campaign_id") if grouped <= 30_000 else \
        await Comment.filter(consultation_id=consultation_id, id__lte=ids[grouped - 1]).order_by("id").values_list("id", "campaign_id")
    sizes = await Campaign.filter(consultation_id=consultation_id).values_list("size", flat=True)
    times_sorted = sorted(times)
    return {
        "grouped": grouped, "stopped_by_time_budget": stopped,
        "seconds": round(total + traced_seconds, 1), "comments_per_s": round(len(times) / total, 1) if total else 0.0,
        "p50_ms": round(percentile(times_sorted, 0.5) * 1000, 2), "p99_ms": round(percentile(times_sorted, 0.99) * 1000, 2),
        "max_ms": round(times_sorted[-1] * 1000, 1) if times else 0.0,
        "python_cpu_ms_per_comment": round(cpu / len(times) * 1000, 2) if times else None,
        "python_cpu_share_pct": round(100 * cpu / total, 1) if total else None,
        "first_10k_per_s": round(min(RATE_WINDOW, len(times)) / sum(times[:RATE_WINDOW]), 1) if times else 0.0,
        "last_10k_per_s": round(min(RATE_WINDOW, len(times)) / sum(times[-RATE_WINDOW:]), 1) if times else 0.0,
        "traced_joins": traced, "traced_ms_per_comment": round(traced_seconds / traced * 1000, 2) if traced else None,
        "tracemalloc_peak_mib": round(traced_peak / 2**20, 2) if traced else None,
        "rss_before_loop_mib": round(rss_before, 1), "rss_after_loop_mib": round(_rss_mib(), 1),
        "campaigns_found": sum(1 for size in sizes if size >= 2), "campaigns_of_5_or_more": sum(1 for size in sizes if size >= 5),
        "largest_campaign": max(sizes, default=0),
        "_rows": rows,
    }  # fmt: skip


async def fingerprint_storage(database: BenchDatabase) -> dict[str, Any]:
    if not database.backends.database_server_url:
        path = Path(database.settings.db_url.split("://", 1)[1].split("?", 1)[0])
        return {"sqlite_file_mib": round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1)}
    connection = await pg_connect(database)
    try:
        return {
            f"{table}_mib": round(await connection.fetchval(f"SELECT pg_total_relation_size('{table}')") / 2**20, 1)
            for table in ("comment_fingerprint", "fingerprint_band", "comment")
        }
    finally:
        await connection.close()


@workload("campaigns", f"consult.reviewing.join_campaign over {CAMPAIGN_COMMENTS:,} comments of one consultation (50 form letters), in id order")
def campaigns(options: Options) -> dict[str, Any]:
    from bench.evaluate_campaigns import pair_counts, synthetic

    with fresh_database("campaigns") as database:
        database.run_cli("migrate")
        started = time.perf_counter()
        texts, labels = synthetic(CAMPAIGN_COMMENTS, CAMPAIGN_SEED)
        ids, created, consultation_id = database.run(lambda: seed_campaign_comments(texts))
        log(f"seeded {len(ids):,} comments in {time.perf_counter() - started:.1f} s")
        result = database.run(lambda: run_campaigns(texts, ids, created, consultation_id, CAMPAIGN_SECONDS))
        rows = result.pop("_rows")
        grouped = result["grouped"]
        predicted = [campaign if campaign else -comment for comment, campaign in rows]
        counts = pair_counts(predicted, labels[:grouped])
        storage = asyncio.run(fingerprint_storage(database))
        return {
            "comments": CAMPAIGN_COMMENTS, "seed": CAMPAIGN_SEED,
            "copies_of_form_letters": sum(1 for label in labels[:grouped] if label >= 0), "form_letters": 50,
            "mean_chars": round(sum(map(len, texts)) / len(texts)),
            **result,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "pair_precision": round(counts.precision, 4), "pair_recall": round(counts.recall, 4), "pair_f1": round(counts.f1, 4),
            "ari": round(counts.ari, 4), **storage, "time_budget_s": CAMPAIGN_SECONDS,
        }  # fmt: skip
