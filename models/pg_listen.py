"""A LISTEN connection that survives PostgreSQL restarts; shared by the API's stream wake-ups and the worker's
stop requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

_log = logging.getLogger("turnflow.pg_listen")
RECONNECT_DELAY_S = 0.5


class PgListener:
    def __init__(
        self, dsn: str, channel: str, on_payload: Callable[[str], None], on_reconnect: Callable[[], None]
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_payload = on_payload
        self._on_reconnect = on_reconnect
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect()
        self._watchdog = asyncio.create_task(self._keep_connected())

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(self._channel, lambda _c, _p, _ch, payload: self._on_payload(payload))
        conn.add_termination_listener(lambda _: self._lost.set())
        self._conn = conn
        self._lost.clear()

    async def _keep_connected(self) -> None:
        """Notifications sent while disconnected are lost, so on_reconnect lets the owner catch up."""
        while True:
            await self._lost.wait()
            _log.warning("LISTEN %s: connection lost; reconnecting", self._channel)
            while True:
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    _log.warning("LISTEN %s: reconnect failed: %s", self._channel, exc)
                    await asyncio.sleep(RECONNECT_DELAY_S)
            self._on_reconnect()
