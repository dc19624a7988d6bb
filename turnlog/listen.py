"""A LISTEN connection that survives PostgreSQL restarts, and the registry of who in this process waits on which
turn; shared by the API's stream wake-ups and the worker's stop requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

import asyncpg

_log = logging.getLogger("turnflow.pg_listen")
RECONNECT_DELAY_S = 0.5
T = TypeVar("T", bound=Hashable)


class Subscribers(Generic[T]):
    """Who waits on which turn: any number per turn, forgotten when the last one leaves."""

    def __init__(self) -> None:
        self._by_turn: dict[str, set[T]] = defaultdict(set)

    def add(self, turn_ids: tuple[str, ...], subscriber: T) -> None:
        for turn_id in turn_ids:
            self._by_turn[turn_id].add(subscriber)

    def remove(self, turn_ids: tuple[str, ...], subscriber: T) -> None:
        for turn_id in turn_ids:
            subscribers = self._by_turn.get(turn_id)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._by_turn[turn_id]

    def of(self, turn_id: str) -> list[T]:
        return list(self._by_turn.get(turn_id, ()))

    def __iter__(self) -> Iterator[T]:
        return (subscriber for subscribers in self._by_turn.values() for subscriber in subscribers)


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
