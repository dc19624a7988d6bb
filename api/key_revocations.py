"""Which API keys are revoked, known in memory by every API process: loaded at start and after a reconnect, and
told of each revocation by pg_notify (a trigger on api_keys), so a browser token is checked without a query."""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg

from models.names import API_KEY_REVOKED_CHANNEL
from turnlog.listen import PgListener

_log = logging.getLogger("turnflow.api.key_revocations")
_REVOKED = "SELECT id FROM api_keys WHERE revoked_at IS NOT NULL"


class RevokedKeys:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._revoked: set[uuid.UUID] = set()
        self._reloads: set[asyncio.Task[None]] = set()
        self._listener = PgListener(dsn, API_KEY_REVOKED_CHANNEL, self._on_notify, self._reload_soon)

    async def start(self) -> None:
        """Listening before loading: a revocation in between is heard, not missed."""
        await self._listener.start()
        await self._load()

    async def stop(self) -> None:
        await self._listener.stop()

    def __contains__(self, key_id: uuid.UUID) -> bool:
        return key_id in self._revoked

    def _on_notify(self, payload: str) -> None:
        self._revoked.add(uuid.UUID(payload))

    def _reload_soon(self) -> None:
        """Revocations sent while the listener was disconnected were missed: read them all again."""
        task = asyncio.create_task(self._load())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _load(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            rows = await conn.fetch(_REVOKED)
        finally:
            await conn.close()
        self._revoked |= {row["id"] for row in rows}
        _log.debug("%d revoked API keys known", len(self._revoked))
