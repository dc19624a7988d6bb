"""Turns that call sandbox tools, as the crash tests send them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.turns.helpers import send


async def tool_outputs(http: httpx.AsyncClient, chat_id: str, prompt: str) -> list[dict[str, Any]]:
    """Sends the turn and returns the final output chunk of each of its tool calls."""
    response, events = await send(http, chat_id, prompt)
    assert response.status_code == 200, response.text
    outputs = [e.chunk for e in events[:-1] if e.chunk["type"] in ("tool-output-available", "tool-output-error")]
    return [o for o in outputs if not o.get("preliminary")]


async def tool_output(http: httpx.AsyncClient, chat_id: str, prompt: str) -> dict[str, Any]:
    """The one tool call's final output."""
    final = await tool_outputs(http, chat_id, prompt)
    assert len(final) == 1, final
    return final[0]
