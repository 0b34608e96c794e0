"""Helpers shared by the tests: databases, the mail folder, a real arq worker, forms and accounts."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
import shutil
import socket
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from arq.worker import Worker
from tortoise import Tortoise, connections

import main
from consult.settings import Settings

PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def served(app):
    """The app served by uvicorn on a free loopback port, in this event loop (so it shares the database)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)  # polling the server's own started flag
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# --- databases ------------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _admin_connection(server_url: str) -> asyncpg.Connection:
    parts = urlsplit(server_url)
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path or "/postgres", "", ""))
    return await asyncpg.connect(dsn)


async def create_postgres_database(server_url: str, name: str) -> str:
    conn = await _admin_connection(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(server_url, name)


async def drop_postgres_database(server_url: str, name: str) -> None:
    conn = await _admin_connection(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def model_tables() -> list[str]:
    return sorted(model._meta.db_table for model in Tortoise.apps.get_models_iterable() if model._meta.db_table)


async def empty_tables() -> None:
    # Ids keep counting across tests, as in production: job ids such as send_mail:<id> stay unique.
    conn = connections.get("default")
    tables = model_tables()
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
    else:
        await conn.execute_script(
            "PRAGMA foreign_keys=OFF;"
            + "".join(f'DELETE FROM "{t}";' for t in tables)
            + "PRAGMA foreign_keys=ON;"
        )


# --- jobs -----------------------------------------------------------------------------------------


async def run_arq_worker(pool, settings: Settings) -> None:
    """A real arq worker, in burst mode: it runs what is queued (and what those jobs queue), then stops."""
    worker = Worker(
        functions=main.JOB_FUNCTIONS,
        redis_pool=pool,
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
        max_tries=settings.job_max_tries,
        keep_result=main.WorkerSettings.keep_result,
        ctx={"settings": settings},
    )
    try:
        await worker.main()
    finally:
        await worker.close()


# --- mail -----------------------------------------------------------------------------------------


def clear_mail(settings: Settings) -> None:
    shutil.rmtree(settings.mail_path, ignore_errors=True)


@dataclass
class Mail:
    to: str
    subject: str
    body: str
    language: str

    def link(self, path_prefix: str) -> str:
        match = re.search(r"http://testserver(" + re.escape(path_prefix) + r"\S+)", self.body)
        assert match, f"no link to {path_prefix} in:\n{self.body}"
        return match.group(1)


class Mailbox:
    """What the app delivered to the .eml folder, after the jobs have run."""

    def __init__(self, settings: Settings, run_jobs):
        self.settings = settings
        self.run_jobs = run_jobs

    async def all(self) -> list[Mail]:
        await self.run_jobs()
        mails = []
        folder = self.settings.mail_path
        for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            mails.append(
                Mail(
                    to=message["To"],
                    subject=message["Subject"],
                    body=message.get_content(),
                    language=message["Content-Language"],
                )
            )
        return mails

    async def to(self, address: str) -> list[Mail]:
        return [m for m in await self.all() if m.to == address]

    async def last(self, address: str) -> Mail:
        mails = await self.to(address)
        assert mails, f"no mail to {address}"
        return mails[-1]


# --- pages and forms ------------------------------------------------------------------------------


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def post_form(client: httpx.AsyncClient, url: str, data: dict, page: str | None = None) -> httpx.Response:
    """Posts like a browser: load the page holding the form, then submit it with its token."""
    form_page = await client.get(page or url)
    return await client.post(url, data={**data, "csrf_token": csrf_from(form_page.text)})


def text_of(html: str) -> str:
    """The visible text, for assertions on what a person reads."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, flags=re.S)
    return unescape(match.group(1)).strip() if match else ""


def field_value(html: str, name: str) -> str | None:
    match = re.search(r'<input[^>]*name="' + re.escape(name) + r'"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return unescape(value.group(1)) if value else ""


# --- accounts -------------------------------------------------------------------------------------


async def sign_up(client, mailbox, email_address: str, name: str = "Người Dân", verify: bool = True) -> None:
    response = await post_form(
        client,
        "/account/signup",
        {"email": email_address, "display_name": name, "password": PASSWORD, "consent": "yes"},
    )
    assert response.status_code == 303, response.text
    if verify:
        link = (await mailbox.last(email_address)).link("/account/verify/")
        page = await client.get(link)
        confirmed = await client.post(link, data={"csrf_token": csrf_from(page.text)})
        assert confirmed.status_code == 303


async def sign_in(client, email_address: str, password: str = PASSWORD) -> httpx.Response:
    response = await post_form(client, "/account/signin", {"email": email_address, "password": password})
    assert response.status_code == 303, text_of(response.text)
    return response


async def make_account(client, mailbox, email_address: str, name: str = "Người Dân", role: str | None = None, agency_id=None):
    """A verified, signed-in account, with a role granted directly in the database when asked."""
    from consult.models import Account, Role, RoleGrant

    await sign_up(client, mailbox, email_address, name)
    await sign_in(client, email_address)
    account = await Account.get(email=email_address)
    if role:
        await RoleGrant.create(account=account, role=Role(role), agency_id=agency_id)
    return account
