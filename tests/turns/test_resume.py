"""Resuming streams: the AI SDK's resume from `start`, and resume by index from any disconnect point."""

from __future__ import annotations

import random

import httpx

from tests.sse import SseEvent, read_stream, sse_events
from tests.turns.helpers import assembled, new_chat_id, persisted_messages, send, user_message


async def test_resume_without_active_turn_is_204(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    await send(http, chat_id, "done quickly")
    response = await http.get(f"/chat/workflow/{chat_id}/stream")
    assert response.status_code == 204
    unknown = await http.get(f"/chat/workflow/{new_chat_id()}/stream")
    assert unknown.status_code == 404


async def test_ai_sdk_resume_replays_from_start_then_follows(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message("[[words:60]] [[delay:10]] go")]}
    async with http.stream("POST", "/chat/workflow", json=body) as original:
        first = await anext(sse_events(original))
        assert first.chunk["type"] == "start"
        # A client loading history mid-turn gets it without the running answer, which the resume rebuilds.
        history = await persisted_messages(http, chat_id)
        assert [m["role"] for m in history] == ["user"]
        everything = (await http.get(f"/chats/{chat_id}/messages", params={"include_streaming": "true"})).json()
        assert [m["status"] for m in everything["items"]] == ["complete", "streaming"]
        async with http.stream("GET", f"/chat/workflow/{chat_id}/stream") as resumed:
            assert resumed.status_code == 200
            assert resumed.headers["x-vercel-ai-ui-message-stream"] == "v1"
            replay = await read_stream(resumed)
    assert replay[0].id == 1 and replay[0].chunk == first.chunk
    assert replay[-1].data == "[DONE]"
    messages = await persisted_messages(http, chat_id)
    assert messages[-1]["parts"] == assembled(replay)["parts"]


async def test_resume_by_index_at_random_points_has_no_gap_or_duplicate(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    rng = random.Random(7)
    async with http.stream(
        "POST", "/chat/workflow", json={"id": chat_id, "messages": [user_message("[[words:80]] [[delay:5]] x")]}
    ) as response:
        turn_id = response.headers["x-turn-id"]
        received: list[SseEvent] = []
        async for event in sse_events(response):
            received.append(event)
            if len(received) >= rng.randint(2, 6):
                break  # the client drops the connection mid-stream
    while received[-1].data != "[DONE]":
        last_id = received[-1].id
        use_header = rng.random() < 0.5
        kwargs = {"headers": {"Last-Event-ID": str(last_id)}} if use_header else {"params": {"starting_after": last_id}}
        async with http.stream("GET", f"/turns/{turn_id}/stream", **kwargs) as resumed:
            assert resumed.status_code == 200
            cut = rng.randint(1, 25)
            async for event in sse_events(resumed):
                received.append(event)
                cut -= 1
                if event.data == "[DONE]" or cut == 0:
                    break
    ids = [e.id for e in received if e.data != "[DONE]"]
    assert ids == list(range(1, len(ids) + 1)), "every seq exactly once, in order"
    messages = await persisted_messages(http, chat_id)
    assert messages[-1]["parts"] == assembled(received)["parts"]

    replay = await http.get(f"/turns/{turn_id}/stream", params={"starting_after": len(ids) - 2})
    lines = [line for line in replay.text.splitlines() if line.startswith("id:")]
    assert lines == [f"id: {len(ids) - 1}", f"id: {len(ids)}"], "a finished turn replays from any index"
