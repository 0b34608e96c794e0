"""`python main.py worker` as a separate process: it connects to the database itself and delivers mail
that the web app queued. Collected only when the suite runs with PostgreSQL and Redis (see conftest)."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from consult import mail
from consult.models import OutboxMail
from consult.queue import enqueue

ROOT = Path(__file__).resolve().parent.parent


async def test_worker_process_delivers_queued_mail(app, settings):
    outbox = await mail.queue_mail("worker@example.vn", "account_exists", "vi", {"site": "Consult", "base_url": "http://x"})
    await enqueue("send_mail", outbox.id, _job_id=mail.send_mail_job_id(outbox.id))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULT_")}
    env.update(
        {
            "CONSULT_DATA_DIR": settings.data_dir,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "CONSULT_MAIL_DIR": str(settings.mail_path),
            "CONSULT_SECRET_KEY": settings.secret_key,
        }
    )
    worker = subprocess.Popen([sys.executable, "main.py", "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while (await OutboxMail.get(id=outbox.id)).sent_at is None:
            assert worker.poll() is None, worker.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the worker did not send the mail"
            await asyncio.sleep(0.05)  # polling the database, bounded by the deadline
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode()
    files = list(settings.mail_path.glob(f"*-{outbox.id:012d}.eml"))
    assert len(files) == 1, output[-2000:]
