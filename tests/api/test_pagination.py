"""Keyset pagination: no gap and no duplicate while rows are inserted concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.seed import append_messages
from tests.conftest import Tenant


async def _while_inserting(insert_one: Callable[[], Awaitable[object]], pager: Awaitable[list[str]]) -> list[str]:
    """Runs the pager while another task keeps inserting rows; returns the ids the pager saw."""
    done = asyncio.Event()

    async def inserter() -> int:
        count = 0
        while not done.is_set() and count < 200:
            await insert_one()
            count += 1
        return count

    task = asyncio.create_task(inserter())
    try:
        seen = await pager
    finally:
        done.set()
        inserted = await task
    assert inserted > 0
    return seen


async def _all_pages(client: httpx.AsyncClient, url: str, tenant: Tenant) -> list[str]:
    """Follows nextCursor to the end, four rows a page."""
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(url, params=params, headers=tenant.headers)).json()
        seen += [item["id"] for item in page["items"]]
        if not (cursor := page["nextCursor"]):
            return seen


async def test_sessions_pages_have_no_gap_or_duplicate(client: httpx.AsyncClient, tenant: Tenant) -> None:
    async def create() -> str:
        response = await client.post("/sessions", json={"title": "s"}, headers=tenant.headers)
        return str(response.json()["id"])

    before = {await create() for _ in range(25)}

    seen = await _while_inserting(create, _all_pages(client, "/sessions", tenant))
    assert len(seen) == len(set(seen)), "a session appeared twice"
    assert before <= set(seen), "a session was skipped"


async def test_chats_pages_have_no_gap_or_duplicate(client: httpx.AsyncClient, tenant: Tenant) -> None:
    session_id = (await client.post("/sessions", json={}, headers=tenant.headers)).json()["id"]

    async def create() -> str:
        response = await client.post(f"/sessions/{session_id}/chats", json={}, headers=tenant.headers)
        return str(response.json()["id"])

    before = {await create() for _ in range(25)}

    seen = await _while_inserting(create, _all_pages(client, "/chats", tenant))
    assert len(seen) == len(set(seen))
    assert before <= set(seen)


async def test_message_pages_backwards_while_messages_arrive(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    session_id = (await client.post("/sessions", json={}, headers=tenant.headers)).json()["id"]
    chat_id = (await client.post(f"/sessions/{session_id}/chats", json={}, headers=tenant.headers)).json()["id"]
    before = set(await append_messages(db_sessions, chat_id, ["user", "assistant"] * 10))
    url = f"/chats/{chat_id}/messages"
    first = (await client.get(url, params={"limit": 3}, headers=tenant.headers)).json()

    async def pager() -> list[str]:
        seen = [str(m["seq"]) for m in first["items"]]
        page = first
        while page["hasMoreBefore"]:
            oldest = page["items"][0]["seq"]
            page = (await client.get(url, params={"limit": 3, "before": oldest}, headers=tenant.headers)).json()
            seen = [str(m["seq"]) for m in page["items"]] + seen
        return seen

    seen = await _while_inserting(lambda: append_messages(db_sessions, chat_id, ["assistant"]), pager())
    assert [int(s) for s in seen] == sorted(before)
