"""Transactions that lock the same rows, raced in the order that would deadlock were their locks taken in
different orders: a connection holds one row, both contenders queue behind it (seen in pg_stat_activity, not
guessed with sleeps), then it lets go and both must finish with a consistent result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from activities.questions import QuestionActivities
from api.questions import save_answer
from models.enums import Outcome
from models.settings import Settings
from models.tables import Chat, ChatMessage, ToolCall, Turn
from models.turns import ASK_USER_QUESTION_TOOL, ToolCallInput, ToolCallResult
from tests.conftest import Tenant
from tests.sse import read_until_done, sse_events
from tests.turns.helpers import new_chat_id, send, user_message
from tests.turns.turn_rows import SeededTurn, lock_waiters, seed_turn, wait_for_lock_waiters
from turnlog.ending import TurnEnding, end_turn

T = TypeVar("T")
DEADLINE_S = 30


async def _race_behind(
    engine: AsyncEngine,
    lock_sql: str,
    params: dict[str, Any],
    first: Callable[[], Awaitable[Any]],
    second: Callable[[], Awaitable[T]],
) -> tuple[Any, T]:
    """Holds a row lock, queues `first` and then `second` behind it, lets go, and returns both results."""
    async with engine.connect() as holder:
        await holder.execute(text(lock_sql), params)
        baseline = await lock_waiters(engine)
        first_task = asyncio.ensure_future(first())
        await wait_for_lock_waiters(engine, baseline + 1, "the first transaction to wait for the lock")
        second_task = asyncio.ensure_future(second())
        await wait_for_lock_waiters(engine, baseline + 2, "the second transaction to wait too")
        await holder.rollback()
    return await asyncio.wait_for(asyncio.gather(first_task, second_task), DEADLINE_S)


async def _finish(engine: AsyncEngine, seeded: SeededTurn) -> TurnEnding | None:
    """What the turn's finish_turn activity does in its transaction."""
    async with engine.begin() as conn:
        return await end_turn(conn, seeded.turn_id, Outcome.COMPLETED)


async def test_repeated_send_leaves_the_chat_usable(http: httpx.AsyncClient) -> None:
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message("[[words:40]] [[delay:10]] repeat me")]}
    async with http.stream("POST", "/chat/workflow", json=body) as first:
        events = sse_events(first)
        async for event in events:
            if event.chunk["type"] == "text-delta":
                break
        async with http.stream("POST", "/chat/workflow", json=body) as repeat:
            assert repeat.status_code == 200
            assert repeat.headers["x-turn-id"] == first.headers["x-turn-id"], "the same turn, not a second one"
            # While the repeat streams, the chat takes new sends and the turn can finish.
            queued = asyncio.ensure_future(send(http, chat_id, "next one", multitaskStrategy="enqueue"))
            repeated = await asyncio.wait_for(read_until_done(sse_events(repeat)), DEADLINE_S)
        original = await asyncio.wait_for(read_until_done(events), DEADLINE_S)
    response, after = await asyncio.wait_for(queued, DEADLINE_S)
    assert repeated[-2].chunk["type"] == "finish" and original[-2].chunk["type"] == "finish"
    assert response.status_code == 200 and after[-2].chunk["type"] == "finish"
    chat = (await http.get(f"/chats/{chat_id}")).json()
    assert chat["activeTurnId"] is None


async def test_send_racing_the_end_of_the_active_turn(
    http: httpx.AsyncClient, engine: AsyncEngine, db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    """finish_turn against start_turn on one chat, both queued behind the session row."""
    seeded = await seed_turn(db_sessions, tenant)
    ending, (response, events) = await _race_behind(
        engine,
        "SELECT 1 FROM sessions WHERE id = :id FOR NO KEY UPDATE",
        {"id": seeded.session_id},
        lambda: _finish(engine, seeded),
        lambda: send(http, seeded.chat_id, "after that", multitaskStrategy="enqueue"),
    )
    assert ending is not None and ending.ended_now and ending.next_workflow_id is None
    assert response.status_code == 200 and events[-2].chunk["type"] == "finish"
    async with db_sessions() as db:
        chat = await db.get(Chat, seeded.chat_id)
        first = await db.get(Turn, seeded.turn_id)
        turns = (
            (
                await db.execute(
                    text("SELECT status FROM turns WHERE chat_id = :c ORDER BY number"), {"c": seeded.chat_id}
                )
            )
            .scalars()
            .all()
        )
    assert chat is not None and chat.active_turn_id is None
    assert first is not None and first.status == "completed"
    assert turns == ["completed", "completed"]


async def test_stop_racing_the_end_of_the_turn(
    http: httpx.AsyncClient, engine: AsyncEngine, db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    """finish_turn against a stop, both queued behind the turn row."""
    seeded = await seed_turn(db_sessions, tenant)
    ending, stopped = await _race_behind(
        engine,
        "SELECT 1 FROM turns WHERE id = :id FOR NO KEY UPDATE",
        {"id": seeded.turn_id},
        lambda: _finish(engine, seeded),
        lambda: http.post(f"/chat/workflow/{seeded.chat_id}/stop", json={"turnId": str(seeded.turn_id)}),
    )
    assert ending is not None and ending.ended_now, "the turn's own end came first"
    assert stopped.status_code == 200 and stopped.json()["stopped"] is False, "the stop found it ended"
    async with db_sessions() as db:
        chat = await db.get(Chat, seeded.chat_id)
        turn = await db.get(Turn, seeded.turn_id)
        answer = await db.get(ChatMessage, (seeded.chat_id, seeded.assistant_id))
    assert chat is not None and chat.active_turn_id is None
    assert turn is not None and turn.status == "completed"
    assert answer is not None and answer.status == "complete"


async def test_answer_racing_the_close_of_the_question(
    engine: AsyncEngine, db_sessions: async_sessionmaker[AsyncSession], tenant: Tenant, settings: Settings
) -> None:
    """save_answer against close_question, both queued behind the turn row: the answer, queued first, wins."""
    seeded = await seed_turn(db_sessions, tenant, question=True)
    assert seeded.call_id is not None
    call_id = seeded.call_id

    async def answer() -> int:
        async with db_sessions() as db:
            turn = await db.get(Turn, seeded.turn_id)
            assert turn is not None
            return await save_answer(db, turn, call_id, "Front desk")

    async def close() -> ToolCallResult:
        questions = QuestionActivities(engine, settings)
        return await questions.close_question(ToolCallInput(str(seeded.turn_id), call_id, ASK_USER_QUESTION_TOOL))

    seq, closed = await _race_behind(
        engine, "SELECT 1 FROM turns WHERE id = :id FOR NO KEY UPDATE", {"id": seeded.turn_id}, answer, close
    )
    assert seq > 1 and closed.ok, "the question closed with the answer it got"
    async with db_sessions() as db:
        call = await db.get(ToolCall, (seeded.turn_id, call_id))
        turn = await db.get(Turn, seeded.turn_id)
    assert call is not None and call.status == "completed" and call.output == {"answer": "Front desk"}
    assert turn is not None and turn.status == "running"
