"""Reads SSE the way a browser does, keeping each event's id, for asserting on what a client receives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    id: int | None
    data: str

    @property
    def chunk(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data)
        return value


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent]:
    event_id: int | None = None
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield SseEvent(event_id, "\n".join(data))
            event_id, data = None, []
        elif line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


async def read_until_done(events: AsyncIterator[SseEvent]) -> list[SseEvent]:
    """Every event up to and including `data: [DONE]`."""
    seen = []
    async for event in events:
        seen.append(event)
        if event.data == "[DONE]":
            break
    return seen


async def read_stream(response: httpx.Response) -> list[SseEvent]:
    return await read_until_done(sse_events(response))


def chunks_of(events: list[SseEvent]) -> list[dict[str, Any]]:
    return [e.chunk for e in events if e.data != "[DONE]"]
