"""Migrations build the schema from empty, go down cleanly, come back up, and match the ORM tables."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from models.database import asyncpg_dsn
from models.tables import Base
from tests.databases import create_database, drop_database
from turnflow.migrate import downgrade, upgrade_async

TABLES = {
    "accounts",
    "api_keys",
    "sessions",
    "chats",
    "chat_messages",
    "chat_reads",
    "turns",
    "turn_events",
    "usage_events",
    "tool_calls",
    "turn_steps",
    "session_status_updates",
    "worker_sessions",
    "worker_attempts",
}


@pytest.fixture
async def empty_database(pg_server_url: str) -> AsyncIterator[str]:
    url = await create_database(pg_server_url, prefix="turnflow_migrate")
    yield url
    await drop_database(pg_server_url, url)


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows} - {"alembic_version"}


async def test_upgrade_from_empty_then_down_and_up(empty_database: str) -> None:
    assert await _tables(empty_database) == set()
    await upgrade_async(empty_database)
    assert await _tables(empty_database) == TABLES
    await asyncio.to_thread(downgrade, empty_database, "base")
    assert await _tables(empty_database) == set()
    await upgrade_async(empty_database)
    assert await _tables(empty_database) == TABLES


async def test_migrations_match_the_models(database_url: str) -> None:
    """Autogenerate finds nothing to add: the migrations and the ORM describe the same schema."""

    def diff(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        drift = await connection.run_sync(diff)
    await engine.dispose()
    assert drift == []
