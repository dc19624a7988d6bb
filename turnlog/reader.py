"""Reading a turn's stream log: all of it (to assemble the message), or tailed as SSE frames from any seq."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from turnlog import chunks
from turnlog.chunks import Chunk
from turnlog.hub import EventHub
from turnlog.tail import read_frames

DONE = "data: [DONE]\n\n"
KEEP_ALIVE = ": keep-alive\n\n"
GAP_RETRY_S = 0.5

_ALL = text("SELECT payload FROM turn_events WHERE turn_id = :turn_id ORDER BY seq")


async def load_chunks(conn: AsyncConnection, turn_id: uuid.UUID | str) -> list[Chunk]:
    """Every chunk of the turn so far, in order."""
    return [row.payload for row in await conn.execute(_ALL, {"turn_id": str(turn_id)})]


def sse_frame(chunk: Chunk) -> str:
    """One SSE event not from the log, so without an `id:` (the log's frames carry their seq)."""
    return f"data: {json.dumps(chunk)}\n\n"


async def tail_turn(
    engine: AsyncEngine, hub: EventHub, turn_id: uuid.UUID, after: int, keepalive_s: float
) -> AsyncIterator[str]:
    """SSE frames with `id: <seq>` after `after`; every stream ends with `data: [DONE]`.

    Live frames come from the turn's shared reader; only a viewer behind the reader's window reads the gap from the
    database itself, in batches. A database outage is ridden out with keep-alives; only one longer than the
    reader's limit ends the stream with an error."""
    cursor = after
    async with hub.tail(turn_id, after) as tail:
        while True:
            if cursor < tail.base and not tail.failed:
                try:
                    async with engine.connect() as conn:
                        gap = await read_frames(conn, tail.turn_id, cursor, tail.base + 1)
                except (OSError, SQLAlchemyError):
                    yield KEEP_ALIVE  # the outage is the reader's to judge; try again shortly
                    await asyncio.sleep(GAP_RETRY_S)
                    continue
                for seq, frame, terminal in gap:
                    yield frame
                    cursor = seq
                    if terminal:
                        yield DONE
                        return
                if gap:
                    continue
                cursor = tail.base  # the gap was pruned away: go on with the window
            frames, changed = tail.frames_after(cursor)
            for seq, frame in frames:
                yield frame
                cursor = seq
                if seq == tail.terminal_seq:
                    yield DONE
                    return
            if tail.failed:
                yield sse_frame(chunks.error("the stream was interrupted; reconnect to resume"))
                yield DONE
                return
            if tail.ended and (tail.terminal_seq is None or cursor >= tail.terminal_seq):
                yield DONE
                return
            try:
                await asyncio.wait_for(changed.wait(), timeout=keepalive_s)
            except TimeoutError:
                yield KEEP_ALIVE
