"""One LISTEN connection per API process, fanning stream-log notifications out to that process's viewers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from models.names import TURN_EVENTS_CHANNEL
from turnlog.listen import PgListener, Subscribers


class EventHub:
    def __init__(self, dsn: str) -> None:
        self._waiters: Subscribers[asyncio.Event] = Subscribers()
        self._listener = PgListener(dsn, TURN_EVENTS_CHANNEL, self._on_notify, self._wake_all)

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    @contextlib.asynccontextmanager
    async def subscription(self, turn_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever the turn's log may have grown; the subscriber clears it before each read."""
        wake = asyncio.Event()
        self._waiters.add((turn_id,), wake)
        try:
            yield wake
        finally:
            self._waiters.remove((turn_id,), wake)

    def _on_notify(self, payload: str) -> None:
        for wake in self._waiters.of(payload.partition(":")[0]):
            wake.set()

    def _wake_all(self) -> None:
        """After a reconnect every subscriber re-reads: notifications may have been missed meanwhile."""
        for wake in self._waiters:
            wake.set()
