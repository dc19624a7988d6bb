"""One LISTEN connection per API process, fanning stream-log notifications out to that process's clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator

from models.pg_listen import PgListener
from models.stream_log import TURN_EVENTS_CHANNEL


class EventHub:
    def __init__(self, dsn: str) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._listener = PgListener(dsn, TURN_EVENTS_CHANNEL, self._on_notify, self._wake_all)

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

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

    def _on_notify(self, payload: str) -> None:
        for wake in self._waiters.get(payload.partition(":")[0], ()):
            wake.set()

    def _wake_all(self) -> None:
        """After a reconnect every subscriber re-reads: notifications may have been missed meanwhile."""
        for waiters in self._waiters.values():
            for wake in waiters:
                wake.set()
