"""Job functions of the moderation package.

``screen_comment`` runs for every new comment. Until the moderation rules arrive it applies the
consultation's moderation mode only; the sweep re-enqueues comments that no screening job reached
(the queue was down or a worker died), so a comment is delayed at worst, never lost."""

from __future__ import annotations

from arq.cron import cron

from consult import participation
from consult.queue import enqueue


async def screen_comment(ctx: dict, comment_id: int) -> str:
    return await participation.apply_moderation_mode(comment_id)


async def sweep_unscreened(ctx: dict) -> int:
    ids = await participation.unscreened_comment_ids()
    for comment_id in ids:
        await enqueue(participation.SCREEN_JOB, comment_id, _job_id=participation.screen_job_id(comment_id))
    return len(ids)


FUNCTIONS = [screen_comment, sweep_unscreened]
CRON_JOBS = [cron(sweep_unscreened, second={23}, run_at_startup=True)]
