"""Reading a turn's stream log: all of it (to assemble the message), or tailed as SSE frames from any seq."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.enums import FINAL_TURN_STATUSES
from turnlog import chunks
from turnlog.chunks import TERMINAL_CHUNK_TYPES, Chunk
from turnlog.hub import EventHub

DONE = "data: [DONE]\n\n"
_log = logging.getLogger("turnflow.turnlog.reader")
OUTAGE_LIMIT_S = 60.0
OUTAGE_RETRY_S = 0.5
BATCH = 500

_ALL = text("SELECT payload FROM turn_events WHERE turn_id = :turn_id ORDER BY seq")
_AFTER = text(
    """
    SELECT seq, payload::text AS payload, payload->>'type' AS kind FROM turn_events
    WHERE turn_id = :turn_id AND seq > :after ORDER BY seq LIMIT :limit
    """
)
_STATUS = text("SELECT status, last_event_seq FROM turns WHERE id = :turn_id")


async def load_chunks(conn: AsyncConnection, turn_id: uuid.UUID | str) -> list[Chunk]:
    """Every chunk of the turn so far, in order."""
    return [row.payload for row in await conn.execute(_ALL, {"turn_id": str(turn_id)})]


def sse_frame(chunk: Chunk, seq: int | None = None) -> str:
    """One SSE event; the seq, when known, is its `id:` so a client can resume after it."""
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}data: {json.dumps(chunk)}\n\n"


async def tail_turn(
    engine: AsyncEngine, hub: EventHub, turn_id: uuid.UUID, after: int, keepalive_s: float
) -> AsyncIterator[str]:
    """SSE frames with `id: <seq>`; every stream ends with `data: [DONE]`.

    A database outage (a PostgreSQL restart) is ridden out: reading resumes from the last seq sent, with
    keep-alives meanwhile; only an outage longer than OUTAGE_LIMIT_S ends the stream with an error.
    """
    cursor = _Cursor(after)
    outage_since: float | None = None
    while True:
        try:
            async for frame in _frames(engine, hub, turn_id, cursor, keepalive_s):
                outage_since = None
                yield frame
            return
        except (OSError, SQLAlchemyError) as exc:
            now = time.monotonic()
            outage_since = outage_since or now
            if now - outage_since > OUTAGE_LIMIT_S:
                _log.error("turn %s: stream read failing since %.0f s: %s", turn_id, now - outage_since, exc)
                yield sse_frame(chunks.error("the stream was interrupted; reconnect to resume"))
                yield DONE
                return
            _log.warning("turn %s: stream read failed after seq %s, retrying: %s", turn_id, cursor.last, exc)
            yield ": reconnecting\n\n"
            await asyncio.sleep(OUTAGE_RETRY_S)


class _Cursor:
    def __init__(self, last: int) -> None:
        self.last = last


async def _turn_over(engine: AsyncEngine, turn_id: uuid.UUID, last_sent: int) -> bool:
    """A finished turn with nothing left to send (its terminal chunk was pruned or never written)."""
    async with engine.connect() as conn:
        row = (await conn.execute(_STATUS, {"turn_id": turn_id})).one_or_none()
    return row is None or (row.status in FINAL_TURN_STATUSES and row.last_event_seq <= last_sent)


async def _frames(
    engine: AsyncEngine, hub: EventHub, turn_id: uuid.UUID, cursor: _Cursor, keepalive_s: float
) -> AsyncIterator[str]:
    async with hub.subscription(str(turn_id)) as wake:
        while True:
            wake.clear()
            async with engine.connect() as conn:
                params = {"turn_id": turn_id, "after": cursor.last, "limit": BATCH}
                rows = (await conn.execute(_AFTER, params)).all()
            for row in rows:
                yield f"id: {row.seq}\ndata: {row.payload}\n\n"
                cursor.last = row.seq
                if row.kind in TERMINAL_CHUNK_TYPES:
                    yield DONE
                    return
            if len(rows) == BATCH:
                continue
            if not rows and await _turn_over(engine, turn_id, cursor.last):
                yield DONE
                return
            try:
                await asyncio.wait_for(wake.wait(), timeout=keepalive_s)
            except TimeoutError:
                yield ": keep-alive\n\n"
