"""Appends UI chunks to a turn's stream log and wakes the API processes that stream it."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.stream_log import TURN_EVENTS_CHANNEL

_log = logging.getLogger("turnflow.event_log")

# One statement: lock the turn row while allocating seqs, insert, notify. The lock is held until commit, so a
# concurrent writer of the same turn commits after this one and readers never see seq N+1 before seq N.
_APPEND = text(
    """
    WITH alloc AS (
        UPDATE turns SET last_event_seq = last_event_seq + :n WHERE id = :turn_id RETURNING last_event_seq
    ), rows AS (
        INSERT INTO turn_events (turn_id, seq, payload)
        SELECT :turn_id, alloc.last_event_seq - :n + e.ordinality, e.payload
        FROM alloc, jsonb_array_elements(CAST(:payloads AS jsonb)) WITH ORDINALITY AS e(payload, ordinality)
        RETURNING seq
    )
    SELECT pg_notify(:channel, CAST(:turn_id AS text) || ':' || CAST(max(seq) AS text)) AS notified, max(seq) AS last
    FROM rows
    """
)


async def append_chunks(conn: AsyncConnection, turn_id: uuid.UUID | str, chunks: Sequence[dict[str, Any]]) -> int:
    """Appends within the caller's transaction; the notification goes out when it commits. Returns the last seq."""
    params = {
        "turn_id": str(turn_id),
        "n": len(chunks),
        "payloads": json.dumps(list(chunks)),
        "channel": TURN_EVENTS_CHANNEL,
    }
    row = (await conn.execute(_APPEND, params)).one()
    if row.last is None:
        raise LookupError(f"turn {turn_id} does not exist")
    return int(row.last)


class EventWriter:
    """Buffers chunks and flushes them in small batches: at once when idle, batched while a flush is in flight.

    So a slow model costs one commit per delta (lowest latency) and a fast one is batched (bounded load).
    """

    def __init__(self, engine: AsyncEngine, turn_id: str) -> None:
        self._engine = engine
        self._turn_id = turn_id
        self._pending: list[dict[str, Any]] = []
        self._emitted = 0
        self._committed = 0
        self._wake = asyncio.Event()
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False
        self._error: Exception | None = None
        self._task: asyncio.Task[None] | None = None
        self.last_seq = 0

    async def __aenter__(self) -> EventWriter:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def emit(self, chunk: dict[str, Any]) -> None:
        if self._error is not None:
            raise self._error
        self._pending.append(chunk)
        self._emitted += 1
        self._wake.set()

    async def flush(self) -> None:
        """Waits until everything emitted so far is committed."""
        target = self._emitted
        while self._committed < target and self._error is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        if self._error is not None:
            raise self._error

    async def close(self) -> None:
        """Flushes what is left and stops the writer task."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await asyncio.shield(self._task)
        if self._error is not None:
            raise self._error

    async def _run(self) -> None:
        try:
            async with self._engine.connect() as conn:
                while not (self._closed and not self._pending):
                    await self._wake.wait()
                    self._wake.clear()
                    batch, self._pending = self._pending, []
                    if batch:
                        async with conn.begin():
                            self.last_seq = await append_chunks(conn, self._turn_id, batch)
                        self._committed += len(batch)
                        self._release_waiters()
        except Exception as exc:
            _log.exception("turn %s: appending to the stream log failed", self._turn_id)
            self._error = exc
            self._release_waiters()

    def _release_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
