"""Database configuration and migrations (Tortoise ORM's own migration tool, files in migrations/)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as tortoise_migrate

from consult.settings import Settings

# moderation.models joins this list when the moderation package gets models of its own.
MODEL_MODULES = ["consult.models"]


def tortoise_config(db_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": db_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def ensure_sqlite_dir(settings: Settings) -> None:
    if settings.is_sqlite:
        path = settings.db_url.split("://", 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def migrate(db_url: str) -> None:
    """Apply every pending migration, then close the connections it opened."""
    try:
        await tortoise_migrate(config=tortoise_config(db_url))
    finally:
        await Tortoise.close_connections()


async def ping() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
        return True
    except Exception:  # any driver error means the database is not usable now
        return False


_NUMBERED = re.compile(r"\$\d+")


async def fetch(sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows of a hand-written query, for the few hot reads where building it through the ORM costs
    more than running it (about 1 ms of CPU against 0.3). Written with PostgreSQL's $1, $2...;
    SQLite gets ?, in the same order. Values come back as the driver gives them (SQLite: times as text)."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        sql = _NUMBERED.sub("?", sql)
    return await connection.execute_query_dict(sql, list(params))


async def fetch_rows(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """``fetch`` without a dict per row: the rows as tuples, in the order of the SELECT. For the long reads of
    exports and reports, where making and taking apart a dict per row was a fifth of the Python time."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        sql = _NUMBERED.sub("?", sql)
    _count, records = await connection.execute_query(sql, list(params))
    return [tuple(record) for record in records]


def dialect() -> str:
    """"postgres" or "sqlite": for the few expressions the two write differently."""
    return connections.get("default").capabilities.dialect


def can_copy() -> bool:
    """Whether the database streams a query's result with COPY (PostgreSQL; SQLite has no COPY)."""
    return dialect() == "postgres"


def seconds_between(later: str, earlier: str) -> str:
    """SQL for the seconds from one time column to another (SQLite holds times as ISO text with their offset,
    which julianday reads to the millisecond)."""
    if dialect() == "sqlite":
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)"
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_CHUNK_ROWS = 1 << 18  # rows decoded at once: bounded buffers whatever the size of the result


async def copy_integers(select_sql: str, *params: Any, widths: tuple[int, ...]) -> list[Any]:
    """The columns of ``select_sql`` as numpy integer arrays, read with PostgreSQL's binary COPY: no Python
    object per value, which made reading 5,000,000 votes as rows take ~45 s. Every column must be a non-null
    integer of the byte width given (2: smallint, 4: integer, 8: bigint); cast and COALESCE in the SELECT.
    PostgreSQL only (``can_copy``)."""
    import numpy as np

    record = np.dtype([("fields", ">i2")] + [item for i, width in enumerate(widths)
                                            for item in ((f"length{i}", ">i4"), (f"value{i}", f">i{width}"))])
    parts: list[list[Any]] = [[] for _ in widths]
    state = {"buffer": bytearray(), "header": False}

    def decode() -> None:
        buffer = state["buffer"]
        if not state["header"]:
            if len(buffer) < 19:
                return
            if bytes(buffer[:11]) != _COPY_SIGNATURE:
                raise ValueError("not a binary COPY stream")
            skip = 19 + int.from_bytes(buffer[15:19], "big")
            if len(buffer) < skip:
                return
            del buffer[:skip]
            state["header"] = True
        count = len(buffer) // record.itemsize  # the 2-byte trailer is never a whole row
        if not count:
            return
        rows = np.frombuffer(bytes(buffer[: count * record.itemsize]), dtype=record)
        del buffer[: count * record.itemsize]
        if (rows["fields"] != len(widths)).any() or any((rows[f"length{i}"] != w).any() for i, w in enumerate(widths)):
            raise ValueError("COPY rows of another shape than the widths given (a NULL, or a wrong cast)")
        for i, width in enumerate(widths):
            parts[i].append(rows[f"value{i}"].astype(f"=i{width}"))

    async def received(chunk: bytes) -> None:
        state["buffer"] += chunk
        if len(state["buffer"]) >= _COPY_CHUNK_ROWS * record.itemsize:
            decode()

    connection = connections.get("default")
    async with connection.acquire_connection() as raw:
        await raw.copy_from_query(select_sql, *params, output=received, format="binary")
    decode()
    if state["buffer"] != b"\xff\xff":  # what is left must be the trailer: -1 as a field count
        raise ValueError("COPY stream ended inside a row")
    return [np.concatenate(columns) if columns else np.zeros(0, dtype=f"=i{width}")
            for columns, width in zip(parts, widths)]
