"""A superseded model-step attempt can never append to the log once its successor has claimed the stream."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.tables import TurnEvent
from tests.polling import wait_until
from tests.turns.helpers import new_chat_id, send
from turnlog import chunks
from turnlog.append import AttemptSuperseded, Fence, append_chunks, claim_stream
from turnlog.writer import EventWriter


async def _turn_id(http: httpx.AsyncClient) -> str:
    response, _ = await send(http, new_chat_id(), "hello")
    assert response.status_code == 200
    return response.headers["x-turn-id"]


async def _events(engine: AsyncEngine, turn_id: str) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).where(TurnEvent.turn_id == uuid.UUID(turn_id)))
    return int(count or 0)


async def test_only_the_claiming_attempt_writes(http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    turn_id = await _turn_id(http)
    first, second = Fence(turn_id, "1:1"), Fence(turn_id, "1:2")
    async with engine.begin() as conn:
        await claim_stream(conn, first)
        await append_chunks(conn, turn_id, [chunks.start_step()], first)
    async with engine.begin() as conn:
        await claim_stream(conn, second)
    before = await _events(engine, turn_id)
    with pytest.raises(AttemptSuperseded):
        async with engine.begin() as conn:
            await append_chunks(conn, turn_id, [chunks.part_delta("text", "t", "late")], first)
    async with engine.begin() as conn:
        await append_chunks(conn, turn_id, [chunks.part_delta("text", "t", "mine")], second)
    assert await _events(engine, turn_id) == before + 1, "only the successor's chunk landed"


async def test_a_write_in_flight_commits_before_the_claim_and_nothing_after(
    http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The claim waits for a write holding the turn's row; the writer's next batch is refused."""
    turn_id = await _turn_id(http)
    old, new = Fence(turn_id, "2:1"), Fence(turn_id, "2:2")
    async with engine.begin() as conn:
        await claim_stream(conn, old)
    before = await _events(engine, turn_id)
    writing = await engine.connect()
    transaction = await writing.begin()
    await append_chunks(writing, turn_id, [chunks.part_delta("text", "t", "in flight")], old)
    claim = asyncio.create_task(_claim(engine, new))
    await wait_until(lambda: _claim_waits_on_lock(engine), "the claim to wait for the write holding the turn's row")
    assert not claim.done()
    await transaction.commit()
    await claim
    await writing.close()
    with pytest.raises(AttemptSuperseded):
        async with EventWriter(engine, turn_id, old) as log:
            log.emit(chunks.part_delta("text", "t", "after the claim"))
    assert await _events(engine, turn_id) == before + 1, "the write in flight landed; the later batch did not"


async def _claim_waits_on_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'UPDATE turns SET stream_owner%'"
            )
        )
    return bool(waiting)


async def _claim(engine: AsyncEngine, fence: Fence) -> None:
    async with engine.begin() as conn:
        await claim_stream(conn, fence)
