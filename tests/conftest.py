"""The test harness: the real app, in-process over HTTP, on a real database, with real jobs.

The suite runs on SQLite by default. With CONSULT_TEST_DATABASE_URL (a PostgreSQL server URL) it runs
on a fresh database created on that server; with CONSULT_TEST_REDIS_URL, jobs go through Redis and are
run by a real arq worker. Both are read through consult.settings, the only reader of the environment.
Each test starts from empty tables, an empty outbox folder and fresh rate limits.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import main  # noqa: E402
from consult import db  # noqa: E402
from consult.queue import ArqQueue, InProcessQueue, current_queue  # noqa: E402
from consult.settings import Settings, load_settings  # noqa: E402
from tests import helpers  # noqa: E402

ENV_SETTINGS = load_settings(environ={k: v for k, v in os.environ.items() if k.startswith("CONSULT_TEST_")})
BACKEND = "postgres" if ENV_SETTINGS.test_database_url else "sqlite"
QUEUE_BACKEND = "arq" if ENV_SETTINGS.test_redis_url else "in-process"


# Tests that only make sense with the production services are not collected without them, rather
# than skipped (in CI the second run sets both, and .ci/run fails if either is unreachable).
collect_ignore = [] if (BACKEND, QUEUE_BACKEND) == ("postgres", "arq") else ["test_worker_process.py"]
# The screenshot command always makes its own SQLite database: running it again on PostgreSQL adds nothing.
if BACKEND != "sqlite":
    collect_ignore.append("test_screenshots.py")


def pytest_report_header(config):
    return f"consult: database={BACKEND}, jobs={QUEUE_BACKEND}"


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("consult")


@pytest.fixture(scope="session")
async def database_url(tmp_root):
    """A fresh, migrated database for the session, dropped at the end."""
    if BACKEND == "sqlite":
        url = f"sqlite://{tmp_root / 'test.sqlite3'}"
        await db.migrate(url)
        yield url
        return
    name = f"consult_test_{secrets.token_hex(4)}"
    url = await helpers.create_postgres_database(ENV_SETTINGS.test_database_url, name)
    try:
        await db.migrate(url)
        yield url
    finally:
        await helpers.drop_postgres_database(ENV_SETTINGS.test_database_url, name)


@pytest.fixture(scope="session")
def oidc_provider():
    """The OpenID Connect provider of the tests, served on loopback for the whole session (tests.oidc_provider)."""
    from tests.oidc_provider import TestProvider

    provider = TestProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def settings(tmp_root, database_url, oidc_provider) -> Settings:
    return load_settings(
        environ={},
        data_dir=str(tmp_root / "var"),
        database_url=database_url,
        redis_url=ENV_SETTINGS.test_redis_url,
        secret_key="test-" + secrets.token_urlsafe(24),
        base_url="http://testserver",
        mail_dir=str(tmp_root / "mail"),
        # Tests look at pages right after changing what they show; test_page_cache turns the cache on.
        page_cache_seconds=0,
        queue_counts_seconds=0,
        oidc_providers=json.dumps(oidc_provider.settings_value()),
    )


@pytest.fixture(scope="session")
async def app(settings):
    application = main.create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(autouse=True)
async def clean_state(request, app, settings, oidc_provider):
    """Empty tables, outbox folder, rate limits and Redis queue before each test."""
    if "app" not in request.fixturenames and "client" not in request.fixturenames:
        yield
        return
    await helpers.empty_tables()
    oidc_provider.reset()
    helpers.clear_mail(settings)
    await app.state.rate_limiter.reset()
    queue = current_queue()
    if isinstance(queue, ArqQueue):
        await queue.pool.flushdb()
    yield
    await run_jobs_for(app)


async def run_jobs_for(app) -> None:
    queue = current_queue()
    if isinstance(queue, InProcessQueue):
        await queue.drain(timeout=30)
    else:
        await helpers.run_arq_worker(queue.pool, app.state.settings)


@pytest.fixture
def run_jobs(app):
    """Runs every queued job to the end: the in-process runner, or a real arq worker in burst mode."""

    async def run() -> None:
        await run_jobs_for(app)

    return run


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def new_client(app):
    """More browsers: each call gives a client with its own cookies."""
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


@pytest.fixture
async def mailbox(settings, run_jobs):
    return helpers.Mailbox(settings, run_jobs)



# --- a real server and a real browser -------------------------------------------------------------


def missing(reason: str):
    """Where a tool is missing: fail in CI (CONSULT_TEST_STRICT), skip with the reason elsewhere."""
    if ENV_SETTINGS.test_strict:
        pytest.fail(reason + " (required: CONSULT_TEST_STRICT is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
async def live_server(app):
    """The same app served by uvicorn on loopback, in the tests' event loop (so it shares the database)."""
    async with helpers.served(app) as url:
        yield url


@pytest.fixture(scope="session")
async def browser():
    executable = Path(ENV_SETTINGS.test_browser)
    if not executable.exists():
        missing(f"Chromium not found at {executable} (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing("the playwright package is not installed")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(executable),
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            ],
        )
        yield chromium
        await chromium.close()
