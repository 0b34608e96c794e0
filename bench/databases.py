"""A fresh database for each workload: PostgreSQL when CONSULT_BENCH_DATABASE_URL is set, SQLite otherwise.

The app's own processes (migrate, demo, uvicorn) get an environment built here, in which the only
CONSULT_* values are the bench's: a developer's own DATABASE_URL or REDIS_URL never leaks into a run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Iterator, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise

from consult import db
from consult.settings import PREFIX, UNPREFIXED, Settings, load_settings

from bench.servers import BenchError, run_command

T = TypeVar("T")


def bench_settings() -> Settings:
    # Only the two bench URLs are read here; a placeholder key stops load_settings from generating one into var/.
    return load_settings(secret_key="not-used-by-the-harness")


@dataclass(frozen=True)
class Backends:
    database_server_url: str  # "" for SQLite
    redis_url: str  # "" for in-process jobs

    @property
    def db(self) -> str:
        return "postgres" if self.database_server_url else "sqlite"

    @property
    def redis(self) -> bool:
        return bool(self.redis_url)


def backends() -> Backends:
    settings = bench_settings()
    return Backends(settings.bench_database_url, settings.bench_redis_url)


@dataclass(frozen=True)
class BenchDatabase:
    backends: Backends
    data_dir: Path
    database_url: str  # "" for SQLite: the app's default file in data_dir
    process_title: str | None  # what the server's processes for this database show in `ps` (PostgreSQL's backends)

    @property
    def env(self) -> dict[str, str]:
        """Environment for the app's processes: the inherited one without any CONSULT_* value, plus the bench's."""
        env = {key: value for key, value in os.environ.items() if not (key.startswith(PREFIX) or key in UNPREFIXED)}
        env.update(
            {
                PREFIX + "DATA_DIR": str(self.data_dir),
                PREFIX + "DATABASE_URL": self.database_url,
                PREFIX + "REDIS_URL": self.backends.redis_url,
                PREFIX + "LOG_LEVEL": "WARNING",
            }
        )
        return env

    @property
    def settings(self) -> Settings:
        return load_settings(self.env)

    def run_cli(self, *args: str) -> str:
        """`python main.py ARGS` against this database, as an operator would run it."""
        return run_command([sys.executable, "main.py", *args], self.env)

    def run(self, action: Callable[[], Awaitable[T]]) -> T:
        """Run `action` in this process with Tortoise connected to this database (to seed it, or read it back)."""
        async def connected() -> T:
            await Tortoise.init(config=db.tortoise_config(self.settings.db_url), _enable_global_fallback=True)
            try:
                return await action()
            finally:
                await Tortoise.close_connections()

        return asyncio.run(connected())


@contextmanager
def fresh_database(name: str) -> Iterator[BenchDatabase]:
    """An empty database named after the workload, and a data directory, both removed at the end."""
    chosen = backends()
    data_dir = Path(tempfile.mkdtemp(prefix=f"consult-bench-{name}-"))
    try:
        if not chosen.database_server_url:
            yield BenchDatabase(chosen, data_dir, database_url="", process_title=None)
            return
        server = PostgresServer(chosen.database_server_url)
        database = f"consult_bench_{name}"
        asyncio.run(server.recreate(database))
        try:
            yield BenchDatabase(chosen, data_dir, server.url_for(database), process_title=f" {database} ")
        finally:
            asyncio.run(server.drop(database))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


class PostgresServer:
    """The server named by CONSULT_BENCH_DATABASE_URL, on which the workloads create their own databases."""

    def __init__(self, url: str):
        self.parts = urlsplit(url)
        if self.parts.scheme not in ("postgres", "postgresql", "asyncpg"):
            raise BenchError(f"{PREFIX}BENCH_DATABASE_URL must be a PostgreSQL URL, not {self.parts.scheme}://...")

    def url_for(self, database: str) -> str:
        """The same server, user and options (such as Tortoise's maxsize) with another database."""
        return urlunsplit(self.parts._replace(path="/" + database))

    async def _admin_connection(self) -> asyncpg.Connection:
        # asyncpg takes neither Tortoise's scheme nor its query options (maxsize...), so connect without them.
        admin_url = urlunsplit(self.parts._replace(scheme="postgresql", query=""))
        try:
            return await asyncpg.connect(admin_url)
        except (OSError, asyncpg.PostgresError) as error:
            raise BenchError(f"cannot connect to {PREFIX}BENCH_DATABASE_URL's server: {error}") from error

    async def recreate(self, database: str) -> None:
        connection = await self._admin_connection()
        try:
            quoted = _quote_identifier(database)
            await connection.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
            await connection.execute(f"CREATE DATABASE {quoted}")
        finally:
            await connection.close()

    async def drop(self, database: str) -> None:
        connection = await self._admin_connection()
        try:
            await connection.execute(f"DROP DATABASE IF EXISTS {_quote_identifier(database)} WITH (FORCE)")
        finally:
            await connection.close()


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- what the PostgreSQL-only workloads share ----------------------------------------------------------


def log(message: str) -> None:
    """A progress line on stderr (stdout carries the result)."""
    import time

    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def require_postgres(database: "BenchDatabase", workload: str, why: str) -> None:
    if not database.backends.database_server_url:
        raise BenchError(f"{workload} runs on PostgreSQL only ({why}): set CONSULT_BENCH_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test")


async def pg_connect(database: "BenchDatabase") -> asyncpg.Connection:
    """A plain asyncpg connection to the workload's database (asyncpg takes neither Tortoise's scheme nor its options)."""
    parts = urlsplit(database.database_url)
    return await asyncpg.connect(urlunsplit(parts._replace(scheme="postgresql", query="")))
