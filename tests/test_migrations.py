"""Applying the migrations to an empty database, or one by one to a database holding data, gives exactly
the schema the models describe.

It runs on the suite's database server: SQLite by default, PostgreSQL when the suite runs on it."""

import json
import secrets
import subprocess
import sys
from pathlib import Path

from tests import helpers
from tests.conftest import BACKEND, ENV_SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def schema(mode: str, url: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.schema_tool", mode, url], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


async def test_migrations_give_the_same_schema_as_the_models(tmp_path):
    modes = ("migrate", "generate", "upgrade")
    if BACKEND == "sqlite":
        found = {mode: schema(mode, f"sqlite://{tmp_path / (mode + '.sqlite3')}") for mode in modes}
    else:
        names = {mode: f"consult_schema_{secrets.token_hex(3)}_{mode}" for mode in modes}
        try:
            found = {}
            for mode, name in names.items():
                found[mode] = schema(mode, await helpers.create_postgres_database(ENV_SETTINGS.test_database_url, name))
        finally:
            for name in names.values():
                await helpers.drop_postgres_database(ENV_SETTINGS.test_database_url, name)
    assert "account" in found["migrate"] and "outbox_mail" in found["migrate"]
    assert found["migrate"] == found["generate"]
    # A site with data goes through every migration to the same schema.
    assert found["upgrade"] == found["generate"]


def test_no_model_change_lacks_a_migration(tmp_path):
    """makemigrations would write nothing: the migration files describe the current models."""
    result = subprocess.run(
        [sys.executable, "-c", "import asyncio, main\n"
         "from tortoise.migrations.autodetector import MigrationAutodetector\n"
         "from tortoise.cli.cli import tortoise_cli_context\n"
         "async def run():\n"
         "    cfg = main.TORTOISE_ORM\n"
         "    async with tortoise_cli_context(cfg) as ctx:\n"
         "        writers = await MigrationAutodetector(ctx.apps, cfg['apps']).changes()\n"
         "        print(len(writers))\n"
         "asyncio.run(run())"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "0"
