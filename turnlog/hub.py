"""One LISTEN connection per API process and one shared reader per watched turn: a stream-log notification wakes
the turn's reader, whose one read serves every viewer of the turn in this process."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from models.names import TURN_EVENTS_CHANNEL
from turnlog.listen import PgListener
from turnlog.tail import TurnTail


class EventHub:
    def __init__(
        self, dsn: str, engine: AsyncEngine, poll_s: float, on_delivery: Callable[[float], None] | None = None
    ) -> None:
        """`on_delivery` gets the seconds from each notification to its frames being ready for the viewers."""
        self._engine = engine
        self._poll_s = poll_s
        self._on_delivery = on_delivery
        self._tails: dict[str, TurnTail] = {}
        self._viewers: dict[str, int] = {}
        self._listener = PgListener(dsn, TURN_EVENTS_CHANNEL, self._on_notify, self._wake_all)

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()
        tails = list(self._tails.values())
        self._tails.clear()
        for tail in tails:
            tail.close()
        for tail in tails:
            await tail.closed()

    @property
    def tailed_turns(self) -> int:
        return len(self._tails)

    @contextlib.asynccontextmanager
    async def tail(self, turn_id: uuid.UUID, after: int) -> AsyncIterator[TurnTail]:
        """The turn's shared reader, started by its first viewer (from that viewer's position) and stopped when its
        last viewer leaves."""
        key = str(turn_id)
        tail = self._tails.get(key)
        if tail is None:
            tail = self._tails[key] = TurnTail(self._engine, turn_id, after, self._poll_s, self._on_delivery)
            self._viewers[key] = 0
            tail.start()
        self._viewers[key] += 1
        try:
            yield tail
        finally:
            self._viewers[key] -= 1
            if not self._viewers[key]:
                del self._viewers[key], self._tails[key]
                tail.close()

    def _on_notify(self, payload: str) -> None:
        turn_id, _, seq = payload.partition(":")
        tail = self._tails.get(turn_id)
        if tail is not None:
            tail.wake(int(seq) if seq.isdigit() else None)

    def _wake_all(self) -> None:
        """After a reconnect every reader re-reads: notifications may have been missed meanwhile."""
        for tail in self._tails.values():
            tail.wake()
