"""Serves a turn's stream log as the AI SDK UI message stream, from any seq, live or finished."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import StreamingResponse

from api.metrics import counted_stream
from turnlog.reader import tail_turn

UI_STREAM_HEADERS = {
    "x-vercel-ai-ui-message-stream": "v1",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


def turn_frames(request: Request, turn_id: uuid.UUID, after: int) -> AsyncIterator[str]:
    """The turn's SSE frames after `after`, from this API process's stream engine and LISTEN hub."""
    state = request.app.state
    return tail_turn(state.stream_engine, state.event_hub, turn_id, after, state.settings.stream_keepalive_s)


def ui_stream_response(body: AsyncIterator[str], headers: dict[str, str] | None = None) -> StreamingResponse:
    return StreamingResponse(
        counted_stream(body), media_type="text/event-stream", headers=UI_STREAM_HEADERS | (headers or {})
    )
