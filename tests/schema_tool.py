"""Run as a separate process (Tortoise keeps global state): builds a database either by applying the
migrations or by generating the schema from the models, then prints its schema as JSON.

    python -m tests.schema_tool migrate|generate|upgrade DB_URL

"upgrade" applies each migration in turn with demo data loaded after the first one, as a site that
already holds data would go through them.
"""

import asyncio
import json
import sys
from pathlib import Path

from tortoise import Tortoise, connections

from consult import db


async def describe(url: str) -> dict:
    conn = connections.get("default")
    schema: dict = {}
    if url.startswith("sqlite"):
        tables = [r["name"] for r in await conn.execute_query_dict("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            columns = await conn.execute_query_dict(f'PRAGMA table_info("{table}")')
            indexes = await conn.execute_query_dict(f'PRAGMA index_list("{table}")')
            index_cols = {}
            for index in indexes:
                cols = await conn.execute_query_dict(f'PRAGMA index_info("{index["name"]}")')
                index_cols[",".join(c["name"] for c in cols) + (" unique" if index["unique"] else "")] = True
            fks = await conn.execute_query_dict(f'PRAGMA foreign_key_list("{table}")')
            schema[table] = {
                "columns": sorted((c["name"], c["type"].upper(), bool(c["notnull"]), bool(c["pk"])) for c in columns),
                "indexes": sorted(index_cols),
                "foreign_keys": sorted((f["from"], f["table"], f["to"], f["on_delete"]) for f in fks),
            }
    else:
        rows = await conn.execute_query_dict(
            "SELECT table_name, column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns "
            "WHERE table_schema='public' ORDER BY table_name, column_name"
        )
        for r in rows:
            schema.setdefault(r["table_name"], {"columns": [], "indexes": [], "foreign_keys": []})["columns"].append(
                [r["column_name"], r["data_type"], r["is_nullable"], r["character_maximum_length"]]
            )
        for r in await conn.execute_query_dict("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname='public' ORDER BY indexdef"):
            # Index names differ between the two paths; what they cover is what matters.
            definition = r["indexdef"].split(" ON ", 1)[1]
            unique = r["indexdef"].startswith("CREATE UNIQUE")
            schema[r["tablename"]]["indexes"].append(("UNIQUE " if unique else "") + definition)
        fks = await conn.execute_query_dict(
            "SELECT tc.table_name, kcu.column_name, ccu.table_name AS ref, rc.delete_rule FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name "
            "JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name "
            "JOIN information_schema.referential_constraints rc ON tc.constraint_name = rc.constraint_name "
            "WHERE tc.constraint_type = 'FOREIGN KEY'"
        )
        for r in fks:
            schema[r["table_name"]]["foreign_keys"].append([r["column_name"], r["ref"], r["delete_rule"]])
        for table in schema.values():
            table["indexes"].sort()
            table["foreign_keys"].sort()
    return schema


def placeholders(url: str, count: int) -> list[str]:
    return ["?"] * count if url.startswith("sqlite") else [f"${i}" for i in range(1, count + 1)]


async def upgrade_with_data(url: str) -> None:
    from tortoise.migrations.api import migrate as tortoise_migrate

    from consult import demo

    names = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "migrations").glob("0*.py"))
    await tortoise_migrate(config=db.tortoise_config(url), target=f"models.{names[0]}")
    await Tortoise.close_connections()
    # Rows are written with the columns of the first migration (the models may be ahead of it).
    await Tortoise.init(config=db.tortoise_config(url))
    conn = connections.get("default")
    for slug, name_vi, name_en in demo.AGENCIES:
        sql = "INSERT INTO agency (slug, name_vi, name_en, created_at) VALUES ({}, {}, {}, CURRENT_TIMESTAMP)"
        await conn.execute_query(sql.format(*placeholders(url, 3)), [slug, name_vi, name_en])
    for item in demo.CONSULTATIONS:
        sql = (
            "INSERT INTO consultation (agency_id, slug, title, summary, kind, language, status, created_at, updated_at) "
            "VALUES ((SELECT id FROM agency WHERE slug = {}), {}, {}, {}, {}, {}, {}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        values = [item["agency"], item["slug"], item["title"], item["summary"], item["kind"].value, item["language"], item["status"].value]
        await conn.execute_query(sql.format(*placeholders(url, 7)), values)
    await Tortoise.close_connections()
    for name in names[1:]:
        await tortoise_migrate(config=db.tortoise_config(url), target=f"models.{name}")
        await Tortoise.close_connections()


async def main(mode: str, url: str) -> None:
    if mode == "upgrade":
        await upgrade_with_data(url)
        await Tortoise.init(config=db.tortoise_config(url))
        for table in ("tortoise_migrations",):
            await connections.get("default").execute_script(f'DROP TABLE IF EXISTS "{table}"')
    elif mode == "migrate":
        await db.migrate(url)
        await Tortoise.init(config=db.tortoise_config(url))
        for table in ("tortoise_migrations",):
            await connections.get("default").execute_script(f'DROP TABLE IF EXISTS "{table}"')
    else:
        await Tortoise.init(config=db.tortoise_config(url))
        await Tortoise.generate_schemas()
    try:
        print(json.dumps(await describe(url), sort_keys=True))
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
