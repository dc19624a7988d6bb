"""The `task` tool: a sub-agent as a child workflow, streaming its progress into the parent's stream, its usage
attributed to the parent turn exactly once, and stopped with its parent."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from models.tables import Turn, UsageEvent
from tests.replay import assert_replays
from tests.sse import read_until_done, sse_events
from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import assembled, new_chat_id, persisted_messages, send, task, user_message
from workflows.subagent import SubAgentWorkflow


async def _sub_turn(db_sessions: async_sessionmaker[AsyncSession], parent_id: str) -> Turn:
    async with db_sessions() as db:
        turn = await db.scalar(select(Turn).where(Turn.parent_turn_id == parent_id))
    assert turn is not None
    return turn


async def test_subagent_answers_streams_progress_and_is_billed_once(
    http: httpx.AsyncClient, db_sessions: async_sessionmaker[AsyncSession], temporal_env: WorkflowEnvironment
) -> None:
    chat_id = new_chat_id()
    sub_prompt = f"[[words:30]] [[delay:20]] [[http:529]] [[fail:1]] [[retry-after:0.05]] {chat_id}"
    response, events = await send(http, chat_id, f"{task(sub_prompt)} delegate")
    assert response.status_code == 200, response.text
    parent_id = response.headers["x-turn-id"]
    chunks = [e.chunk for e in events[:-1]]
    task_call = next(c for c in chunks if c["type"] == "tool-input-available" and c["toolName"] == "task")
    outputs = [c for c in chunks if c["type"] == "tool-output-available" and c["toolCallId"] == task_call["toolCallId"]]
    assert any(o.get("preliminary") and o["output"]["text"].startswith("w0") for o in outputs), "progress streamed"
    final = outputs[-1]
    assert "preliminary" not in final
    assert final["output"]["answer"] == " ".join(f"w{i}" for i in range(30))

    async with db_sessions() as db:
        rows = list(await db.scalars(select(UsageEvent).where(UsageEvent.turn_id == parent_id)))
    sub_rows = [r for r in rows if r.agent_type == "subagent"]
    assert len(sub_rows) == 1, "the failed attempt billed nothing; the retried one exactly once"
    assert sub_rows[0].tool_call_id == task_call["toolCallId"] and sub_rows[0].output_tokens > 0
    turn = (await http.get(f"/turns/{parent_id}")).json()
    assert turn["usage"]["outputTokens"] == sum(r.output_tokens for r in rows), "rolled up into the parent"
    assert {r.agent_type for r in rows} == {"main", "subagent"}

    answer = (await persisted_messages(http, chat_id))[-1]
    assert answer["parts"] == assembled(events)["parts"]
    sub = await _sub_turn(db_sessions, parent_id)
    assert sub.status == "completed" and sub.agent_call_id == task_call["toolCallId"]
    await assert_replays(temporal_env.client, [sub.workflow_id], [SubAgentWorkflow])


async def test_stopping_the_parent_stops_its_subagent(
    http: httpx.AsyncClient,
    standin: StandIn,
    db_sessions: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
) -> None:
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message(f"{task('[[words:400]] [[delay:20]] long sub')} go")]}
    seen: list[dict[str, Any]] = []
    async with http.stream("POST", "/chat/workflow", json=body) as response:
        parent_id = response.headers["x-turn-id"]
        events = sse_events(response)
        async for event in events:
            seen.append(event.chunk)
            if event.chunk["type"] == "tool-output-available" and event.chunk.get("preliminary"):
                break
        sub_call = standin.turn_calls("long sub")[-1]
        stopped = await http.post(f"/chat/workflow/{chat_id}/stop", json={"turnId": parent_id})
        assert stopped.status_code == 202
        rest = await read_until_done(events)
    assert rest[-2].chunk["type"] == "abort"
    assert sub_call.disconnected_at is not None and not sub_call.finished, "the sub-agent's model call was closed"
    sub = await _sub_turn(db_sessions, parent_id)
    description = await temporal_env.client.get_workflow_handle(sub.workflow_id).describe()
    # Closed either way: Canceled when Temporal's cancellation came first, Completed when the stop's fast path did.
    assert description.status is not None and description.status.name in {"CANCELED", "COMPLETED"}
    assert sub.status == "stopped"
    task_part = next(p for p in (await persisted_messages(http, chat_id))[-1]["parts"] if p["type"] == "tool-task")
    assert task_part["state"] == "output-error"
