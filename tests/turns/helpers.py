"""Sending a message the way the AI SDK's DefaultChatTransport does, and reading back what was persisted."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.polling import wait_until
from tests.sse import SseEvent, chunks_of, read_stream, sse_events
from turnlog.assembly import assemble


def user_message(text: str, message_id: str | None = None) -> dict[str, Any]:
    return {"id": message_id or f"u{uuid.uuid4().hex[:10]}", "role": "user", "parts": [{"type": "text", "text": text}]}


def new_chat_id() -> str:
    return f"chat{uuid.uuid4().hex[:12]}"


async def send(http: httpx.AsyncClient, chat_id: str, text: str, **extra: Any) -> tuple[httpx.Response, list[SseEvent]]:
    body = {"id": chat_id, "messages": [user_message(text)], "trigger": "submit-message"} | extra
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return response, []
        return response, await read_stream(response)


async def persisted_messages(http: httpx.AsyncClient, chat_id: str) -> list[dict[str, Any]]:
    response = await http.get(f"/chats/{chat_id}/messages", params={"limit": 200})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def assembled(events: list[SseEvent]) -> dict[str, Any]:
    message = assemble(chunks_of(events))
    return {"id": message.id, "parts": message.parts, "metadata": message.metadata}


QUESTION = {"question": "Which printer?", "options": ["Front desk", "Back office"]}


def ask_question(**extra: Any) -> str:
    """A prompt on which the stand-in model asks the user a question."""
    return f"{tool('ask_user_question', **(QUESTION | extra))} please help"


def tool(name: str, **arguments: Any) -> str:
    """The stand-in model's directive to call a tool."""
    return f"[[tool:{name}:{json.dumps(arguments)}]]"


def task(prompt: str) -> str:
    """A task directive whose prompt carries the sub-agent's own directives (escaped so only it sees them)."""
    arguments = json.dumps({"description": "count words", "prompt": prompt})
    escaped = arguments.replace("[", "\\u005b").replace("]", "\\u005d")
    return f"[[tool:task:{escaped}]]"


async def ask_and_leave(http: httpx.AsyncClient, chat_id: str, prompt: str) -> list[SseEvent]:
    """Sends, reads until the question shows in the stream, then drops the connection like a closed tab."""
    seen: list[SseEvent] = []
    async with http.stream("POST", "/chat/workflow", json={"id": chat_id, "messages": [user_message(prompt)]}) as r:
        async for event in sse_events(r):
            seen.append(event)
            chunk = event.chunk
            if chunk["type"] == "tool-input-available" and chunk["toolName"] == "ask_user_question":
                return seen
    raise AssertionError("no question was asked")


async def wait_for_question(http: httpx.AsyncClient, chat_id: str) -> dict[str, Any]:
    async def waiting() -> bool:
        return (await http.get(f"/chats/{chat_id}")).json()["pendingQuestion"] is not None

    await wait_until(waiting, "the question to be pending")
    question: dict[str, Any] = (await http.get(f"/chats/{chat_id}")).json()["pendingQuestion"]
    return question


async def answer_re_post(http: httpx.AsyncClient, chat_id: str, asked: list[SseEvent], answer: str) -> dict[str, Any]:
    """The body an AI SDK client re-posts after addToolOutput answered the question in the streamed message."""
    client_message = assembled(asked)
    part = next(p for p in client_message["parts"] if p["type"] == "tool-ask_user_question")
    part.update(state="output-available", output=answer)  # what addToolOutput does on the client
    history = await persisted_messages(http, chat_id)
    return {
        "id": chat_id,
        "messages": [history[0], {"id": client_message["id"], "role": "assistant", "parts": client_message["parts"]}],
        "trigger": "submit-message",
        "messageId": client_message["id"],
    }
