"""Serves a turn's stream log as the AI SDK UI message stream, from any seq, live or finished."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.event_hub import EventHub
from models.enums import TurnStatus
from models.stream_log import TERMINAL_CHUNK_TYPES

UI_STREAM_HEADERS = {
    "x-vercel-ai-ui-message-stream": "v1",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}
DONE = "data: [DONE]\n\n"
_log = logging.getLogger("turnflow.api.stream")
BATCH = 500
_FINAL = (TurnStatus.COMPLETED.value, TurnStatus.STOPPED.value, TurnStatus.FAILED.value)

_READ = text(
    """
    SELECT seq, payload::text AS payload, payload->>'type' AS kind FROM turn_events
    WHERE turn_id = :turn_id AND seq > :after ORDER BY seq LIMIT :limit
    """
)
_STATUS = text("SELECT status, last_event_seq FROM turns WHERE id = :turn_id")


async def _turn_over(engine: AsyncEngine, turn_id: uuid.UUID, last_sent: int) -> bool:
    """A finished turn with nothing left to send (its terminal chunk was pruned or never written)."""
    async with engine.connect() as conn:
        row = (await conn.execute(_STATUS, {"turn_id": turn_id})).one_or_none()
    return row is None or (row.status in _FINAL and row.last_event_seq <= last_sent)


async def stream_turn(
    engine: AsyncEngine, hub: EventHub, turn_id: uuid.UUID, after: int, keepalive_s: float
) -> AsyncIterator[str]:
    """SSE frames with `id: <seq>`; every stream ends with `data: [DONE]`, also when reading the log fails."""
    try:
        async for frame in _frames(engine, hub, turn_id, after, keepalive_s):
            yield frame
    except (OSError, SQLAlchemyError) as exc:
        _log.error("turn %s: stream read failed after seq %s: %s", turn_id, after, exc)
        error = {"type": "error", "errorText": "the stream was interrupted; reconnect to resume"}
        yield f"data: {json.dumps(error)}\n\n"
        yield DONE


async def _frames(
    engine: AsyncEngine, hub: EventHub, turn_id: uuid.UUID, after: int, keepalive_s: float
) -> AsyncIterator[str]:
    last = after
    async with hub.subscription(str(turn_id)) as wake:
        while True:
            wake.clear()
            async with engine.connect() as conn:
                rows = (await conn.execute(_READ, {"turn_id": turn_id, "after": last, "limit": BATCH})).all()
            for row in rows:
                yield f"id: {row.seq}\ndata: {row.payload}\n\n"
                last = row.seq
                if row.kind in TERMINAL_CHUNK_TYPES:
                    yield DONE
                    return
            if len(rows) == BATCH:
                continue
            if not rows and await _turn_over(engine, turn_id, last):
                yield DONE
                return
            try:
                await asyncio.wait_for(wake.wait(), timeout=keepalive_s)
            except TimeoutError:
                yield ": keep-alive\n\n"


def ui_stream_response(body: AsyncIterator[str], headers: dict[str, str] | None = None) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=UI_STREAM_HEADERS | (headers or {}))
