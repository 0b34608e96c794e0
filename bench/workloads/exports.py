"""export: the streamed exports of consult.exports at the size of a national consultation (PostgreSQL only).

Seeds, with COPY, 200,000 accounts and two consultations: one of 100,000 comments (with 500,000 votes and 20,000
people's answers to four questions) and one of 1,000,000 comments, about 90% of them published. Then, in this
process, times:

- ``csv_chunks`` of comments, public (published only, participant keys) and personal (every status, with the
  author's account), for the 100,000 and the 1,000,000 consultation; votes and responses of the 100,000 one;
- ``write_xlsx`` of the 100,000 consultation's public comments;
- ``opendata.write_package`` of the 100,000 consultation (every CSV and JSON file, tallies, datapackage.json);

each in a fresh process, with its seconds, rows per second, bytes, the cores used by Python, PostgreSQL and the
rest of the machine, and the growth of the resident memory over the run, sampled every 20 ms from /proc/self/statm
by a thread (the peak is what "flat memory" is about: it must not grow with the rows). The plans of a middle and
of the last batch of each comment export are in the figures too.

The seeding functions are meant for other workloads too (``report`` seeds 1,000,000 comments and 5,000,000 votes):

    connection = await pg_connect(database)
    await seed_accounts(connection, 200_000)
    seeded = await seed_consultation(connection, comments=1_000_000, votes=5_000_000, responses=20_000)

``seed_consultation`` adds one consultation to whatever is there (ids continue after the existing ones) and
returns what it made: {"consultation_id", "slug", "article_ids", "question_ids", "comments", "published",
"votes", "responses", "answers", "seconds"}. Votes follow three opinion groups (account id % 3 against comment
id % 3: agree within a group, mostly disagree across) so that opinion grouping has something to find, and the
comments' agree/disagree/pass counters match the votes.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import asyncpg

from bench.cpu import CpuShares
from bench.databases import BenchDatabase, fresh_database, log, pg_connect, require_postgres
from bench.registry import Options, workload
from bench.workloads.moderation import QUEUE_SENTENCES
from bench.servers import BenchError

ACCOUNTS = 200_000
SMALL_COMMENTS = 100_000
SMALL_VOTES = 500_000
SMALL_RESPONSES = 20_000
LARGE_COMMENTS = 1_000_000
SECRET = "bench-participant-key-secret"
TARGET_100K_S = 5.0
TARGET_1M_S = 60.0

SENTENCES = QUEUE_SENTENCES  # the same realistic bodies as the moderation queue's workload
PROVINCE_CODES = ("ha-noi", "ho-chi-minh", "da-nang", "hai-phong", "can-tho", "nghe-an", "thanh-hoa", "dong-nai", "abroad")
KINDS = ("individual", "individual", "individual", "business", "organisation", "public_body", "expert")
STANCES = ("support", "oppose", "change")
COPY_CHUNK = 50_000  # records handed to one COPY: bounded memory while seeding millions


def _mix(value: int, salt: int) -> int:
    """A cheap deterministic hash of a number (multiplicative, high bits kept): the seeded data's randomness."""
    return ((value * (2654435761 + 2 * salt)) % 4294967296) >> 8


async def _copy(connection: asyncpg.Connection, table: str, columns: list[str], records: Iterator[tuple]) -> int:
    """COPY the records in chunks: never all of them in memory."""
    total = 0
    while True:
        chunk = [record for _, record in zip(range(COPY_CHUNK), records)]
        if not chunk:
            return total
        await connection.copy_records_to_table(table, records=chunk, columns=columns)
        total += len(chunk)


async def _next_id(connection: asyncpg.Connection, table: str) -> int:
    return (await connection.fetchval(f"SELECT COALESCE(MAX(id), 0) FROM {table}")) + 1


async def _sync_sequence(connection: asyncpg.Connection, table: str) -> None:
    await connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT MAX(id) FROM {table}), 1))")


async def seed_accounts(connection: asyncpg.Connection, count: int) -> int:
    """Accounts 1..count (only those missing are added), most with a self-declared province and kind.
    Returns how many there are."""
    have = await connection.fetchval("SELECT COALESCE(MAX(id), 0) FROM account")
    if have >= count:
        return have
    now = datetime.now(timezone.utc)

    def records() -> Iterator[tuple]:
        for i in range(have + 1, count + 1):
            h = _mix(i, 1)
            yield (i, f"person{i}@bench.invalid", f"Người góp ý {i}", "not-a-password-hash", now, 1, now,
                   PROVINCE_CODES[h % len(PROVINCE_CODES)] if h % 5 else None, KINDS[h % len(KINDS)] if h % 4 else None)  # fmt: skip

    columns = ["id", "email", "display_name", "password_hash", "email_verified_at", "session_version", "created_at", "province", "respondent_kind"]
    await _copy(connection, "account", columns, records())
    await _sync_sequence(connection, "account")
    return count


def vote_value(comment_id: int, account_id: int) -> str:
    """Three opinion groups: agree within one's group, disagree (sometimes pass) with the others."""
    if comment_id % 3 == account_id % 3:
        return "agree" if _mix(comment_id + account_id, 2) % 10 else "pass"
    return "disagree" if _mix(comment_id + account_id, 3) % 5 else "pass"


def _voters(comment_id: int, count: int, accounts: int) -> Iterator[int]:
    """``count`` distinct accounts voting on a comment (a prime stride below the number of accounts)."""
    start = _mix(comment_id, 4)
    for j in range(min(count, accounts)):
        yield 1 + (start + j * 15_485_863) % accounts


async def seed_consultation(
    target: asyncpg.Connection | BenchDatabase, *, comments: int, votes: int, responses: int, accounts: int | None = None,
    articles: int = 20, slug: str | None = None,
) -> dict[str, Any]:
    """One more consultation (closed, outcome published) of ``comments`` comments by the existing accounts (seed
    them first with seed_accounts), ``votes`` votes on its published comments, ``responses`` people's answers to
    its four questions (single, multiple, scale, free text). Everything by COPY; then VACUUM ANALYZE.
    ``target``: an open asyncpg connection, or the workload's database (connected for the call)."""
    if isinstance(target, BenchDatabase):
        connection = await pg_connect(target)
        try:
            return await seed_consultation(connection, comments=comments, votes=votes, responses=responses, accounts=accounts, articles=articles, slug=slug)
        finally:
            await connection.close()
    connection = target
    started = time.perf_counter()
    accounts = accounts or await connection.fetchval("SELECT COALESCE(MAX(id), 0) FROM account")
    if accounts < 1:
        raise BenchError("seed_consultation needs accounts: call seed_accounts first")
    now = datetime.now(timezone.utc)
    opened = now - timedelta(days=60)
    agency_id = await connection.fetchval("SELECT id FROM agency WHERE slug = 'bench-agency'")
    if agency_id is None:
        agency_id = await connection.fetchval(
            "INSERT INTO agency (slug, name_vi, name_en, created_at) VALUES ('bench-agency', 'Bộ Tài nguyên và Môi trường', "
            "'Ministry of Natural Resources and Environment', now()) RETURNING id"
        )
    consultation_id = await _next_id(connection, "consultation")
    slug = slug or f"bench-consultation-{consultation_id}"
    await connection.execute(
        """INSERT INTO consultation (id, agency_id, slug, title, summary, kind, language, status, moderation_mode, opens_at, closes_at,
                                     opened_at, closed_at, created_at, updated_at, outcome_summary, outcome_published_at)
           VALUES ($1, $2, $3, $4, 'Lấy ý kiến nhân dân về dự thảo.', 'legal_text', 'vi', 'outcome_published', 'post', $5, $6, $5, $6,
                   $5, $6, '', $6)""",
        consultation_id, agency_id, slug, f"Dự thảo Luật Đất đai (sửa đổi) số {consultation_id}", opened, now - timedelta(days=1),
    )  # fmt: skip
    await _sync_sequence(connection, "consultation")
    article_ids = [
        await connection.fetchval(
            "INSERT INTO article (consultation_id, position, label, title, body_markdown, body_html, created_at, updated_at) "
            "VALUES ($1, $2, $3, 'Quy định chung', '', '', now(), now()) RETURNING id",
            consultation_id, position, f"Điều {position}",
        )
        for position in range(1, articles + 1)
    ]  # fmt: skip
    questions = [("single", "Bạn có đồng ý với dự thảo?", ["Có", "Không", "Chưa rõ"]),
                 ("multiple", "Nội dung nào cần ưu tiên?", ["Bồi thường", "Tái định cư", "Thủ tục", "Giá đất"]),
                 ("scale", "Dự thảo rõ ràng đến mức nào (1-5)?", []),
                 ("text", "Ý kiến khác của bạn?", [])]  # fmt: skip
    question_ids = [
        await connection.fetchval(
            "INSERT INTO question (consultation_id, position, kind, prompt, options, required, created_at) "
            "VALUES ($1, $2, $3, $4, $5::jsonb, false, now()) RETURNING id",
            consultation_id, position, kind, prompt, json.dumps(options, ensure_ascii=False),
        )
        for position, (kind, prompt, options) in enumerate(questions, start=1)
    ]  # fmt: skip

    first_comment = await _next_id(connection, "comment")
    published_ids: list[int] = []  # the comments that get votes; 4 bytes a comment in an array would do, a list is fine at 1M
    per_comment, extra = divmod(votes, max(1, int(comments * 0.9)))
    span = (now - opened - timedelta(days=2)).total_seconds()

    def comment_records() -> Iterator[tuple]:
        published_seen = 0
        for n in range(comments):
            cid = first_comment + n
            h1, h2, h3 = _mix(cid, 5), _mix(cid, 6), _mix(cid, 7)
            status = "published" if h1 % 100 < 90 else ("pending", "rejected", "hidden", "withdrawn")[h1 % 4]
            created = opened + timedelta(seconds=span * n / comments)
            counts = [0, 0, 0]
            if status == "published":
                published_ids.append(cid)
                share = per_comment + (1 if published_seen < extra else 0)
                published_seen += 1
                for voter in _voters(cid, share, accounts):
                    counts[("agree", "disagree", "pass").index(vote_value(cid, voter))] += 1
            body = f"{SENTENCES[h1 % 8]} {SENTENCES[h2 % 8]} (góp ý số {cid}) {SENTENCES[h3 % 8]}"
            yield (
                cid, consultation_id, article_ids[h2 % len(article_ids)] if h2 % 5 else None, 1 + h3 % accounts,
                STANCES[h3 % 3], body, "Đề nghị sửa thành: " + SENTENCES[(h1 + 3) % 8] if h3 % 3 == 2 else None, status,
                "abuse" if status in ("rejected", "hidden") else None, created + timedelta(seconds=20),
                created + timedelta(seconds=20) if status == "published" else None, *counts,
                3 if status == "hidden" else 0, created, created, 0,
            )  # fmt: skip

    comment_columns = [
        "id", "consultation_id", "article_id", "author_id", "stance", "body", "proposed_wording", "status", "reason_code", "screened_at",
        "published_at", "agree_count", "disagree_count", "pass_count", "flag_count", "created_at", "updated_at", "moderation_version",
    ]  # fmt: skip
    step = time.perf_counter()
    copied = await _copy(connection, "comment", comment_columns, comment_records())
    await _sync_sequence(connection, "comment")
    log(f"seeded {copied:,} comments in {time.perf_counter() - step:.1f} s")

    first_vote = await _next_id(connection, "vote")

    def vote_records() -> Iterator[tuple]:
        vid = first_vote
        for index, cid in enumerate(published_ids):
            share = per_comment + (1 if index < extra else 0)
            when = opened + timedelta(seconds=span * (cid - first_comment) / comments + 600)
            for voter in _voters(cid, share, accounts):
                yield (vid, cid, voter, vote_value(cid, voter), when, when)
                vid += 1

    step = time.perf_counter()
    voted = await _copy(connection, "vote", ["id", "comment_id", "account_id", "value", "created_at", "updated_at"], vote_records())
    await _sync_sequence(connection, "vote")
    published_count = len(published_ids)
    published_ids.clear()
    log(f"seeded {voted:,} votes in {time.perf_counter() - step:.1f} s")

    first_response = await _next_id(connection, "question_response")
    people = min(responses, accounts)
    await _copy(connection, "question_response", ["id", "consultation_id", "account_id", "created_at", "updated_at"], (
        (first_response + i, consultation_id, 1 + i, opened + timedelta(seconds=span * i / max(1, people)),
         opened + timedelta(seconds=span * i / max(1, people))) for i in range(people)))  # fmt: skip
    await _sync_sequence(connection, "question_response")
    single, multiple, scale, text = question_ids

    def answer_records() -> Iterator[tuple]:
        for i in range(people):
            rid, h = first_response + i, _mix(i, 8)
            yield (rid, single, h % 3, None)
            yield (rid, multiple, h % 4, None)
            if h % 3 == 0:
                yield (rid, multiple, (h + 1) % 4, None)
            yield (rid, scale, 1 + h % 5, None)
            if h % 4 == 0:
                yield (rid, text, None, f"{SENTENCES[h % 8]} (ý kiến số {i})")

    answered = await _copy(connection, "answer", ["response_id", "question_id", "option", "text"], answer_records())
    step = time.perf_counter()
    for table in ("account", "comment", "vote", "question_response", "answer"):
        await connection.execute(f"VACUUM ANALYZE {table}")  # what autovacuum would have done to tables this old
    log(f"VACUUM ANALYZE in {time.perf_counter() - step:.1f} s")
    return {
        "consultation_id": consultation_id, "slug": slug, "article_ids": article_ids, "question_ids": question_ids,
        "comments": copied, "published": published_count, "votes": voted, "responses": people, "answers": answered,
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip


# --- measuring -------------------------------------------------------------------------------------------


def _rss_mib(pid: str = "self") -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * resource.getpagesize() / 2**20
    except (OSError, IndexError, ValueError):  # a child that has just ended
        return 0.0


def _children() -> list[str]:
    pids: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += (task / "children").read_text().split()
        except OSError:
            continue
    return pids


class RssSampler:
    """The resident memory of this process, sampled every 20 ms by a thread while a run goes: its peak. With
    ``children``, of this process and the processes it started (the report job's tone worker) added up."""

    def __init__(self, interval: float = 0.02, children: bool = False):
        self.children = children
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mib() + (sum(map(_rss_mib, _children())) if self.children else 0.0))
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        gc.collect()
        self.before = _rss_mib()
        self.peak = self.before
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())


async def _measure(label: str, run: Callable[[], Awaitable[tuple[int, int]]], database_title: str | None) -> dict[str, Any]:
    """Time one export: (rows, bytes) from ``run``, seconds, rows/s, the peak RSS growth over it, and the cores
    used by this process (python_cpu), by PostgreSQL for this database, and by everything else on the machine
    (other_cpu: above 0.15 the run shared the cores and its seconds are not comparable)."""
    shares = CpuShares(-1, os.getpid(), database_title)
    with RssSampler() as rss:
        shares.start()
        started = time.perf_counter()
        count, size = await run()
        seconds = time.perf_counter() - started
        cpu = shares.stop()
    figures = {
        f"{label}_rows": count, f"{label}_s": round(seconds, 2), f"{label}_rows_per_s": round(count / seconds),
        f"{label}_mib": round(size / 2**20, 1), f"{label}_rss_growth_mib": round(rss.peak - rss.before, 1),
        f"{label}_python_cpu": cpu["loader_cpu"], f"{label}_database_cpu": cpu["database_cpu"], f"{label}_other_cpu": cpu["other_cpu"],
    }  # fmt: skip
    log(f"{label}: {count:,} rows in {seconds:.2f} s ({count / seconds:,.0f}/s), {size / 2**20:,.1f} MiB, "
         f"RSS {rss.before:.0f} -> peak {rss.peak:.0f} MiB; cores: python {cpu['loader_cpu']}, database {cpu['database_cpu']}, "
         f"others {cpu['other_cpu']}")  # fmt: skip
    return figures


async def _run_export(what: str, kind: str, consultation_id: int, personal: bool, folder: Path) -> tuple[int, int]:
    """One export as its users get it: (rows, bytes). CSV chunks are dropped once counted, as a StreamingResponse
    drops them once sent."""
    from consult import exports, opendata

    if what == "csv":
        size, lines = 0, 0
        async for chunk in exports.csv_chunks(kind, consultation_id, personal=personal, secret=SECRET):
            size += len(chunk)
            lines += chunk.count(b"\r\n")  # the seeded text has no line breaks of its own
        return lines - 1, size
    if what == "xlsx":
        path = folder / f"{kind}.xlsx"
        count = await exports.write_xlsx(kind, consultation_id, path, personal=personal, secret=SECRET)
        return count, path.stat().st_size
    files = await opendata.write_package(consultation_id, folder / "package", licence="CC-BY-4.0", secret=SECRET, base_url="https://bench.invalid", report=None)
    return sum(entry["rows"] or 0 for entry in files if entry["name"].endswith(".csv")), sum(entry["bytes"] for entry in files)


def _measure_in_child(database_url: str, database_title: str | None, label: str, what: str, kind: str, consultation_id: int, personal: bool, folder: str) -> dict[str, Any]:
    """One measurement in a fresh process (spawned): its memory starts from the imports alone, not from the
    seeding's high-water mark, so the RSS growth is the export's own."""
    from tortoise import Tortoise

    from consult import db, exports, opendata  # noqa: F401  imported before the baseline is taken
    import openpyxl  # noqa: F401

    async def measured() -> dict[str, Any]:
        await Tortoise.init(config=db.tortoise_config(database_url), _enable_global_fallback=True)
        try:
            return await _measure(label, lambda: _run_export(what, kind, consultation_id, personal, Path(folder)), database_title)
        finally:
            await Tortoise.close_connections()

    return asyncio.run(measured())


async def _plans(connection: asyncpg.Connection, small: int, large: int) -> dict[str, str]:
    """The plans of a batch in the middle and of the last one of each comment export, so the figures show whether
    a batch is an index range (as it should) or a sort of the whole consultation, or a scan past its end."""
    from consult import exports

    plans = {}
    for label, consultation_id in (("100k", small), ("1m", large)):
        ids = await connection.fetchrow("SELECT MIN(id) AS first, MAX(id) AS last FROM comment WHERE consultation_id = $1", consultation_id)
        for personal in (False, True):
            for where, after in (("middle", (ids["first"] + ids["last"]) // 2), ("last", ids["last"] - 100)):
                sql, params = exports._batch_sql("comments", consultation_id, personal, after, exports.BATCH, "postgres", ids["last"])
                lines = await connection.fetch("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql, *params)
                plans[f"plan_{label}_{'personal' if personal else 'public'}_{where}"] = " | ".join(line[0].strip() for line in lines)
    return plans


async def seed_export_data(database: BenchDatabase) -> dict[str, Any]:
    """The accounts and the two consultations, the plans of their comment batches, and what was seeded."""
    connection = await pg_connect(database)
    try:
        started = time.perf_counter()
        await seed_accounts(connection, ACCOUNTS)
        log(f"seeded {ACCOUNTS:,} accounts in {time.perf_counter() - started:.1f} s")
        small = await seed_consultation(connection, comments=SMALL_COMMENTS, votes=SMALL_VOTES, responses=SMALL_RESPONSES)
        large = await seed_consultation(connection, comments=LARGE_COMMENTS, votes=0, responses=0)
        figures: dict[str, Any] = {
            "seed_s": round(time.perf_counter() - started, 1), "accounts": ACCOUNTS,
            "small_comments": small["comments"], "small_published": small["published"], "small_votes": small["votes"],
            "small_answers": small["answers"], "large_comments": large["comments"], "large_published": large["published"],
            "comment_table_mib": round(await connection.fetchval("SELECT pg_total_relation_size('comment')") / 2**20),
            "small_id": small["consultation_id"], "large_id": large["consultation_id"],
        }  # fmt: skip
        # Read the tables once, as a server that has been running would have them in its cache.
        await connection.execute("SELECT COUNT(*), SUM(length(body)) FROM comment")
        await connection.execute("SELECT COUNT(*) FROM vote")
        figures.update(await _plans(connection, small["consultation_id"], large["consultation_id"]))
    finally:
        await connection.close()
    return figures


@workload("export", f"CSV exports of {SMALL_COMMENTS:,} and {LARGE_COMMENTS:,} comments (public, personal), votes, XLSX and the open data package")
def export(options: Options) -> dict[str, Any]:
    with fresh_database("export") as database:
        require_postgres(database, "export", "1,100,000 comments seeded with COPY")
        database.run_cli("migrate")
        seeded = asyncio.run(seed_export_data(database))
        small, large = seeded.pop("small_id"), seeded.pop("large_id")
        plans = {key: seeded.pop(key) for key in [key for key in seeded if key.startswith("plan_")]}
        jobs = [
            ("csv_comments_100k_public", "csv", "comments", small, False),
            ("csv_comments_100k_personal", "csv", "comments", small, True),
            ("csv_comments_1m_public", "csv", "comments", large, False),
            ("csv_comments_1m_personal", "csv", "comments", large, True),
            ("csv_votes_100k_public", "csv", "votes", small, False),
            ("csv_votes_100k_personal", "csv", "votes", small, True),
            ("csv_responses_100k_personal", "csv", "responses", small, True),
            ("xlsx_comments_100k_public", "xlsx", "comments", small, False),
            ("opendata_package_100k", "package", "comments", small, False),
        ]
        figures = dict(seeded)
        # A fresh process for each measurement (see _measure_in_child).
        with tempfile.TemporaryDirectory(prefix="consult-bench-export-") as folder, ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1
        ) as pool:
            for label, what, kind, consultation_id, personal in jobs:
                figures.update(pool.submit(
                    _measure_in_child, database.settings.db_url, database.process_title, label, what, kind, consultation_id, personal, folder,
                ).result())  # fmt: skip
        figures["target_100k_s"], figures["target_1m_s"] = TARGET_100K_S, TARGET_1M_S
        figures["meets_targets"] = all(
            figures[f"csv_comments_{size}_{audience}_s"] < target
            for size, target in (("100k", TARGET_100K_S), ("1m", TARGET_1M_S)) for audience in ("public", "personal")
        )
        figures.update(plans)
        return figures
