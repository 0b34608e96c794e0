"""Job functions of the moderation package.

``screen_comment`` runs for every new comment (moderation.screening); the sweep re-enqueues comments that
no screening job reached (the queue was down or a worker died), so a comment is delayed at worst, never
lost. ``bulk_decide`` applies one moderator's decision to many comments in batches."""

from __future__ import annotations

from arq.cron import cron

from consult import participation, reviewing
from consult.queue import enqueue
from moderation import screening


async def screen_comment(ctx: dict, comment_id: int) -> str:
    return await screening.screen(ctx["settings"], comment_id)


async def sweep_unscreened(ctx: dict) -> int:
    ids = await participation.unscreened_comment_ids()
    for comment_id in ids:
        await enqueue(participation.SCREEN_JOB, comment_id, _job_id=participation.screen_job_id(comment_id))
    return len(ids)


async def bulk_decide(ctx: dict, bulk_id: int) -> str:
    return await reviewing.run_bulk(ctx["settings"], bulk_id)


async def sweep_bulk(ctx: dict) -> int:
    """Bulk decisions resume where they stopped: each batch's progress is saved."""
    ids = await reviewing.unfinished_bulk_ids()
    for bulk_id in ids:
        await enqueue(reviewing.BULK_JOB, bulk_id, _job_id=reviewing.bulk_job_id(bulk_id))
    return len(ids)


async def erase_redacted_originals(ctx: dict) -> int:
    return await reviewing.erase_expired_originals()


FUNCTIONS = [screen_comment, sweep_unscreened, bulk_decide, sweep_bulk, erase_redacted_originals]
CRON_JOBS = [
    cron(sweep_unscreened, second={23}, run_at_startup=True),
    cron(sweep_bulk, second={41}, run_at_startup=True),
    cron(erase_redacted_originals, hour={3}, minute={41}, second={0}),
]
