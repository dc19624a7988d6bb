"""What every database shape checks in its source before reading: the tables it needs, and the accounts table."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from turnflow.errors import CommandError
from turnflow.importing.records import SourceAccount


async def require_tables(conn: asyncpg.Connection, shape: str, *tables: str) -> None:
    """Fails before anything is read when the source is not of the shape asked for."""
    missing = [t for t in tables if await conn.fetchval("SELECT to_regclass($1) IS NULL", t)]
    if missing:
        raise CommandError(f"the source has no {', '.join(missing)} table: is it a `{shape}` database?")


async def read_source_accounts(conn: asyncpg.Connection, *, required: bool) -> dict[str, SourceAccount] | None:
    """The source's accounts by id; None when it has no accounts table (then only mapped or known ids import)."""
    if await conn.fetchval("SELECT to_regclass('accounts') IS NULL"):
        if required:
            raise CommandError("the source has no accounts table")
        return None
    rows = await conn.fetch("SELECT id::text AS id, name, deleted_at IS NOT NULL AS deleted FROM accounts")
    return {r["id"]: SourceAccount(r["id"], r["name"], r["deleted"]) for r in rows}


class DatabaseSource:
    """A shape read from a database in pages of chats. `count_sql` takes the --since time as $1 (null for all)."""

    name: str
    chat_table: str
    tables: tuple[str, ...]
    count_sql: str
    accounts_required = False

    def __init__(self, conn: asyncpg.Connection, since: datetime | None, page_size: int) -> None:
        self._conn, self._since, self._page = conn, since, page_size

    async def accounts(self) -> dict[str, SourceAccount] | None:
        await require_tables(self._conn, self.name, *self.tables)
        return await read_source_accounts(self._conn, required=self.accounts_required)

    async def count(self) -> int:
        return int(await self._conn.fetchval(self.count_sql, self._since))
