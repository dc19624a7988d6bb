"""Real processes killed mid-turn: every turn completes exactly once, with exactly one answer, the text the client
assembled equals the persisted text with nothing repeated, completed tools ran once, and the history replays."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import psutil
import pytest

from bench.retry_causes import retry_causes
from models.names import WORKER_LEAVING_ERROR, WORKER_LOST_ERROR
from tests.crash.process_stack import ProcessStack
from tests.polling import wait_until
from tests.replay import assert_replays
from tests.sse import SseEvent, read_until_done, sse_events
from tests.standin.anthropic_server import Call, StandIn
from tests.turns.helpers import assembled, new_chat_id, persisted_messages, user_message
from turnflow.children import Child
from workflows.chat_turn import ChatTurnWorkflow

WORDS = 50


def _expected_text(words: int = WORDS) -> str:
    return " ".join(f"w{i}" for i in range(words))


def _calls_for(standin: StandIn, chat_id: str) -> list[Call]:
    return standin.turn_calls(chat_id)


async def _why_retried(stack: ProcessStack, workflow_id: str) -> list[str]:
    """For each retried activity attempt in the turn's history, what ended the attempt before it: WorkerLost (a
    survivor failed it at once) or the heartbeat timeout."""
    assert stack.client is not None
    return await retry_causes(stack.client, workflow_id)


async def _read_deltas(events: AsyncIterator[SseEvent], into: list[SseEvent], count: int) -> None:
    async for event in events:
        into.append(event)
        if sum(1 for e in into if e.data != "[DONE]" and e.chunk["type"] == "text-delta") >= count:
            return


async def _check_turn(
    stack: ProcessStack, http: httpx.AsyncClient, chat_id: str, events: list[SseEvent]
) -> dict[str, Any]:
    """The invariants every crash test holds the product to."""
    assert events[-1].data == "[DONE]" and events[-2].chunk["type"] == "finish"
    ids = [e.id for e in events if e.data != "[DONE]"]
    assert ids == list(range(1, len(ids) + 1)), "no gap, no duplicate"
    messages = await persisted_messages(http, chat_id)
    assert [m["role"] for m in messages] == ["user", "assistant"], "exactly one answer"
    answer = messages[1]
    assert answer["status"] == "complete"
    assert answer["parts"] == assembled(events)["parts"], "what the client assembled is what was persisted"
    chat = (await http.get(f"/chats/{chat_id}")).json()
    assert chat["activeTurnId"] is None
    turn_id = events[0].chunk["messageMetadata"]["turnId"]
    turn = (await http.get(f"/turns/{turn_id}")).json()
    assert turn["status"] == "completed"
    assert stack.client is not None
    await assert_replays(stack.client, [turn["workflowId"]], [ChatTurnWorkflow])
    return answer


async def kill_the_worker_mid_stream(
    stack: ProcessStack, http: httpx.AsyncClient, standin: StandIn, chat_id: str
) -> list[SseEvent]:
    """Sends, kills the worker streaming the answer after 10 deltas, starts another; returns all the client read."""
    return await interrupt_the_worker_mid_stream(stack, http, standin, chat_id, stack.kill)


async def interrupt_the_worker_mid_stream(
    stack: ProcessStack,
    http: httpx.AsyncClient,
    standin: StandIn,
    chat_id: str,
    interrupt: Callable[[Child], Awaitable[None]],
) -> list[SseEvent]:
    """Sends, interrupts the worker streaming the answer after 10 deltas, starts another; returns all the client
    read."""
    body = {"id": chat_id, "messages": [user_message(f"{chat_id} [[words:{WORDS}]] [[delay:40]]")]}
    received: list[SseEvent] = []
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        events = sse_events(response)
        await _read_deltas(events, received, 10)
        victim = stack.worker_serving(_calls_for(standin, chat_id)[-1].peer_port or 0)
        await interrupt(victim)
        received += await read_until_done(events)
    stack.workers.remove(victim)
    await stack.start_worker()
    return received


async def test_worker_killed_mid_stream_resumes_on_another_worker(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient, standin: StandIn
) -> None:
    chat_id = new_chat_id()
    received = await kill_the_worker_mid_stream(crash_stack, crash_http, standin, chat_id)
    answer = await _check_turn(crash_stack, crash_http, chat_id, received)
    text = "".join(p["text"] for p in answer["parts"] if p["type"] == "text")
    assert text == _expected_text(), "continued where the dead worker stopped, nothing repeated"
    first, retry = _calls_for(standin, chat_id)
    assert first.disconnected_at is not None and not first.finished
    assert "<partial_reply>" in json.dumps(retry.body["messages"][-1]), "the retry asked to continue"
    turn = (await crash_http.get(f"/turns/{answer['metadata']['turnId']}")).json()
    assert await _why_retried(crash_stack, turn["workflowId"]) == [WORKER_LOST_ERROR], "the survivor's fast path"


async def test_a_worker_stopped_mid_stream_hands_the_answer_on(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient, standin: StandIn
) -> None:
    """A clean leave (SIGTERM) does not wait for the answer to end: another worker continues it exactly."""
    chat_id = new_chat_id()
    received = await interrupt_the_worker_mid_stream(
        crash_stack, crash_http, standin, chat_id, lambda worker: worker.stop(30)
    )
    answer = await _check_turn(crash_stack, crash_http, chat_id, received)
    text = "".join(p["text"] for p in answer["parts"] if p["type"] == "text")
    assert text == _expected_text(), "continued where the leaving worker stopped, nothing repeated"
    turn = (await crash_http.get(f"/turns/{answer['metadata']['turnId']}")).json()
    # The leaving worker ends its model step at once (its tool calls it would let finish): retried at once.
    assert await _why_retried(crash_stack, turn["workflowId"]) == [WORKER_LEAVING_ERROR]


async def test_with_no_survivor_the_heartbeat_timeout_retries(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient, standin: StandIn
) -> None:
    """Both workers gone: nobody fails the dead one's attempt, its heartbeat timeout does, and a worker started
    afterwards finishes the turn exactly."""
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message(f"{chat_id} [[words:{WORDS}]] [[delay:40]]")]}
    received: list[SseEvent] = []
    async with crash_http.stream("POST", "/chat/workflow", json=body) as response:
        events = sse_events(response)
        await _read_deltas(events, received, 10)
        victim = crash_stack.worker_serving(_calls_for(standin, chat_id)[-1].peer_port or 0)
        bystanders = [w for w in crash_stack.workers if w is not victim]
        for worker in bystanders:
            await worker.stop(10)
        await crash_stack.kill(victim)
        crash_stack.workers.clear()
        turn_id = received[0].chunk["messageMetadata"]["turnId"]
        workflow_id = (await crash_http.get(f"/turns/{turn_id}")).json()["workflowId"]
        await wait_until(lambda: _retry_scheduled(crash_stack, workflow_id), "the heartbeat timeout to fire")
        for _ in range(2):
            await crash_stack.start_worker()
        received += await read_until_done(events)
    answer = await _check_turn(crash_stack, crash_http, chat_id, received)
    text = "".join(p["text"] for p in answer["parts"] if p["type"] == "text")
    assert text == _expected_text(), "continued where the dead worker stopped, nothing repeated"
    assert await _why_retried(crash_stack, workflow_id) == ["TIMEOUT_TYPE_HEARTBEAT"]


async def _retry_scheduled(stack: ProcessStack, workflow_id: str) -> bool:
    """The model step's first attempt has failed and its next one waits for a worker."""
    assert stack.client is not None
    described = await stack.client.get_workflow_handle(workflow_id).describe()
    pending = described.raw_description.pending_activities
    return any(activity.attempt > 1 for activity in pending)


async def test_worker_killed_mid_tool_never_reruns_completed_or_unsafe_tools(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient
) -> None:
    chat_id = new_chat_id()
    quick = {"command": "echo quick >> effects.txt"}
    slow = {"command": "echo slow-start >> effects.txt; sleep 37; echo slow-end >> effects.txt"}
    prompt = f"{chat_id} [[tool:bash:{json.dumps(quick)}]] [[tool:bash:{json.dumps(slow)}]]"
    received: list[SseEvent] = []
    async with crash_http.stream(
        "POST", "/chat/workflow", json={"id": chat_id, "messages": [user_message(prompt)]}
    ) as response:
        events = sse_events(response)
        async for event in events:
            received.append(event)
            if event.chunk["type"] == "tool-output-available":
                break  # the quick tool finished and its result is saved
        session_id = (await crash_http.get(f"/chats/{chat_id}")).json()["sessionId"]
        effects = crash_stack.root / "data" / "workspaces" / session_id / "effects.txt"

        async def slow_started() -> bool:
            return effects.exists() and "slow-start" in effects.read_text()

        await wait_until(slow_started, "the slow tool to start")
        victim = crash_stack.worker_running("sleep 37")
        await crash_stack.kill(victim)
        received += await read_until_done(events)
        # Read at once: the sandbox hibernates (and its workspace leaves the disk) a second after the turn.
        lines = sorted(effects.read_text().splitlines())
    crash_stack.workers.remove(victim)
    await crash_stack.start_worker()
    for orphan in psutil.process_iter(["cmdline"]):
        if orphan.info["cmdline"] == ["sleep", "37"]:
            orphan.kill()

    answer = await _check_turn(crash_stack, crash_http, chat_id, received)
    assert lines == ["quick", "slow-start"], "the quick tool ran once; the interrupted one was not re-run"
    tools = [p for p in answer["parts"] if p["type"] == "tool-bash"]
    assert [t["state"] for t in tools] == ["output-available", "output-error"]
    assert "not safe to re-run" in tools[1]["errorText"]


async def test_api_killed_with_a_client_attached_resumes_elsewhere(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient
) -> None:
    chat_id = new_chat_id()
    first_api, second_api = list(crash_stack.apis)
    body = {"id": chat_id, "messages": [user_message(f"{chat_id} [[words:{WORDS}]] [[delay:30]]")]}
    received: list[SseEvent] = []
    with pytest.raises(httpx.HTTPError):
        async with crash_http.stream("POST", "/chat/workflow", json=body) as response:
            events = sse_events(response)
            await _read_deltas(events, received, 8)
            await crash_stack.kill(crash_stack.apis.pop(first_api))
            received += await read_until_done(events)
    headers = {"Authorization": f"Bearer {crash_stack.api_key}"}
    async with httpx.AsyncClient(base_url=second_api, headers=headers, timeout=60) as other:
        async with other.stream("GET", f"/chat/workflow/{chat_id}/stream") as replay:
            first = await anext(sse_events(replay))
            assert first.id == 1 and first.chunk["type"] == "start", "the AI SDK resume replays from start"
        turn_id = received[0].chunk["messageMetadata"]["turnId"]
        last_id = str(received[-1].id)
        async with other.stream("GET", f"/turns/{turn_id}/stream", headers={"Last-Event-ID": last_id}) as resumed:
            received += await read_until_done(sse_events(resumed))
        await _check_turn(crash_stack, other, chat_id, received)
    await crash_stack.start_api()  # two API processes again for the next test


@pytest.mark.parametrize("restart", ["temporal", "postgres"])
async def test_turn_survives_a_server_restart(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient, restart: str
) -> None:
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message(f"{chat_id} [[words:{WORDS}]] [[delay:40]]")]}
    received: list[SseEvent] = []
    async with crash_http.stream("POST", "/chat/workflow", json=body) as response:
        events = sse_events(response)
        await _read_deltas(events, received, 8)
        if restart == "temporal":
            await crash_stack.stop_temporal()
            await crash_stack.start_temporal()
        else:
            crash_stack.restart_postgres()
        received += await read_until_done(events)
    answer = await _check_turn(crash_stack, crash_http, chat_id, received)
    text = "".join(p["text"] for p in answer["parts"] if p["type"] == "text")
    assert text == _expected_text(), "nothing lost, nothing repeated"


async def test_question_answered_after_every_worker_was_restarted(
    crash_stack: ProcessStack, crash_http: httpx.AsyncClient
) -> None:
    chat_id = new_chat_id()
    question = json.dumps({"question": "Proceed?", "options": ["yes", "no"]})
    body = {"id": chat_id, "messages": [user_message(f"{chat_id} [[tool:ask_user_question:{question}]]")]}
    async with crash_http.stream("POST", "/chat/workflow", json=body) as response:
        turn_id = response.headers["x-turn-id"]

    async def waiting() -> bool:
        return (await crash_http.get(f"/chats/{chat_id}")).json()["pendingQuestion"] is not None

    await wait_until(waiting, "the question to be pending")
    for worker in list(crash_stack.workers):
        await crash_stack.kill(worker)
        crash_stack.workers.remove(worker)
    for _ in range(2):
        await crash_stack.start_worker()
    pending = (await crash_http.get(f"/chats/{chat_id}")).json()["pendingQuestion"]
    answered = await crash_http.post(
        f"/turns/{turn_id}/input", json={"toolCallId": pending["toolCallId"], "answer": "yes"}
    )
    assert answered.status_code == 200
    async with crash_http.stream("GET", f"/turns/{turn_id}/stream") as replay:
        events = await read_until_done(sse_events(replay))
    answer = await _check_turn(crash_stack, crash_http, chat_id, events)
    assert 'ok: {"answer": "yes"}' in answer["parts"][-1]["text"]
