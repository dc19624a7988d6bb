"""Every model call attempt leaves a telemetry row: duration, time to first token, finish reason, tools, outcome."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.tables import TurnStep
from tests.turns.helpers import new_chat_id, send


async def _steps(db_sessions: async_sessionmaker[AsyncSession], turn_id: str) -> list[TurnStep]:
    async with db_sessions() as db:
        rows = await db.scalars(
            select(TurnStep).where(TurnStep.turn_id == turn_id).order_by(TurnStep.step, TurnStep.attempt)
        )
        return list(rows)


async def test_steps_of_a_tool_turn(http: httpx.AsyncClient, db_sessions: async_sessionmaker[AsyncSession]) -> None:
    command = json.dumps({"command": "echo hi"})
    response, _ = await send(http, new_chat_id(), f"[[tool:bash:{command}]] go")
    steps = await _steps(db_sessions, response.headers["x-turn-id"])
    assert [(s.step, s.attempt, s.outcome, s.finish_reason, s.tool_count) for s in steps] == [
        (1, 1, "completed", "tool_use", 1),
        (2, 1, "completed", "end_turn", 0),
    ]
    assert all(s.duration_ms >= 0 and s.ttft_ms is not None and s.ttft_ms <= s.duration_ms for s in steps)
    assert steps[0].model == "claude-sonnet-4-6" and steps[0].agent_type == "main"


async def test_failed_attempts_are_recorded_too(
    http: httpx.AsyncClient, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat_id = new_chat_id()  # in the prompt too: the stand-in counts failures per conversation
    response, _ = await send(http, chat_id, f"[[http:529]] [[fail:1]] [[retry-after:0.05]] {chat_id}")
    steps = await _steps(db_sessions, response.headers["x-turn-id"])
    assert [(s.attempt, s.outcome) for s in steps] == [(1, "failed"), (2, "completed")]
    assert steps[0].error is not None and "529" in steps[0].error
