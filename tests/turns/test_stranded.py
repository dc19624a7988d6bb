"""Nothing a failed start or a lost signal can leave half-done strands a chat: a stop frees a slot whose turn has
no workflow, an ambiguous start never leaves a failed turn running, a slot handed over before its turn started (or
while an interrupt races the hand-off) is taken up, and an answer whose wake-up failed is sent again on retry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from models.names import QUESTION_ANSWERED_SIGNAL
from tests.polling import wait_until
from tests.sse import read_stream, read_until_done, sse_events
from tests.standin.anthropic_server import StandIn
from tests.turns.held_starts import Starts
from tests.turns.helpers import (
    answer_re_post,
    ask_and_leave,
    ask_question,
    new_chat_id,
    persisted_messages,
    send,
    user_message,
    wait_for_question,
)
from tests.turns.turn_rows import lock_waiters, wait_for_lock_waiters

DEADLINE_S = 30


async def _turn(http: httpx.AsyncClient, turn_id: str) -> dict[str, Any]:
    turn: dict[str, Any] = (await http.get(f"/turns/{turn_id}")).json()
    return turn


async def _active(http: httpx.AsyncClient, chat_id: str) -> str | None:
    active: str | None = (await http.get(f"/chats/{chat_id}")).json()["activeTurnId"]
    return active


async def _usable(http: httpx.AsyncClient, chat_id: str) -> None:
    """The chat takes a new send and answers it."""
    response, events = await send(http, chat_id, "still there?")
    assert response.status_code == 200 and events[-2].chunk["type"] == "finish"


async def test_stop_frees_the_slot_of_a_turn_without_a_workflow(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    Starts(monkeypatch, start=False, fail=False)  # the send believes it started the workflow
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message("never runs")]}
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        turn_id = response.headers["x-turn-id"]
        stopped = await http.post(f"/chat/workflow/{chat_id}/stop", json={"turnId": turn_id})
        assert stopped.status_code == 202 and stopped.json()["stopped"] is True
        events = await asyncio.wait_for(read_stream(response), DEADLINE_S)
    monkeypatch.undo()
    assert [e.data for e in events[-2:]] == ['{"type": "abort"}', "[DONE]"], "the stream ends cleanly"
    assert (await _turn(http, turn_id))["status"] == "stopped"
    assert await _active(http, chat_id) is None, "the slot is free"
    await _usable(http, chat_id)


async def test_start_that_took_effect_despite_a_deadline_runs_the_turn(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    Starts(monkeypatch, start=True, fail=True)
    chat_id = new_chat_id()
    response, events = await send(http, chat_id, "started after all")
    assert response.status_code == 200 and events[-2].chunk["type"] == "finish"
    turn = await _turn(http, response.headers["x-turn-id"])
    assert turn["status"] == "completed" and turn["error"] is None


async def _turn_ids(db_sessions: async_sessionmaker[AsyncSession], chat_id: str) -> list[str]:
    async with db_sessions() as db:
        rows = await db.execute(text("SELECT id FROM turns WHERE chat_id = :c ORDER BY number"), {"c": chat_id})
        return [str(r) for r in rows.scalars()]


async def test_start_accepted_after_the_send_gave_up_does_nothing(
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    temporal_env: WorkflowEnvironment,
    standin: StandIn,
    db_sessions: async_sessionmaker[AsyncSession],
) -> None:
    starts = Starts(monkeypatch, start=False, fail=True)
    chat_id = new_chat_id()
    refused, _ = await send(http, chat_id, f"{chat_id} too late")
    assert refused.status_code == 503 and refused.json()["type"] == "urn:turnflow:problem:temporal-unavailable"
    messages = await persisted_messages(http, chat_id)
    assert [(m["role"], m["status"]) for m in messages] == [("user", "complete"), ("assistant", "failed")]
    [turn_id] = await _turn_ids(db_sessions, chat_id)
    workflow_id = await starts.release()  # the server carries out the start it was too slow to confirm
    await temporal_env.client.get_workflow_handle(workflow_id).result()
    assert standin.turn_calls(chat_id) == [], "the model was never called"
    turn = await _turn(http, turn_id)
    assert turn["status"] == "failed" and turn["attempts"] == 0, "the turn stayed failed and never began"
    async with http.stream("GET", f"/turns/{turn_id}/stream") as response:
        log = await read_stream(response)
    assert [e.chunk["type"] for e in log[:-1]] == ["start", "error"], "nothing was written after the failure"
    assert await _active(http, chat_id) is None
    monkeypatch.undo()
    await _usable(http, chat_id)


async def test_slot_handed_over_before_the_queued_turn_started(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat_id = new_chat_id()
    await ask_and_leave(http, chat_id, ask_question())
    pending = await wait_for_question(http, chat_id)
    starts = Starts(monkeypatch, start=False, fail=False)  # the queued turn's workflow is slow to start
    body = {"id": chat_id, "messages": [user_message("queued behind")], "multitaskStrategy": "enqueue"}
    async with http.stream("POST", "/chat/workflow", json=body) as queued:
        queued_id = queued.headers["x-turn-id"]
        monkeypatch.undo()
        answered = await http.post(
            f"/turns/{pending['turnId']}/input", json={"toolCallId": pending["toolCallId"], "answer": "Front desk"}
        )
        assert answered.status_code == 200

        async def handed_over() -> bool:
            return await _active(http, chat_id) == queued_id

        await wait_until(handed_over, "the first turn to hand the slot to the queued one")
        assert (await _turn(http, pending["turnId"]))["status"] == "completed"
        await starts.release()
        events = await asyncio.wait_for(read_stream(queued), DEADLINE_S)
    assert events[-2].chunk["type"] == "finish"
    assert (await _turn(http, queued_id))["status"] == "completed"
    assert await _active(http, chat_id) is None


async def test_interrupt_racing_the_hand_off(
    http: httpx.AsyncClient, engine: AsyncEngine, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The active turn is finishing (held at the chat row) with a turn queued behind it when an interrupting send
    arrives: the slot passes through every turn and the chat ends idle, every turn ended."""
    chat_id = new_chat_id()
    first = {"id": chat_id, "messages": [user_message("[[words:20]] [[delay:10]] first")]}
    async with http.stream("POST", "/chat/workflow", json=first) as running:
        events = sse_events(running)
        async for event in events:
            if event.chunk["type"] == "text-delta":
                break
        queued = asyncio.ensure_future(send(http, chat_id, "queued", multitaskStrategy="enqueue"))

        async def two_turns() -> bool:
            return len(await _turn_ids(db_sessions, chat_id)) == 2

        await wait_until(two_turns, "the queued send to be saved")
        async with engine.connect() as holder:
            await holder.execute(text("SELECT 1 FROM chats WHERE id = :c FOR NO KEY UPDATE"), {"c": chat_id})
            baseline = await lock_waiters(engine)
            await wait_for_lock_waiters(engine, baseline + 1, "the first turn's finish to wait for the chat row")
            interrupting = asyncio.ensure_future(send(http, chat_id, "interrupting", multitaskStrategy="interrupt"))
            await wait_for_lock_waiters(engine, baseline + 2, "the interrupting send to wait too")
            await holder.rollback()
        first_events = await asyncio.wait_for(read_until_done(events), DEADLINE_S)
    (queued_response, queued_events), (last_response, last_events) = await asyncio.wait_for(
        asyncio.gather(queued, interrupting), DEADLINE_S
    )
    assert first_events[-2].chunk["type"] == "finish"
    assert queued_response.status_code == 200 and queued_events[-2].chunk["type"] in ("finish", "abort")
    assert last_response.status_code == 200 and last_events[-2].chunk["type"] == "finish"
    turns = [await _turn(http, turn_id) for turn_id in await _turn_ids(db_sessions, chat_id)]
    assert [t["status"] for t in turns][0::2] == ["completed", "completed"]
    assert turns[1]["status"] in ("completed", "stopped")
    assert await _active(http, chat_id) is None
    messages = await persisted_messages(http, chat_id)
    assert [m["status"] for m in messages if m["role"] == "assistant"] == [
        {"completed": "complete", "stopped": "stopped"}[t["status"]] for t in turns
    ]


async def test_answer_whose_wake_up_failed_is_sent_again_on_retry(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_id = new_chat_id()
    asked = await ask_and_leave(http, chat_id, ask_question())
    pending = await wait_for_question(http, chat_id)
    body = await answer_re_post(http, chat_id, asked, "Back office")
    real_signal: Callable[..., Any] = WorkflowHandle.signal

    async def lost_wake_up(handle: WorkflowHandle[Any, Any], signal: Any, *args: Any, **kwargs: Any) -> None:
        if signal == QUESTION_ANSWERED_SIGNAL:
            raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")
        await real_signal(handle, signal, *args, **kwargs)

    monkeypatch.setattr(WorkflowHandle, "signal", lost_wake_up)
    failed = await http.post("/chat/workflow", json=body)
    monkeypatch.undo()
    assert failed.status_code == 503 and "answer is saved" in failed.json()["detail"]
    assert (await http.get(f"/chats/{chat_id}")).json()["pendingQuestion"] is None, "the answer was saved"
    async with http.stream("POST", "/chat/workflow", json=body) as retry:
        assert retry.status_code == 200
        rest = await asyncio.wait_for(read_stream(retry), DEADLINE_S)
    assert rest[0].chunk == {"type": "start", "messageId": body["messageId"]}
    assert rest[-2].chunk["type"] == "finish", "the turn woke up and went on"
    answer = (await persisted_messages(http, chat_id))[-1]
    saved = next(p for p in answer["parts"] if p["type"] == "tool-ask_user_question")
    assert saved["output"] == {"answer": "Back office"} and saved["toolCallId"] == pending["toolCallId"]
