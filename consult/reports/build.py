"""Building a report snapshot: the counted figures from SQL, then the text and vote analysis over
streamed batches, stored as one JSON document with the time it was built and the data it covers.

Memory stays bounded whatever the size: comments are read in keyset batches (twice: a sample to learn
the themes, then every comment to assign themes and sentiment), votes into compact numpy arrays.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import multiprocessing
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Iterator

import numpy as np
from tortoise.expressions import Q

from consult import db
from consult.models import Consultation, ConsultationStatus, Report
from consult.reports import aggregate, opinion, sentiment
from consult.reports.themes import ThemeFinder

log = logging.getLogger("consult.reports")

VERSION = 1
BATCH = 5000
VOTE_BATCH = 200_000
FINAL_STATUSES = (ConsultationStatus.CLOSED, ConsultationStatus.OUTCOME_PUBLISHED, ConsultationStatus.ARCHIVED)
VOTE_VALUES = {"agree": 1, "disagree": -1, "pass": 0}


def job_id(consultation_id: int, occasion: str) -> str:
    """One build per consultation and occasion: a cron period, an official's request (its time), the closing.
    A finished job's id blocks the same id for a while (arq's keep_result), so each occasion has its own."""
    return f"build_report:{consultation_id}:{occasion}"


async def _batches(sql: str, first: Any, batch: int | None = None) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Keyset pages of ``sql`` (which selects ``id`` first and has ``$1`` for ``first``, ``$2`` for the last id
    seen): never OFFSET, never everything at once. The next page is asked for before this one is handed
    over, so the database reads it while Python works on this one (the two use different cores)."""

    size = int(batch or BATCH)

    async def page(last: int) -> list[tuple[Any, ...]]:
        return await db.fetch_rows(f"{sql} ORDER BY id LIMIT {size}", first, last)

    pending = asyncio.ensure_future(page(0))
    try:
        while True:
            rows = await pending
            if len(rows) < size:
                if rows:
                    yield rows
                return
            pending = asyncio.ensure_future(page(int(rows[-1][0])))
            yield rows
    finally:
        if not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending


COMMENTS_SQL = (
    "SELECT id, article_id, stance, body FROM comment WHERE consultation_id = $1 AND status = 'published' "
    "AND parent_id IS NULL AND id > $2"
)
# The themes are learnt from a sample: a hash of the id spreads it evenly over time and articles, whatever
# other consultations' comments the ids are interleaved with. ($3: the share kept, out of 2^32.)
SAMPLE_SQL = COMMENTS_SQL + " AND (id * 2654435761) % 4294967296 < $3"
SAMPLE_SIZE = 20_000
TEXT_ANSWERS_SQL = (
    "SELECT a.id AS id, a.text AS body FROM answer a WHERE a.question_id = $1 AND a.text IS NOT NULL AND a.id > $2"
)
# Votes on comments taken down later stay in, as Polis keeps a moderated-out comment: its column counts as
# zeros (opinion.py), so the people who voted on it are scaled as Polis scales them.
VOTES_SQL = (
    "SELECT v.id AS id, v.account_id, v.comment_id, v.value, c.status FROM vote v JOIN comment c ON c.id = v.comment_id "
    "WHERE c.consultation_id = $1 AND v.id > $2"
)


async def _sample(consultation_id: int, published: int) -> AsyncIterator[list[tuple[Any, ...]]]:
    if published <= SAMPLE_SIZE * 1.2:
        async for rows in _batches(COMMENTS_SQL, consultation_id):
            yield rows
        return
    keep = int(2**32 * SAMPLE_SIZE / published)
    last = 0
    while True:
        rows = await db.fetch_rows(f"{SAMPLE_SQL} ORDER BY id LIMIT {BATCH}", consultation_id, last, keep)
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        last = int(rows[-1][0])


# From this many published comments on, their tone is counted in a worker process, beside the theme assignment
# in this one (the two took 35 and 40 s of one core at 900,000 comments): a second core, for the price of
# starting a process (about a second).
TONE_WORKER_FROM = 50_000
TONE_BACKLOG = 2  # batches handed to the worker and not yet counted: bounded memory if it falls behind


@contextlib.contextmanager
def _tone_worker(published: int) -> Iterator[concurrent.futures.Executor | None]:
    if published < TONE_WORKER_FROM:
        yield None
        return
    # spawn, not fork: the parent runs an event loop and database connections a forked child must not share.
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class _Tones:
    """The tone tallies of every batch, added up."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.checked = self.matched = 0

    def add(self, tally: dict[str, Any]) -> None:
        self.counts.update(tally["counts"])
        self.checked += tally["checked"]
        self.matched += tally["matched"]

    def result(self) -> dict[str, Any]:
        names = {1: "positive", 0: "neutral", -1: "negative"}
        tone = dict.fromkeys(names.values(), 0)
        by_language: dict[str, dict[str, int]] = {}
        for (language, verdict), n in sorted(self.counts.items()):
            tone[names[verdict]] += n
            by_language.setdefault(language, dict.fromkeys(names.values(), 0))[names[verdict]] += n
        return {
            **tone,
            "total": sum(tone.values()),
            "by_language": by_language,
            "measured": sentiment.MEASURED,
            "stance_checked": self.checked,
            "stance_matched": self.matched,
        }


async def _themes_and_sentiment(consultation_id: int, articles: list[dict[str, Any]], published: int) -> tuple[dict[str, Any], dict[str, Any]]:
    finder = ThemeFinder()
    async for rows in _sample(consultation_id, published):
        finder.add_sample([(int(r[0]), r[3]) for r in rows])
    finder.fit()
    per_article: dict[Any, Counter] = defaultdict(Counter)
    tones = _Tones()
    assigned = unassigned = 0
    loop = asyncio.get_running_loop()
    with _tone_worker(published) as worker:
        backlog: collections.deque[asyncio.Future] = collections.deque()
        async for rows in _batches(COMMENTS_SQL, consultation_id):
            pairs = [(stance, body) for _id, _article, stance, body in rows]
            if worker is None:
                tones.add(sentiment.tally(pairs))
            else:
                backlog.append(loop.run_in_executor(worker, sentiment.tally, pairs))
            labels = finder.assign([(int(r[0]), r[3]) for r in rows])
            for (_id, article_id, _stance, _body), label in zip(rows, labels):
                if label is None:
                    unassigned += 1
                else:
                    assigned += 1
                    per_article[article_id][label] += 1
            while len(backlog) > TONE_BACKLOG:
                tones.add(await backlog.popleft())
        while backlog:
            tones.add(await backlog.popleft())
    themes = finder.result()
    for article in articles:
        counts = per_article.get(article["id"], Counter())
        article["themes"] = [{"theme": theme, "count": n} for theme, n in counts.most_common(3)]
    return {"items": themes, "assigned": assigned, "unassigned": unassigned}, tones.result()


async def _text_answer_themes(question_id: int) -> dict[str, Any]:
    finder = ThemeFinder(max_themes=5)
    count = 0
    async for rows in _batches(TEXT_ANSWERS_SQL, question_id):
        finder.add_sample([(int(r[0]), r[1]) for r in rows])
        count += len(rows)
    finder.fit()
    async for rows in _batches(TEXT_ANSWERS_SQL, question_id):
        finder.assign([(int(r[0]), r[1]) for r in rows])
    return {"answers": count, "themes": finder.result()}


VOTES_COPY_SQL = (
    "SELECT v.account_id::int8, v.comment_id::int8, "
    "(CASE v.value WHEN 'agree' THEN 1 WHEN 'disagree' THEN -1 ELSE 0 END)::int2, "
    "(CASE WHEN c.status = 'published' THEN 0 ELSE 1 END)::int2 FROM vote v JOIN comment c ON c.id = v.comment_id WHERE c.consultation_id = $1"
)


async def _votes(consultation_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every vote of the consultation as (participant, comment, value) arrays, and the comments taken down."""
    if db.can_copy():
        participants, comments, values, down = await db.copy_integers(VOTES_COPY_SQL, consultation_id, widths=(8, 8, 2, 2))
        return participants, comments, values.astype(np.int8), np.unique(comments[down == 1])
    parts: list[np.ndarray] = []
    comment_parts: list[np.ndarray] = []
    value_parts: list[np.ndarray] = []
    taken_down: set[int] = set()
    async for rows in _batches(VOTES_SQL, consultation_id, VOTE_BATCH):
        _ids, accounts, voted, value_names, statuses = zip(*rows)
        parts.append(np.fromiter(accounts, dtype=np.int64, count=len(rows)))
        comment_parts.append(np.fromiter(voted, dtype=np.int64, count=len(rows)))
        value_parts.append(np.fromiter((VOTE_VALUES.get(v, 0) for v in value_names), dtype=np.int8, count=len(rows)))
        taken_down.update(int(c) for c, status in zip(voted, statuses) if status != "published")

    def joined(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)

    return (joined(parts, np.int64), joined(comment_parts, np.int64), joined(value_parts, np.int8),
            np.fromiter(taken_down, dtype=np.int64, count=len(taken_down)))


async def _opinion_groups(consultation_id: int) -> dict[str, Any]:
    participants, comments, values, taken_down = await _votes(consultation_id)
    return opinion.opinion_groups(participants, comments, values, rejected=taken_down)


async def compute(consultation_id: int, time_zone: str) -> dict[str, Any]:
    """The whole snapshot of one consultation, as a JSON-ready dict."""
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        timings[name] = round(now - started, 3)
        started = now

    covers = await aggregate.covered_ids(consultation_id)
    data: dict[str, Any] = {"version": VERSION, "covers": covers}
    data["participation"] = await aggregate.participation(consultation_id, time_zone)
    lap("participation")
    data["articles"] = await aggregate.articles(consultation_id)
    data["questions"] = await aggregate.questions(consultation_id)
    for question in data["questions"]:
        if question["kind"] == "text":
            question["text"] = await _text_answer_themes(question["id"])
    lap("articles_and_questions")
    data["themes"], data["sentiment"] = await _themes_and_sentiment(consultation_id, data["articles"], data["participation"]["comments"]["published"])
    lap("themes_and_sentiment")
    data["campaigns"] = await aggregate.campaigns(consultation_id)
    data["moderation"] = await aggregate.moderation(consultation_id)
    lap("campaigns_and_moderation")
    data["opinion"] = await _opinion_groups(consultation_id)
    lap("opinion_groups")
    data["timings"] = timings
    return data


async def build(consultation_id: int, time_zone: str) -> str:
    """Build and store the snapshot; what the job runs. A snapshot built after closing is final, and a
    build that started before closing never overwrites it."""
    consultation = await Consultation.get_or_none(id=consultation_id)
    if consultation is None:
        return "gone"
    final = consultation.status in FINAL_STATUSES
    report, _created = await Report.get_or_create(consultation_id=consultation_id)
    started_at = datetime.now(timezone.utc)
    await Report.filter(id=report.id).update(started_at=started_at)
    clock = time.perf_counter()
    try:
        data = await compute(consultation_id, time_zone)
    except Exception:
        await Report.filter(id=report.id).update(failed_at=datetime.now(timezone.utc), started_at=None)
        raise
    seconds = time.perf_counter() - clock
    data["built_at"] = datetime.now(timezone.utc).isoformat()
    data["final"] = final
    covers = data["covers"]
    written = await Report.filter(Q(final=False) | Q(final=final), id=report.id).update(
        data=data, built_at=datetime.now(timezone.utc), build_seconds=round(seconds, 3), final=final,
        last_comment_id=covers["comment"], last_vote_id=covers["vote"], last_response_id=covers["response"],
        started_at=None, failed_at=None, requested_at=None,
    )
    log.info("report %s built in %.1f s (final=%s, written=%s)", consultation_id, seconds, final, bool(written))
    return "built" if written else "kept final"
