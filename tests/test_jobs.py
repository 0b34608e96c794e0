"""The job queue's contract (de-duplication, retries, cron) and the mail outbox, on the suite's backend."""

import asyncio
import socket
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from arq.cron import cron
from arq.worker import Retry

import main
from consult import jobs, mail
from consult.models import OutboxMail
from consult.queue import InProcessQueue, current_queue, enqueue
from tests.conftest import QUEUE_BACKEND

CALLS: list[tuple] = []


def startup_cron():
    # Runs at start-up only (its schedule is far away), so a burst worker still stops.
    return cron(tick, month={1}, day={1}, hour={0}, minute={0}, run_at_startup=True)


async def record(ctx, value):
    CALLS.append(("record", value, ctx["job_try"]))


async def flaky(ctx, value):
    CALLS.append(("flaky", value, ctx["job_try"]))
    if ctx["job_try"] < 3:
        raise Retry(defer=0.01)


async def tick(ctx):
    CALLS.append(("tick",))


@pytest.fixture
def calls():
    CALLS.clear()
    return CALLS


class InProcessRunner:
    def __init__(self):
        self.queue = InProcessQueue([record, flaky, tick], [startup_cron()], max_tries=5)

    async def enqueue(self, name, *args, _job_id=None):
        return await self.queue.enqueue(name, *args, _job_id=_job_id)

    async def run(self):
        await self.queue.start()
        await self.queue.drain(timeout=10)

    async def close(self):
        await self.queue.stop()


class ArqRunner:
    """The same functions through Redis and a real arq worker in burst mode."""

    def __init__(self):
        self.pool = current_queue().pool

    async def enqueue(self, name, *args, _job_id=None):
        return await self.pool.enqueue_job(name, *args, _job_id=_job_id) is not None

    async def run(self):
        from arq.worker import Worker

        worker = Worker(
            functions=[record, flaky, tick],
            cron_jobs=[startup_cron()],
            redis_pool=self.pool, burst=True, poll_delay=0.01, handle_signals=False, max_tries=5,
        )
        try:
            await worker.main()
        finally:
            await worker.close()

    async def close(self):
        pass


# The arq variant exists only when the suite runs with Redis: it is not collected, rather than skipped.
RUNNERS = {"in-process": InProcessRunner} | ({"arq": ArqRunner} if QUEUE_BACKEND == "arq" else {})


@pytest.mark.parametrize("backend", list(RUNNERS))
async def test_queue_contract_dedup_retry_and_cron(app, calls, backend):
    runner = RUNNERS[backend]()
    try:
        assert await runner.enqueue("record", 1, _job_id="same") is True
        assert await runner.enqueue("record", 2, _job_id="same") is False  # queued already
        assert await runner.enqueue("flaky", 7) is True
        await runner.run()
        assert await runner.enqueue("record", 3, _job_id="same") is False  # its result is still kept
        assert ("record", 1, 1) in calls and not any(c[:2] in (("record", 2), ("record", 3)) for c in calls)
        assert [c for c in calls if c[0] == "flaky"] == [("flaky", 7, 1), ("flaky", 7, 2), ("flaky", 7, 3)]
        assert ("tick",) in calls  # the cron job ran at start-up
    finally:
        await runner.close()


async def test_unknown_job_name_is_an_error():
    queue = InProcessQueue([record])
    with pytest.raises(KeyError):
        await queue.enqueue("no_such_job")


def test_worker_settings_hold_every_job_and_cron_job():
    names = {f.__name__ for f in main.WorkerSettings.functions}
    assert {"send_mail", "sweep_outbox", "purge_expired_tokens"} <= names
    assert {c.name for c in main.WorkerSettings.cron_jobs} >= {"cron:sweep_outbox", "cron:purge_expired_tokens"}
    assert main.WorkerSettings.on_startup is main.worker_startup


async def test_mail_is_sent_once_even_if_enqueued_twice(app, settings, run_jobs):
    outbox = await mail.queue_mail("a@example.vn", "account_exists", "en", {"site": "Consult", "base_url": "http://x"})
    await enqueue("send_mail", outbox.id, _job_id=mail.send_mail_job_id(outbox.id))
    await enqueue("send_mail", outbox.id)  # a second prompt, without the job id
    await run_jobs()
    files = list(settings.mail_path.glob("*.eml"))
    assert len(files) == 1
    stored = await OutboxMail.get(id=outbox.id)
    assert stored.sent_at is not None and stored.attempts == 1
    assert stored.body_text == ""  # links in a delivered mail are not kept in the database
    assert "You already have an account" in files[0].read_text()


async def test_a_claimed_mail_is_not_taken_twice(app):
    outbox = await mail.queue_mail("b@example.vn", "account_exists", "vi", {"site": "Consult", "base_url": "http://x"})
    first, second = await asyncio.gather(mail.claim(outbox.id), mail.claim(outbox.id))
    assert [first is None, second is None].count(True) == 1


async def test_the_sweep_sends_mail_that_was_never_enqueued(app, settings, run_jobs):
    outbox = await mail.queue_mail("lost@example.vn", "account_exists", "vi", {"site": "Consult", "base_url": "http://x"})
    await OutboxMail.filter(id=outbox.id).update(created_at=datetime.now(timezone.utc) - timedelta(minutes=5))
    assert await jobs.sweep_outbox({"settings": settings}) == 1
    await run_jobs()
    assert (await OutboxMail.get(id=outbox.id)).sent_at is not None
    assert await jobs.sweep_outbox({"settings": settings}) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


async def test_smtp_delivery_and_retry_when_the_server_is_down(app, settings):
    outbox = await mail.queue_mail("smtp@example.vn", "account_exists", "vi", {"site": "Consult", "base_url": "http://x"})
    down = settings.with_changes(smtp_host="127.0.0.1", smtp_port=1, smtp_starttls=False)
    with pytest.raises(Retry):
        await jobs.send_mail({"settings": down, "job_try": 1}, outbox.id)
    failed = await OutboxMail.get(id=outbox.id)
    assert failed.sent_at is None and failed.claimed_at is None and failed.attempts == 1 and failed.last_error

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        up = settings.with_changes(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
        assert await jobs.send_mail({"settings": up, "job_try": 2}, outbox.id) == "sent"
        assert await jobs.send_mail({"settings": up, "job_try": 1}, outbox.id) == "skipped"
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    assert inbox.messages[0].rcpt_tos == ["smtp@example.vn"]
    assert (await OutboxMail.get(id=outbox.id)).sent_at is not None
