"""Unread counts with several readers, each having read several chats: every chat counts against its own cursor."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.seed import append_messages
from tests.conftest import Tenant

# Roles of each chat's messages: the assistant's answers are what a reader has unread.
ROLES = ["user", "assistant", "user", "assistant", "assistant"]


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def test_unread_counts_follow_each_readers_own_cursor_per_chat(
    client: httpx.AsyncClient, tenant: Tenant, db_sessions: async_sessionmaker[AsyncSession]
) -> None:
    session = await _created(await client.post("/sessions", json={}, headers=tenant.headers))
    chats = [
        (await _created(await client.post(f"/sessions/{session['id']}/chats", json={}, headers=tenant.headers)))["id"]
        for _ in range(3)
    ]
    for chat_id in chats:
        await append_messages(db_sessions, chat_id, ROLES)
    ann = {**tenant.headers, "X-Reader-Id": "ann"}
    bob = {**tenant.headers, "X-Reader-Id": "bob"}

    async def read(headers: dict[str, str], chat_id: str, seq: int | None) -> dict[str, Any]:
        response = await client.post(f"/chats/{chat_id}/read", json={"seq": seq}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    # Ann reads all of the first chat and up to seq 2 of the second; Bob reads up to seq 4 of the second and third.
    assert await read(ann, chats[0], None) == {"lastReadSeq": 5, "unreadCount": 0}
    assert await read(ann, chats[1], 2) == {"lastReadSeq": 2, "unreadCount": 2}
    assert await read(bob, chats[1], 4) == {"lastReadSeq": 4, "unreadCount": 1}
    assert await read(bob, chats[2], 4) == {"lastReadSeq": 4, "unreadCount": 1}
    expected = {
        "ann": {chats[0]: (5, 0), chats[1]: (2, 2), chats[2]: (0, 3)},
        "bob": {chats[0]: (0, 3), chats[1]: (4, 1), chats[2]: (4, 1)},
    }
    for reader, headers in (("ann", ann), ("bob", bob)):
        listed = await client.get("/chats", params={"session_id": session["id"]}, headers=headers)
        assert listed.status_code == 200, listed.text
        assert {row["id"]: row["unreadCount"] for row in listed.json()["items"]} == {
            chat_id: unread for chat_id, (_, unread) in expected[reader].items()
        }
        for chat_id, (last_read, unread) in expected[reader].items():
            detail = await client.get(f"/chats/{chat_id}", headers=headers)
            assert detail.status_code == 200, detail.text
            assert (detail.json()["lastReadSeq"], detail.json()["unreadCount"]) == (last_read, unread)
            messages = await client.get(f"/chats/{chat_id}/messages", headers=headers)
            assert messages.status_code == 200 and len(messages.json()["items"]) == len(ROLES)
            renamed = await client.patch(f"/chats/{chat_id}", json={"title": f"for {reader}"}, headers=headers)
            assert renamed.status_code == 200 and renamed.json()["unreadCount"] == unread
        sessions = await client.get("/sessions", headers=headers)
        row = next(s for s in sessions.json()["items"] if s["id"] == session["id"])
        assert row["unreadCount"] == sum(unread for _, unread in expected[reader].values())
    # The API key reads as a reader of its own, which has read nothing.
    untouched = await client.get("/chats", params={"session_id": session["id"]}, headers=tenant.headers)
    assert [row["unreadCount"] for row in untouched.json()["items"]] == [3, 3, 3]
