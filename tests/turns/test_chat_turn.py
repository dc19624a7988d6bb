"""A turn end to end: POST /chat/workflow → ChatTurnWorkflow → stand-in Claude over the real SDK → SSE."""

from __future__ import annotations

import json

import httpx

from tests.conftest import Tenant
from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import assembled, new_chat_id, persisted_messages, send


async def test_text_turn_streams_and_persists(http: httpx.AsyncClient, tenant: Tenant, standin: StandIn) -> None:
    chat_id = new_chat_id()
    response, events = await send(http, chat_id, "hello there")
    assert response.status_code == 200
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["content-type"].startswith("text/event-stream")
    turn_id = response.headers["x-turn-id"]
    assert response.headers["location"] == f"/turns/{turn_id}/stream"
    assert events[-1].data == "[DONE]"
    ids = [e.id for e in events[:-1]]
    assert ids == list(range(1, len(ids) + 1))
    kinds = [e.chunk["type"] for e in events[:-1]]
    assert kinds[0] == "start" and kinds[-1] == "finish"
    text = "".join(e.chunk["delta"] for e in events[:-1] if e.chunk["type"] == "text-delta")
    assert text == "Echo: hello there"

    messages = await persisted_messages(http, chat_id)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    answer = messages[1]
    client_view = assembled(events)
    assert answer["id"] == client_view["id"]
    assert answer["parts"] == client_view["parts"]
    assert answer["status"] == "complete"
    assert answer["parts"] == [{"type": "step-start"}, {"type": "text", "text": "Echo: hello there", "state": "done"}]

    turn = (await http.get(f"/turns/{turn_id}")).json()
    assert turn["status"] == "completed"
    assert turn["usage"]["inputTokens"] > 0 and turn["usage"]["cacheReadTokens"] == 5
    assert float(turn["usage"]["costUsd"]) > 0
    request = standin.turn_calls("hello there")[-1]
    assert request.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request.body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert json.dumps(request.body["messages"]).count("hello there") == 1


async def test_tool_calls_run_in_parallel_and_results_go_back_together(
    http: httpx.AsyncClient, standin: StandIn
) -> None:
    chat_id = new_chat_id()
    prompt = (
        'run [[tool:bash:{"command": "echo one"}]] and [[tool:write_file:{"path": "a.txt", "content": "hi"}]] '
        '[[tool:read_file:{"path": "../../etc/passwd"}]]'
    )
    response, events = await send(http, chat_id, prompt)
    assert response.status_code == 200, response.text
    chunks = [e.chunk for e in events[:-1]]
    outputs = {c["toolCallId"]: c for c in chunks if c["type"] in ("tool-output-available", "tool-output-error")}
    assert len(outputs) == 3
    by_type = sorted(c["type"] for c in outputs.values())
    assert by_type == ["tool-output-available", "tool-output-available", "tool-output-error"]
    error = next(c for c in outputs.values() if c["type"] == "tool-output-error")
    assert "outside the workspace" in error["errorText"]

    follow_up = standin.turn_calls("echo one")[-1].body["messages"][-1]
    results = [b for b in follow_up["content"] if b["type"] == "tool_result"]
    assert len(results) == 3, "all results of one step go back in one message"

    messages = await persisted_messages(http, chat_id)
    answer = messages[-1]
    assert answer["parts"] == assembled(events)["parts"]
    tool_parts = [p for p in answer["parts"] if p["type"].startswith("tool-")]
    assert {p["type"] for p in tool_parts} == {"tool-bash", "tool-write_file", "tool-read_file"}
    bash = next(p for p in tool_parts if p["type"] == "tool-bash")
    assert bash["state"] == "output-available" and bash["output"]["output"] == "one\n"
    assert [p["type"] for p in answer["parts"]].count("step-start") == 2


async def test_scripted_model_streams_and_calls_a_tool_through_the_same_activity(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    response, events = await send(http, chat_id, "$ echo scripted-ok", model="scripted")
    assert response.status_code == 200, response.text
    messages = await persisted_messages(http, chat_id)
    answer = messages[-1]
    assert answer["parts"] == assembled(events)["parts"]
    bash = next(p for p in answer["parts"] if p["type"] == "tool-bash")
    assert bash["input"] == {"command": "echo scripted-ok"} and bash["output"]["output"] == "scripted-ok\n"
    assert answer["parts"][-1]["text"] == "The tool answered:\n\nscripted-ok\n\nThat is all I can do offline."
    turn = (await http.get(f"/turns/{response.headers['x-turn-id']}")).json()
    assert turn["model"] == "scripted" and turn["usage"]["costUsd"] == "0.000000"
    chat = (await http.get(f"/chats/{chat_id}")).json()
    assert chat["modelId"] == "scripted", "the chat keeps the model it picked"


async def test_parallel_tool_calls_really_run_at_the_same_time(http: httpx.AsyncClient) -> None:
    """Each tool waits for the other's file: both succeed only if they run concurrently."""

    def rendezvous(mine: str, theirs: str) -> str:
        wait = f"for i in $(seq 100); do [ -f {theirs} ] && exit 0; sleep 0.05; done; exit 7"
        return json.dumps({"command": f"touch {mine}; {wait}"})

    prompt = f"[[tool:bash:{rendezvous('a', 'b')}]] [[tool:bash:{rendezvous('b', 'a')}]]"
    chat_id = new_chat_id()
    _, events = await send(http, chat_id, prompt)
    outputs = [e.chunk["output"] for e in events[:-1] if e.chunk["type"] == "tool-output-available"]
    assert [o["exitCode"] for o in outputs] == [0, 0]


async def test_model_updates_the_triage_header(http: httpx.AsyncClient) -> None:
    evidence = [{"text": "link light off", "status": "confirmed"}, {"text": "DNS", "status": "ruled_out"}]
    arguments = json.dumps({"client_name": "Acme", "hypothesis": "bad cable", "evidence_items": evidence})
    chat_id = new_chat_id()
    _, events = await send(http, chat_id, f"[[tool:update_triage:{arguments}]] triage it")
    triage = [e.chunk for e in events[:-1] if e.chunk["type"] == "data-triage"]
    assert len(triage) == 1 and triage[0]["data"]["hypothesis"] == "bad cable"
    session_id = (await http.get(f"/chats/{chat_id}")).json()["sessionId"]
    session = (await http.get(f"/sessions/{session_id}")).json()
    assert (session["clientName"], session["triageHypothesis"], session["evidenceItems"]) == (
        "Acme",
        "bad cable",
        evidence,
    )
    answer = (await persisted_messages(http, chat_id))[-1]
    assert {"type": "data-triage", "id": "triage", "data": triage[0]["data"]} in answer["parts"]
    assert answer["parts"] == assembled(events)["parts"]
