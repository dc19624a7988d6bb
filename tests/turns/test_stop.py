"""Stop halts the model and the tools for real, keeps the partial answer, and ends the stream cleanly."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import psutil
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.tables import UsageEvent
from tests.polling import wait_until
from tests.sse import SseEvent, read_until_done, sse_events
from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import assembled, new_chat_id, persisted_messages, user_message


async def _read_until(events: AsyncIterator[SseEvent], chunk_type: str) -> list[SseEvent]:
    seen = []
    async for event in events:
        seen.append(event)
        if event.data != "[DONE]" and event.chunk["type"] == chunk_type:
            return seen
    raise AssertionError(f"the stream ended before a {chunk_type}")


async def test_stop_closes_the_model_stream_and_keeps_the_partial(
    http: httpx.AsyncClient, standin: StandIn, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message(f"{chat_id} [[words:300]] [[delay:10]]")]}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        turn_id = response.headers["x-turn-id"]
        events = sse_events(response)
        received = await _read_until(events, "text-delta")
        call = standin.turn_calls(chat_id)[-1]
        stopped = await http.post(f"/chat/workflow/{chat_id}/stop", json={"turnId": turn_id})
        assert stopped.status_code == 202 and stopped.json() == {"turnId": turn_id, "stopped": True}
        received += await read_until_done(events)
    assert call.disconnected_at is not None and not call.finished, "the model's HTTP stream was closed"
    assert [e.data for e in received[-2:]] == ['{"type": "abort"}', "[DONE]"]
    messages = await persisted_messages(http, chat_id)
    partial = messages[-1]
    assert partial["status"] == "stopped"
    assert partial["parts"] == assembled(received)["parts"], "the server's text, as the client saw it"
    assert partial["parts"][1]["state"] == "done" and 0 < len(partial["parts"][1]["text"].split()) < 300
    assert (await http.get(f"/chats/{chat_id}")).json()["activeTurnId"] is None, "the slot is free"
    async with db_sessions() as db:
        output_tokens = await db.scalar(select(func.sum(UsageEvent.output_tokens)).where(UsageEvent.turn_id == turn_id))
    assert output_tokens and output_tokens > 0, "the cut-short call's usage is recorded"
    again = await http.post(f"/chat/workflow/{chat_id}/stop", json={"turnId": turn_id})
    assert again.status_code == 200 and again.json()["stopped"] is False, "stopping twice changes nothing"
    assert (await http.get(f"/turns/{turn_id}")).json()["status"] == "stopped"


async def test_stale_stop_is_ignored(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    idle = await http.post(f"/chat/workflow/{chat_id}/stop")
    assert idle.status_code == 404
    body = {"id": chat_id, "messages": [user_message("[[words:30]] [[delay:10]] hi")]}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        events = sse_events(response)
        received = await _read_until(events, "text-delta")
        stale = await http.post(
            f"/chat/workflow/{chat_id}/stop", json={"turnId": "5b0f6c1e-8d1a-4c47-9f0e-2a7f6b1d2c3e"}
        )
        assert stale.status_code == 200 and stale.json()["stopped"] is False
        received += await read_until_done(events)
    assert received[-2].chunk["type"] == "finish", "the running turn went on"
    nothing = await http.post(f"/chat/workflow/{chat_id}/stop")
    assert nothing.status_code == 200 and nothing.json() == {"turnId": None, "stopped": False}


async def test_client_snapshot_is_kept_only_when_the_server_has_nothing(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message("[[ttft:3000]] slow to start")]}
    snapshot = {"id": "client-side", "role": "assistant", "parts": [{"type": "text", "text": "what I saw"}]}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        events = sse_events(response)
        received = await _read_until(events, "start-step")
        stopped = await http.post(f"/chat/workflow/{chat_id}/stop", json={"message": snapshot})
        assert stopped.status_code == 202
        received += await read_until_done(events)
    assert received[-2].chunk["type"] == "abort"
    partial = (await persisted_messages(http, chat_id))[-1]
    assert partial["status"] == "stopped" and partial["parts"] == snapshot["parts"]


async def test_cancel_kills_the_running_tool(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    command = {"command": "sleep 41; echo never"}
    body = {"id": chat_id, "messages": [user_message(f"[[tool:bash:{json.dumps(command)}]] wait")]}

    def sleepers() -> list[psutil.Process]:
        return [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "41"]]

    async with http.stream("POST", "/chat/workflow", json=body) as response:
        turn_id = response.headers["x-turn-id"]
        events = sse_events(response)
        received = await _read_until(events, "tool-input-available")

        async def sleeping() -> bool:
            return bool(sleepers())

        await wait_until(sleeping, "the tool's command to run")
        cancelled = await http.post(f"/turns/{turn_id}/cancel")
        assert cancelled.status_code == 202
        received += await read_until_done(events)

    async def gone() -> bool:
        return not sleepers()

    await wait_until(gone, "the tool's process tree to be killed", deadline_s=5)
    chunks = [e.chunk for e in received if e.data != "[DONE]"]
    assert chunks[-1] == {"type": "abort"}
    error = next(c for c in chunks if c["type"] == "tool-output-error")
    assert error["errorText"] == "stopped before it finished"
    partial = (await persisted_messages(http, chat_id))[-1]
    assert partial["parts"] == assembled(received)["parts"]
