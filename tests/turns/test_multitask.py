"""One active turn per chat: a second send gets 409, or runs after it (enqueue), or stops it (interrupt)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from tests.sse import SseEvent, read_stream, read_until_done, sse_events
from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import assembled, new_chat_id, persisted_messages, send, user_message

SLOW = "[[words:200]] [[delay:20]]"


@dataclass
class OpenTurn:
    """A turn whose stream is open and has reached its first text, so it is surely running."""

    events: AsyncIterator[SseEvent]
    seen: list[SseEvent]

    async def rest(self) -> list[SseEvent]:
        return self.seen + await read_until_done(self.events)


@contextlib.asynccontextmanager
async def open_turn(http: httpx.AsyncClient, chat_id: str, text: str) -> AsyncIterator[OpenTurn]:
    body = {"id": chat_id, "messages": [user_message(text)], "trigger": "submit-message"}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        assert response.status_code == 200
        events = sse_events(response)
        seen: list[SseEvent] = []
        async for event in events:
            seen.append(event)
            if event.chunk["type"] == "text-delta":
                break
        yield OpenTurn(events, seen)


async def test_second_send_while_active_is_409(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    async with open_turn(http, chat_id, f"first {SLOW}") as running:
        second, _ = await send(http, chat_id, "second")
        assert second.status_code == 409
        problem = second.json()
        assert problem["type"] == "urn:turnflow:problem:turn-active"
        assert second.headers["content-type"].startswith("application/problem+json")
        stopped, _ = await send(http, chat_id, "third", multitaskStrategy="interrupt")
        assert stopped.status_code == 200
        first = await running.rest()
    assert [e.chunk["type"] for e in first[-3:-1]] == ["text-end", "abort"], first[-2].data
    messages = await persisted_messages(http, chat_id)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [m["status"] for m in messages if m["role"] == "assistant"] == ["stopped", "complete"]


async def test_interrupt_stops_the_model_and_keeps_the_partial_answer(
    http: httpx.AsyncClient, standin: StandIn
) -> None:
    chat_id = new_chat_id()
    async with open_turn(http, chat_id, f"long one {SLOW}") as running:
        interrupted_call = standin.turn_calls("long one")[-1]
        second, second_events = await send(http, chat_id, "never mind", multitaskStrategy="interrupt")
        first = await running.rest()
    assert second.status_code == 200
    assert interrupted_call.disconnected_at is not None, "the model's HTTP stream was closed"
    assert not interrupted_call.finished
    assert first[-1].data == "[DONE]" and first[-2].chunk["type"] == "abort"
    assert second_events[-2].chunk["type"] == "finish"

    messages = await persisted_messages(http, chat_id)
    partial, answer = messages[1], messages[3]
    assert partial["status"] == "stopped"
    assert partial["parts"] == assembled(first)["parts"]
    partial_text = partial["parts"][1]["text"]
    assert partial_text.startswith("w0 ") and len(partial_text.split()) < 200
    assert answer["parts"] == assembled(second_events)["parts"]
    latest = standin.turn_calls("never mind")[-1]
    assert latest.body["messages"][1]["content"][0]["text"] == partial_text, "the model sees the partial"


async def test_enqueue_runs_after_the_active_turn(http: httpx.AsyncClient, standin: StandIn) -> None:
    chat_id = new_chat_id()
    async with open_turn(http, chat_id, "[[words:40]] [[delay:10]] first") as running:
        second_task = asyncio.create_task(send(http, chat_id, "queued one", multitaskStrategy="enqueue"))
        first = await running.rest()
        second, second_events = await second_task
    assert first[-2].chunk["type"] == "finish"
    assert second.status_code == 200 and second_events[-2].chunk["type"] == "finish"
    messages = await persisted_messages(http, chat_id)
    assert [m["status"] for m in messages] == ["complete"] * 4
    assert messages[3]["parts"] == assembled(second_events)["parts"]
    history = standin.turn_calls("queued one")[-1].body["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert history[1]["content"][0]["text"] == messages[1]["parts"][1]["text"], "the queued turn saw the full answer"


async def test_regenerate_replaces_the_last_answer(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    await send(http, chat_id, "tell me")
    before = await persisted_messages(http, chat_id)
    answer_id = before[1]["id"]
    body = {"id": chat_id, "messages": [before[0]], "trigger": "regenerate-message", "messageId": answer_id}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        assert response.status_code == 200
        events = await read_stream(response)
    assert events[0].chunk == {
        "type": "start",
        "messageId": answer_id,
        "messageMetadata": events[0].chunk["messageMetadata"],
    }
    after = await persisted_messages(http, chat_id)
    assert [m["id"] for m in after] == [m["id"] for m in before]
    assert after[1]["parts"] == assembled(events)["parts"]
    assert after[1]["seq"] == before[1]["seq"]


async def test_regenerate_without_an_answer_is_refused(http: httpx.AsyncClient) -> None:
    body = {"id": new_chat_id(), "messages": [user_message("x")], "trigger": "regenerate-message"}
    response = await http.post("/chat/workflow", json=body)
    assert response.status_code == 422 and response.json()["field"] == "trigger"
