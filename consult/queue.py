"""One way to enqueue a job, whatever runs it.

With a Redis URL the jobs go to arq (run by ``python main.py worker``); without one they run inside
the web process. Both sides use the same job functions ``async def job(ctx, *ids)``, the same
``_job_id`` de-duplication, arq's ``Retry`` for retries, and the same cron jobs. Cron jobs only
prompt work: what they act on is read from the database, so running one twice changes nothing.

Code enqueues by job name (``await enqueue("send_mail", mail_id)``), which is how ``consult`` asks for
work done by ``moderation`` without importing it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Sequence

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.cron import CronJob
from arq.worker import Retry

log = logging.getLogger("consult.jobs")

JobFunction = Callable[..., Awaitable[Any]]
# How long a finished job's id keeps blocking a new job with the same id (arq's keep_result).
KEEP_RESULT_SECONDS = 60
MAX_CONCURRENT_JOBS = 10


# KEYS: job key, result key, queue; ARGV: expiry in ms, serialized job, score, job id. Nothing is written
# when the job or its kept result exists (the _job_id de-duplication), as in arq's enqueue_job.
ENQUEUE_SCRIPT = """
if redis.call('exists', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('psetex', KEYS[1], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[3], ARGV[3], ARGV[4])
return 1
"""


class JobQueue:
    backend = "none"

    async def enqueue(self, name: str, *args: Any, _job_id: str | None = None, _defer_by: float | None = None) -> bool:
        raise NotImplementedError

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def state(self) -> dict[str, Any]:
        raise NotImplementedError


class ArqQueue(JobQueue):
    backend = "arq"

    def __init__(self, redis_url: str = ""):
        self.redis_settings = RedisSettings.from_dsn(redis_url) if redis_url else None
        self.pool: ArqRedis | None = None
        self.owns_pool = True

    @classmethod
    def from_pool(cls, pool: ArqRedis) -> "ArqQueue":
        """Inside an arq worker: jobs enqueue further jobs on the worker's own connection."""
        queue = cls()
        queue.pool = pool
        queue.owns_pool = False
        return queue

    async def start(self) -> None:
        if self.pool is None:
            self.pool = await create_pool(self.redis_settings)

    async def stop(self) -> None:
        if self.pool is not None and self.owns_pool:
            await self.pool.aclose()
            self.pool = None

    async def enqueue(self, name: str, *args: Any, _job_id: str | None = None, _defer_by: float | None = None) -> bool:
        assert self.pool is not None, "queue not started"
        try:
            return await self._enqueue(name, args, _job_id or uuid.uuid4().hex, _defer_by)
        except Exception:  # Redis down: the work is in the database, the sweep cron enqueues it again
            log.exception("could not enqueue %s%r", name, args)
            return False

    async def _enqueue(self, name: str, args: tuple, job_id: str, defer_by: float | None) -> bool:
        """What arq's ``enqueue_job`` stores (the same keys, payload, score and expiry), in one round trip.

        arq checks and writes under WATCH/MULTI/EXEC, three round trips and most of the time of posting a
        comment; the script does the same check-and-write atomically inside Redis."""
        pool = self.pool
        enqueued_ms = int(time.time() * 1000)
        score = enqueued_ms + int((defer_by or 0) * 1000)
        payload = serialize_job(name, args, {}, None, enqueued_ms, serializer=pool.job_serializer)
        keys = [job_key_prefix + job_id, result_key_prefix + job_id, pool.default_queue_name]
        expires_ms = score - enqueued_ms + pool.expires_extra_ms
        return bool(await pool.eval(ENQUEUE_SCRIPT, 3, *keys, expires_ms, payload, score, job_id))

    async def state(self) -> dict[str, Any]:
        assert self.pool is not None
        try:
            depth = await self.pool.zcard(self.pool.default_queue_name)
        except Exception as exc:
            return {"backend": self.backend, "ok": False, "error": type(exc).__name__}
        return {"backend": self.backend, "ok": True, "queued": depth}


class InProcessQueue(JobQueue):
    """Runs jobs as asyncio tasks of the web process, with arq's contract."""

    backend = "in-process"

    def __init__(
        self,
        functions: Sequence[JobFunction],
        cron_jobs: Sequence[CronJob] = (),
        *,
        max_tries: int = 5,
        run_cron: bool = True,
        context: dict[str, Any] | None = None,
    ):
        self.functions = {f.__name__: f for f in functions}
        self.cron_jobs = list(cron_jobs)
        # arq names cron jobs "cron:<function>"; they run under that name, as in the worker.
        self.functions.update({job.name: job.coroutine for job in self.cron_jobs})
        self.max_tries = max_tries
        self.run_cron = run_cron
        self.context = dict(context or {})
        self._active: set[str] = set()
        self._finished: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()
        self._cron_task: asyncio.Task | None = None
        self._semaphore = asyncio.Semaphore(MAX_CONCURRENT_JOBS)
        self.failed = 0
        self.completed = 0

    async def start(self) -> None:
        if self.run_cron and self.cron_jobs:
            self._cron_task = asyncio.create_task(self._cron_loop())

    async def stop(self) -> None:
        if self._cron_task is not None:
            self._cron_task.cancel()
            await asyncio.gather(self._cron_task, return_exceptions=True)
            self._cron_task = None
        # Jobs still running finish; what they did not do is in the database for the next start.
        await self.drain(timeout=10)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def enqueue(self, name: str, *args: Any, _job_id: str | None = None, _defer_by: float | None = None) -> bool:
        if name not in self.functions:
            raise KeyError(f"no job function named {name!r}")
        job_id = _job_id or uuid.uuid4().hex
        now = time.monotonic()
        if job_id in self._active or self._finished.get(job_id, 0) > now:
            return False
        self._active.add(job_id)
        task = asyncio.create_task(self._run(job_id, name, args, _defer_by or 0))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, job_id: str, name: str, args: tuple, defer: float) -> None:
        try:
            if defer:
                await asyncio.sleep(defer)
            function = self.functions[name]
            for attempt in range(1, self.max_tries + 1):
                ctx = dict(self.context, job_id=job_id, job_try=attempt, enqueue=self.enqueue)
                try:
                    async with self._semaphore:
                        await function(ctx, *args)
                    self.completed += 1
                    return
                except Retry as retry:
                    if attempt == self.max_tries:
                        log.error("job %s %s gave up after %d tries", name, job_id, attempt)
                        self.failed += 1
                        return
                    await asyncio.sleep((retry.defer_score or 0) / 1000)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("job %s %s failed", name, job_id)
                    self.failed += 1
                    return
        finally:
            self._active.discard(job_id)
            self._finished[job_id] = time.monotonic() + KEEP_RESULT_SECONDS
            if len(self._finished) > 10_000:
                cutoff = time.monotonic()
                self._finished = {k: v for k, v in self._finished.items() if v > cutoff}

    async def _cron_loop(self) -> None:
        now = datetime.now(timezone.utc)
        for job in self.cron_jobs:
            job.calculate_next(now)
            if job.run_at_startup:
                await self.enqueue(job.name, _job_id=f"{job.name}:startup")
        while True:
            now = datetime.now(timezone.utc)
            for job in self.cron_jobs:
                if job.next_run is not None and job.next_run <= now:
                    await self.enqueue(job.name, _job_id=f"{job.name}:{int(job.next_run.timestamp())}")
                    job.calculate_next(now)
            await asyncio.sleep(0.5)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until no job is queued or running (jobs may enqueue more jobs)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            await asyncio.wait(list(self._tasks), timeout=remaining)

    async def state(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "ok": True,
            "queued": len(self._tasks),
            "completed": self.completed,
            "failed": self.failed,
        }


_queue: JobQueue | None = None


def install(queue: JobQueue | None) -> None:
    global _queue
    _queue = queue


def current_queue() -> JobQueue:
    if _queue is None:
        raise RuntimeError("the job queue is not running")
    return _queue


async def enqueue(name: str, *args: Any, _job_id: str | None = None, _defer_by: float | None = None) -> bool:
    return await current_queue().enqueue(name, *args, _job_id=_job_id, _defer_by=_defer_by)
