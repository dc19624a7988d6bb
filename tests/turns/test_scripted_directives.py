"""The offline model demonstrates every feature through the same activities as Claude: questions, sub-agents,
triage, live output and files, picked by a directive at the start of the user's message."""

from __future__ import annotations

from typing import Any

import httpx

from tests.polling import wait_until
from tests.sse import read_until_done, sse_events
from tests.turns.helpers import assembled, new_chat_id, send, user_message


def _tool_parts(events: Any, name: str) -> list[dict[str, Any]]:
    return [p for p in assembled(events)["parts"] if p["type"] == f"tool-{name}"]


async def test_file_is_written_then_read_back(http: httpx.AsyncClient) -> None:
    _, events = await send(http, new_chat_id(), "/file notes/todo.txt buy milk", model="scripted")
    (written,) = _tool_parts(events, "write_file")
    (read,) = _tool_parts(events, "read_file")
    assert written["input"] == {"path": "notes/todo.txt", "content": "buy milk"}
    assert read["input"] == {"path": "notes/todo.txt"} and "buy milk" in str(read["output"])


async def test_triage_directive_updates_the_header(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    text = "/triage client: Acme Dental; hypothesis: DHCP lease lost; evidence: printer shows 169.254.x.x"
    _, events = await send(http, chat_id, text, model="scripted")
    triage = [p for p in assembled(events)["parts"] if p["type"] == "data-triage"]
    assert triage and triage[-1]["data"]["clientName"] == "Acme Dental"
    session_id = (await http.get(f"/chats/{chat_id}")).json()["sessionId"]
    session = (await http.get(f"/sessions/{session_id}")).json()
    assert session["triageHypothesis"] == "DHCP lease lost"
    assert session["evidenceItems"] == [{"text": "printer shows 169.254.x.x", "status": "pending"}]


async def test_slow_command_streams_live_output(http: httpx.AsyncClient) -> None:
    _, events = await send(http, new_chat_id(), "/slow 2", model="scripted")
    outputs = [e.chunk for e in events if e.data != "[DONE]" and e.chunk["type"] == "tool-output-available"]
    assert any(o.get("preliminary") for o in outputs), "output arrived while the command ran"
    assert "step 2 of 2" in outputs[-1]["output"]["output"]


async def test_task_directive_starts_a_sub_agent(http: httpx.AsyncClient) -> None:
    _, events = await send(http, new_chat_id(), "/task check the disk usage", model="scripted")
    (task,) = _tool_parts(events, "task")
    assert task["state"] == "output-available" and task["output"]["answer"]


async def test_ask_directive_offers_options_and_takes_the_answer(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message("/ask Which floor? | First | Second")], "model": "scripted"}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        turn_id = response.headers["x-turn-id"]
        events = sse_events(response)
        async for event in events:
            if event.chunk["type"] == "tool-input-available":
                asked = event.chunk
                break

        async def pending() -> bool:
            return (await http.get(f"/chats/{chat_id}")).json()["pendingQuestion"] is not None

        await wait_until(pending, "the question to be pending")
        assert asked["input"] == {"question": "Which floor?", "options": ["First", "Second"]}
        answer = {"toolCallId": asked["toolCallId"], "answer": "Second"}
        assert (await http.post(f"/turns/{turn_id}/input", json=answer)).status_code in (200, 202)
        rest = await read_until_done(events)
    final = [e.chunk["delta"] for e in rest if e.data != "[DONE]" and e.chunk["type"] == "text-delta"]
    assert '{"answer": "Second"}' in "".join(final), "the model got the user's answer"
