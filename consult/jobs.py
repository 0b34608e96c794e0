"""Job functions of the consult package. Each takes ids, not objects, and is safe to run twice."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

from arq.cron import cron
from arq.worker import Retry

from consult import dashboard, mail, outcomes, services
from consult.models import AccountToken
from consult.queue import enqueue
from consult.reports import build

log = logging.getLogger("consult.jobs")

RETRY_DELAYS = (5, 30, 120, 600)


async def send_mail(ctx: dict, mail_id: int) -> str:
    outbox = await mail.claim(mail_id)
    if outbox is None:
        return "skipped"  # already sent, or another worker has it
    try:
        await mail.deliver(ctx["settings"], outbox)
    except Exception as exc:
        await mail.mark_failed(outbox, f"{type(exc).__name__}: {exc}")
        attempt = ctx.get("job_try", 1)
        log.warning("mail %s not sent (try %s): %s", mail_id, attempt, exc)
        raise Retry(defer=RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)]) from exc
    await mail.mark_sent(outbox)
    return "sent"


async def sweep_outbox(ctx: dict) -> int:
    """Re-enqueue mails that no job has sent (the queue was down, or a worker died)."""
    ids = await mail.unsent_ids(older_than_seconds=60)
    for mail_id in ids:
        await enqueue("send_mail", mail_id, _job_id=mail.send_mail_job_id(mail_id))
    return len(ids)


async def purge_expired_tokens(ctx: dict) -> int:
    cutoff = datetime.now(timezone.utc) - timedelta(days=7)
    return await AccountToken.filter(expires_at__lt=cutoff).delete()


async def advance_consultations(ctx: dict) -> dict[str, list[int]]:
    """Opens and closes consultations at their stored times (reads the database; safe to run twice)."""
    return await services.advance_lifecycle(ctx["settings"])


async def build_report(ctx: dict, consultation_id: int) -> str:
    return await build.build(consultation_id, ctx["settings"].timezone)


async def refresh_reports(ctx: dict) -> list[int]:
    """Prompts the builds that are due (open consultations with new activity, closed ones without a
    final report, requests the queue lost); the job id keeps one build per consultation at a time."""
    period = max(ctx["settings"].report_refresh_seconds, 60)
    due = await outcomes.due_reports(ctx["settings"].report_refresh_seconds)
    for consultation_id in due:
        await enqueue("build_report", consultation_id, _job_id=build.job_id(consultation_id, f"cron-{int(time.time() // period)}"))
    return due


async def release_open_data(ctx: dict, consultation_id: int) -> str:
    return await outcomes.release_open_data(ctx["settings"], consultation_id)


async def sweep_open_data(ctx: dict) -> list[int]:
    ids = await outcomes.unreleased_open_data()
    for consultation_id in ids:
        await enqueue("release_open_data", consultation_id, _job_id=f"release_open_data:{consultation_id}")
    return ids


async def refresh_dashboards(ctx: dict) -> list[str]:
    """The dashboards' figures of the last twelve months, counted again for every agency and for all."""
    return await dashboard.build_snapshots(ctx["settings"].timezone, ctx["settings"].outcome_deadline_days)


FUNCTIONS = [refresh_dashboards, send_mail, sweep_outbox, purge_expired_tokens, advance_consultations, build_report, refresh_reports, release_open_data, sweep_open_data]
CRON_JOBS = [
    cron(refresh_reports, second={30}, run_at_startup=True),
    cron(sweep_open_data, minute=set(range(3, 60, 5)), second={40}, run_at_startup=True),
    cron(advance_consultations, second={0}, run_at_startup=True),
    cron(sweep_outbox, second={7}, run_at_startup=True),
    cron(purge_expired_tokens, hour={3}, minute={17}, second={0}),
    cron(refresh_dashboards, minute=set(range(1, 60, 10)), second={50}, run_at_startup=True),
]
