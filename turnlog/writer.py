"""Appends UI chunks to a turn's stream log and wakes the API processes that stream it."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from turnlog.append import AttemptSuperseded, Fence, append_chunks
from turnlog.chunks import Chunk

_log = logging.getLogger("turnflow.turnlog.writer")
IDLE_RELEASE_S = 1.0


class EventWriter:
    """Buffers chunks and flushes them in small batches: at once when idle, batched while a flush is in flight.

    So a slow model costs one commit per delta (lowest latency) and a fast one is batched (bounded load). The
    pooled connection is kept while chunks flow and given back after a quiet second, so a long, silent tool
    holds none.
    """

    def __init__(self, engine: AsyncEngine, turn_id: str, fence: Fence | None = None) -> None:
        self._engine = engine
        self._turn_id = turn_id
        self._fence = fence
        self._pending: list[Chunk] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._error: Exception | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventWriter:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def emit(self, chunk: Chunk) -> None:
        if self._error is not None:
            raise self._error
        self._pending.append(chunk)
        self._wake.set()

    async def close(self) -> None:
        """Flushes what is left and stops the writer task."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await asyncio.shield(self._task)
        if self._error is not None:
            raise self._error

    async def _autocommit_connection(self) -> AsyncConnection:
        """An append is one statement (the row lock, the insert and the NOTIFY commit together): no BEGIN and COMMIT
        round trips around it on the worker's hottest path."""
        conn = await self._engine.connect()
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    async def _run(self) -> None:
        conn: AsyncConnection | None = None
        try:
            while not (self._closed and not self._pending):
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=IDLE_RELEASE_S if conn else None)
                except TimeoutError:
                    assert conn is not None
                    await conn.close()
                    conn = None
                    continue
                self._wake.clear()
                batch, self._pending = self._pending, []
                if batch:
                    conn = conn or await self._autocommit_connection()
                    await append_chunks(conn, self._turn_id, batch, self._fence)
        except AttemptSuperseded as exc:
            _log.info("turn %s: %s; this attempt stops writing", self._turn_id, exc)
            self._error = exc
        except Exception as exc:
            _log.exception("turn %s: appending to the stream log failed", self._turn_id)
            self._error = exc
        finally:
            if conn is not None:
                await conn.close()
