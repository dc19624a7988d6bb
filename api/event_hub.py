"""One LISTEN connection per API process, fanning stream-log notifications out to that process's clients."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

import asyncpg

from models.stream_log import TURN_EVENTS_CHANNEL

_log = logging.getLogger("turnflow.event_hub")
RECONNECT_DELAY_S = 0.5


class EventHub:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._keep_connected())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    @contextlib.asynccontextmanager
    async def subscription(self, turn_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever the turn's log may have grown; the subscriber clears it before each read."""
        wake = asyncio.Event()
        self._waiters[turn_id].add(wake)
        try:
            yield wake
        finally:
            waiters = self._waiters.get(turn_id)
            if waiters is not None:
                waiters.discard(wake)
                if not waiters:
                    del self._waiters[turn_id]

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(TURN_EVENTS_CHANNEL, self._on_notify)
        conn.add_termination_listener(lambda _: self._lost.set())
        self._conn = conn
        self._lost.clear()

    async def _keep_connected(self) -> None:
        """Reconnects after PostgreSQL restarts, then wakes every subscriber: notifications may have been lost."""
        while True:
            await self._lost.wait()
            _log.warning("LISTEN connection lost; reconnecting")
            while True:
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    _log.warning("reconnecting LISTEN failed: %s", exc)
                    await asyncio.sleep(RECONNECT_DELAY_S)
            for waiters in self._waiters.values():
                for wake in waiters:
                    wake.set()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        turn_id = payload.partition(":")[0]
        for wake in self._waiters.get(turn_id, ()):
            wake.set()
