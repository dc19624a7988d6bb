"""A live turn's shared reader reads the log when a notification names frames it has not read, and not otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.database import create_engine
from tests.conftest import Tenant
from tests.polling import wait_until
from tests.turns.turn_rows import seed_turn
from turnlog import chunks
from turnlog.append import append_chunks
from turnlog.tail import TurnTail

NO_POLL_S = 3600.0  # only notifications (here: wake calls) make the reader read


@pytest.fixture
async def counted(database_url: str) -> Any:
    """An engine of its own whose statements are counted."""
    engine = create_engine(database_url, pool_size=1, autocommit=True)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    yield engine, statements
    await engine.dispose()


async def test_a_notification_of_frames_already_read_costs_no_read(
    counted: tuple[AsyncEngine, list[str]],
    engine: AsyncEngine,
    db_sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
) -> None:
    reading, statements = counted
    turn = await seed_turn(db_sessions, tenant)  # its log holds seq 1 and 2
    tail = TurnTail(reading, turn.turn_id, 0, NO_POLL_S)
    tail.start()
    try:
        await wait_until(lambda: _at(tail, 2), "the first read")
        before = len(statements)
        for seq in (1, 2, 2):
            tail.wake(seq)  # stale: what these announced was read already
        async with engine.begin() as conn:
            await append_chunks(conn, turn.turn_id, [chunks.finish_step()])
        tail.wake(3)
        await wait_until(lambda: _at(tail, 3), "the new frame")
        assert len(statements) - before == 1, statements[before:]
    finally:
        tail.close()
        await tail.closed()


async def _at(tail: TurnTail, seq: int) -> bool:
    return tail.last >= seq
