"""Many viewers of one turn share one reader and hold no database connection; other requests go on meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from api.app import create_app
from models.settings import Settings
from tests.conftest import Tenant
from tests.sse import SseEvent, read_stream, sse_events
from tests.stack import serve_app
from tests.turns.helpers import assembled, new_chat_id, user_message

VIEWERS = 60


@pytest.fixture
async def app_and_url(stack_settings: Settings, worker: object) -> AsyncIterator[tuple[Any, str]]:
    """A served API whose pools and hub the test can look into; its pool is smaller than the crowd of viewers."""
    app = create_app(stack_settings.model_copy(update={"db_pool_size": 5}))
    server, task, url = await serve_app(app)
    yield app, url
    server.should_exit = True
    await task


async def _watch(url: str, tenant: Tenant, turn_id: str, started: asyncio.Event) -> list[SseEvent]:
    async with (
        httpx.AsyncClient(base_url=url, headers=tenant.headers, timeout=60) as http,
        http.stream("GET", f"/turns/{turn_id}/stream", params={"starting_after": 0}) as response,
    ):
        assert response.status_code == 200
        events = sse_events(response)
        first = await anext(events)
        started.set()
        rest = [first]
        async for item in events:
            rest.append(item)
            if item.data == "[DONE]":
                break
        return rest


async def test_sixty_viewers_share_one_reader_and_hold_no_connection(
    app_and_url: tuple[Any, str], tenant: Tenant
) -> None:
    app, url = app_and_url
    reads: list[str] = []

    def count_log_reads(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM turn_events" in statement:
            reads.append(statement)

    event.listen(app.state.stream_engine.sync_engine, "before_cursor_execute", count_log_reads)
    chat_id = new_chat_id()
    body = {"id": chat_id, "messages": [user_message(f"{chat_id} [[words:120]] [[delay:15]]")]}
    async with httpx.AsyncClient(base_url=url, headers=tenant.headers, timeout=60) as http:
        async with http.stream("POST", "/chat/workflow", json=body) as response:
            turn_id = response.headers["x-turn-id"]
            starts = [asyncio.Event() for _ in range(VIEWERS)]
            viewers = [asyncio.create_task(_watch(url, tenant, turn_id, s)) for s in starts]
            await asyncio.gather(*(s.wait() for s in starts))
            # Every viewer is connected and streaming: none of them holds a pooled connection or a transaction,
            # and the turn has one reader in this process.
            assert app.state.event_hub.tailed_turns == 1
            pool = app.state.sessions.kw["bind"].pool
            assert pool.checkedout() == 0, "a stream holds a request connection"
            other = await http.get("/sessions")
            assert other.status_code == 200, "an unrelated request is answered while 60 viewers stream"
            sender = await read_stream(response)
        seen = await asyncio.gather(*viewers)
    expected = assembled(sender)["parts"]
    assert all(assembled(events)["parts"] == expected for events in seen), "every viewer saw the whole answer"
    assert all(events[-1].data == "[DONE]" for events in seen)
    chunks = len([e for e in sender if e.data != "[DONE]"])
    # One read per wake-up of the shared reader (each brings at least one new chunk), plus a few for the sender's
    # own stream and catch-ups; a read per viewer per wake-up would be ~60 times as many.
    assert len(reads) <= 2 * chunks + VIEWERS, f"{len(reads)} log reads for {chunks} chunks and {VIEWERS} viewers"
